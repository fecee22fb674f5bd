"""A right-to-left Japanese book lettered top to bottom with a real CJK font, through the whole build to PDF and PNG."""

from __future__ import annotations

import shutil
from pathlib import Path

import pdfcheck
import pytest
from support import DATA

from comicforge.pipeline.run import BuildOptions, build

HERE = Path(__file__).resolve().parent
BALLOONS = ["「見つけたぞ！お前がランタンを持っているんだろう？」", "ちょっと待って…12時まで!?", "東京、夜。"]


@pytest.fixture(scope="module")
def tategaki(tmp_path_factory: pytest.TempPathFactory) -> dict:
    project = tmp_path_factory.mktemp("tategaki") / "tategaki"
    shutil.copytree(HERE / "projects" / "tategaki", project)
    shutil.copytree(DATA / "fonts", project / "fonts", ignore=shutil.ignore_patterns("*.py"))
    report = build(project, BuildOptions(exports=("pdf", "png")))
    return {**report.outputs, "warnings": report.warnings}


def test_long_line_fits_its_balloon_without_a_warning(tategaki: dict):
    messages = [warning["message"] for warning in tategaki["warnings"]]
    assert not [m for m in messages if "does not fit" in m or "panel p1.1," in m]  # the narrow p1.2 may say it covers aoi


def test_pdf_text_is_extractable_in_reading_order(tategaki: dict):
    pdf = tategaki["pdf"]
    assert pdfcheck.syntax_problems(pdf) == []
    assert pdfcheck.text_in_drawing_order(pdf) == "".join(BALLOONS)  # columns right to left, each top to bottom
    assert pdfcheck.text(pdf).replace(" ", "")  # and a viewer's engine finds text on the page
    names = {font.name.split("+")[1] for font in pdfcheck.fonts(pdf)}
    assert names == {"CfTestGothic", "CfTestGothic-vert"}  # columns in the vertical forms, tate-chu-yoko upright
    assert all(font.embedded and font.subset and font.to_unicode for font in pdfcheck.fonts(pdf))


def test_png_and_pdf_draw_the_same_columns(tategaki: dict):
    import numpy as np
    from PIL import Image

    ours = np.asarray(Image.open(tategaki["pages"][0]).convert("L"), dtype=np.int16)
    theirs = pdfcheck.render_gray(tategaki["pdf"], dpi=100).astype(np.int16)
    assert ours.shape == theirs.shape
    nearest = np.min([np.abs(ours - np.roll(theirs, (dy, dx), axis=(0, 1))) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    assert (nearest > 96).mean() < 0.003
