"""Lineart control images: sketch inversion and fit, XDoG extraction, blank and unreadable inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from comicforge.control.lineart import LineartError, check_has_lines, load_sketch, sketch_to_control, xdog_lines


def wide_sketch() -> Image.Image:
    """A 200×100 black-on-white sketch: one horizontal stroke across the middle."""
    sketch = Image.new("RGB", (200, 100), "white")
    ImageDraw.Draw(sketch).line([(20, 50), (180, 50)], fill="black", width=6)
    return sketch


def test_sketch_is_inverted_and_fitted_inside_with_black_padding() -> None:
    control = sketch_to_control(wide_sketch(), 256, 256)
    pixels = np.asarray(control)
    assert control.mode == "RGB" and control.size == (256, 256)
    assert not pixels[:60].any() and not pixels[-60:].any()  # 2:1 sketch letterboxed: 64 px bars
    assert pixels[128, 128].tolist() == [255, 255, 255]  # the stroke, now white
    assert pixels[100, 20].tolist() == [0, 0, 0]  # the paper, now black


def test_tall_sketch_is_pillarboxed() -> None:
    control = np.asarray(sketch_to_control(wide_sketch().rotate(90, expand=True), 512, 256))
    assert not control[:, :180].any() and not control[:, -180:].any()
    assert control[128, 256].tolist() == [255, 255, 255]


def test_transparent_sketch_counts_as_paper() -> None:
    sketch = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(sketch).line([(0, 32), (63, 32)], fill=(0, 0, 0, 255), width=4)
    control = np.asarray(sketch_to_control(sketch, 64, 64))
    assert control[32, 32].tolist() == [255, 255, 255] and control[5, 5].tolist() == [0, 0, 0]


def test_xdog_finds_the_edges_of_a_drawn_shape() -> None:
    image = Image.new("RGB", (160, 120), "white")
    ImageDraw.Draw(image).rectangle([40, 30, 120, 90], fill=(150, 150, 150))
    lines = xdog_lines(image)
    pixels = np.asarray(lines)
    assert lines.mode == "L" and lines.size == (160, 120)
    assert pixels[30:33, 80].max() >= 200  # top edge of the rectangle
    assert pixels[60, 80] == 0 and pixels[5, 5] == 0  # flat inside and flat paper: no line
    check_has_lines(lines)


@pytest.mark.parametrize("tone", [255, 128, 40])
def test_xdog_finds_nothing_on_a_flat_image(tone: int) -> None:
    assert not np.asarray(xdog_lines(Image.new("L", (64, 64), tone))).any()


def test_blank_control_image_is_refused_with_its_name() -> None:
    blank = sketch_to_control(Image.new("RGB", (100, 100), "white"), 64, 64)
    with pytest.raises(LineartError, match=r"^sketch.png: no lines found \(the image is blank after thresholding\)$"):
        check_has_lines(blank, "sketch.png")
    assert check_has_lines(sketch_to_control(wide_sketch(), 64, 64), "sketch.png").size == (64, 64)


def test_unreadable_and_missing_sketches_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "sketch.png"
    broken.write_bytes(b"not a png at all")
    with pytest.raises(LineartError, match=r"sketch.png: not an image in a format we read"):
        load_sketch(broken)
    with pytest.raises(LineartError, match=r"absent.png: sketch not found"):
        load_sketch(tmp_path / "absent.png")
    wide_sketch().save(tmp_path / "good.png")
    assert load_sketch(tmp_path / "good.png").size == (200, 100)
