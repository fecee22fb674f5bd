"""Shaping with HarfBuzz: a run's glyphs, advances and offsets, left to right or top to bottom (vertical forms)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Glyph:
    """One shaped glyph, in ems: its id, the first character it draws, the pen's advance and where it is drawn."""

    gid: int
    cluster: int  # index in the run of the first character the glyph draws
    advance: float  # along the run: rightward (horizontal) or downward (vertical)
    dx: float  # from the pen to the glyph's horizontal origin, rightward
    dy: float  # from the pen to the glyph's baseline, downward


@lru_cache(maxsize=32)
def _hb_font(path: str) -> tuple[Any, int]:
    """A HarfBuzz font of a file at its design size (font units), and its units per em."""
    import uharfbuzz

    face = uharfbuzz.Face(uharfbuzz.Blob.from_file_path(path))
    return uharfbuzz.Font(face), face.upem


@lru_cache(maxsize=4096)
def shape(text: str, path: str, vertical: bool = False) -> tuple[Glyph, ...]:
    """Shape a run; top to bottom HarfBuzz applies the font's `vert` forms and centres each glyph on the column."""
    import uharfbuzz

    font, upem = _hb_font(path)
    buffer = uharfbuzz.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    if vertical:
        buffer.direction = "ttb"
    uharfbuzz.shape(font, buffer, {"vrt2": True} if vertical else {})
    return tuple(
        Glyph(info.codepoint, info.cluster, (-pos.y_advance if vertical else pos.x_advance) / upem, pos.x_offset / upem, -pos.y_offset / upem)
        for info, pos in zip(buffer.glyph_infos, buffer.glyph_positions)
    )


def advance(text: str, path: str, vertical: bool = False) -> float:
    """A run's advance in ems, along its direction."""
    return sum(glyph.advance for glyph in shape(text, path, vertical))


@lru_cache(maxsize=32)
def extents(path: str) -> tuple[float, float]:
    """The font's ascender and descender (positive, below the baseline) in ems."""
    font, upem = _hb_font(path)
    found = font.get_font_extents("ltr")
    return found.ascender / upem, -found.descender / upem


def nominal_glyph(char: str, path: str) -> int:
    """The glyph the font's character map gives a character (0 if none)."""
    font, _ = _hb_font(path)
    return font.get_nominal_glyph(ord(char)) or 0


def glyph_advance(gid: int, path: str) -> float:
    """A glyph's horizontal advance in ems."""
    font, upem = _hb_font(path)
    return float(font.get_glyph_h_advance(gid)) / upem


def vertical_glyph(char: str, path: str) -> int:
    """The glyph a character is drawn with in a column: its vertical form where the font has one."""
    return shape(char, path, vertical=True)[0].gid
