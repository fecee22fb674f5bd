"""Frozen, hashable specs that resolve produces and the build runs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from comicforge.layout.panels import Rect
from comicforge.spec.files import FileRef
from comicforge.spec.requests import GenerateRequest, RefineStep

Loc = tuple[str | int, ...]
PixelBox = tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels


@dataclass(frozen=True)
class BalloonSpec:
    """A balloon ready for lettering: text, look, fonts, and where it sits and points."""

    text: str
    style: str  # speech | thought | whisper | shout | radio | caption
    who: str | None
    font: FileRef
    bold: FileRef  # face for *bold* emphasis
    italic: FileRef  # face for _italic_ emphasis
    size: float  # points
    min_size: float  # points: the text may shrink to this to fit
    leading: float
    caps: bool
    hyphenate: str | None  # the hyphenation language, or None
    vertical: bool  # top-to-bottom columns, right to left
    link: bool  # join to the previous balloon of the same speaker
    at: tuple[float, float] | None  # centre, fractions of the panel
    tail: tuple[float, float] | None  # tail target, fractions of the panel


@dataclass(frozen=True)
class SfxSpec:
    """A sound effect: display text at a point of the panel, rotated, filled and outlined."""

    text: str
    font: FileRef
    size: float
    angle: float
    at: tuple[float, float]
    fill: str
    outline: str
    outline_width: float


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
    sfx: tuple[SfxSpec, ...] = ()
    edits: tuple[RefineStep, ...] = ()  # editing steps after generation, each its own job
    icc_profile: FileRef | None = None  # for CMYK conversion in the post chain
    variants: int = 1  # candidates; candidate k is the request with seed + k
    pick: int | None = None  # the candidate on the page (None: 0, and a final build renders every candidate)
    preview: GenerateRequest | None = None  # the request at `defaults.preview` settings

    @property
    def print_size(self) -> tuple[int, int]:
        return self.box[2] - self.box[0], self.box[3] - self.box[1]

    @property
    def shown(self) -> int:
        """The candidate on the page."""
        return self.pick or 0

    def candidates(self, preview: bool = False) -> list[tuple[int, GenerateRequest]]:
        """(index, request) of each candidate to render: a preview renders all, a final build with a pick only that one."""
        base = self.preview if preview and self.preview is not None else self.request
        indices = [self.pick] if self.pick is not None and not preview else list(range(self.variants))
        return [(k, candidate_request(base, k)) for k in indices]


def candidate_request(request: GenerateRequest, index: int) -> GenerateRequest:
    """Candidate `index` of a panel: its request with seed + index (A1111's batch convention), wrapping at 2**32."""
    return request if index == 0 else dataclasses.replace(request, seed=(request.seed + index) % 2**32)


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
    output: tuple[tuple[str, Any], ...] = ()  # format.output settings, sorted (export jobs' specs)
    runtime: tuple[tuple[str, str], ...] = ()  # engine options that never change the pixels (memory savers)
    icc_profile: FileRef | None = None  # the book's output ICC profile

    @property
    def panels(self) -> list[PanelSpec]:
        return [panel for page in self.pages for panel in page.panels]
