"""Apply a chain of post steps to a panel at its print size, with screens laid in page coordinates.

The chain carries two images: the art as it will print, and the last continuous-tone art. Screening steps
(halftone, screentone) change only the first, so an `ink` step after a screen still finds its lines in the
continuous tone and inks them over the dots: `[grayscale, screentone, ink]` works as a manga artist expects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from comicforge.errors import PostError
from comicforge.layout.units import points_to_pixels
from comicforge.post import color, halftone, ink, palette, screentone
from comicforge.post.color import describe_mode
from comicforge.spec.post import (
    CmykStep,
    CurvesStep,
    FlatsStep,
    GrayscaleStep,
    HalftoneStep,
    InkStep,
    LevelsStep,
    PageFact,
    PostStep,
    ScreentoneStep,
)

VERSION = "post-2"  # bump whenever output bytes change; it enters cache keys (2: bitmap books' default screen in page coordinates)
BOOK_COLOURS = ("color", "grayscale", "bitmap")
BITMAP_DEFAULT = HalftoneStep()  # the screen a bitmap book gives art its chain left continuous (coarser at low dpi)


def bitmap_default(dpi: int) -> HalftoneStep:
    """The default screen of a bitmap book at a dpi: 85 lpi, or a third of the dpi where that is finer than the page holds."""
    return BITMAP_DEFAULT if dpi / 3 >= BITMAP_DEFAULT.lpi else BITMAP_DEFAULT.model_copy(update={"lpi": round(dpi / 3, 2)})


@dataclass(frozen=True)
class PostContext:
    """What a chain needs to know of the page: resolution, the panel's place on it, the book's colours."""

    dpi: int  # print resolution of the page
    origin: tuple[int, int]  # panel's top-left in page pixels (bleed included): screens continue across panels
    color: str  # "color" | "grayscale" | "bitmap" (the book's colour mode)
    palettes: Mapping[str, tuple[str, ...]]  # named palettes, hex colours "#rrggbb"
    icc_profile: str | None = None  # path to an output ICC profile for CMYK


@dataclass(frozen=True)
class Artwork:
    """The art as it will print, and the last continuous-tone art (where ink finds its lines)."""

    image: Image.Image
    tone: Image.Image

    def redrawn(self, image: Image.Image) -> Artwork:
        """Both images replaced: a tone step changed the art."""
        return Artwork(image, image)

    def screened(self, image: Image.Image) -> Artwork:
        """The printed image replaced; the continuous tone stays for later ink."""
        return replace(self, image=image)


def chain_reads(steps: Sequence[PostStep], color: str) -> frozenset[PageFact]:
    """What of the page a panel's chain reads, the default screen of a bitmap book included."""
    default = (BITMAP_DEFAULT,) if color == "bitmap" else ()
    return frozenset().union(*(step.reads() for step in (*steps, *default)))


def apply_chain(image: Image.Image, steps: Sequence[PostStep], ctx: PostContext) -> Image.Image:
    """Run `steps` in order on a panel already at its print pixel size; returns an RGB, L, CMYK or 1 image."""
    check_context(ctx)
    art = color.flatten(image) if image.mode not in ("1", "CMYK") else image
    artwork = Artwork(art, art)
    for step in steps:
        artwork = run_step(artwork, step, ctx)
    return conform_to_book(artwork.image, ctx)


def check_context(ctx: PostContext) -> None:
    """Raise PostError for a page context no step can work with."""
    if isinstance(ctx.dpi, bool) or not isinstance(ctx.dpi, (int, float)) or not ctx.dpi > 0:
        raise PostError(f"dpi: {ctx.dpi!r} is not a print resolution (must be > 0)")
    if ctx.color not in BOOK_COLOURS:
        raise PostError(f"color: unknown book colour mode {ctx.color!r} (valid: {', '.join(BOOK_COLOURS)})")


def conform_to_book(image: Image.Image, ctx: PostContext) -> Image.Image:
    """The chain's result in a mode the book can print.

    Bitmap books get the default halftone (`bitmap_default`) of art the chain left continuous; grayscale books
    get colour art converted to gray; colour books take any mode.
    """
    if ctx.color == "bitmap" and image.mode != "1":
        gray = color.grayscale(image)
        return halftone_art(Artwork(gray, gray), bitmap_default(ctx.dpi), ctx).image
    if ctx.color == "grayscale" and image.mode not in ("1", "L"):
        return color.grayscale(image)
    return image


def halftone_art(artwork: Artwork, step: HalftoneStep, ctx: PostContext) -> Artwork:
    """Halftone step. 1-bit art passes; CMYK (or RGB in a colour book) gets a screen per ink; anything else a gray screen."""
    image = artwork.image
    if image.mode == "1":
        return artwork
    if image.mode == "CMYK" or (ctx.color == "color" and image.mode == "RGB"):
        return artwork.screened(colour_halftone(color.to_cmyk(image, ctx.icc_profile), step, ctx))
    screen = checked_screen(ctx.dpi, step.lpi, step.angle, step.shape, "halftone")
    return artwork.screened(halftone.halftone_image(image, screen, ctx.origin))


def checked_screen(dpi: float, lpi: float, angle: float, shape: str, setting: str) -> halftone.Screen:
    """A screen once its ruling is known to fit the page's dpi."""
    halftone.check_screen(dpi, lpi, angle, shape, setting)
    return halftone.Screen(dpi, lpi, angle, shape)


def colour_halftone(cmyk: Image.Image, step: HalftoneStep, ctx: PostContext) -> Image.Image:
    """Each process ink screened at its own angle; ink values become 0 or 255."""
    inks = []
    for band, angle in zip(cmyk.split(), (step.angles.c, step.angles.m, step.angles.y, step.angles.k)):
        screen = checked_screen(ctx.dpi, step.lpi, angle, step.shape, "halftone")
        paper_tone = 255 - np.asarray(band)  # an ink amount seen as a gray: 255 ink = black
        paper = halftone.paper_mask(paper_tone, screen, ctx.origin)
        inks.append(Image.fromarray(np.where(paper, 0, 255).astype(np.uint8), mode="L"))
    return Image.merge("CMYK", inks)


def run_screentone(artwork: Artwork, step: ScreentoneStep, ctx: PostContext) -> Artwork:
    """Screentone step: gray art to 1-bit manga tone."""
    if artwork.image.mode == "1":
        return artwork
    screen = checked_screen(ctx.dpi, step.lpi, step.angle, step.shape, "screentone")
    sheet = screentone.ToneSheet(step.levels, step.gradient, step.black, step.white)
    gray = np.asarray(color.grayscale(artwork.image))
    paper = screentone.screentone_paper(gray, sheet, screen, ctx.origin)
    return artwork.screened(halftone.bitmap_from_paper(paper))


def run_ink(artwork: Artwork, step: InkStep, ctx: PostContext) -> Artwork:
    """Ink step: XDoG lines from the continuous tone, pure black over both the printed art and the tone."""
    params = ink.XdogParams(
        sigma=points_to_pixels(step.sigma, ctx.dpi),
        k=step.k,
        sharpen=step.sharpen,
        epsilon=step.epsilon,
        phi=step.phi,
    )
    lines = ink.ink_lines(
        ink.line_source(artwork.tone), params, step.threshold, points_to_pixels(step.weight, ctx.dpi)
    )
    return Artwork(ink.ink_over(artwork.image, lines), ink.ink_over(artwork.tone, lines))


def run_flats(artwork: Artwork, step: FlatsStep, ctx: PostContext) -> Artwork:
    """Flats step: nearest palette colour in Lab, optionally dithered in page coordinates."""
    require_continuous(artwork.image, "flats")
    colours = palette.gather_palette(step.palette, step.colors, ctx.palettes)
    return artwork.redrawn(palette.quantise_to_palette(artwork.image, colours, step.dither, ctx.origin))


def run_grayscale(artwork: Artwork, step: GrayscaleStep, ctx: PostContext) -> Artwork:
    """Grayscale step (1-bit art stays 1-bit)."""
    if artwork.image.mode == "1":
        return artwork
    return artwork.redrawn(color.grayscale(artwork.image))


def run_levels(artwork: Artwork, step: LevelsStep, ctx: PostContext) -> Artwork:
    """Levels step on gray or RGB art."""
    table = color.levels_table(step.black, step.white, step.gamma)
    return artwork.redrawn(color.apply_tone_table(artwork.image, table, "levels"))


def run_curves(artwork: Artwork, step: CurvesStep, ctx: PostContext) -> Artwork:
    """Curves step on gray or RGB art."""
    table = color.curve_table(step.points)
    return artwork.redrawn(color.apply_tone_table(artwork.image, table, "curves"))


def run_cmyk(artwork: Artwork, step: CmykStep, ctx: PostContext) -> Artwork:
    """CMYK step: through the book's ICC profile when it has one, else simple GCR."""
    return artwork.redrawn(color.to_cmyk(artwork.image, ctx.icc_profile, step.intent, step.gcr))


def require_continuous(image: Image.Image, setting: str) -> None:
    """Raise PostError when a colour step meets screened or CMYK art."""
    if image.mode not in ("L", "RGB"):
        raise PostError(
            f"{setting}: works on gray or RGB art, not a {describe_mode(image.mode)} image "
            "(put it before halftone, screentone and cmyk)"
        )


def run_step(artwork: Artwork, step: PostStep, ctx: PostContext) -> Artwork:
    """One step of a chain, by its type."""
    match step:
        case HalftoneStep():
            return halftone_art(artwork, step, ctx)
        case ScreentoneStep():
            return run_screentone(artwork, step, ctx)
        case InkStep():
            return run_ink(artwork, step, ctx)
        case FlatsStep():
            return run_flats(artwork, step, ctx)
        case GrayscaleStep():
            return run_grayscale(artwork, step, ctx)
        case LevelsStep():
            return run_levels(artwork, step, ctx)
        case CurvesStep():
            return run_curves(artwork, step, ctx)
        case CmykStep():
            return run_cmyk(artwork, step, ctx)
