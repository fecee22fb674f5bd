"""The comic.yaml format: these models are its single source of truth (`comicforge schema`)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator, field_validator, model_validator
from pydantic_core import PydanticCustomError

from comicforge.layout.formats import TRIM_PRESETS
from comicforge.layout.units import check_length, check_positive_length, points_to_pixels, to_points
from comicforge.readers import DEFAULT_MAX_PIXELS, MAX_PIXELS_CEILING, MIN_PIXELS_BUDGET
from comicforge.spec.post import PostStep

_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"}


def _shown(number: float) -> str:
    """A bound as written: 4294967295, not 4.29497e+09."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _range_text(low: float | None, high: float | None, above: bool, unit: str) -> str:
    """'must be 36 to 2400 dpi', 'must be above 2 and at most 72 pt', 'must be 0 or more'."""
    unit = f" {unit}" if unit else ""
    if low is not None and high is not None:
        lo, hi = _shown(low), _shown(high)
        return f"must be above {lo} and at most {hi}{unit}" if above else f"must be {lo} to {hi}{unit}"
    if low is not None:
        return f"must be above {_shown(low)}{unit}" if above else f"must be {_shown(low)}{unit} or more"
    return f"must be at most {_shown(high or 0)}{unit}"


def bounded(kind: type, low: float | None = None, high: float | None = None, unit: str = "", above: bool = False, description: str | None = None) -> Any:
    """A finite number in [low, high] (or (low, high] when `above`): the JSON Schema says so, and so does the error."""
    text = _range_text(low, high, above, unit)
    limits: dict[str, Any] = {"gt" if above else "ge": low, "le": high}
    if kind is float:
        limits["allow_inf_nan"] = False
    return Annotated[kind, Field(description=description or text.removeprefix("must be ").capitalize(), **limits), _reworded(_RANGE_ERRORS, text)]


def _reworded(kinds: set[str], text: str) -> WrapValidator:
    """Replace pydantic's constraint errors of these kinds by one sentence saying what is valid."""
    def reword(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            if all(item["type"] in kinds for item in error.errors()):
                raise PydanticCustomError("constraint", text) from None
            raise

    return WrapValidator(reword)


def blame(field: str, message: str) -> PydanticCustomError:
    """An error of a model validator located at one of the model's fields (see load.validation_problems)."""
    return PydanticCustomError("field_problem", "{message}", {"message": message, "field": field})


SafeName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"),
                     _reworded({"string_pattern_mismatch"}, "must be letters, digits, _ . - and not start with . or - (a name, not a path)")]
Seed = bounded(int, 0, 2**32 - 1, description="Random seed, 0 to 2**32 - 1 (A1111's range)")
Fraction = bounded(float, 0, 1, description="A fraction, 0 to 1")
Strength = bounded(float, 0, 1, description="Denoising strength, 0 to 1")
FontSize = bounded(float, 2, 72, "pt", above=True, description="Text size in points, above 2 and at most 72")
Weight = bounded(float, 0, 2, description="Weight, 0 to 2")
TailFraction = bounded(float, -1, 2, description="A fraction of the panel, -1 to 2")
OutpaintFraction = bounded(float, 0, 4, description="Extension as a fraction of the image's side, 0 to 4")
MAX_TRIM = 200 * 72.0  # points: the largest page a PDF viewer accepts (14400 units)
MAX_SPACE = 2 * 72.0  # points: the most bleed or gutter a page can sensibly have
MAX_PAGE_PIXELS = 178_956_970  # Pillow refuses to open larger images (2 x Image.MAX_IMAGE_PIXELS)


def _inches(points: float) -> str:
    return f"{points / 72:.4g}in"


def check_rect(rect: tuple[float, float, float, float], what: str) -> tuple[float, float, float, float]:
    """[x, y, w, h] in fractions: a non-empty rectangle inside the unit square."""
    x, y, w, h = rect
    if w <= 0 or h <= 0 or x + w > 1 + 1e-6 or y + h > 1 + 1e-6:
        raise ValueError(f"{what} {[x, y, w, h]} must have w and h above 0 and fit in 0..1 (x + w and y + h at most 1)")
    return rect


Rect = tuple[Fraction, Fraction, Fraction, Fraction]

Length = Annotated[float | str, Field(description="A length: a number in inches, or a string with a unit: in, mm, cm, pt, px")]
Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", description="An sRGB colour, #rrggbb")]
PoseName = Annotated[str, Field(description="A pose preset name (see `comicforge poses`) or a path to an OpenPose JSON file")]
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class Strict(BaseModel):
    """Base for every model: unknown keys are errors (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid")


class Margins(Strict):
    """Distance from the trim edge to the live area on each side."""

    top: Length = "0.5in"
    bottom: Length = "0.5in"
    inside: Length = "0.5in"
    outside: Length = "0.5in"

    _lengths = field_validator("top", "bottom", "inside", "outside")(check_length)  # 0 or more


class Output(Strict):
    """How exports are written: print PDF details and the page images."""

    cmyk: bool = Field(False, description="Colour books: write the PDF in DeviceCMYK (art converted, overlay in CMYK) with a PDF/X-style output intent")
    condition: str = Field("FOGRA39", description="Registered printing condition named by the output intent (e.g. FOGRA39, CGATS TR 001)")
    crop_marks: bool = Field(False, description="Crop marks outside the bleed (the MediaBox grows; TrimBox/BleedBox stay)")
    slug: str | None = Field(None, description="A slug line printed below the bleed (title, page and this text)")
    date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="Publication date YYYY-MM-DD for PDF and ComicInfo metadata (else SOURCE_DATE_EPOCH, else none)")
    images: Literal["png", "jpeg"] = Field("png", description="Page image format (PNG/JPEG export and CBZ)")
    image_dpi: bounded(int, 36, 2400, "dpi") | None = Field(None, description="Page image resolution, 36 to 2400 dpi (default: the book's dpi)")
    jpeg_quality: bounded(int, 30, 100) = Field(90, description="JPEG quality of page images, 30 to 100")

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value  # YAML reads 2024-05-01 as a date


class Format(Strict):
    """The printed book: trim size, bleed, live area, resolution, reading direction, colour mode."""

    trim: str | tuple[Length, Length] = Field("us-comic", description="A preset (us-comic, manga, b6, b5, a5, a4, letter, webtoon) or [width, height], each above 0 and at most 200in")
    bleed: Length = Field("0.125in", description="Printed beyond the trim on every side, 0 to 2in")
    margins: Length | Margins = Field("0.5in", description="Trim edge to live area: one length, or top/bottom/inside/outside; 0 or more, leaving a live area")
    gutter: Length = Field("0.125in", description="Space between panels, 0 to 2in")
    border: bounded(float, 0, 12, "pt") = Field(1.5, description="Panel border width in points, 0 to 12 (0: none)")
    dpi: bounded(int, 36, 2400, "dpi") = Field(300, description="Print resolution, 36 to 2400 dpi")
    reading: Literal["ltr", "rtl"] = "ltr"
    icc_profile: str | None = Field(None, description="Output ICC profile (CMYK) for `cmyk` post steps, colour halftones and CMYK PDFs; else a simple grey-component conversion")
    color: Literal["color", "grayscale", "bitmap"] = "color"
    font: str | None = Field(None, description="Default lettering font: a .ttf path, or a built-in name")
    font_size: FontSize = Field(8.5, description="Default balloon text size in points, above 2 and at most 72")
    min_font_size: FontSize = Field(6.0, description="Text shrinks toward this size (at most font_size) to fit its panel; below it, a warning")
    leading: bounded(float, 0.8, 2.5) = Field(1.2, description="Line height as a multiple of the text size, 0.8 to 2.5")
    caps: bool = Field(True, description="Letter balloons in capitals, as comics do")
    hyphenate: bool = Field(False, description="Hyphenate long words (pyphen, in the book's language)")
    max_pixels: bounded(int, MIN_PIXELS_BUDGET, MAX_PIXELS_CEILING) = Field(
        DEFAULT_MAX_PIXELS, description=f"Largest image the project may name (sketch, mask, init, reference), in pixels, "
                                        f"{MIN_PIXELS_BUDGET:,} to {MAX_PIXELS_CEILING:,}; larger ones are refused as decompression bombs")
    output: Output = Field(default_factory=Output)

    @field_validator("bleed", "gutter")
    @classmethod
    def _length(cls, value: Length) -> Length:
        return check_length(value)

    @field_validator("margins")
    @classmethod
    def _margins(cls, value: Length | Margins) -> Length | Margins:
        return value if isinstance(value, Margins) else check_length(value)

    @field_validator("trim")
    @classmethod
    def _trim(cls, value: str | tuple[Length, Length]) -> str | tuple[Length, Length]:
        if isinstance(value, str) and value not in TRIM_PRESETS:
            raise ValueError(f"unknown trim {value!r} (valid: {', '.join(TRIM_PRESETS)}, or [width, height])")
        if isinstance(value, tuple):
            for name, side in zip(("width", "height"), value):
                try:
                    check_positive_length(side)
                except ValueError as error:
                    raise ValueError(f"{name} {error}") from None
        return value

    @model_validator(mode="after")
    def _fits(self) -> Format:
        width, height = self.trim_points()
        limits = (("trim", max(width, height), MAX_TRIM), ("bleed", self._points(self.bleed), MAX_SPACE),
                  ("gutter", self._points(self.gutter), MAX_SPACE))
        for name, points, limit in limits:
            if points > limit:
                raise blame(name, f"{_inches(points)} is too large (at most {_inches(limit)})")
        media = [points_to_pixels(side + 2 * self._points(self.bleed), self.dpi) for side in (width, height)]
        if media[0] * media[1] > MAX_PAGE_PIXELS:
            raise blame("dpi", f"pages would be {media[0]:.0f} x {media[1]:.0f} px at {self.dpi} dpi, more than "
                               f"{MAX_PAGE_PIXELS / 1e6:.0f} megapixels; lower the dpi or the trim")
        top, bottom, inside, outside = (self._points(side) for side in self.margin_sides())
        if inside + outside >= width or top + bottom >= height:
            raise blame("margins", f"margins leave no live area on a {_inches(width)} x {_inches(height)} trim "
                                   f"(left and right take {_inches(inside + outside)}, top and bottom {_inches(top + bottom)})")
        if self.min_font_size > self.font_size:
            raise blame("min_font_size", f"min_font_size {self.min_font_size:g} must be at most font_size ({self.font_size:g})")
        return self

    def trim_points(self) -> tuple[float, float]:
        """Trim width and height in points."""
        if isinstance(self.trim, str):
            return TRIM_PRESETS[self.trim]
        return self._points(self.trim[0]), self._points(self.trim[1])

    def margin_sides(self) -> tuple[Length, Length, Length, Length]:
        """Margins as (top, bottom, inside, outside)."""
        m = self.margins
        return (m.top, m.bottom, m.inside, m.outside) if isinstance(m, Margins) else (m, m, m, m)

    def _points(self, length: Length) -> float:
        return to_points(length, self.dpi)


ControlType = Literal["openpose", "lineart", "softedge", "scribble", "depth", "normal"]
AdapterType = Literal["openpose", "lineart", "depth", "sketch"]


class ControlNetRef(Strict):
    """A ControlNet model used for one control type."""

    file: str
    weight: Weight = 1.0
    start: Fraction = Field(0.0, description="Fraction of the steps where the ControlNet starts, 0 to 1")
    end: Fraction = Field(1.0, description="Fraction of the steps where it stops, 0 to 1, above start")

    @model_validator(mode="after")
    def _order(self) -> ControlNetRef:
        if self.start >= self.end:  # diffusers (and the engine) refuse an empty window
            raise blame("start", f"start {self.start:g} must be below end ({self.end:g})")
        return self


class PanelControlNet(Strict):
    """A panel's ControlNet for one control type: the book's (`defaults.controlnets`) with these fields changed."""

    file: str | None = Field(None, description="The ControlNet file (default: the one in defaults.controlnets)")
    weight: Weight | None = None
    start: Fraction | None = Field(None, description="Fraction of the steps where the ControlNet starts, 0 to 1")
    end: Fraction | None = Field(None, description="Fraction of the steps where it stops, 0 to 1, above start")


class T2IAdapterRef(Strict):
    """A T2I-Adapter (diffusers folder: config.json + weights) used for one control type."""

    file: str = Field(description="A diffusers T2I-Adapter folder (config.json and diffusion_pytorch_model.safetensors)")
    weight: Weight = Field(1.0, description="Adapter conditioning scale, 0 to 2 (0: as without it)")


class Generation(Strict):
    """Settings of panel generation; `defaults` holds them for the book, a panel may override any."""

    engine: Literal["draft", "diffusion"] | None = None
    model: str | None = Field(None, description="Checkpoint: a path (project-relative or absolute), a name in COMICFORGE_MODELS, or a local Hugging Face id")
    sampler: str | None = Field(None, description="A1111 sampler name, e.g. 'DPM++ 2M Karras'")
    steps: bounded(int, 1, 150) | None = Field(None, description="Sampling steps, 1 to 150")
    cfg: bounded(float, 0, 30) | None = Field(None, description="Classifier-free guidance scale, 0 to 30")
    clip_skip: bounded(int, 1, 12) | None = Field(None, description="CLIP layers skipped from the end, 1 to 12")
    size: tuple[int, int] | None = Field(None, description="Generation size [W, H] in pixels: multiples of 8, 64 to 4096")
    negative: str | None = None
    style: SafeName | None = Field(None, description="A style template name (built-in or the project's styles/ folder)")
    post: list[PostStep] | None = None
    variants: bounded(int, 1, 16) | None = Field(None, description="Candidates generated per panel, 1 to 16 (candidate k uses seed + k); default 1")

    @field_validator("size")
    @classmethod
    def _size(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and any(v % 8 or not 64 <= v <= 4096 for v in value):
            raise ValueError(f"size {list(value)} must be two multiples of 8 between 64 and 4096")
        return value


class Memory(Strict):
    """Memory savers for small GPUs; they do not change the pictures, so they never cause a rebuild."""

    attention_slicing: bool = False
    vae_tiling: bool | None = Field(None, description="None: automatic for sizes above 4x the model's native area")
    offload: Literal["none", "model", "sequential"] = Field("none", description="Move idle (model) or all (sequential) weights to the CPU")
    batch: bounded(int, 1, 16) = Field(4, description="Most candidates of one panel denoised in one batch, 1 to 16 (diffusion)")


class Preview(Strict):
    """Settings of `build --preview`: cheaper candidates, in build/preview/ under their own keys."""

    sampler: str | None = Field(None, description="A1111 sampler name for previews (default: the panel's)")
    steps: bounded(int, 1, 150) | None = Field(None, description="Sampling steps for previews, 1 to 150 (default: the panel's)")
    cfg: bounded(float, 0, 30) | None = Field(None, description="Guidance scale for previews, 0 to 30 (default: the panel's)")
    scale: bounded(float, 0, 1, above=True) = Field(0.5, description="Generation size as a fraction of the panel's, above 0 and at most 1")


class Defaults(Generation):
    """Book-wide defaults for every panel."""

    engine: Literal["draft", "diffusion"] = "draft"
    precision: Literal["auto", "fp32", "fp16", "bf16"] = Field("auto", description="auto: fp16 on GPU, fp32 on CPU")
    memory: Memory = Field(default_factory=Memory)
    preview: Preview = Field(default_factory=Preview)
    controlnets: dict[ControlType, ControlNetRef] = Field(
        default_factory=dict, description="ControlNet per control type; a panel uses those whose input it has (pose, lineart, depth, normal)")
    t2i_adapters: dict[AdapterType, T2IAdapterRef] = Field(
        default_factory=dict, description="T2I-Adapter per control type (sketch: the lineart sketch); combinable with ControlNets")
    ip_adapter: str | None = Field(None, description="IP-Adapter weights (local file, image encoder beside it): characters' references steer their panels")


class Lora(Strict):
    """A LoRA applied whenever the character appears."""

    file: str
    weight: bounded(float, -4, 4) = 1.0


class Voice(Strict):
    """How a character's balloons look."""

    font: str | None = None
    size: FontSize | None = None
    style: Literal["speech", "thought", "whisper", "shout", "radio"] = "speech"
    caps: bool | None = Field(None, description="Override format.caps for this character")


class Character(Strict):
    """One entry of the character bible."""

    tokens: str = Field("", description="Trigger tokens inserted where the prompt names the character")
    description: str = ""
    loras: list[Lora] = Field(default_factory=list)
    embeddings: list[str] = Field(default_factory=list, description="Textual-inversion files")
    seed: Seed | None = None
    palette: str | list[Color] | None = Field(None, description="A palette name from `palettes`, or colours")
    references: list[str] = Field(default_factory=list, description="Reference images")
    reference_weight: Weight = Field(0.6, description="How strongly the references steer panels (IP-Adapter scale), 0 to 2")
    pose: PoseName | None = None
    voice: Voice = Field(default_factory=Voice)
    post: list[PostStep] | None = None


class Balloon(Strict):
    """Speech, thought, caption or SFX lettering in a panel."""

    text: str = Field(min_length=1)
    who: str | None = Field(None, description="The speaking character")
    caption: bool = False
    style: Literal["speech", "thought", "whisper", "shout", "radio", "caption"] | None = None
    font: str | None = None
    size: FontSize | None = None
    at: tuple[Fraction, Fraction] | None = Field(None, description="Balloon centre, fractions of the panel [x, y], 0 to 1")
    tail: tuple[TailFraction, TailFraction] | None = Field(None, description="Where the tail points, fractions of the panel, -1 to 2 (outside it for a speaker off-panel)")
    link: bool = Field(True, description="Join to the previous balloon when the same character speaks twice in a row")
    vertical: bool | None = Field(None, description="Top-to-bottom columns (default: for ja in right-to-left books)")
    caps: bool | None = None

    @model_validator(mode="after")
    def _speaker(self) -> Balloon:
        if self.caption == (self.who is not None):
            raise ValueError("a balloon needs either who: CHARACTER or caption: true")
        return self


class Sfx(Strict):
    """Sound effect lettering: large display text, rotated, outlined and filled."""

    text: str = Field(min_length=1)
    at: tuple[Fraction, Fraction] = Field((0.5, 0.5), description="Centre, fractions of the panel [x, y], 0 to 1")
    size: bounded(float, 2, 400, "pt", above=True) = Field(28.0, description="Text size in points, above 2 and at most 400")
    angle: bounded(float, -180, 180, "degrees") = Field(-8.0, description="Rotation in degrees, counter-clockwise, -180 to 180")
    fill: Color = "#ffd23f"
    outline: Color = "#000000"
    outline_width: bounded(float, 0, 20, "pt") = Field(1.5, description="Outline width in points, 0 to 20 (0: none)")
    font: str | None = Field(None, description="Default: comic-neue-bold-italic")


class Img2ImgEdit(Strict):
    """Redraw the panel from its current image (or `init`) at a denoising strength."""

    op: Literal["img2img"]
    strength: Strength = 0.5
    prompt: str | None = None
    seed: Seed | None = None
    init: str | None = Field(None, description="Start from this image instead of the previous step's")
    control: bool = Field(True, description="Steered by the panel's control inputs (ControlNets, T2I-Adapters); false: not")


class InpaintEdit(Strict):
    """Repaint part of the panel (hands, faces): a mask image (white = repaint) and/or rectangles."""

    op: Literal["inpaint"]
    strength: Strength = 0.75
    prompt: str | None = None
    seed: Seed | None = None
    mask: str | None = Field(None, description="Mask image at the panel's aspect, white = repaint")
    rects: list[Rect] = Field(default_factory=list, description="[x, y, w, h] fractions of the panel, inside 0..1")
    control: bool = Field(True, description="Steered by the panel's control inputs (ControlNets, T2I-Adapters); false: not")

    @field_validator("rects")
    @classmethod
    def _inside(cls, value: list[Rect]) -> list[Rect]:
        return [check_rect(rect, "rect") for rect in value]

    @model_validator(mode="after")
    def _region(self) -> InpaintEdit:
        if self.mask is None and not self.rects:
            raise ValueError("inpaint needs a mask image or rects")
        return self


class OutpaintEdit(Strict):
    """Extend the canvas: to the panel's aspect (`fit`), or by fractions on chosen sides."""

    op: Literal["outpaint"]
    fit: bool = Field(False, description="Generate at the engine's native aspect, then extend to the panel's")
    left: OutpaintFraction = 0.0
    top: OutpaintFraction = 0.0
    right: OutpaintFraction = 0.0
    bottom: OutpaintFraction = 0.0
    prompt: str | None = None
    seed: Seed | None = None
    control: bool = Field(True, description="Steered by the panel's control inputs (ControlNets, T2I-Adapters); false: not")


class UpscaleEdit(Strict):
    """Upscale to the panel's print pixel size with a low-strength refine pass (optionally an ESRGAN model)."""

    op: Literal["upscale"]
    strength: Strength = 0.3
    model: str | None = Field(None, description="An ESRGAN-family model file (needs spandrel)")
    prompt: str | None = None
    seed: Seed | None = None
    control: bool = Field(True, description="Steered by the panel's control inputs (ControlNets, T2I-Adapters); false: not")


EditStep = Annotated[Img2ImgEdit | InpaintEdit | OutpaintEdit | UpscaleEdit, Field(discriminator="op")]


class PosePlacement(Strict):
    """A pose for one figure, placed in a region of the panel."""

    pose: PoseName
    who: str | None = None
    region: Rect = Field((0.0, 0.0, 1.0, 1.0), description="[x, y, w, h], fractions of the panel, inside 0..1")
    flip: bool = False
    scale: bounded(float, 0, 4, above=True) = Field(1.0, description="Figure size relative to the region, above 0 and at most 4")

    @field_validator("region")
    @classmethod
    def _inside(cls, value: Rect) -> Rect:
        return check_rect(value, "region")


class Panel(Generation):
    """One panel: what to draw and what is said."""

    id: SafeName | None = Field(None, description="Letters, digits, _ . - (not starting with . or -); default p<page>.<n>")
    prompt: str = ""
    characters: list[str] = Field(default_factory=list)
    pose: PoseName | list[PosePlacement] | None = None
    regions: dict[str, Rect] = Field(default_factory=dict, description=(
        "Several characters: where each one's tokens, LoRAs and references act, {name: [x, y, w, h]} in fractions of the "
        "panel (default: its pose placement's region, else its figure's bounds with a margin, else side by side)"))
    seed: Seed | None = None
    pick: bounded(int, 0, 15) | None = Field(None, description="The candidate on the page, 0 to variants - 1 (default 0); a final build renders only it")
    shot: Literal["extreme-close-up", "close-up", "medium", "wide", "establishing", "insert"] = "medium"
    label: str | None = Field(None, description="Short storyboard label (draft engine)")
    bleed: bool = Field(False, description="Extend edges on the live-area boundary to the bleed")
    lineart: str | None = Field(None, description="The artist's sketch (black on white), for the lineart, softedge and scribble ControlNets")
    depth: str | None = Field(None, description="A depth map (near = light, any size or bit depth), fitted like lineart, for the depth ControlNet")
    normal: str | None = Field(None, description="A normal map (RGB), fitted like lineart, for the normal ControlNet")
    controlnets: dict[ControlType, PanelControlNet | Literal[False]] | None = Field(
        None, description="This panel's ControlNets by type: changes to defaults.controlnets, or false to leave one out")
    edits: list[EditStep] = Field(default_factory=list, description="Editing steps after generation, in order; each cached on its own")
    balloons: list[Balloon] = Field(default_factory=list)
    sfx: list[Sfx] = Field(default_factory=list, description="Sound effects lettered over the art")

    @field_validator("regions")
    @classmethod
    def _regions_inside(cls, value: dict[str, Rect]) -> dict[str, Rect]:
        return {name: check_rect(rect, f"region of {name}") for name, rect in value.items()}


CellCount = bounded(int, 1, 12, description="Panels side by side, 1 to 12")
RelativeSize = bounded(float, 0, 100, above=True, description="A relative size, above 0 and at most 100")


class LayoutTree(Strict):
    """A custom layout: rows, columns (nested) or explicit rectangles in fractions of the live area."""

    rows: list[CellCount | list[RelativeSize] | LayoutTree] | None = Field(None, min_length=1, description="Each row: a panel count (1 to 12), relative widths, or a nested layout")
    columns: list[CellCount | list[RelativeSize] | LayoutTree] | None = Field(None, min_length=1, description="Each column: a panel count (1 to 12), relative heights, or a nested layout")
    sizes: list[RelativeSize] | None = Field(None, description="Relative heights of rows / widths of columns, each above 0 and at most 100")
    rects: list[Rect] | None = Field(None, min_length=1, description="[x, y, w, h] fractions of the live area, inside 0..1")

    @field_validator("rows", "columns")
    @classmethod
    def _weights(cls, value: list[Any] | None) -> list[Any] | None:
        if value is not None and any(isinstance(entry, list) and not entry for entry in value):
            raise ValueError("a list of relative sizes needs at least one entry")
        return value

    @field_validator("rects")
    @classmethod
    def _inside(cls, value: list[Rect] | None) -> list[Rect] | None:
        return None if value is None else [check_rect(rect, "rect") for rect in value]

    @model_validator(mode="after")
    def _one_kind(self) -> LayoutTree:
        kinds = [k for k in ("rows", "columns", "rects") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a layout has exactly one of rows, columns, rects")
        entries = self.rows or self.columns
        if self.sizes is not None and (entries is None or len(self.sizes) != len(entries)):
            raise ValueError("sizes must have one entry per row/column")
        return self


class Page(Strict):
    """A page: a layout and its panels in reading order."""

    layout: str | LayoutTree = "grid-2x2"
    panels: list[Panel] = Field(default_factory=list)


class Project(Strict):
    """A comic project (comic.yaml)."""

    title: str = Field(min_length=1)
    author: str | None = None
    series: str | None = None
    number: bounded(int, 0, 99999) | None = Field(None, description="Issue number, 0 to 99999")
    language: str = Field("en", description="ISO 639 language code")
    format: Format = Field(default_factory=Format)
    defaults: Defaults = Field(default_factory=Defaults)
    palettes: dict[str, list[Color]] = Field(default_factory=dict)
    characters: dict[str, Character] = Field(default_factory=dict)
    pages: list[Page] = Field(min_length=1)

    @field_validator("characters")
    @classmethod
    def _names(cls, value: dict[str, Character]) -> dict[str, Character]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"character name {name!r} must be an identifier (letters, digits, _) to use in prompts")
        return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of comic.yaml, for editors."""
    schema = Project.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "comicforge project (comic.yaml)"
    return schema
