"""Post-processing for print: halftone, screentone, ink, flats and colour, applied as chains of steps.

Names are imported on first use, so `comicforge halftone` does not pay for pydantic and scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from comicforge.post.chain import VERSION, PostContext, apply_chain
    from comicforge.post.halftone import Screen, halftone_dots, halftone_file
    from comicforge.post.measure import ScreenReading, ink_coverage, measure_screen
    from comicforge.post.steps import (
        CmykStep,
        CurvesStep,
        FlatsStep,
        GrayscaleStep,
        HalftoneStep,
        InkStep,
        LevelsStep,
        PostStep,
        ScreentoneStep,
    )

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
        "comicforge.post.steps",
    ),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'comicforge.post' has no attribute {name!r}")
