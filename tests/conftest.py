"""Shared fixtures: fresh copies of fixture projects."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import COLLECTED_MODULES, REPO, TESTS

from comicforge.pipeline.farm import loopback_only

loopback_only()  # before any test module imports Ray: the clusters tests start listen on 127.0.0.1 only


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


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Remember every test module pytest collected (before marker deselection)."""
    if report.passed and report.nodeid.endswith(".py"):
        COLLECTED_MODULES.add((REPO / report.nodeid).resolve())
