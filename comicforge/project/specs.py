"""Frozen, hashable specs that resolve produces and the build runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from comicforge.layout.panels import Rect
from comicforge.spec.files import FileRef
from comicforge.spec.jobs import PageFrame
from comicforge.spec.lettering import BalloonSpec, SfxSpec
from comicforge.spec.requests import Edit, GenerateRequest

if TYPE_CHECKING:
    from comicforge.spec.jobs import OutputSettings
    from comicforge.spec.post import PostStep

Loc = tuple[str | int, ...]
PixelBox = tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels


@dataclass(frozen=True)
class PanelSpec:
    """One panel: what the engine draws, how it is finished, where it sits on its page."""

    id: str
    page: int  # 1-based page number
    loc: Loc
    request: GenerateRequest
    post: tuple[PostStep, ...]
    rect: Rect  # points, page coordinates (media box, top-left origin)
    box: PixelBox
    balloons: tuple[BalloonSpec, ...]
    palettes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # named palettes the post chain may use
    sfx: tuple[SfxSpec, ...] = ()
    edits: tuple[Edit, ...] = ()  # editing steps after generation, each its own job
    icc_profile: FileRef | None = None  # for CMYK conversion in the post chain

    @property
    def engine(self) -> str:
        return self.request.engine

    @property
    def print_size(self) -> tuple[int, int]:
        return self.box[2] - self.box[0], self.box[3] - self.box[1]


@dataclass(frozen=True)
class PageSpec(PageFrame):
    """A page's frame and its resolved panels in reading order."""

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
    output: OutputSettings | None = None  # format.output (export jobs' specs); None: the defaults
    runtime: tuple[tuple[str, str], ...] = ()  # engine options that never change the pixels (memory savers)
    icc_profile: FileRef | None = None  # the book's output ICC profile

    @property
    def panels(self) -> list[PanelSpec]:
        return [panel for page in self.pages for panel in page.panels]
