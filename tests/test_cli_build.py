"""`build` and `plan` flags end to end on the small project, as a user types them; the fresh-process no-op."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pdfcheck
from support import REPO, run_cli

PAGE = """  - layout: grid-1x2
    panels:
      - prompt: page {n} top
      - prompt: page {n} bottom
        balloons:
          - caption: true
            text: Page {n}.
"""
EPOCH_2024_05_01 = "1714560000"  # 2024-05-01T00:00:00Z


def _four_pages(project: Path) -> Path:
    """The small project with two more pages (4 pages: 3 + 4 + 2 + 2 panels)."""
    with open(project / "comic.yaml", "a") as handle:
        handle.write(PAGE.format(n=3) + PAGE.format(n=4))
    return project


def _build(project: Path, *flags: str, env: dict[str, str] | None = None) -> dict:
    return json.loads(run_cli("build", str(project), "--json", *flags, env=env).stdout)


def test_pages_range_builds_only_those_pages(small_project: Path):
    project = _four_pages(small_project)
    plan = json.loads(run_cli("plan", str(project), "--json", "--pages", "2-4").stdout)
    planned = {row["job"] for row in plan["jobs"]}
    assert "generate:p2.1" in planned and "generate:p4.2" in planned and not any(j.endswith(":p1.1") for j in planned)
    report = _build(project, "--pages", "2-4")
    assert report["panels"] == {"generated": 4 + 2 + 2, "reused": 0} and report["pages"]["composed"] == 3
    assert report["outputs"]["pdf"].endswith("small-test-book-pages-2-4.pdf")
    assert pdfcheck.page_count(report["outputs"]["pdf"]) == 3
    assert "PAGE 3." in pdfcheck.text(report["outputs"]["pdf"]) and "HELLO THERE!" not in pdfcheck.text(report["outputs"]["pdf"])
    report = _build(project, "--pages", "1,4")
    assert report["panels"] == {"generated": 3, "reused": 2} and pdfcheck.page_count(report["outputs"]["pdf"]) == 2


def test_bad_pages_and_exports_are_usage_errors(small_project: Path):
    for flags, message in [(("--pages", "0"), "not a page range: '0' (pages start at 1)"),
                           (("--pages", "two"), "not a page range: 'two'"),
                           (("--export", "pdf,epub"), "unknown export 'epub' (valid: pdf, png, cbz, spreads, sheets)")]:
        result = run_cli("build", str(small_project), *flags, check=False)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (small_project / "build").exists()


def test_export_list_writes_exactly_those_outputs(small_project: Path):
    report = _build(small_project, "--export", "cbz,spreads")
    assert {"cbz", "spreads"} <= set(report["outputs"]) and "pdf" not in report["outputs"]
    assert not (small_project / "build" / "small-test-book.pdf").exists()
    with zipfile.ZipFile(report["outputs"]["cbz"]) as archive:
        assert archive.namelist() == ["001.png", "002.png", "ComicInfo.xml"]
    assert pdfcheck.page_count(report["outputs"]["spreads"]) == 2  # 2 pages padded to 4: two sheet sides


def test_proof_writes_beside_the_build_not_over_it(small_project: Path):
    plain = _build(small_project)
    before = Path(plain["outputs"]["pdf"]).read_bytes()
    proof = _build(small_project, "--proof")
    assert Path(proof["outputs"]["pdf"]).parent == small_project / "build" / "proof"
    assert all(Path(p).is_relative_to(small_project / "build" / "proof") for p in proof["outputs"]["pages"])
    assert proof["panels"] == {"generated": 0, "reused": 7}  # proof marks touch pages only
    assert Path(plain["outputs"]["pdf"]).read_bytes() == before
    assert Path(proof["outputs"]["pdf"]).read_bytes() != before


def test_source_date_epoch_dates_the_pdf_and_comic_info(small_project: Path):
    report = _build(small_project, "--export", "pdf,cbz", env={"SOURCE_DATE_EPOCH": EPOCH_2024_05_01})
    first = Path(report["outputs"]["pdf"]).read_bytes()
    assert pdfcheck.info(report["outputs"]["pdf"])["CreationDate"].startswith("D:20240501")
    with zipfile.ZipFile(report["outputs"]["cbz"]) as archive:
        xml = archive.read("ComicInfo.xml").decode()
    assert "<Year>2024</Year>" in xml and "<Month>5</Month>" in xml and "<Day>1</Day>" in xml
    again = _build(small_project, "--export", "pdf,cbz", env={"SOURCE_DATE_EPOCH": str(int(EPOCH_2024_05_01) + 86400)})
    assert pdfcheck.info(again["outputs"]["pdf"])["CreationDate"].startswith("D:20240502")  # a new date is noticed
    back = _build(small_project, "--export", "pdf,cbz", env={"SOURCE_DATE_EPOCH": EPOCH_2024_05_01})
    assert Path(back["outputs"]["pdf"]).read_bytes() == first  # identical inputs, identical bytes
    text = (small_project / "comic.yaml").read_text().replace("  margins: 0.3in\n", "  margins: 0.3in\n  output: {date: 2023-12-24}\n")
    (small_project / "comic.yaml").write_text(text)
    dated = _build(small_project, env={"SOURCE_DATE_EPOCH": EPOCH_2024_05_01})
    assert pdfcheck.info(dated["outputs"]["pdf"])["CreationDate"].startswith("D:20231224")  # the project's date wins


def test_no_op_rebuild_in_a_fresh_process_imports_no_heavy_module(small_project: Path):
    run_cli("build", str(small_project))
    code = ("import json, sys; from comicforge.cli import main; main(['build', sys.argv[1], '--json']);"
            "print('imported:', json.dumps(sorted(m for m in ('pydantic', 'numpy', 'torch', 'PIL', 'yaml', 'jinja2') if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code, str(small_project)], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    printed, _, imported = result.stdout.rpartition("imported:")
    report, loaded = json.loads(printed), json.loads(imported)
    assert report["panels"] == {"generated": 0, "reused": 7} and report["pages"] == {"composed": 0, "reused": 2}
    assert not {"pydantic", "numpy", "torch"} & set(loaded), loaded


def test_json_reports_the_time_of_each_phase_and_stage(small_project: Path):
    report = json.loads(run_cli("build", str(small_project), "--json").stdout)
    first = report["timings"]
    assert set(first) == {"resolve", "plan", "run", "publish", "export", "stages"}
    assert all(first[phase] >= 0 for phase in ("resolve", "plan", "run", "publish"))
    assert set(first["stages"]) == {"generate", "finish", "page", "png", "pdf"} and all(s >= 0 for s in first["stages"].values())
    assert sum(first["stages"].values()) <= first["run"] + 0.01  # the stages' time is spent inside the run phase
    assert abs(first["export"] - first["stages"]["png"] - first["stages"]["pdf"]) < 0.002
    assert report["resolve"] == "resolve: 7 of 7 panels (first resolve)"
    again = json.loads(run_cli("build", str(small_project), "--json").stdout)
    assert again["timings"]["stages"] == {} and again["timings"]["export"] == 0  # a no-op runs no stage
    assert again["resolve"] == "resolve: 0 of 7 panels (the project file and the files it reads are unchanged)"
