"""Store upkeep: gc frees what the book no longer reaches and leaves the next build a no-op; warnings are kept."""

from __future__ import annotations

import fcntl
import json
import re
from pathlib import Path

from comicforge.pipeline.run import build
from comicforge.pipeline.store import Store
from support import run_cli


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "comic.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _freed(output: str) -> int:
    """Entries freed (or that would be), from gc's summary line."""
    return int(re.search(r"(?:freed|would free) \S+ \S+ in (\d+) entries", output).group(1))


def test_gc_after_edits_shrinks_the_store_and_the_next_build_is_a_noop(small_project: Path):
    build(small_project)
    for n in range(5):
        _edit(small_project, "prompt: b" + ", again" * n + "\n", "prompt: b" + ", again" * (n + 1) + "\n")
        build(small_project)
    store = Store(small_project)
    entries, size = store.usage()
    dry = run_cli("gc", str(small_project), "--dry-run").stdout
    assert _freed(dry) > 0 and store.usage() == (entries, size)
    done = run_cli("gc", str(small_project)).stdout
    assert _freed(done) == _freed(dry)
    after_entries, after_size = store.usage()
    assert after_entries == entries - _freed(done) and after_size < size
    report = json.loads(run_cli("build", str(small_project), "--json").stdout)
    assert report["jobs"]["built"] == 0 and report["store"] == {"entries": after_entries, "bytes": after_size}
    assert _freed(run_cli("gc", str(small_project)).stdout) == 0


def test_gc_keeps_the_last_builds_so_an_undo_is_cheap(small_project: Path):
    build(small_project)
    _edit(small_project, "prompt: b\n", "prompt: b, at dawn\n")
    build(small_project)
    run_cli("gc", str(small_project), "--keep", "2")
    _edit(small_project, "prompt: b, at dawn\n", "prompt: b\n")  # undo
    assert build(small_project).to_json()["jobs"]["built"] == 0  # keep 2: the whole earlier book was kept
    _edit(small_project, "prompt: b\n", "prompt: b, at dawn\n")
    run_cli("gc", str(small_project), "--keep", "1")  # the current book was not built yet: the last build is kept too
    _edit(small_project, "prompt: b, at dawn\n", "prompt: b\n")
    assert build(small_project).to_json()["jobs"]["built"] == 0
    _edit(small_project, "prompt: b\n", "prompt: b, at dawn\n")
    build(small_project)
    run_cli("gc", str(small_project), "--keep", "1")
    _edit(small_project, "prompt: b, at dawn\n", "prompt: b\n")
    assert build(small_project).to_json()["panels"]["generated"] == 1  # keep 1: the undone panel was collected


def test_gc_never_runs_while_a_build_holds_the_lock(small_project: Path):
    build(small_project)
    store = Store(small_project)
    before = store.usage()
    with open(store.root / "lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        result = run_cli("gc", str(small_project), check=False)
    assert result.returncode == 2 and "a build of this project is running" in result.stderr
    assert "Traceback" not in result.stderr and store.usage() == before


def test_overflow_warning_is_kept_with_its_page_and_shown_on_every_build(small_project: Path):
    _edit(small_project, "text: Not here.", "text: " + "Not here, not now, not ever again, thief! " * 40)
    first = run_cli("build", str(small_project), "--json")
    second = run_cli("build", str(small_project), "--json")
    for result in (first, second):
        report = json.loads(result.stdout)
        assert [w["page"] for w in report["warnings"]] == [2]
        assert "text does not fit even at the minimum size" in report["warnings"][0]["message"]
        assert "warning: page 2, panel p2." in result.stderr
    assert json.loads(second.stdout)["pages"]["reused"] == 2


def test_an_emphasis_face_added_beside_a_project_font_is_noticed(small_project: Path):
    import shutil

    from comicforge.letter.fonts import builtin_font_dir

    (small_project / "fonts").mkdir()
    shutil.copy(builtin_font_dir() / "ComicNeue-Regular.ttf", small_project / "fonts" / "Hand-Regular.ttf")
    _edit(small_project, "  margins: 0.3in\n", "  margins: 0.3in\n  font: fonts/Hand-Regular.ttf\n")
    _edit(small_project, "text: Not here.", "text: Not *here*.")
    build(small_project)
    assert build(small_project).to_json()["jobs"]["built"] == 0
    shutil.copy(builtin_font_dir() / "ComicNeue-Bold.ttf", small_project / "fonts" / "Hand-Bold.ttf")
    report = build(small_project)
    assert [d.job.id for d in report.decisions if d.build and d.job.stage == "page"] == ["page:1", "page:2"]  # both letter with it
    page = next(d.job for d in report.decisions if d.job.id == "page:2")
    assert "Hand-Bold.ttf" in json.dumps(page.spec)
