"""The comic.yaml format: these models are its single source of truth (`comicforge schema`)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from comicforge.layout.units import check_length
from comicforge.post.steps import PostStep

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

    _lengths = field_validator("top", "bottom", "inside", "outside")(check_length)


class Output(Strict):
    """How exports are written: print PDF details and the page images."""

    cmyk: bool = Field(False, description="Colour books: write the PDF in DeviceCMYK (art converted, overlay in CMYK) with a PDF/X-style output intent")
    condition: str = Field("FOGRA39", description="Registered printing condition named by the output intent (e.g. FOGRA39, CGATS TR 001)")
    crop_marks: bool = Field(False, description="Crop marks outside the bleed (the MediaBox grows; TrimBox/BleedBox stay)")
    slug: str | None = Field(None, description="A slug line printed below the bleed (title, page and this text)")
    date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="Publication date YYYY-MM-DD for PDF and ComicInfo metadata (else SOURCE_DATE_EPOCH, else none)")
    images: Literal["png", "jpeg"] = Field("png", description="Page image format (PNG/JPEG export and CBZ)")
    image_dpi: int | None = Field(None, ge=36, le=2400, description="Page image resolution (default: the book's dpi)")
    jpeg_quality: int = Field(90, ge=30, le=100)

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value  # YAML reads 2024-05-01 as a date


class Format(Strict):
    """The printed book: trim size, bleed, live area, resolution, reading direction, colour mode."""

    trim: str | tuple[Length, Length] = Field("us-comic", description="A preset (us-comic, manga, b6, b5, a5, a4, letter, webtoon) or [width, height]")
    bleed: Length = "0.125in"
    margins: Length | Margins = Field("0.5in", description="Trim edge to live area: one length, or top/bottom/inside/outside")
    gutter: Length = Field("0.125in", description="Space between panels")
    border: float = Field(1.5, ge=0, le=12, description="Panel border width in points (0: none)")
    dpi: int = Field(300, ge=36, le=2400)
    reading: Literal["ltr", "rtl"] = "ltr"
    icc_profile: str | None = Field(None, description="Output ICC profile (CMYK) for `cmyk` post steps, colour halftones and CMYK PDFs; else a simple grey-component conversion")
    color: Literal["color", "grayscale", "bitmap"] = "color"
    font: str | None = Field(None, description="Default lettering font: a .ttf path, or a built-in name")
    font_size: float = Field(8.5, gt=2, le=72, description="Default balloon text size in points")
    min_font_size: float = Field(6.0, gt=2, le=72, description="Text shrinks toward this size to fit its panel; below it, a warning")
    leading: float = Field(1.2, ge=0.8, le=2.5, description="Line height as a multiple of the text size")
    caps: bool = Field(True, description="Letter balloons in capitals, as comics do")
    hyphenate: bool = Field(False, description="Hyphenate long words (pyphen, in the book's language)")
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
        if isinstance(value, tuple):
            for side in value:
                check_length(side)
        return value


class ControlNetRef(Strict):
    """A ControlNet model used for one control type."""

    file: str
    weight: float = Field(1.0, ge=0, le=2)
    start: float = Field(0.0, ge=0, le=1)
    end: float = Field(1.0, ge=0, le=1)


class Generation(Strict):
    """Settings of panel generation; `defaults` holds them for the book, a panel may override any."""

    engine: Literal["draft", "diffusion"] | None = None
    model: str | None = Field(None, description="Checkpoint: a path (project-relative or absolute), a name in COMICFORGE_MODELS, or a local Hugging Face id")
    sampler: str | None = Field(None, description="A1111 sampler name, e.g. 'DPM++ 2M Karras'")
    steps: int | None = Field(None, ge=1, le=500)
    cfg: float | None = Field(None, ge=0, le=50)
    clip_skip: int | None = Field(None, ge=1, le=12)
    size: tuple[int, int] | None = Field(None, description="Generation size [W, H] in pixels (multiples of 8)")
    negative: str | None = None
    style: str | None = Field(None, description="A style template name (built-in or the project's styles/ folder)")
    post: list[PostStep] | None = None

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


class Defaults(Generation):
    """Book-wide defaults for every panel."""

    engine: Literal["draft", "diffusion"] = "draft"
    precision: Literal["auto", "fp32", "fp16", "bf16"] = Field("auto", description="auto: fp16 on GPU, fp32 on CPU")
    memory: Memory = Field(default_factory=Memory)
    controlnets: dict[Literal["openpose", "lineart"], ControlNetRef] = Field(default_factory=dict)
    ip_adapter: str | None = Field(None, description="IP-Adapter weights (local file, image encoder beside it): characters' references steer their panels")


class Lora(Strict):
    """A LoRA applied whenever the character appears."""

    file: str
    weight: float = Field(1.0, ge=-4, le=4)


class Voice(Strict):
    """How a character's balloons look."""

    font: str | None = None
    size: float | None = Field(None, gt=2, le=72)
    style: Literal["speech", "thought", "whisper", "shout", "radio"] = "speech"
    caps: bool | None = Field(None, description="Override format.caps for this character")


class Character(Strict):
    """One entry of the character bible."""

    tokens: str = Field("", description="Trigger tokens inserted where the prompt names the character")
    description: str = ""
    loras: list[Lora] = Field(default_factory=list)
    embeddings: list[str] = Field(default_factory=list, description="Textual-inversion files")
    seed: int | None = Field(None, ge=0, lt=2**32)
    palette: str | list[Color] | None = Field(None, description="A palette name from `palettes`, or colours")
    references: list[str] = Field(default_factory=list, description="Reference images")
    reference_weight: float = Field(0.6, ge=0, le=2, description="How strongly the references steer panels (IP-Adapter scale)")
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
    size: float | None = Field(None, gt=2, le=72)
    at: tuple[float, float] | None = Field(None, description="Balloon centre, fractions of the panel [x, y]")
    tail: tuple[float, float] | None = Field(None, description="Where the tail points, fractions of the panel")
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
    at: tuple[float, float] = Field((0.5, 0.5), description="Centre, fractions of the panel [x, y]")
    size: float = Field(28.0, gt=2, le=400, description="Text size in points")
    angle: float = Field(-8.0, ge=-180, le=180, description="Rotation in degrees, counter-clockwise")
    fill: Color = "#ffd23f"
    outline: Color = "#000000"
    outline_width: float = Field(1.5, ge=0, le=20, description="Outline width in points (0: none)")
    font: str | None = Field(None, description="Default: comic-neue-bold-italic")


Fraction = Annotated[float, Field(ge=0, le=1)]


class Img2ImgEdit(Strict):
    """Redraw the panel from its current image (or `init`) at a denoising strength."""

    op: Literal["img2img"]
    strength: float = Field(0.5, ge=0, le=1)
    prompt: str | None = None
    seed: int | None = Field(None, ge=0, lt=2**32)
    init: str | None = Field(None, description="Start from this image instead of the previous step's")


class InpaintEdit(Strict):
    """Repaint part of the panel (hands, faces): a mask image (white = repaint) and/or rectangles."""

    op: Literal["inpaint"]
    strength: float = Field(0.75, ge=0, le=1)
    prompt: str | None = None
    seed: int | None = Field(None, ge=0, lt=2**32)
    mask: str | None = Field(None, description="Mask image at the panel's aspect, white = repaint")
    rects: list[tuple[Fraction, Fraction, Fraction, Fraction]] = Field(default_factory=list, description="[x, y, w, h] fractions of the panel")

    @model_validator(mode="after")
    def _region(self) -> InpaintEdit:
        if self.mask is None and not self.rects:
            raise ValueError("inpaint needs a mask image or rects")
        return self


class OutpaintEdit(Strict):
    """Extend the canvas: to the panel's aspect (`fit`), or by fractions on chosen sides."""

    op: Literal["outpaint"]
    fit: bool = Field(False, description="Generate at the engine's native aspect, then extend to the panel's")
    left: float = Field(0.0, ge=0, le=4)
    top: float = Field(0.0, ge=0, le=4)
    right: float = Field(0.0, ge=0, le=4)
    bottom: float = Field(0.0, ge=0, le=4)
    prompt: str | None = None
    seed: int | None = Field(None, ge=0, lt=2**32)


class UpscaleEdit(Strict):
    """Upscale to the panel's print pixel size with a low-strength refine pass (optionally an ESRGAN model)."""

    op: Literal["upscale"]
    strength: float = Field(0.3, ge=0, le=1)
    model: str | None = Field(None, description="An ESRGAN-family model file (needs spandrel)")
    prompt: str | None = None
    seed: int | None = Field(None, ge=0, lt=2**32)


EditStep = Annotated[Img2ImgEdit | InpaintEdit | OutpaintEdit | UpscaleEdit, Field(discriminator="op")]


class PosePlacement(Strict):
    """A pose for one figure, placed in a region of the panel."""

    pose: PoseName
    who: str | None = None
    region: tuple[float, float, float, float] = Field((0.0, 0.0, 1.0, 1.0), description="[x, y, w, h], fractions of the panel")
    flip: bool = False
    scale: float = Field(1.0, gt=0, le=4)


class Panel(Generation):
    """One panel: what to draw and what is said."""

    id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", description="Default p<page>.<n>")
    prompt: str = ""
    characters: list[str] = Field(default_factory=list)
    pose: PoseName | list[PosePlacement] | None = None
    seed: int | None = Field(None, ge=0, lt=2**32)
    shot: Literal["extreme-close-up", "close-up", "medium", "wide", "establishing", "insert"] = "medium"
    label: str | None = Field(None, description="Short storyboard label (draft engine)")
    bleed: bool = Field(False, description="Extend edges on the live-area boundary to the bleed")
    lineart: str | None = Field(None, description="The artist's sketch (black on white), for the lineart ControlNet")
    edits: list[EditStep] = Field(default_factory=list, description="Editing steps after generation, in order; each cached on its own")
    balloons: list[Balloon] = Field(default_factory=list)
    sfx: list[Sfx] = Field(default_factory=list, description="Sound effects lettered over the art")


class LayoutTree(Strict):
    """A custom layout: rows, columns (nested) or explicit rectangles in fractions of the live area."""

    rows: list[int | list[float] | LayoutTree] | None = None
    columns: list[int | list[float] | LayoutTree] | None = None
    sizes: list[float] | None = Field(None, description="Relative heights of rows / widths of columns")
    rects: list[tuple[float, float, float, float]] | None = None

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
    number: int | None = None
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
