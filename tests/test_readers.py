"""The limited readers: pixel budgets (and `format.max_pixels`), restricted formats, JSON limits, pipes refused."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from support import REPO, run_cli

from comicforge.readers import FileProblem, image_size, open_image, parse_json, read_json


def _sketch(path: Path, size: tuple[int, int]) -> Path:
    image = Image.new("L", size, 255)
    image.paste(0, (10, 10, size[0] - 10, 14))
    image.save(path)
    return path


def test_the_pixel_budget_is_read_from_the_header(tmp_path: Path) -> None:
    path = _sketch(tmp_path / "wide.png", (1200, 1000))
    assert open_image(path, "sketch", 1_200_000).size == (1200, 1000)
    with pytest.raises(FileProblem) as raised:
        image_size(path, "sketch", 1_000_000)
    assert raised.value.reason.startswith("the sketch is 1200 x 1000 px (1 megapixels), more than the 1-megapixel budget")
    assert raised.value.file == path


def test_format_max_pixels_sets_the_budget_for_every_named_image(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(REPO / "projects" / "demo", project, ignore=shutil.ignore_patterns("build", ".comicforge"))
    _sketch(project / "sketch.png", (1200, 1000))
    text = (project / "comic.yaml").read_text()
    panel = '      - prompt: "{{ mira }} turns around, surprised"\n'
    text = text.replace(panel, panel + "        lineart: sketch.png\n")
    (project / "comic.yaml").write_text(text)
    assert run_cli("check", str(project), check=False).returncode == 0
    (project / "comic.yaml").write_text(text.replace("format:\n", "format:\n  max_pixels: 1000000\n", 1))
    result = run_cli("check", str(project), check=False)
    assert result.returncode == 2
    line = text.splitlines().index("        lineart: sketch.png") + 2  # 1-based, after the max_pixels line added above
    assert f"comic.yaml:{line}: pages[1].panels[0].lineart: sketch.png: the image is 1200 x 1000 px" in result.stderr
    assert "format.max_pixels" in result.stderr


def test_only_the_common_raster_formats_are_opened(tmp_path: Path) -> None:
    eps = tmp_path / "drawing.png"  # PostScript would run Ghostscript to decode
    eps.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    with pytest.raises(FileProblem, match="not an image in a format we read"):
        open_image(eps)


def test_a_pipe_is_refused_without_opening_it(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    with pytest.raises(FileProblem, match="is a pipe, socket or device, not a regular file"):
        read_json(pipe, "pose file")


@pytest.mark.parametrize(("text", "message"), [
    ('{"x": NaN}', "NaN is not a number"),
    ('{"x": -Infinity}', "-Infinity is not a number"),
    ('{"x": 1e999}', "the number 1e999 is too large"),
    ('{"x": ' + "9" * 5000 + "}", "an integer of 5000 digits"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("{nope", "not JSON"),
])
def test_json_numbers_are_finite_and_short(text: str, message: str) -> None:
    with pytest.raises(FileProblem, match=message):
        parse_json(text, "pose.json", "pose file")


def test_json_within_the_limits_parses() -> None:
    assert parse_json('{"people": [{"pose_keypoints_2d": [0.5, 1e2, -3, 12345678901234567890]}]}', "p.json", "pose file") == {
        "people": [{"pose_keypoints_2d": [0.5, 100.0, -3, 12345678901234567890]}]}
