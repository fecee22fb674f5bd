"""The spec of each stage's job: what the stage is handed (typed), and what its key hashes (the codec's JSON form).

A generate job's spec is its `GenerateRequest`; the finish job's is `spec.post.FinishJob` (beside the pydantic
post steps it holds, so this module stays free of pydantic); the other stages have one type each below.
"""

from __future__ import annotations

from dataclasses import dataclass

from comicforge.spec.files import FileRef
from comicforge.spec.lettering import BalloonSpec, SfxSpec
from comicforge.spec.requests import Edit, GenerateRequest

Box = tuple[float, float, float, float]  # x, y, w, h in page points (top-left origin)
PixelBox = tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels


@dataclass(frozen=True)
class RefineJob:
    """One editing step on the previous step's image, with the panel's request (prompt, model, seed…)."""

    request: GenerateRequest
    step: Edit


@dataclass(frozen=True)
class Head:
    """Where a placed figure's head is, in panel fractions, and whose it is (balloon tails aim at it), and its body."""

    x: float
    y: float
    who: str | None
    body: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in panel fractions: balloons keep off it


@dataclass(frozen=True)
class PagePanel:
    """A panel as the page composer sees it: where it sits, its lettering, and its figures' heads."""

    id: str
    rect: Box
    box: PixelBox
    balloons: tuple[BalloonSpec, ...] = ()
    sfx: tuple[SfxSpec, ...] = ()
    heads: tuple[Head | None, ...] = ()


@dataclass(frozen=True)
class PageFrame:
    """A page's geometry in points and pixels, its colour mode, reading direction and panel border."""

    number: int
    media: tuple[float, float]  # points (trim + 2 × bleed)
    bleed: float  # points
    live: Box
    dpi: int
    pixels: tuple[int, int]
    color: str
    reading: str
    border: float  # points (0: none)


@dataclass(frozen=True)
class PageJob(PageFrame):
    """A page to compose: its frame and its panels in reading order."""

    panels: tuple[PagePanel, ...]


@dataclass(frozen=True)
class ImageJob:
    """A page image at a resolution, in PNG or JPEG, with proof marks or without."""

    page: int
    art_dpi: int
    dpi: int
    format: str = "png"  # png | jpeg
    quality: int = 90  # JPEG quality
    proof: bool = False


@dataclass(frozen=True)
class OutputSettings:
    """How exports are written (the project's `format.output`)."""

    cmyk: bool = False
    condition: str = "FOGRA39"
    crop_marks: bool = False
    slug: str | None = None
    date: str | None = None
    images: str = "png"
    image_dpi: int | None = None
    jpeg_quality: int = 90


@dataclass(frozen=True)
class BookFacts:
    """What a book says about itself: title, credits, language, reading direction and colour mode."""

    title: str
    author: str | None
    series: str | None
    number: int | None
    language: str
    reading: str
    color: str


@dataclass(frozen=True)
class ExportJob(BookFacts):
    """A PDF, printer spreads or CBZ of a run of pages, with the book's metadata."""

    page_count: int  # pages in the whole book
    output: OutputSettings
    icc_profile: FileRef | None
    pages: tuple[int, ...]  # the page numbers exported
    date: str | None  # YYYY-MM-DD
    proof: bool = False


@dataclass(frozen=True)
class SheetCandidate:
    """One candidate on a contact sheet: its index and seed."""

    index: int
    seed: int


@dataclass(frozen=True)
class SheetPanel:
    """A panel's row on a contact sheet: its candidates in order and the one picked."""

    id: str
    pick: int
    candidates: tuple[SheetCandidate, ...]


@dataclass(frozen=True)
class SheetPage:
    """A book page's contact sheet."""

    number: int
    panels: tuple[SheetPanel, ...]


@dataclass(frozen=True)
class SheetsJob:
    """Contact sheets of a run of pages (their inputs are the candidates' images, in row order)."""

    title: str
    pages: tuple[SheetPage, ...]
