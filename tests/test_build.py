"""End to end on the draft engine: the demo into a print PDF, and the incremental guarantees."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pdfcheck
from comicforge.pipeline.run import BuildOptions, build
from comicforge.pipeline.store import MANIFEST
from support import REPO, run_cli


def _counts(report) -> tuple[int, int, int, int]:
    data = report.to_json()
    return data["panels"]["generated"], data["panels"]["reused"], data["pages"]["composed"], data["pages"]["reused"]


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "comic.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_demo_builds_a_print_pdf(demo_project: Path):
    result = run_cli("build", str(demo_project), "--json")
    report = json.loads(result.stdout)
    pdf = Path(report["outputs"]["pdf"])
    assert report["panels"] == {"generated": 11, "reused": 0} and report["pages"] == {"composed": 3, "reused": 0}
    assert pdfcheck.syntax_problems(pdf) == []
    assert pdfcheck.page_count(pdf) == 3
    # us-comic 6.625 x 10.1875 in + 0.125 in bleed each side = 495 x 751.5 pt
    for boxes in pdfcheck.boxes(pdf):
        assert boxes["MediaBox"] == boxes["BleedBox"] == [0, 0, 495, 751.5]
        assert boxes["TrimBox"] == [9, 9, 486, 742.5]
    fonts = pdfcheck.fonts(pdf)
    assert fonts and all(f.embedded for f in fonts), fonts  # every font embedded
    text = pdfcheck.text(pdf)
    assert "DON'T TOUCH" in text and "TO BE CONTINUED." in text
    assert len(report["outputs"]["pages"]) == 3 and all(Path(p).is_file() for p in report["outputs"]["pages"])
    assert set(report["outputs"]["panels"]) == {f"p{p}.{i}" for p, n in ((1, 3), (2, 4), (3, 4)) for i in range(1, n + 1)}


def test_incremental_rebuilds_only_what_an_edit_touched(small_project: Path):
    assert _counts(build(small_project)) == (7, 0, 2, 0)
    assert _counts(build(small_project)) == (0, 7, 0, 2)  # no-op
    _edit(small_project, "prompt: b\n", "prompt: b, at night\n")
    assert _counts(build(small_project)) == (1, 6, 1, 1)  # prompt edit: one panel, one page
    # layout change that keeps every panel's pixel size: the two top panels swap places → page only
    _edit(small_project, "rects: [[0, 0, 0.5, 0.5], [0.5, 0, 0.5, 0.5]", "rects: [[0.5, 0, 0.5, 0.5], [0, 0, 0.5, 0.5]")
    report = build(small_project)
    assert _counts(report) == (0, 7, 1, 1)
    assert sum(d.build for d in report.decisions if d.job.stage == "finish") == 0
    # font change → pages (and exports) only
    _edit(small_project, "  margins: 0.3in\n", "  margins: 0.3in\n  font: comic-neue\n")
    report = build(small_project)
    assert _counts(report) == (0, 7, 2, 0)


def test_plan_says_why(small_project: Path):
    build(small_project)
    _edit(small_project, "prompt: c\n", "prompt: c, raining\n")
    _edit(small_project, "text: Not here.", "text: Not now.")
    result = run_cli("plan", str(small_project), "--json")
    plan = json.loads(result.stdout)
    rows = {row["job"]: row for row in plan["jobs"]}
    assert rows["generate:p2.3"]["action"] == "build" and rows["generate:p2.3"]["reason"] == "prompt changed"
    assert rows["page:2"]["reason"] == "lettering changed"
    assert rows["generate:p2.2"]["action"] == "reuse"
    assert plan["resolve"] == "resolve: 1 of 7 panels (new or edited)"  # both edits are in p2.3
    text = run_cli("plan", str(small_project)).stdout  # the resolve is stored: the reasons stay until the build
    assert text.startswith("resolve: 0 of 7 panels (the project file and the files it reads are unchanged)\n")
    assert "build  generate p2.3: prompt changed" in text


def test_pages_subset(small_project: Path):
    report = build(small_project, BuildOptions(pages={2}))
    assert _counts(report) == (4, 0, 1, 0)
    assert report.outputs["pdf"].endswith("small-test-book-pages-2-2.pdf")
    assert pdfcheck.page_count(report.outputs["pdf"]) == 1


def test_cbz_export(small_project: Path):
    import zipfile

    report = build(small_project, BuildOptions(exports=("cbz",)))
    with zipfile.ZipFile(report.outputs["cbz"]) as archive:
        assert archive.namelist() == ["001.png", "002.png", "ComicInfo.xml"]
        assert b"<PageCount>2</PageCount>" in archive.read("ComicInfo.xml")


def test_draft_build_never_imports_torch(small_project: Path):
    code = ("import sys; from comicforge.cli import main; main(['build', sys.argv[1]]); main(['build', sys.argv[1]]);"
            "bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code, str(small_project)], check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def _outputs(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project / "build")): p.read_bytes() for p in sorted((project / "build").rglob("*")) if p.is_file()}


# A build whose Nth store entry pauses once its files are written, before its manifest seals it: the test kills it
# there, so the kill provably lands while an entry is being written (not after some guessed sleep).
PAUSED_BUILD = """
import sys, time
from pathlib import Path
import comicforge.pipeline.store as store
from comicforge.cli import main

project, nth, marker = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
seal, count = store._seal, [0]

def paused_seal(folder, warnings):
    count[0] += 1
    if count[0] == nth:
        marker.write_text(str(folder))
        time.sleep(600)
    seal(folder, warnings)

store._seal = paused_seal
main(["build", project])
"""


def _kill_while_writing_entry(project: Path, nth: int, marker: Path) -> Path:
    """Start a build, wait until its `nth` new store entry is half written, SIGKILL it; the entry's temp folder."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    marker.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-c", PAUSED_BUILD, str(project), str(nth), str(marker)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), f"the build never reached entry {nth}: {process.poll()} {process.stderr.read() if process.poll() is not None else ''}"
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    return Path(marker.read_text())


def test_killed_build_loses_nothing(demo_project: Path, tmp_path: Path):
    reference = tmp_path / "reference"
    subprocess.run(["cp", "-r", str(demo_project), str(reference)], check=True)
    build(reference)
    for nth in (1, 5, 9):  # each run reuses what the last one published, so these fall in different stages
        half_written = _kill_while_writing_entry(demo_project, nth, tmp_path / "paused")
        assert half_written.parent == demo_project / ".comicforge" / "tmp"
        files = {p.name for p in half_written.iterdir()}
        assert files and MANIFEST not in files, files  # art written, not sealed, never published
    report = build(demo_project)
    assert sum(d.build for d in report.decisions) > 0  # the killed runs left work to do
    assert _outputs(demo_project) == _outputs(reference)
    assert not (demo_project / ".comicforge" / "tmp").exists() or not any((demo_project / ".comicforge" / "tmp").iterdir())


def test_concurrent_builds_agree(small_project: Path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [subprocess.Popen([sys.executable, "-m", "comicforge", "build", str(small_project), "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [run.communicate(timeout=300) for run in runs]
    assert all(run.returncode == 0 for run in runs), results
    reports = [json.loads(out) for out, _ in results]
    assert sorted(r["panels"]["generated"] for r in reports) == [0, 7]  # the lock serialises them
    assert pdfcheck.syntax_problems(reports[0]["outputs"]["pdf"]) == []


def test_schema_command_prints_the_json_schema():
    schema = json.loads(run_cli("schema").stdout)
    assert {"title", "format", "defaults", "characters", "pages"} <= set(schema["properties"])
    assert "Panel" in schema["$defs"] and "balloons" in schema["$defs"]["Panel"]["properties"]


def test_new_project_builds(tmp_path: Path):
    for template in ("comic", "manga"):
        run_cli("new", str(tmp_path / template), "--template", template)
        report = build(tmp_path / template)
        assert Path(report.outputs["pdf"]).is_file()


def test_manga_is_right_to_left(tmp_path: Path):
    import shutil

    shutil.copytree(REPO / "projects" / "manga", tmp_path / "manga")
    report = build(tmp_path / "manga")
    page = next(d.job for d in report.decisions if d.job.id == "page:2")
    first, second = page.spec["panels"][0]["rect"], page.spec["panels"][1]["rect"]
    assert first[1] < second[1]  # yonkoma: one column, read top to bottom
    page1 = next(d.job for d in report.decisions if d.job.id == "page:1")
    row = [p["rect"] for p in page1.spec["panels"][1:3]]
    assert row[0][0] > row[1][0]  # second tier: first panel on the right


def test_bitmap_book_with_a_halftone_chain(small_project: Path):
    _edit(small_project, "  dpi: 72\n", "  dpi: 150\n")
    _edit(small_project, "  margins: 0.3in\n", "  margins: 0.3in\n  color: bitmap\ndefaults:\n  post: [{op: grayscale}, {op: halftone, lpi: 40, angle: 45}]\n")
    report = build(small_project)
    finish = next(d.job for d in report.decisions if d.job.id == "finish:p1.2")
    assert finish.spec["origin"] is not None  # screens are laid in page coordinates, so the position is in the key
    from PIL import Image

    with Image.open(Path(report.outputs["pages"][0])) as page:
        assert page.mode == "1"
    images = pdfcheck.images(report.outputs["pdf"])
    assert images and all(i.color_space == "/DeviceGray" and i.bits == 1 for i in images), images  # 1-bit art


def test_project_style_edits_are_noticed(small_project: Path):
    (small_project / "styles").mkdir()
    (small_project / "styles" / "noir.yaml").write_text('prompt: "{{ prompt }}, film noir"\nnegative: color\n')
    _edit(small_project, "  margins: 0.3in\n", "  margins: 0.3in\ndefaults:\n  style: noir\n")
    assert _counts(build(small_project))[0] == 7
    assert _counts(build(small_project)) == (0, 7, 0, 2)
    (small_project / "styles" / "noir.yaml").write_text('prompt: "{{ prompt }}, film noir, rain"\nnegative: color\n')
    report = build(small_project)
    assert _counts(report)[0] == 7
    assert next(d.job for d in report.decisions if d.job.id == "generate:p1.1").spec["prompt"].endswith("film noir, rain")
    (small_project / "styles" / "noir.yaml").write_text("prompt: [unclosed\n")
    result = run_cli("check", str(small_project), check=False)
    assert result.returncode == 2 and "defaults.style: style 'noir': noir.yaml is not valid YAML" in result.stderr
