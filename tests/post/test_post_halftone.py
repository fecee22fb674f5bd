"""AM halftone: coverage, angle and ruling measured on the output, continuity, determinism, the file command."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from comicforge.errors import PostError
from comicforge.post.halftone import Screen, halftone_dots, halftone_file, paper_mask
from comicforge.post.measure import ink_coverage, measure_screen

TONES = range(0, 101, 10)


def angle_error(measured: float, expected: float, symmetry: float) -> float:
    """Smallest difference between two screen angles that repeat every `symmetry` degrees."""
    difference = (measured - expected) % symmetry
    return min(difference, symmetry - difference)


@pytest.mark.parametrize(
    ("dpi", "lpi", "angle", "shape"),
    [
        (600, 65, 45, "round"),
        (600, 75, 0, "round"),  # whole cells on the pixel grid
        (1200, 85, 15, "round"),
        (600, 85, 75, "ellipse"),
        (600, 65, 30, "line"),
        (300, 53, 90, "round"),
    ],
)
def test_coverage_matches_tone_within_two_points(flat_gray, dpi, lpi, angle, shape):
    for tone in TONES:
        ink = halftone_dots(flat_gray(tone, (384, 384)), dpi, lpi, angle, shape, origin=(517, 1234))
        assert ink_coverage(ink) == pytest.approx(tone, abs=2.0), f"tone {tone} %"


def test_coverage_extremes_are_exact(flat_gray):
    assert not halftone_dots(flat_gray(0), 600, 65, 45).any()
    assert halftone_dots(flat_gray(100), 600, 65, 45).all()


@pytest.mark.parametrize("angle", [0, 15, 45, 60, 75, 112.5])
@pytest.mark.parametrize(("dpi", "lpi"), [(600, 65), (1200, 150)])
def test_round_dot_angle_and_ruling_from_spectrum(flat_gray, dpi, lpi, angle):
    ink = halftone_dots(flat_gray(30), dpi, lpi, angle, "round")
    reading = measure_screen(ink, dpi, symmetry=90)
    assert angle_error(reading.angle, angle, 90) <= 1.0
    assert reading.lpi == pytest.approx(lpi, rel=0.02)


@pytest.mark.parametrize("angle", [20, 70, 135])
def test_line_screen_runs_along_its_angle(flat_gray, angle):
    ink = halftone_dots(flat_gray(40), 600, 65, angle, "line")
    reading = measure_screen(ink, 600, symmetry=180)
    # lines along the angle repeat across it: the spectrum peak is perpendicular
    assert angle_error(reading.angle, angle + 90, 180) <= 1.0
    assert reading.lpi == pytest.approx(65, rel=0.02)


def test_angle_is_counter_clockwise_on_the_page(flat_gray):
    """A 30° line screen climbs to the right: ink rows move up (smaller y) as x grows."""
    ink = halftone_dots(flat_gray(50, (200, 200)), 600, 40, 30, "line")
    profile = ink[:, 100].astype(float)
    shifted = ink[:, 110].astype(float)
    lags = range(-10, 11)
    best = max(lags, key=lambda lag: float(np.dot(np.roll(profile, lag), shifted)))
    assert best == -round(10 * math.tan(math.radians(30)))


def test_ellipse_and_round_differ_only_in_shape(flat_gray):
    round_ink = halftone_dots(flat_gray(45), 600, 65, 45, "round")
    ellipse_ink = halftone_dots(flat_gray(45), 600, 65, 45, "ellipse")
    assert not np.array_equal(round_ink, ellipse_ink)
    assert ink_coverage(round_ink) == pytest.approx(ink_coverage(ellipse_ink), abs=1.0)


def test_screen_is_continuous_across_adjacent_panels():
    y, x = np.mgrid[0:300, 0:400]
    page = ((x + 2 * y) * 255 // 1000).astype(np.uint8)
    whole = halftone_dots(page, 600, 65, 45, origin=(37, 11))
    left = halftone_dots(page[:, :173], 600, 65, 45, origin=(37, 11))
    right = halftone_dots(page[:, 173:], 600, 65, 45, origin=(37 + 173, 11))
    top = halftone_dots(page[:131], 600, 65, 45, origin=(37, 11))
    bottom = halftone_dots(page[131:], 600, 65, 45, origin=(37, 11 + 131))
    assert np.array_equal(np.hstack([left, right]), whole)
    assert np.array_equal(np.vstack([top, bottom]), whole)


def _share_equal(a: np.ndarray, b: np.ndarray) -> float:
    return float((a == b).mean())


def test_threshold_matrix_repeats_on_the_rotated_cell_lattice():
    """600 dpi, 60 lpi: 10 px cells; at atan(3/4) counter-clockwise the cell vectors are whole pixels, (8, -6), (6, 8)."""
    screen = Screen(600, 60, math.degrees(math.atan2(3, 4)))
    t = screen.thresholds(120, 120).astype(np.int16)
    core = (slice(20, 100), slice(20, 100))

    def shifted(dx: int, dy: int) -> np.ndarray:
        return t[20 + dy : 100 + dy, 20 + dx : 100 + dx]

    for dx, dy in ((8, -6), (6, 8), (14, 2)):  # the two cell vectors and their sum
        assert _share_equal(shifted(dx, dy), t[core]) > 0.99, (dx, dy)
    for dx, dy in ((8, 6), (10, 0)):  # the clockwise lattice and the unrotated one are not the screen
        assert _share_equal(shifted(dx, dy), t[core]) < 0.5, (dx, dy)


def test_halftone_file_round_trip(tmp_path: Path):
    source = tmp_path / "art.png"
    rgb = np.zeros((120, 160, 3), dtype=np.uint8)
    rgb[..., 0] = np.linspace(0, 255, 160, dtype=np.uint8)[None, :]
    Image.fromarray(rgb).save(source)
    target = tmp_path / "dots.png"
    halftone_file(source, target, dpi=600, lpi=65, angle=45, shape="ellipse")
    with Image.open(target) as result:
        assert result.mode == "1"
        assert result.size == (160, 120)
        assert result.info["dpi"] == pytest.approx((600, 600), abs=0.01)
        paper = np.asarray(result)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    assert np.array_equal(~paper, halftone_dots(gray, 600, 65, 45, "ellipse"))


def test_halftone_file_reads_transparent_art_on_white(tmp_path: Path):
    source = tmp_path / "clear.png"
    Image.new("RGBA", (40, 30), (0, 0, 0, 0)).save(source)
    halftone_file(source, tmp_path / "out.png", dpi=600, lpi=65, angle=45)
    with Image.open(tmp_path / "out.png") as result:
        assert np.asarray(result).all()  # fully transparent black is white paper


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"lpi": 300}, "halftone.lpi: 300 is too fine for 600 dpi (must be below dpi/2 = 300)"),
        ({"lpi": 0}, "halftone.lpi: 0 is out of range (must be lines per inch > 0)"),
        ({"angle": -15}, "halftone.angle: -15 is out of range (must be 0 <= angle < 360 degrees)"),
        (
            {"angle": float("nan")},
            "halftone.angle: nan is not a finite number (must be an angle in degrees, 0 <= angle < 360)",
        ),
        ({"shape": "square"}, "halftone.shape: unknown shape 'square' (valid shapes: round, ellipse, line)"),
        ({"dpi": 0}, "halftone.dpi: 0 is not a print resolution (must be > 0)"),
    ],
)
def test_halftone_file_rejects_bad_settings(tmp_path: Path, settings, message):
    source = tmp_path / "art.png"
    Image.new("L", (8, 8), 128).save(source)
    arguments = {"dpi": 600, "lpi": 65, "angle": 45.0, "shape": "round"} | settings
    with pytest.raises(PostError, match=f"^{re.escape(message)}$"):
        halftone_file(source, tmp_path / "out.png", **arguments)
    assert not (tmp_path / "out.png").exists()


def test_halftone_file_rejects_missing_and_unreadable_input(tmp_path: Path):
    with pytest.raises(PostError, match=r"missing\.png: image not found$"):
        halftone_file(tmp_path / "missing.png", tmp_path / "out.png", dpi=600, lpi=65, angle=45)
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    with pytest.raises(PostError, match=r"junk\.png: not an image in a format we read"):
        halftone_file(junk, tmp_path / "out.png", dpi=600, lpi=65, angle=45)


def test_halftone_dots_rejects_too_fine_ruling(flat_gray):
    with pytest.raises(PostError, match=re.escape("halftone.lpi: 150 is too fine for 300 dpi")):
        halftone_dots(flat_gray(50, (8, 8)), 300, 150, 45)


def test_banded_screening_on_several_cores_matches_one_band(monkeypatch):
    import comicforge.post.halftone as halftone

    gray = np.random.default_rng(7).integers(0, 256, (301, 203), dtype=np.uint8)
    one_band = paper_mask(gray, Screen(600, 65, 45), origin=(11, 13))
    monkeypatch.setattr(halftone, "CORES", 3)
    monkeypatch.setattr(halftone, "PIXELS_PER_BAND", 1000)
    assert np.array_equal(paper_mask(gray, Screen(600, 65, 45), origin=(11, 13)), one_band)


@pytest.mark.parametrize("size", [(13, 7), (1203, 1901)])  # odd width; several parallel deflate bands
def test_bitmap_png_decodes_to_the_same_pixels(tmp_path: Path, size):
    from comicforge.post.bitmap_png import write_bitmap_png

    paper = np.random.default_rng(3).random(size) < 0.3
    write_bitmap_png(tmp_path / "paper.png", paper, 1200)
    with Image.open(tmp_path / "paper.png") as image:
        assert image.mode == "1" and image.info["dpi"] == pytest.approx((1200, 1200), abs=0.01)
        assert np.array_equal(np.asarray(image), paper)
