"""Shared fixtures: copies of fixture projects, and running the CLI as users do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
REFERENCE = REPO.parent / "shared" / "reference"


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """A fresh copy of tests/projects/small."""
    target = tmp_path / "small"
    shutil.copytree(TESTS / "projects" / "small", target)
    return target


@pytest.fixture
def demo_project(tmp_path: Path) -> Path:
    """A fresh copy of projects/demo (without any build output)."""
    target = tmp_path / "demo"
    shutil.copytree(REPO / "projects" / "demo", target, ignore=shutil.ignore_patterns("build", ".comicforge"))
    return target


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `python -m comicforge ARGS` in a subprocess and return its result."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "comicforge", *args], capture_output=True, text=True, env=env, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"comicforge {' '.join(args)} exited {result.returncode}\n{result.stderr}")
    return result
