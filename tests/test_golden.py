"""Golden digests: the example projects' PDF, PNG and CBZ outputs stay byte-identical across refactors.

Re-record (only when an output is meant to change, and say why in the commit):
`COMICFORGE_RECORD_GOLDEN=1 python -m pytest -q tests/test_golden.py`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from support import REPO, TESTS, run_cli

GOLDEN = TESTS / "data" / "golden" / "digests.json"
PROJECTS = ("demo", "manga")
EXPORTS = "pdf,png,cbz"
EPOCH = "1700000000"  # SOURCE_DATE_EPOCH for the build: the PDF's and ComicInfo's dates come from it


def _digests(out: Path) -> dict[str, str]:
    """sha256 of every file under a build's output folder, by path relative to it."""
    return {path.relative_to(out).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(out.rglob("*")) if path.is_file()}


def _recorded() -> dict[str, dict[str, str]]:
    """The digests recorded in tests/data/golden/digests.json, by project."""
    return json.loads(GOLDEN.read_text(encoding="utf-8"))["projects"]


def _record(project: str, digests: dict[str, str]) -> None:
    """Write one project's digests into the golden file (COMICFORGE_RECORD_GOLDEN=1)."""
    data = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.is_file() else {}
    data.setdefault("how", f"comicforge build projects/NAME --export {EXPORTS} --out OUT with SOURCE_DATE_EPOCH={EPOCH}; "
                           "sha256 of every file under OUT (tests/test_golden.py)")
    data.setdefault("projects", {})[project] = digests
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@pytest.mark.parametrize("project", PROJECTS)
def test_example_outputs_match_the_golden_digests(project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / project
    shutil.copytree(REPO / "projects" / project, source, ignore=shutil.ignore_patterns("build", ".comicforge"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.delenv("COMICFORGE_MODELS", raising=False)
    out = tmp_path / "out"
    run_cli("build", str(source), "--export", EXPORTS, "--out", str(out))
    digests = _digests(out)
    assert any(name.endswith(".pdf") for name in digests) and any(name.endswith(".cbz") for name in digests)
    assert any(name.startswith("pages/") and name.endswith(".png") for name in digests)
    if os.environ.get("COMICFORGE_RECORD_GOLDEN") == "1":
        _record(project, digests)
        pytest.skip(f"recorded {len(digests)} digests for {project}")
    expected = _recorded()[project]
    changed = sorted(name for name in expected.keys() | digests.keys() if expected.get(name) != digests.get(name))
    assert not changed, f"{project}: outputs differ from the golden digests: {changed}"
