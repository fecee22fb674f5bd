"""Variants, picks and previews in the build graph (draft engine): each candidate a cached job, a pick only recomposes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from support import REPO, TESTS, run_cli

from comicforge.pipeline.run import BuildOptions, build

ANCHOR = "      - prompt: \"{{ ren }} in an alley\"\n        characters: [ren]\n"  # panel p1.2 of tests/projects/small
REN_SEED = 1000  # the small project gives ren no seed: p1.2 is seeded here so candidates are seed + k


def _panel(project: Path, settings: str, defaults: str = "", seed: int = REN_SEED) -> None:
    """The small project with panel p1.2 seeded and given these settings (`; `-separated YAML lines), and book defaults."""
    text = (TESTS / "projects" / "small" / "comic.yaml").read_text()
    lines = "".join(f"        {line}\n" for line in [f"seed: {seed}", *settings.split("; ")] if line)
    text = text.replace(ANCHOR, ANCHOR + lines, 1)
    (project / "comic.yaml").write_text(text.replace("characters:\n", f"defaults: {{{defaults}}}\ncharacters:\n", 1) if defaults else text)


def _generated(report) -> list[str]:
    return [d.job.id for d in report.decisions if d.build and d.job.stage == "generate" and d.job.label.startswith("p1.2")]


def _composed(report) -> list[str]:
    return [d.job.id for d in report.decisions if d.build and d.job.stage == "page"]


def test_each_candidate_is_its_own_job_and_raising_n_generates_only_the_new(small_project: Path):
    _panel(small_project, "variants: 3")
    report = build(small_project)
    assert _generated(report) == ["generate:p1.2#0", "generate:p1.2#1", "generate:p1.2#2"]
    candidates = [Path(p) for p in report.outputs["variants"]["p1.2"]]
    assert [p.name for p in candidates] == ["p1.2-0.png", "p1.2-1.png", "p1.2-2.png"]
    pixels = [np.asarray(Image.open(p)) for p in candidates]
    assert not np.array_equal(pixels[0], pixels[1]) and not np.array_equal(pixels[1], pixels[2]) and not np.array_equal(pixels[0], pixels[2])
    assert Image.open(report.outputs["panels"]["p1.2"]).tobytes() == Image.open(candidates[0]).tobytes()  # no pick: candidate 0
    _panel(small_project, "variants: 5")
    again = build(small_project)
    assert _generated(again) == ["generate:p1.2#3", "generate:p1.2#4"] and _composed(again) == []


def test_a_pick_recomposes_one_page_regenerates_nothing_and_shows_candidate_k(small_project: Path, tmp_path: Path):
    _panel(small_project, "variants: 3")
    build(small_project)
    page = small_project / "build" / "pages" / "page-001.png"
    before = page.read_bytes()
    _panel(small_project, "variants: 3; pick: 2")
    report = build(small_project)
    assert _generated(report) == [] and _composed(report) == ["page:1"]
    assert page.read_bytes() != before
    assert report.outputs["variants"] == {"p1.2": [str(small_project / "build" / "variants" / "p1.2-2.png")]}  # a final build renders the pick only

    alone = tmp_path / "alone"  # the same book with the panel seeded s + 2 and one candidate: the same page, byte for byte
    subprocess.run(["cp", "-r", str(small_project), str(alone)], check=True)
    subprocess.run(["rm", "-rf", str(alone / "build"), str(alone / ".comicforge")], check=True)
    _panel(alone, "", seed=REN_SEED + 2)
    build(alone)
    assert (alone / "build" / "pages" / "page-001.png").read_bytes() == page.read_bytes()


def test_edits_apply_to_the_picked_candidate(small_project: Path):
    _panel(small_project, "variants: 2; pick: 1; edits: [{op: img2img, strength: 0.3}]")
    report = build(small_project)
    refine = next(d.job for d in report.decisions if d.job.stage == "refine")
    assert refine.deps == ["generate:p1.2#1"] and refine.spec["request"]["seed"] == REN_SEED + 1


def test_preview_renders_every_candidate_cheaply_into_its_own_folder(small_project: Path):
    _panel(small_project, "variants: 2; pick: 1", defaults="steps: 30, preview: {sampler: Euler a, steps: 8, scale: 0.5}")
    final = build(small_project)
    finals = {p: p.read_bytes() for p in (small_project / "build").rglob("*") if p.is_file()}
    preview = build(small_project, BuildOptions(preview=True))
    assert _generated(preview) == ["generate:p1.2#0", "generate:p1.2#1"] and preview.to_json()["panels"]["generated"] == 8  # every candidate
    jobs = {d.job.id: d.job for d in preview.decisions}
    finals_jobs = {d.job.id: d.job for d in final.decisions}
    spec, full = jobs["generate:p1.2#1"].spec, finals_jobs["generate:p1.2#1"].spec
    assert (spec["steps"], spec["sampler"], full["steps"], full["sampler"]) == (8, "Euler a", 30, "DPM++ 2M Karras")
    assert abs(spec["width"] - full["width"] / 2) <= 8 and jobs["generate:p1.2#1"].key != finals_jobs["generate:p1.2#1"].key
    assert all(Path(p).is_relative_to(small_project / "build" / "preview") for p in preview.outputs["pages"] + [preview.outputs["pdf"]])
    assert {p: p.read_bytes() for p in finals} == finals  # previews never overwrite finals
    assert build(small_project, BuildOptions(preview=True)).to_json()["jobs"]["built"] == 0


def test_a_no_op_rebuild_with_variants_stays_light(small_project: Path):
    _panel(small_project, "variants: 2; pick: 1")
    for mode in ([], ["--preview"]):
        run_cli("build", str(small_project), *mode)
        code = ("import sys; from comicforge.cli import main; assert main(['build', *sys.argv[1:]]) == 0;"
                "bad = [m for m in ('pydantic', 'numpy', 'ruamel.yaml', 'torch') if m in sys.modules]; assert not bad, bad")
        subprocess.run([sys.executable, "-c", code, str(small_project), *mode], check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_contact_sheets_show_every_candidate_by_index_and_seed(small_project: Path):
    import pdfcheck
    import pypdfium2

    _panel(small_project, "variants: 3; pick: 1")
    report = build(small_project, BuildOptions(preview=True, exports=("sheets",)))
    sheets = Path(report.outputs["sheets"])
    assert sheets == small_project / "build" / "preview" / "small-test-book-sheets.pdf" and pdfcheck.syntax_problems(sheets) == []
    document = pypdfium2.PdfDocument(sheets)
    assert len(document) == 2  # one sheet per book page
    text = document[0].get_textpage().get_text_range()
    assert "page 1" in text and "p1.2" in text
    assert f"#0 seed {REN_SEED}" in text and f"#1 seed {REN_SEED + 1} (pick)" in text and f"#2 seed {REN_SEED + 2}" in text
    assert "#0 seed" in document[1].get_textpage().get_text_range()
    document.close()
    assert build(small_project, BuildOptions(preview=True, exports=("sheets",))).to_json()["jobs"]["built"] == 0
