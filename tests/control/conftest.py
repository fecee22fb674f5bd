"""Fixtures for the control tests: the reference data in tests/data/ and small pose files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from support import DATA


@pytest.fixture
def reference_dir() -> Path:
    """The folder of reference files written by others (tests/data/, provenance in its README)."""
    return DATA


@pytest.fixture
def example_pose_file() -> Path:
    """sd-webui-openpose-editor's sample pose.json (COCO-18, normalised, 768×512, hands)."""
    return DATA / "openpose_example.json"


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[object, str], Path]:
    """Write a JSON document (or raw text) to a file in tmp_path and return its path."""

    def write(document: object, name: str = "pose.json") -> Path:
        path = tmp_path / name
        path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
        return path

    return write
