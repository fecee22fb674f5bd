"""Frozen, hashable specs that resolve produces and the build runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from comicforge.engines.base import FileRef, GenerateRequest
from comicforge.layout.panels import Rect

Loc = tuple[str | int, ...]
PixelBox = tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels


@dataclass(frozen=True)
class BalloonSpec:
    """A balloon ready for lettering: text, look, font, and where it sits and points."""

    text: str
    style: str  # speech | thought | whisper | shout | radio | caption
    who: str | None
    font: FileRef
    size: float  # points
    at: tuple[float, float] | None  # centre, fractions of the panel
    tail: tuple[float, float] | None  # tail target, fractions of the panel


@dataclass(frozen=True)
class PanelSpec:
    """One panel: what the engine draws, how it is finished, where it sits on its page."""

    id: str
    page: int  # 1-based page number
    loc: Loc
    engine: str
    request: GenerateRequest
    post: tuple[dict[str, Any], ...]
    rect: Rect  # points, page coordinates (media box, top-left origin)
    box: PixelBox
    balloons: tuple[BalloonSpec, ...]
    palettes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # named palettes the post chain may use

    @property
    def print_size(self) -> tuple[int, int]:
        return self.box[2] - self.box[0], self.box[3] - self.box[1]


@dataclass(frozen=True)
class PageSpec:
    """A page's geometry, colour and panels in reading order."""

    number: int
    media: tuple[float, float]  # points (trim + 2 × bleed)
    bleed: float  # points
    live: Rect
    dpi: int
    pixels: tuple[int, int]
    color: str
    reading: str
    border: float
    panels: tuple[PanelSpec, ...]


@dataclass(frozen=True)
class BookSpec:
    """Everything the build needs, derived purely from the project and its files' fingerprints."""

    title: str
    author: str | None
    series: str | None
    number: int | None
    language: str
    reading: str
    color: str
    pages: tuple[PageSpec, ...]

    @property
    def panels(self) -> list[PanelSpec]:
        return [panel for page in self.pages for panel in page.panels]
