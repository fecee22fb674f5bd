"""Finding a project's file (kept free of heavy imports: the no-op build path uses it)."""

from __future__ import annotations

from pathlib import Path

from comicforge.errors import Problem, ProjectError

PROJECT_FILE = "comic.yaml"


def find_project_file(path: Path | str) -> Path:
    """The comic.yaml of a project given as its folder or the file itself."""
    path = Path(path)
    candidate = path / PROJECT_FILE if path.is_dir() else path
    if not candidate.is_file():
        raise ProjectError(Problem(f"no project file here (expected a folder with {PROJECT_FILE}, or a .yaml file)", str(path)))
    return candidate.resolve()
