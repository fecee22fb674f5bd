"""`comicforge control PROJECT PANEL --out DIR`: the images the ControlNets are given."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from support import run_cli


def _with_sketch(project: Path) -> None:
    sketch = Image.new("L", (300, 400), 255)
    ImageDraw.Draw(sketch).ellipse([60, 60, 240, 340], outline=0, width=6)
    sketch.save(project / "sketch.png")
    text = (project / "comic.yaml").read_text()
    anchor = '      - prompt: "{{ mira }} on a rooftop"\n'
    (project / "comic.yaml").write_text(text.replace(anchor, anchor + "        lineart: sketch.png\n", 1))


def test_control_writes_pose_and_lineart_images(small_project: Path, tmp_path: Path):
    _with_sketch(small_project)
    out = tmp_path / "control"
    printed = run_cli("control", str(small_project), "p1.1", "--out", str(out)).stdout.split()
    assert printed == [str(out / "p1.1-openpose.png"), str(out / "p1.1-lineart.png")]
    pose = np.asarray(Image.open(out / "p1.1-openpose.png"))
    assert (np.all(pose == (255, 0, 0), axis=-1)).any()  # the nose joint, pure red
    lines = np.asarray(Image.open(out / "p1.1-lineart.png").convert("L"))
    assert lines[0, 0] == 0 and lines.max() == 255  # white lines on black


def test_control_unknown_panel(small_project: Path, tmp_path: Path):
    result = run_cli("control", str(small_project), "p9.9", "--out", str(tmp_path), check=False)
    assert result.returncode == 2
    assert "no panel 'p9.9' (panels: p1.1, p1.2, p1.3, p2.1" in result.stderr


def test_blank_sketch_is_an_error_naming_the_file(small_project: Path, tmp_path: Path):
    Image.new("L", (50, 50), 255).save(small_project / "sketch.png")
    text = (small_project / "comic.yaml").read_text()
    anchor = '      - prompt: "{{ mira }} on a rooftop"\n'
    (small_project / "comic.yaml").write_text(text.replace(anchor, anchor + "        lineart: sketch.png\n", 1))
    result = run_cli("control", str(small_project), "p1.1", "--out", str(tmp_path), check=False)
    assert result.returncode == 2 and "sketch.png" in result.stderr and "no lines" in result.stderr


def test_draft_panel_shows_the_sketch(small_project: Path):
    from comicforge.pipeline.run import build

    report = build(small_project)
    before = np.asarray(Image.open(report.outputs["panels"]["p1.1"]).convert("L"))
    _with_sketch(small_project)
    report = build(small_project)
    after = np.asarray(Image.open(report.outputs["panels"]["p1.1"]).convert("L"))
    assert (after < 40).sum() > (before < 40).sum() + 500  # the sketch's ink lines are drawn in
