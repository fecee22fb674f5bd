"""One-off: convert CFF-flavoured OpenType fonts to TrueType outlines (reportlab embeds TrueType only).

Used to produce comicforge/data/fonts/ComicNeue-*.ttf from Debian's fonts-comic-neue (SIL OFL 1.1).
Usage: python tools/otf_to_ttf.py IN.otf OUT.ttf
"""

from __future__ import annotations

import sys

from fontTools.cu2qu.cu2qu import curve_to_quadratic  # noqa: F401  (ensures cu2qu is present)
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

MAX_ERROR_EM = 0.001  # quadratic approximation error, fraction of the em


def glyphs_to_quadratic(font: TTFont) -> dict:
    """Every CFF glyph redrawn as TrueType quadratic outlines."""
    glyph_set = font.getGlyphSet()
    max_err = font["head"].unitsPerEm * MAX_ERROR_EM
    glyphs = {}
    for name in font.getGlyphOrder():
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err, reverse_direction=True))
        glyphs[name] = pen.glyph()
    return glyphs


def otf_to_ttf(src: str, dst: str) -> None:
    """Replace the CFF table by glyf/loca and write a .ttf."""
    font = TTFont(src)
    glyphs = glyphs_to_quadratic(font)
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = glyphs
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 2.0
    font["post"].extraNames = []
    font["post"].mapping = {}
    font.sfntVersion = "\x00\x01\x00\x00"
    font.save(dst)


if __name__ == "__main__":
    otf_to_ttf(sys.argv[1], sys.argv[2])
