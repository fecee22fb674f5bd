"""A page's boxes in points (media, trim, live area) and panel boxes in whole pixels at the book's dpi."""

from __future__ import annotations

from dataclasses import dataclass

from comicforge.layout.panels import Rect
from comicforge.layout.units import points_to_pixels


@dataclass(frozen=True)
class PageGeometry:
    """Media size, bleed and live area in points; pixel size at the book's dpi."""

    media: Rect
    trim: Rect
    live: Rect
    bleed: float
    gutter: float
    dpi: int

    @property
    def pixels(self) -> tuple[int, int]:
        return round(points_to_pixels(self.media.w, self.dpi)), round(points_to_pixels(self.media.h, self.dpi))


def page_geometry(width: float, height: float, bleed: float, margins: tuple[float, float, float, float], gutter: float, dpi: int) -> PageGeometry:
    """A trim of width x height with bleed around it and margins (top, bottom, inside, outside) inside it, all in points."""
    top, bottom, inside, outside = margins
    trim = Rect(bleed, bleed, width, height)
    live = Rect(bleed + inside, bleed + top, width - inside - outside, height - top - bottom)
    media = Rect(0, 0, width + 2 * bleed, height + 2 * bleed)
    return PageGeometry(media, trim, live, bleed, gutter, dpi)


def pixel_box(rect: Rect, dpi: int) -> tuple[int, int, int, int]:
    """A rect in points → integer pixel box (edges rounded, so neighbours never overlap)."""
    scale = dpi / 72
    return round(rect.x * scale), round(rect.y * scale), round(rect.right * scale), round(rect.bottom * scale)
