"""Guards in CI: the import contracts of pyproject.toml (import-linter) and ruff over the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO


def _tool(name: str) -> str:
    """A console script of the test extra, from this interpreter's environment first."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a tool in the repository root and return its result."""
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_import_contracts_hold() -> None:
    result = _run(_tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_ruff_finds_nothing_in_the_package() -> None:
    result = _run(_tool("ruff"), "check", "--no-cache", "comicforge")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_finds_nothing_in_the_typed_packages() -> None:
    result = _run(_tool("mypy"), "--cache-dir", "/dev/null")
    assert result.returncode == 0, result.stdout + result.stderr
