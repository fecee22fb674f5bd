"""Editing steps in the build graph: each step is its own job; editing one rebuilds it and what follows."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from comicforge.pipeline.run import build
from support import run_cli

EDITS = """        edits:
          - {op: inpaint, rects: [[0.1, 0.1, 0.3, 0.3]], strength: 0.8, prompt: a better hand}
          - {op: img2img, strength: 0.3}
"""


def _add_edits(project: Path, edits: str = EDITS) -> None:
    path = project / "comic.yaml"
    text = path.read_text()
    anchor = "      - prompt: \"{{ ren }} in an alley\"\n        characters: [ren]\n"
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + edits, 1))


def _built(report, stage: str) -> list[str]:
    return [d.job.id for d in report.decisions if d.build and d.job.stage == stage]


def test_each_edit_is_a_job_and_editing_one_rebuilds_only_what_follows(small_project: Path):
    _add_edits(small_project)
    first = build(small_project)
    assert _built(first, "refine") == ["refine:p1.2:1", "refine:p1.2:2"]
    text = (small_project / "comic.yaml").read_text()
    (small_project / "comic.yaml").write_text(text.replace("strength: 0.3}", "strength: 0.4}"))
    second = build(small_project)
    assert _built(second, "generate") == [] and _built(second, "refine") == ["refine:p1.2:2"]
    assert _built(second, "finish") == ["finish:p1.2"] and _built(second, "page") == ["page:1"]
    plan = run_cli("plan", str(small_project)).stdout
    assert "reuse  refine   p1.2 inpaint #1: up to date" in plan


def test_inpaint_keeps_pixels_outside_its_rects(small_project: Path):
    _add_edits(small_project, "        edits:\n          - {op: inpaint, rects: [[0.5, 0.5, 0.5, 0.5]], strength: 1.0, seed: 3}\n")
    report = build(small_project)
    from comicforge.pipeline.store import Store

    store = Store(small_project)
    jobs = {d.job.id: d.job for d in report.decisions}
    raw = Image.open(store.entry(jobs["generate:p1.2"].key) / "panel.png")
    edited = Image.open(store.entry(jobs["refine:p1.2:1"].key) / "panel.png")
    w, h = raw.size
    assert raw.crop((0, 0, w, h // 2)).tobytes() == edited.crop((0, 0, w, h // 2)).tobytes()
    assert raw.tobytes() != edited.tobytes()


def test_mask_of_the_wrong_aspect_is_a_located_error(small_project: Path):
    Image.new("L", (100, 100), 255).save(small_project / "mask.png")
    _add_edits(small_project, "        edits:\n          - {op: inpaint, mask: mask.png}\n")
    result = run_cli("check", str(small_project), check=False)
    assert result.returncode == 2
    assert "pages[0].panels[1].edits[0].mask: mask.png: mask is 100x100 (aspect 1.000) but the panel's aspect is" in result.stderr


def test_outpaint_fit_generates_square_then_extends_to_the_panel(small_project: Path):
    _add_edits(small_project, "        edits:\n          - {op: outpaint, fit: true}\n")
    report = build(small_project)
    jobs = {d.job.id: d.job for d in report.decisions}
    generate, outpaint = jobs["generate:p1.2"].spec, jobs["refine:p1.2:1"].spec["step"]
    assert generate["width"] == generate["height"]
    width, height = jobs["finish:p1.2"].spec["size"]
    assert abs(outpaint["width"] / outpaint["height"] - width / height) < 0.03
    assert outpaint["extend"][1] > 0 and outpaint["extend"][0] == 0  # a tall panel is extended vertically
