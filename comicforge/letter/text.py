"""Fitting lettering: balanced line breaks measured with the font's real metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass

from comicforge.letter.fonts import registered_font_name

LEADING = 1.2  # line height as a multiple of the point size
TARGET_ASPECT = 1.8  # text blocks in balloons read best a little wider than tall


@dataclass(frozen=True)
class TextBlock:
    """Lines of lettering with their widths, at a size, in points."""

    lines: tuple[str, ...]
    widths: tuple[float, ...]
    size: float
    font: str  # font file path

    @property
    def width(self) -> float:
        return max(self.widths, default=0.0)

    @property
    def height(self) -> float:
        return self.size * LEADING * len(self.lines)


def text_width(text: str, font: str, size: float) -> float:
    """Advance width of a string in points."""
    from reportlab.pdfbase import pdfmetrics

    return pdfmetrics.stringWidth(text, registered_font_name(font), size)


def wrap_words(words: list[str], font: str, size: float, max_width: float) -> list[str]:
    """Greedy wrap at a maximum width (a word longer than the width gets a line of its own)."""
    lines: list[str] = []
    for word in words:
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and text_width(candidate, font, size) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def fit_text(text: str, font: str, size: float, max_width: float, caps: bool = True) -> TextBlock:
    """Break text into balanced lines near the target aspect, no wider than max_width."""
    text = text.upper() if caps else text
    paragraphs = [p.split() for p in text.split("\n")]
    total = sum(text_width(" ".join(p), font, size) for p in paragraphs)
    ideal = math.sqrt(total * size * LEADING * TARGET_ASPECT)
    best: list[str] | None = None
    for width in sorted({min(max_width, ideal * f) for f in (0.8, 0.9, 1.0, 1.15, 1.3)}):
        lines = [line for words in paragraphs for line in wrap_words(words, font, size, width)]
        if best is None or _raggedness(lines, font, size) < _raggedness(best, font, size):
            best = lines
    lines = best or [""]
    return TextBlock(tuple(lines), tuple(text_width(line, font, size) for line in lines), size, font)


def _raggedness(lines: list[str], font: str, size: float) -> float:
    """Penalty for unbalanced lines and for blocks far from the target aspect."""
    widths = [text_width(line, font, size) for line in lines]
    widest = max(widths, default=1.0)
    ragged = sum((widest - w) ** 2 for w in widths[:-1]) / max(widest, 1.0) ** 2
    aspect = widest / max(size * LEADING * len(lines), 1.0)
    return ragged + abs(math.log(aspect / TARGET_ASPECT))
