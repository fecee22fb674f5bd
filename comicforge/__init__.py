"""comicforge: comics and manga from a project file, through diffusion or the built-in storyboard engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["BuildOptions", "BuildReport", "ComicforgeError", "Problem", "ProjectError", "__version__", "build", "load_project"]

if TYPE_CHECKING:
    from comicforge.errors import ComicforgeError, Problem, ProjectError
    from comicforge.pipeline.run import BuildOptions, BuildReport, build
    from comicforge.project.load import load_project

_LAZY = {
    "BuildOptions": "comicforge.pipeline.run", "BuildReport": "comicforge.pipeline.run", "build": "comicforge.pipeline.run",
    "ComicforgeError": "comicforge.errors", "ProjectError": "comicforge.errors", "Problem": "comicforge.errors",
    "load_project": "comicforge.project.load",
}


def __getattr__(name: str) -> Any:
    """Import public names on first use so `import comicforge` stays fast."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'comicforge' has no attribute {name!r}")
