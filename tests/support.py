"""Helpers shared by the top-level tests: paths and running the CLI as users do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DATA = TESTS / "data"  # reference files written by others, each with its provenance in data/README.md
COLLECTED_MODULES: set[Path] = set()  # filled by conftest.pytest_collectreport


def run_cli(*args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m comicforge ARGS` in a subprocess (with extra environment `env`) and return its result."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **(env or {})}
    result = subprocess.run([sys.executable, "-m", "comicforge", *args], capture_output=True, text=True, env=env, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"comicforge {' '.join(args)} exited {result.returncode}\n{result.stderr}")
    return result
