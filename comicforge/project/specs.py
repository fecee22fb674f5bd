"""Frozen, hashable specs that resolve produces and the build runs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from comicforge.layout.panels import Rect
from comicforge.spec.files import FileRef
from comicforge.spec.jobs import BookFacts, OutputSettings, PageFrame
from comicforge.spec.lettering import BalloonSpec, SfxSpec
from comicforge.spec.post import PostStep
from comicforge.spec.requests import Edit, GenerateRequest

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
    variants: int = 1  # candidates; candidate k is the request with seed + k
    pick: int | None = None  # the candidate on the page (None: 0, and a final build renders every candidate)
    preview: GenerateRequest | None = None  # the request at `defaults.preview` settings

    @property
    def engine(self) -> str:
        return self.request.engine

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
class PageSpec(PageFrame):
    """A page's frame and its resolved panels in reading order."""

    panels: tuple[PanelSpec, ...]


@dataclass(frozen=True)
class BookSettings(BookFacts):
    """The book's facts and what its exports and engines are told."""

    output: OutputSettings = field(default_factory=OutputSettings)  # format.output (export jobs' specs)
    runtime: tuple[tuple[str, str], ...] = ()  # engine options outside every key (memory savers, batch size)
    icc_profile: FileRef | None = None  # the book's output ICC profile


@dataclass(frozen=True)
class BookSpec(BookSettings):
    """Everything the build needs, derived purely from the project and its files' fingerprints."""

    pages: tuple[PageSpec, ...] = field(kw_only=True)

    @property
    def panels(self) -> list[PanelSpec]:
        return [panel for page in self.pages for panel in page.panels]
