"""A corpus of malformed projects (tests/projects/bad), each with the exact messages expected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import TESTS, run_cli

CASES = sorted((TESTS / "projects" / "bad").glob("*.yaml"))


def _expectations(case: Path) -> tuple[list[str], list[str]]:
    """`# expect: LINE` (exact stderr lines) and `# expect-start: PREFIX` from the case's header."""
    exact, prefixes = [], []
    for line in case.read_text().splitlines():
        if line.startswith("# expect: "):
            exact.append("error: " + line.removeprefix("# expect: "))
        elif line.startswith("# expect-start: "):
            prefixes.append("error: " + line.removeprefix("# expect-start: "))
    return exact, prefixes


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_malformed_project_reports_exact_messages(case: Path, tmp_path: Path):
    shutil.copy(case, tmp_path / "comic.yaml")
    result = run_cli("check", str(tmp_path), check=False)
    exact, prefixes = _expectations(case)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[: len(exact)] == exact if exact else True
    assert len(lines) == len(exact) + len(prefixes)
    for prefix in prefixes:
        assert any(line.startswith(prefix) for line in lines), (prefix, lines)


def test_debug_shows_the_traceback(tmp_path: Path):
    shutil.copy(TESTS / "projects" / "bad" / "unknown_character.yaml", tmp_path / "comic.yaml")
    result = run_cli("--debug", "check", str(tmp_path), check=False)
    assert "Traceback" in result.stderr and "unknown character 'aiko'" in result.stderr


def _tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under a folder: its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_bad_project_leaves_existing_outputs_untouched(small_project: Path):
    run_cli("build", str(small_project), "--export", "pdf,png,cbz,spreads")
    before = _tree(small_project / "build")
    assert {"small-test-book.pdf", "small-test-book.cbz", "pages/page-001.png"} <= set(before), sorted(before)
    text = (small_project / "comic.yaml").read_text()
    (small_project / "comic.yaml").write_text(text.replace("characters: [ren]\n", "characters: [aiko]\n", 1))
    result = run_cli("build", str(small_project), check=False)
    assert result.returncode == 2 and "unknown character 'aiko'" in result.stderr
    assert _tree(small_project / "build") == before  # nothing rewritten, removed or added


def test_missing_project_folder(tmp_path: Path):
    result = run_cli("build", str(tmp_path / "nowhere"), check=False)
    assert result.returncode == 2
    assert "no project file here" in result.stderr


def test_unwritable_output_folder_is_a_clear_error(small_project: Path, tmp_path: Path):
    import os

    if os.geteuid() == 0:
        blocker = tmp_path / "out"
        blocker.write_text("a file where the output folder should be")
        result = run_cli("build", str(small_project), "--out", str(blocker / "sub"), check=False)
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        result = run_cli("build", str(small_project), "--out", str(locked / "sub"), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "sub" in result.stderr
