"""Incremental resolve: an edit re-resolves exactly the panels whose inputs it touched, and the jobs equal a full resolve."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from comicforge.errors import ProjectError
from comicforge.pipeline.keys import Fingerprints
from comicforge.pipeline.plan import assign_keys, page_jobs
from comicforge.pipeline.run import PANELS_STATE, RESOLVED_STATE, BuildOptions, build, resolve_jobs, stage_versions
from comicforge.pipeline.store import Store
from comicforge.project.load import load_project
from comicforge.project.resolve import resolve_book

STYLE = """prompt: "{{ prompt }}, ink wash, {{ ren.description }}"
negative: photo
"""


def _panel(page: int, index: int) -> str:
    who = "[mira, ren]" if index == 2 else "[mira]"
    extra = "\n        pose: pose.json" if (page, index) == (2, 1) else ""
    extra += "\n        lineart: sketch.png" if (page, index) == (3, 2) else ""
    extra += "\n        style: washed" if (page, index) == (1, 3) else ""
    extra += "\n        depth: depth.png" if (page, index) == (4, 2) else ""
    return f"""      - prompt: "{{{{ mira }}}} scene {page}.{index}"
        characters: {who}{extra}
        balloons: [{{who: mira, text: "Line {page}.{index}"}}]
"""


def _project(folder: Path) -> Path:
    """A four-page book of 12 panels: two characters, a style template that names one, a pose file and a sketch."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = "".join("  - layout: {rows: [1, 2]}\n    panels:\n" + "".join(_panel(p, i) for i in (1, 2, 3)) for p in (1, 2, 3, 4))
    (folder / "comic.yaml").write_text(f"""title: Incremental
format: {{trim: us-comic, dpi: 40}}
defaults: {{engine: draft, steps: 20}}
characters:
  mira: {{tokens: "mira_cf, red scarf", seed: 7}}
  ren: {{tokens: "ren_cf, black coat", description: a tall man}}
pages:
{pages}""")
    (folder / "styles").mkdir(exist_ok=True)
    (folder / "styles" / "washed.yaml").write_text(STYLE)
    (folder / "pose.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": _pose_points(0.5)}], "canvas_width": 100, "canvas_height": 100}))
    _sketch(folder / "sketch.png", 10)
    _sketch(folder / "depth.png", 60)
    return folder / "comic.yaml"


def _pose_points(x: float) -> list[float]:
    """An OpenPose BODY_25-less COCO-18 figure: a vertical stick at x (pixels of a 100×100 canvas)."""
    points = []
    for joint in range(18):
        points += [x * 100, 10 + joint * 4.5, 1.0]
    return points


def _sketch(path: Path, offset: int) -> None:
    image = Image.new("L", (200, 300), 255)
    ImageDraw.Draw(image).line((offset, 20, 180, 280), fill=0, width=4)
    image.save(path)


def _full_jobs(file: Path, tmp: Path) -> list[dict]:
    """The jobs a resolve of the whole book makes (no cache), keyed."""
    book, _ = resolve_book(load_project(file), Fingerprints(tmp / "fingerprints.json"))
    jobs = page_jobs(book, stage_versions())
    assign_keys(jobs)
    return [job.to_json() for job in jobs]


def _resolve(file: Path) -> tuple[list[dict], str]:
    resolved = resolve_jobs(file, Store(file.parent))
    return [job.to_json() for job in resolved.jobs], resolved.summary


def _edit(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text, old
    file.write_text(text.replace(old, new, 1))


@pytest.fixture
def book(tmp_path: Path) -> Path:
    file = _project(tmp_path / "book")
    jobs, summary = _resolve(file)
    assert summary == "resolve: 12 of 12 panels (first resolve)"
    assert jobs == _full_jobs(file, tmp_path)
    return file


def test_nothing_changed_resolves_nothing(book: Path) -> None:
    assert _resolve(book)[1] == "resolve: 0 of 12 panels (the project file and the files it reads are unchanged)"
    _edit(book, "title: Incremental", "title: Incremental  # a comment")  # new text, same values
    assert _resolve(book)[1] == "resolve: 0 of 12 panels"


def test_one_panel_edit_resolves_that_panel_and_equals_a_full_resolve(book: Path, tmp_path: Path) -> None:
    before = {job["id"]: job["key"] for job in _resolve(book)[0]}
    _edit(book, "scene 3.1", "scene 3.1 at dawn")
    jobs, summary = _resolve(book)
    assert summary == "resolve: 1 of 12 panels (new or edited)"
    assert jobs == _full_jobs(book, tmp_path)
    changed = sorted(job["id"] for job in jobs if before[job["id"]] != job["key"])
    assert changed == ["finish:p3.1", "generate:p3.1", "page:3", "png:3"]


def test_a_character_edit_resolves_the_panels_that_read_it(book: Path, tmp_path: Path) -> None:
    _edit(book, "ren_cf, black coat", "ren_cf, grey coat")
    jobs, summary = _resolve(book)
    assert summary == "resolve: 5 of 12 panels (character ren changed)"  # each page's second panel, and p1.3's style names ren
    assert jobs == _full_jobs(book, tmp_path)
    _edit(book, "description: a tall man", "description: a short man")  # only the style template prints it
    jobs, summary = _resolve(book)
    assert summary == "resolve: 5 of 12 panels (character ren changed)"
    assert jobs == _full_jobs(book, tmp_path)
    assert "a short man" in next(j for j in jobs if j["id"] == "generate:p1.3")["spec"]["prompt"]


def test_a_book_setting_resolves_everything_and_says_which(book: Path, tmp_path: Path) -> None:
    _edit(book, "steps: 20", "steps: 30")
    jobs, summary = _resolve(book)
    assert summary == "resolve: 12 of 12 panels (defaults changed)"
    assert jobs == _full_jobs(book, tmp_path)


def test_a_file_a_panel_reads_resolves_only_that_panel(book: Path, tmp_path: Path) -> None:
    folder = book.parent
    _sketch(folder / "sketch.png", 40)
    jobs, summary = _resolve(book)
    assert summary == "resolve: 1 of 12 panels (sketch.png changed)"
    assert jobs == _full_jobs(book, tmp_path)
    (folder / "pose.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": _pose_points(0.3)}], "canvas_width": 100, "canvas_height": 100}))
    jobs, summary = _resolve(book)
    assert summary == "resolve: 1 of 12 panels (pose.json changed)"
    assert jobs == _full_jobs(book, tmp_path)
    _sketch(folder / "depth.png", 90)
    jobs, summary = _resolve(book)
    assert summary == "resolve: 1 of 12 panels (depth.png changed)"
    assert jobs == _full_jobs(book, tmp_path)
    (folder / "styles" / "washed.yaml").write_text(STYLE.replace("ink wash", "charcoal"))
    jobs, summary = _resolve(book)
    assert summary == "resolve: 1 of 12 panels (washed.yaml changed)"
    assert "charcoal" in next(j for j in jobs if j["id"] == "generate:p1.3")["spec"]["prompt"]


def test_a_panel_with_a_problem_is_not_kept_and_the_fix_resolves_only_it(book: Path, tmp_path: Path) -> None:
    _edit(book, "scene 2.2\"\n        characters: [mira, ren]", "scene 2.2\"\n        characters: [mira, nobody]")
    _edit(book, "scene 4.3", "scene 4.3 at night")
    with pytest.raises(ProjectError, match="unknown character 'nobody'"):
        _resolve(book)
    _edit(book, "[mira, nobody]", "[mira, ren]")
    jobs, summary = _resolve(book)
    assert summary == "resolve: 1 of 12 panels (new or edited)"  # 4.3 was kept by the failed resolve
    assert jobs == _full_jobs(book, tmp_path)


@pytest.mark.parametrize("damage", ["garbage", "entries", "jobs"])
def test_a_damaged_resolve_state_is_resolved_again_never_trusted(book: Path, tmp_path: Path, damage: str) -> None:
    root = Store(book.parent).root
    if damage == "garbage":
        (root / PANELS_STATE).write_text("{not json")
    elif damage == "entries":
        data = json.loads((root / PANELS_STATE).read_text())
        data["panels"] = {key: {"stored": 5, "files": []} for key in data["panels"]}
        (root / PANELS_STATE).write_text(json.dumps(data))
    else:  # the jobs an entry names are gone or re-keyed
        data = json.loads((root / RESOLVED_STATE).read_text())
        data["jobs"] = [{**job, "key": "0" * 64} if job["stage"] == "generate" else job for job in data["jobs"]]
        (root / RESOLVED_STATE).write_text(json.dumps(data))
    _edit(book, "scene 1.1", "scene 1.1 again")
    jobs, summary = _resolve(book)
    assert summary.startswith("resolve: 12 of 12 panels")
    assert jobs == _full_jobs(book, tmp_path)


def test_an_incremental_build_writes_the_bytes_of_a_clean_build(book: Path, tmp_path: Path) -> None:
    build(book.parent, BuildOptions(exports=("pdf", "png")))
    _edit(book, "Line 2.3", "Line 2.3, said twice")
    _edit(book, "scene 4.1", "scene 4.1 under the bridge")
    report = build(book.parent, BuildOptions(exports=("pdf", "png")))
    assert report.resolve == "resolve: 2 of 12 panels (new or edited)"
    assert (report.count("generate", True), report.count("page", True)) == (1, 2)
    clean = tmp_path / "clean"
    shutil.copytree(book.parent, clean, ignore=shutil.ignore_patterns(".comicforge", "build"))
    build(clean, BuildOptions(exports=("pdf", "png")))
    for name in ["incremental.pdf", *(f"pages/page-{n:03d}.png" for n in (1, 2, 3, 4))]:
        assert (book.parent / "build" / name).read_bytes() == (clean / "build" / name).read_bytes(), name
