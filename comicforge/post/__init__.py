"""Post-processing for print: halftone, screentone, ink, flats and colour, applied as chains of steps.

Names are imported on first use, so `comicforge halftone` does not pay for pydantic and scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the public names, re-exported (`X as X`) for type checkers; imported lazily below
    from comicforge.post.chain import VERSION as VERSION
    from comicforge.post.chain import PostContext as PostContext
    from comicforge.post.chain import apply_chain as apply_chain
    from comicforge.post.halftone import Screen as Screen
    from comicforge.post.halftone import halftone_dots as halftone_dots
    from comicforge.post.halftone import halftone_file as halftone_file
    from comicforge.post.measure import ScreenReading as ScreenReading
    from comicforge.post.measure import ink_coverage as ink_coverage
    from comicforge.post.measure import measure_screen as measure_screen
    from comicforge.spec.post import CmykStep as CmykStep
    from comicforge.spec.post import CurvesStep as CurvesStep
    from comicforge.spec.post import FlatsStep as FlatsStep
    from comicforge.spec.post import GrayscaleStep as GrayscaleStep
    from comicforge.spec.post import HalftoneStep as HalftoneStep
    from comicforge.spec.post import InkStep as InkStep
    from comicforge.spec.post import LevelsStep as LevelsStep
    from comicforge.spec.post import PostStep as PostStep
    from comicforge.spec.post import ScreentoneStep as ScreentoneStep

_LAZY = {
    **dict.fromkeys(["VERSION", "PostContext", "apply_chain"], "comicforge.post.chain"),
    **dict.fromkeys(["Screen", "halftone_dots", "halftone_file"], "comicforge.post.halftone"),
    **dict.fromkeys(["ScreenReading", "ink_coverage", "measure_screen"], "comicforge.post.measure"),
    **dict.fromkeys(
        [
            "CmykStep",
            "CurvesStep",
            "FlatsStep",
            "GrayscaleStep",
            "HalftoneStep",
            "InkStep",
            "LevelsStep",
            "PostStep",
            "ScreentoneStep",
        ],
        "comicforge.spec.post",
    ),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'comicforge.post' has no attribute {name!r}")
