"""Fixtures for the control tests: the shared reference folder and small pose files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "reference"


@pytest.fixture
def reference_dir() -> Path:
    """The shared reference folder beside the checkout, or skip."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"shared reference folder not found at {REFERENCE_DIR}")
    return REFERENCE_DIR


@pytest.fixture
def example_pose_file(reference_dir: Path) -> Path:
    """sd-webui-openpose-editor's sample pose.json (COCO-18, normalised, 768×512, hands)."""
    path = reference_dir / "openpose_example.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[object, str], Path]:
    """Write a JSON document (or raw text) to a file in tmp_path and return its path."""

    def write(document: object, name: str = "pose.json") -> Path:
        path = tmp_path / name
        path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
        return path

    return write
