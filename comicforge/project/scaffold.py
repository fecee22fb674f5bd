"""`comicforge new`: start a project from a template."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from comicforge.errors import ComicforgeError, Problem


def template_dir() -> Path:
    """Where project templates ship in the package."""
    return Path(str(resources.files("comicforge") / "templates" / "projects"))


def create_project(path: Path, template: str) -> Path:
    """Copy a template into a new (or empty) folder; returns its comic.yaml."""
    source = template_dir() / template
    if not source.is_dir():
        valid = ", ".join(sorted(p.name for p in template_dir().iterdir() if p.is_dir()))
        raise ComicforgeError(Problem(f"unknown template {template!r} (valid: {valid})"))
    if path.exists() and any(path.iterdir()):
        raise ComicforgeError(Problem("folder is not empty; choose a new path", str(path)))
    shutil.copytree(source, path, dirs_exist_ok=True)
    return path / "comic.yaml"
