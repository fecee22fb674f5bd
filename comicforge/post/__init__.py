"""Post-processing for print: halftone, screentone, ink, flats and colour, applied as chains of steps."""

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

__all__ = [
    "VERSION",
    "CmykStep",
    "CurvesStep",
    "FlatsStep",
    "GrayscaleStep",
    "HalftoneStep",
    "InkStep",
    "LevelsStep",
    "PostContext",
    "PostStep",
    "Screen",
    "ScreenReading",
    "ScreentoneStep",
    "apply_chain",
    "halftone_dots",
    "halftone_file",
    "ink_coverage",
    "measure_screen",
]
