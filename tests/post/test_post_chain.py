"""Chains: modes per book colour, screens continuous across panels, ink over tones, colour halftone, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image
from pydantic import TypeAdapter

from comicforge.errors import PostError
from comicforge.post.chain import PostContext, apply_chain
from comicforge.post.measure import ink_coverage, measure_screen
from comicforge.spec.post import PostStep
from cmyk_profile import write_cmyk_profile

CHAIN = TypeAdapter(list[PostStep])
PALETTES = {"hero": ("#d03030", "#f0e0c0", "#202020", "#ffffff"), "sky": ("#3366cc",)}


def context(color: str = "bitmap", origin: tuple[int, int] = (0, 0), **extra) -> PostContext:
    """A 600 dpi page context."""
    return PostContext(dpi=600, origin=origin, color=color, palettes=PALETTES, **extra)


def chain(*steps: dict) -> list:
    """Validated steps from YAML-shaped dicts."""
    return CHAIN.validate_python(list(steps))


@pytest.mark.parametrize(
    ("color", "steps", "mode"),
    [
        ("color", [], "RGB"),
        ("grayscale", [], "L"),
        ("bitmap", [], "1"),
        ("bitmap", [{"op": "grayscale"}, {"op": "screentone"}, {"op": "ink"}], "1"),
        ("grayscale", [{"op": "levels", "gamma": 1.3}, {"op": "curves", "points": [[0, 10], [255, 245]]}], "L"),
        ("color", [{"op": "flats", "palette": ["hero", "sky"]}, {"op": "ink"}], "RGB"),
        ("color", [{"op": "cmyk"}], "CMYK"),
        ("color", [{"op": "halftone", "lpi": 150}], "CMYK"),
        ("grayscale", [{"op": "halftone"}], "1"),
        ("bitmap", [{"op": "cmyk"}], "1"),
    ],
)
def test_output_mode_follows_chain_and_book(colour_art, color, steps, mode):
    result = apply_chain(colour_art, chain(*steps), context(color))
    assert result.mode == mode and result.size == colour_art.size


@pytest.mark.parametrize(
    "steps",
    [
        [{"op": "halftone", "lpi": 65, "angle": 15}],
        [{"op": "screentone", "lpi": 60, "gradient": True}, {"op": "ink"}],
        [{"op": "flats", "palette": "hero", "dither": True}, {"op": "halftone", "lpi": 100}],
    ],
)
def test_adjacent_panels_show_one_continuous_screen(colour_art, steps):
    page_color = "color" if steps[0]["op"] == "flats" else "bitmap"
    steps = chain(*steps)
    whole = apply_chain(colour_art, steps, context(page_color, origin=(40, 60)))
    left = apply_chain(colour_art.crop((0, 0, 150, 240)), steps, context(page_color, origin=(40, 60)))
    right = apply_chain(colour_art.crop((150, 0, 320, 240)), steps, context(page_color, origin=(190, 60)))
    joined = Image.new(whole.mode, whole.size)
    joined.paste(left, (0, 0))
    joined.paste(right, (150, 0))
    if steps[0].op == "screentone":  # ink blurs across the cut: compare away from it
        assert np.array_equal(np.asarray(joined)[:, :140], np.asarray(whole)[:, :140])
        assert np.array_equal(np.asarray(joined)[:, 160:], np.asarray(whole)[:, 160:])
    else:
        assert joined.tobytes() == whole.tobytes()


def test_chain_is_deterministic(page_art):
    steps = chain({"op": "levels", "gamma": 0.8}, {"op": "screentone"}, {"op": "ink", "weight": 0.2})
    first = apply_chain(page_art, steps, context(origin=(7, 3)))
    second = apply_chain(page_art.copy(), steps, context(origin=(7, 3)))
    assert first.tobytes() == second.tobytes()


def test_ink_after_screentone_finds_lines_in_the_continuous_tone(page_art):
    toned = np.asarray(apply_chain(page_art, chain({"op": "screentone"}), context()))
    inked = np.asarray(apply_chain(page_art, chain({"op": "screentone"}, {"op": "ink"}), context()))
    assert not (inked & ~toned).any()  # ink only adds black
    added = toned & ~inked
    assert added.any()
    assert not added[60:180, 60:180].any()  # no lines inside the flat disk, only at its outline
    assert added[36:46, 330:420].any()  # the top edge of the gradient, where it is mid-gray


def test_screentone_keeps_line_art_black_and_paper_white(page_art):
    bitmap = np.asarray(apply_chain(page_art, chain({"op": "screentone", "lpi": 65}), context()))
    assert bitmap[0:25, :].all()  # white paper, no dots
    assert not bitmap[300:325, 150:185].any()  # the dark triangle stays solid black
    assert ink_coverage(~bitmap[80:160, 80:160]) == pytest.approx(40, abs=2)  # 41 % tone snapped to 40 %


def test_colour_halftone_screens_each_ink_at_its_angle():
    art = Image.new("RGB", (512, 512), (150, 120, 100))
    steps = chain({"op": "cmyk", "gcr": 0.5}, {"op": "halftone", "lpi": 65})
    inks = apply_chain(art, steps, context("color")).split()
    for band, angle in zip(inks, (15, 75, 0, 45)):
        ink = np.asarray(band) == 255
        assert set(np.unique(np.asarray(band))) <= {0, 255}
        reading = measure_screen(ink, 600)
        difference = (reading.angle - angle) % 90
        assert min(difference, 90 - difference) <= 1.0
        assert reading.lpi == pytest.approx(65, rel=0.02)


def test_simple_cmyk_is_grey_component_replacement():
    art = Image.new("RGB", (2, 2), (51, 102, 204))
    c, m, y, k = apply_chain(art, chain({"op": "cmyk"}), context("color")).getpixel((0, 0))
    assert (c, m, y, k) == (191, 128, 0, 51)


def test_cmyk_through_icc_profile(colour_art, tmp_path):
    from PIL import ImageCms

    profile = write_cmyk_profile(tmp_path / "press.icc")  # ideal inks, half grey-component replacement
    result = apply_chain(colour_art, chain({"op": "cmyk"}), context("color", icc_profile=str(profile)))
    simple = apply_chain(colour_art, chain({"op": "cmyk"}), context("color"))
    assert result.mode == "CMYK" and result.tobytes() != simple.tobytes()
    assert np.allclose(result.getpixel((150, 100)), (31, 222, 222, 28), atol=2)  # the red square (200, 30, 30)
    back = ImageCms.buildTransform(ImageCms.getOpenProfile(str(profile)), ImageCms.createProfile("sRGB"), "CMYK", "RGB")
    error = np.abs(np.asarray(ImageCms.applyTransform(result, back), dtype=int) - np.asarray(colour_art, dtype=int))
    assert error.mean() < 3  # the profile's own inverse brings the art back


def test_missing_icc_profile_is_a_post_error(colour_art, tmp_path):
    missing = tmp_path / "press.icc"
    with pytest.raises(PostError, match=f"^icc_profile: {re.escape(str(missing))}: ICC profile not found$"):
        apply_chain(colour_art, chain({"op": "cmyk"}), context("color", icc_profile=str(missing)))


def test_non_profile_file_is_a_post_error(colour_art, tmp_path):
    junk = tmp_path / "junk.icc"
    junk.write_bytes(b"not a profile")
    with pytest.raises(PostError, match="not an ICC profile Little CMS reads"):
        apply_chain(colour_art, chain({"op": "cmyk"}), context("color", icc_profile=str(junk)))


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [{"op": "halftone", "lpi": 300}],
            "halftone.lpi: 300 is too fine for 600 dpi (must be below dpi/2 = 300)",
        ),
        (
            [{"op": "flats", "palette": "villain"}],
            "flats.palette: unknown palette 'villain' (known palettes: hero, sky)",
        ),
        (
            [{"op": "grayscale"}, {"op": "halftone"}, {"op": "levels", "gamma": 2}],
            "levels: works on gray or RGB art, not a 1-bit image (put it before halftone, screentone and cmyk)",
        ),
        (
            [{"op": "cmyk"}, {"op": "flats", "colors": ["#000000"]}],
            "flats: works on gray or RGB art, not a CMYK image (put it before halftone, screentone and cmyk)",
        ),
    ],
)
def test_chain_errors_name_the_setting(colour_art, steps, message):
    with pytest.raises(PostError, match=f"^{re.escape(message)}$"):
        apply_chain(colour_art, chain(*steps), context("color"))


def test_screentone_lpi_checked_against_low_dpi(page_art):
    ctx = PostContext(dpi=120, origin=(0, 0), color="bitmap", palettes={})
    with pytest.raises(PostError, match=re.escape("screentone.lpi: 65 is too fine for 120 dpi")):
        apply_chain(page_art, chain({"op": "screentone", "lpi": 65}), ctx)


def test_bad_context_is_rejected(page_art):
    with pytest.raises(PostError, match=r"^color: unknown book colour mode 'sepia'"):
        apply_chain(page_art, [], PostContext(dpi=600, origin=(0, 0), color="sepia", palettes={}))
    with pytest.raises(PostError, match=r"^dpi: 0 is not a print resolution"):
        apply_chain(page_art, [], PostContext(dpi=0, origin=(0, 0), color="bitmap", palettes={}))
