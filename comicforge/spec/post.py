"""Post-processing steps as they appear in a project file (one pydantic model per operation, chosen by `op`), and the finish job.

In YAML: `post: [{op: grayscale}, {op: screentone, lpi: 65}, {op: ink}]`. Each model validates its own
ranges; settings that depend on the page (lpi against dpi, palette names) are checked when the chain runs.
Lengths (`sigma`, `weight`) are in points (1/72 inch), so a chain prints the same at any dpi.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator
from pydantic_core import PydanticCustomError

from comicforge.spec.files import FileRef
from comicforge.spec.settings import (
    SHAPES,
    angle_problem,
    colour_problem,
    lpi_problem,
    range_problem,
    shape_problem,
)

Shape = Literal["round", "ellipse", "line"]
V = TypeVar("V")
SCREENTONE_LPI = (55.0, 85.0)
DEFAULT_TONE_LEVELS = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0)


def settle(problem: str | None, value: V) -> V:
    """Return `value`, or raise the problem as a pydantic error whose message is exactly the problem."""
    if problem:
        raise PydanticCustomError("post_setting", "{problem}", {"problem": problem})
    return value


# what of the page a step reads beyond its own pixels (each enters the finish key only when a step reads it)
PageFact = Literal["origin", "icc_profile", "palettes"]


class StepModel(BaseModel):
    """Common configuration of every post step: unknown keys are errors, steps are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def reads(self) -> frozenset[PageFact]:
        """The page facts this step reads: its position (screens), the book's ICC profile, the palettes."""
        return frozenset()


class CmykAngles(StepModel):
    """Screen angle per process ink for colour halftones, degrees counter-clockwise (classic 15/75/0/45)."""

    c: float = 15.0
    m: float = 75.0
    y: float = 0.0
    k: float = 45.0

    @field_validator("c", "m", "y", "k")
    @classmethod
    def _angle(cls, value: float, info: Any) -> float:
        return settle(angle_problem(value, f"halftone.angles.{info.field_name}"), value)


class HalftoneStep(StepModel):
    """AM halftone: dots at `lpi` and `angle`; gray art becomes 1-bit, CMYK art gets one screen per ink."""

    op: Literal["halftone"] = "halftone"
    lpi: float = Field(85.0, description="screen ruling in lines per inch; must be below dpi/2")
    angle: float = Field(45.0, description="degrees counter-clockwise from the page horizontal, 0 to <360")
    shape: Shape = Field("round", description="dot shape: round, ellipse or line")
    angles: CmykAngles = Field(default_factory=CmykAngles, description="per-ink angles for colour halftone")

    @field_validator("lpi")
    @classmethod
    def _lpi(cls, value: float) -> float:
        return settle(lpi_problem(value, "halftone.lpi"), value)

    @field_validator("angle")
    @classmethod
    def _angle(cls, value: float) -> float:
        return settle(angle_problem(value, "halftone.angle"), value)

    @field_validator("shape", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        return settle(shape_problem(value, "halftone.shape"), value)

    def reads(self) -> frozenset[PageFact]:
        return frozenset(("origin", "icc_profile"))  # dots laid in page coordinates; colour art separated by the profile


class ScreentoneStep(StepModel):
    """Manga screentone: mid-tones become dot tone at a few levels (or a gradient); line art stays black."""

    op: Literal["screentone"] = "screentone"
    lpi: float = Field(65.0, description="tone ruling in lines per inch, 55 to 85")
    angle: float = Field(45.0, description="degrees counter-clockwise from the page horizontal, 0 to <360")
    shape: Shape = Field("round", description="dot shape: round, ellipse or line")
    levels: tuple[float, ...] = Field(
        DEFAULT_TONE_LEVELS, description="tone percentages mid-tones snap to, each 1 to 99"
    )
    gradient: bool = Field(False, description="keep mid-tones continuous (gradient tone) instead of snapping")
    black: float = Field(80.0, description="tone % at and above which art is solid black line art, 50 to 100")
    white: float = Field(5.0, description="tone % below which art is white paper, 0 to 50")

    @field_validator("lpi")
    @classmethod
    def _lpi(cls, value: float) -> float:
        return settle(range_problem(value, "screentone.lpi", *SCREENTONE_LPI, "lpi"), value)

    @field_validator("angle")
    @classmethod
    def _angle(cls, value: float) -> float:
        return settle(angle_problem(value, "screentone.angle"), value)

    @field_validator("shape", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        return settle(shape_problem(value, "screentone.shape"), value)

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value:
            settle("screentone.levels: give at least one tone level (1 to 99 %)", value)
        for level in value:
            settle(range_problem(level, "screentone.levels", 1, 99, "%"), level)
        return tuple(sorted(set(value)))

    @field_validator("black")
    @classmethod
    def _black(cls, value: float) -> float:
        return settle(range_problem(value, "screentone.black", 50, 100, "%"), value)

    @field_validator("white")
    @classmethod
    def _white(cls, value: float) -> float:
        return settle(range_problem(value, "screentone.white", 0, 50, "%"), value)

    def reads(self) -> frozenset[PageFact]:
        return frozenset(("origin",))  # tone laid in page coordinates, continuous across panels


class InkStep(StepModel):
    """Ink lines by XDoG (Winnemöller et al. 2012), thickened or thinned, thresholded to pure black over the art."""

    op: Literal["ink"] = "ink"
    sigma: float = Field(0.25, description="line scale in points (Gaussian sigma), 0.02 to 10")
    k: float = Field(1.6, description="ratio of the two Gaussians, 1.1 to 10")
    sharpen: float = Field(20.0, description="XDoG edge sharpening p, 0 to 200")
    epsilon: float = Field(0.1, description="XDoG cut-off: darker responses become ink, -1 to 1")
    phi: float = Field(20.0, description="XDoG softness of the cut-off, 0.1 to 1000")
    threshold: float = Field(0.5, description="soft response below which a pixel is inked, 0 to 1")
    weight: float = Field(0.0, description="line weight change in points: >0 thickens, <0 thins, -2 to 2")

    @field_validator("sigma", "k", "sharpen", "epsilon", "phi", "threshold", "weight")
    @classmethod
    def _ranges(cls, value: float, info: Any) -> float:
        low, high = INK_RANGES[info.field_name]
        return settle(range_problem(value, f"ink.{info.field_name}", low, high), value)


INK_RANGES = {
    "sigma": (0.02, 10.0),
    "k": (1.1, 10.0),
    "sharpen": (0.0, 200.0),
    "epsilon": (-1.0, 1.0),
    "phi": (0.1, 1000.0),
    "threshold": (0.0, 1.0),
    "weight": (-2.0, 2.0),
}


class FlatsStep(StepModel):
    """Flat colours: each pixel becomes the nearest (CIE Lab) colour of the named palettes and `colors`."""

    op: Literal["flats"] = "flats"
    palette: tuple[str, ...] = Field((), description="names of palettes (project or character) to use")
    colors: tuple[str, ...] = Field((), description='extra colours, hex "#rrggbb"')
    dither: bool = Field(False, description="ordered dither between neighbouring palette colours")

    @field_validator("palette", mode="before")
    @classmethod
    def _palette(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("colors")
    @classmethod
    def _colors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, colour in enumerate(value):
            settle(colour_problem(colour, f"flats.colors[{index}]"), colour)
        return tuple(colour.lower() for colour in value)

    @model_validator(mode="after")
    def _some_colours(self) -> FlatsStep:
        if not self.palette and not self.colors:
            settle("flats: give `palette` (palette names) or `colors` (hex colours)", self)
        return self

    def reads(self) -> frozenset[PageFact]:
        return frozenset(("palettes", "origin")) if self.dither else frozenset(("palettes",))  # the dither is a page pattern


class GrayscaleStep(StepModel):
    """Convert to 8-bit gray (ITU-R 601 luma), for black-and-white books."""

    op: Literal["grayscale"] = "grayscale"


class LevelsStep(StepModel):
    """Levels: input black and white points (0-255) and a midtone gamma, applied to every channel."""

    op: Literal["levels"] = "levels"
    black: float = Field(0.0, description="input level that becomes black, 0 to 254")
    white: float = Field(255.0, description="input level that becomes white, 1 to 255")
    gamma: float = Field(1.0, description="midtone gamma, 0.1 to 10 (>1 lightens)")

    @field_validator("black")
    @classmethod
    def _black(cls, value: float) -> float:
        return settle(range_problem(value, "levels.black", 0, 254), value)

    @field_validator("white")
    @classmethod
    def _white(cls, value: float) -> float:
        return settle(range_problem(value, "levels.white", 1, 255), value)

    @field_validator("gamma")
    @classmethod
    def _gamma(cls, value: float) -> float:
        return settle(range_problem(value, "levels.gamma", 0.1, 10), value)

    @model_validator(mode="after")
    def _order(self) -> LevelsStep:
        if self.black >= self.white:
            settle(
                f"levels.black: {self.black:g} must be below levels.white ({self.white:g})", self
            )
        return self


class CurvesStep(StepModel):
    """Tone curve through (input, output) points in 0-255, monotone cubic between them, on every channel."""

    op: Literal["curves"] = "curves"
    points: tuple[tuple[float, float], ...] = Field(
        ((0.0, 0.0), (255.0, 255.0)), description="(input, output) pairs, inputs increasing, 0 to 255"
    )

    @field_validator("points")
    @classmethod
    def _points(cls, value: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        if len(value) < 2:
            settle("curves.points: give at least 2 (input, output) points", value)
        for index, (level_in, level_out) in enumerate(value):
            settle(range_problem(level_in, f"curves.points[{index}] input", 0, 255), value)
            settle(range_problem(level_out, f"curves.points[{index}] output", 0, 255), value)
        inputs = [point[0] for point in value]
        if any(b <= a for a, b in pairwise(inputs)):
            settle("curves.points: inputs must increase strictly from one point to the next", value)
        return value


class CmykStep(StepModel):
    """RGB to CMYK through the book's output ICC profile, else by full grey-component replacement."""

    op: Literal["cmyk"] = "cmyk"
    intent: Literal["perceptual", "relative", "saturation", "absolute"] = Field(
        "perceptual", description="ICC rendering intent"
    )
    gcr: float = Field(1.0, description="without a profile: share of the grey component moved to K, 0 to 1")

    @field_validator("gcr")
    @classmethod
    def _gcr(cls, value: float) -> float:
        return settle(range_problem(value, "cmyk.gcr", 0, 1), value)

    def reads(self) -> frozenset[PageFact]:
        return frozenset(("icc_profile",))


PostStep = Annotated[
    HalftoneStep | ScreentoneStep | InkStep | FlatsStep | GrayscaleStep | LevelsStep | CurvesStep | CmykStep,
    Field(discriminator="op"),
]


@lru_cache(maxsize=1)
def _chain_adapter() -> TypeAdapter[list[PostStep]]:
    return TypeAdapter(list[PostStep])


def parse_chain(raw: Sequence[Any]) -> list[PostStep]:
    """Post steps from their plain form (as resolved specs carry them)."""
    return _chain_adapter().validate_python(list(raw))

__all__ = [
    "SHAPES",
    "CmykAngles",
    "CmykStep",
    "CurvesStep",
    "FinishJob",
    "FlatsStep",
    "GrayscaleStep",
    "HalftoneStep",
    "InkStep",
    "LevelsStep",
    "PageFact",
    "PostStep",
    "ScreentoneStep",
    "parse_chain",
]


@dataclass(frozen=True)
class FinishJob:
    """A generated panel to print size and through its post chain, with the page facts its steps read."""

    size: tuple[int, int]
    dpi: int
    color: str  # the book's mode: color | grayscale | bitmap
    post: tuple[PostStep, ...]
    origin: tuple[int, int] | None = None  # the panel's pixel corner on the page, for chains that place screens
    icc_profile: FileRef | None = None  # for chains that convert to CMYK
    palettes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # for chains that flatten to palettes
