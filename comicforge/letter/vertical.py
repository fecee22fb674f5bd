"""Vertical lettering (tategaki): upright CJK shaped top to bottom, tate-chu-yoko for short numbers, Latin rotated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby

from comicforge.letter.breaks import is_wide
from comicforge.letter.fonts import text_width
from comicforge.letter.shaping import extents, shape

UPRIGHT, ACROSS, ROTATED = "upright", "across", "rotated"
# JLReq 3.2.3: one or two half-width digits, or `!?`-style pairs, sit across the column in one em (tate-chu-yoko)
ACROSS_RUN = re.compile(r"[0-9]{1,2}|[!?]{1,2}")


@dataclass(frozen=True)
class PlacedRun:
    """Text drawn at a baseline start (page points): turned by `angle` degrees counter-clockwise, in `forms` glyphs."""

    x: float
    y: float
    text: str
    font: str
    angle: float = 0.0
    forms: str | None = None  # "vert": the font's vertical forms (GSUB vert/vrt2) of the characters


def vertical_pieces(text: str) -> list[tuple[str, str]]:
    """A column's text as (kind, text): upright wide characters, half-width runs across the column or rotated."""
    pieces: list[tuple[str, str]] = []
    for wide, chars in groupby(text, is_wide):
        run = "".join(chars)
        pieces.append((UPRIGHT if wide else ACROSS if ACROSS_RUN.fullmatch(run) else ROTATED, run))
    return pieces


def column_length(text: str, font: str, size: float) -> float:
    """How far a column's text runs down the page, in points."""
    length = 0.0
    for kind, run in vertical_pieces(text):
        if kind == UPRIGHT:
            length += size * sum(glyph.advance for glyph in shape(run, font, vertical=True))
        elif kind == ACROSS:
            length += size
        else:
            length += text_width(run, font, size)
    return length


def column_runs(runs: tuple[tuple[str, str], ...], middle: float, top: float, size: float) -> list[PlacedRun]:
    """A column's runs of (text, font) placed down its middle from the top, as the font's vertical metrics say."""
    placed: list[PlacedRun] = []
    pen = top
    for text, font in runs:
        ascent, descent = extents(font)
        baseline = ascent / (ascent + descent)  # of the em box, from its top
        for kind, run in vertical_pieces(text):
            if kind == UPRIGHT:
                placed += _upright(run, font, middle, pen, size)
                pen += size * sum(glyph.advance for glyph in shape(run, font, vertical=True))
                continue
            across = text_width(run, font, size)
            if kind == ACROSS:
                placed.append(PlacedRun(middle - across / 2, pen + baseline * size, run, font))
                pen += size
            elif run.strip():
                centre = (ascent - descent) / (ascent + descent) / 2 * size  # the em box's centre above the baseline
                placed.append(PlacedRun(middle - centre, pen, run, font, angle=-90.0))
                pen += across
            else:
                pen += across
    return placed


def _upright(run: str, font: str, middle: float, pen: float, size: float) -> list[PlacedRun]:
    """Upright glyphs as HarfBuzz sets them top to bottom, each drawn in the font's vertical forms where it has one."""
    placed = []
    glyphs = shape(run, font, vertical=True)
    down = 0.0
    for i, glyph in enumerate(glyphs):
        end = glyphs[i + 1].cluster if i + 1 < len(glyphs) else len(run)
        chars = run[glyph.cluster : max(end, glyph.cluster + 1)]
        if chars.strip():
            forms = "vert" if len(chars) == 1 else None  # a cluster of several characters is drawn as they are
            placed.append(PlacedRun(middle + glyph.dx * size, pen + (down + glyph.dy) * size, chars, font, forms=forms))
        down += glyph.advance
    return placed
