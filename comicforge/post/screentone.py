"""Manga screentone: line art stays solid black, paper stays white, mid-tones become dot tone at a few levels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from comicforge.post.halftone import Origin, Screen, paper_mask


@dataclass(frozen=True)
class ToneSheet:
    """How art tones map to screentone: tone % levels, gradient or snapped, and the black and white cut-offs."""

    levels: Sequence[float]
    gradient: bool = False
    black: float = 80.0
    white: float = 5.0


def screentone_table(sheet: ToneSheet) -> np.ndarray:
    """For each gray level 0..255, the gray the screen renders (a 256-entry table).

    Tones at or above `black` % become solid black, below `white` % white paper; between, the tone snaps to
    the nearest level, or with `gradient` follows the art clamped to the levels' range.
    """
    tone = (255 - np.arange(256, dtype=np.float64)) * 100 / 255
    levels = np.asarray(sorted(sheet.levels), dtype=np.float64)
    if sheet.gradient:
        screened = np.clip(tone, levels[0], levels[-1])
    else:
        screened = levels[np.abs(tone[:, None] - levels[None, :]).argmin(axis=1)]
    screened = np.where(tone >= sheet.black, 100.0, np.where(tone < sheet.white, 0.0, screened))
    return np.rint(255 - screened * 255 / 100).astype(np.uint8)


def screentone_paper(gray: np.ndarray, sheet: ToneSheet, screen: Screen, origin: Origin = (0, 0)) -> np.ndarray:
    """Where paper stays white (True) after laying screentone over 8-bit gray art."""
    return paper_mask(screentone_table(sheet)[gray], screen, origin)
