"""The one seam every panel engine implements: `generate(request) -> image`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from PIL import Image

Point = tuple[float, float] | None  # normalised (x, y) in the panel, 0..1; None = keypoint absent


@dataclass(frozen=True)
class FileRef:
    """A file an engine reads, with the content fingerprint that enters job keys."""

    path: str
    fingerprint: str


@dataclass(frozen=True)
class AdapterRef:
    """A LoRA (or other weight adapter) applied with a weight."""

    file: FileRef
    weight: float = 1.0


@dataclass(frozen=True)
class PlacedPose:
    """One figure in a panel: COCO-18 body keypoints (+ optional hands/face) in panel coordinates."""

    body: tuple[Point, ...]  # 18 entries, COCO-18 order
    who: str | None = None
    left_hand: tuple[Point, ...] = ()
    right_hand: tuple[Point, ...] = ()
    face: tuple[Point, ...] = ()


@dataclass(frozen=True)
class CharacterLook:
    """What the draft renderer needs of a character: name and palette colours (hex)."""

    name: str
    palette: tuple[str, ...] = ()


@dataclass(frozen=True)
class ControlInput:
    """A control image request for a ControlNet: type, model file, weight and active step fraction."""

    kind: str  # "openpose" | "lineart"
    model: FileRef | None
    weight: float = 1.0
    start: float = 0.0
    end: float = 1.0
    source: FileRef | None = None  # sketch / reference image the control is derived from


@dataclass(frozen=True)
class RefineStep:
    """One editing step after generation: img2img, inpaint, outpaint or upscale (each its own job)."""

    kind: str  # "img2img" | "inpaint" | "outpaint" | "upscale"
    strength: float = 0.5  # denoising strength (0 keeps the image, 1 repaints fully)
    prompt: str | None = None  # None: the panel's prompt
    seed: int | None = None  # None: the panel's seed
    init: FileRef | None = None  # img2img: start from this image instead of the previous step's
    mask: FileRef | None = None  # inpaint: white = repaint, black = keep; same aspect as the panel
    rects: tuple[tuple[float, float, float, float], ...] = ()  # inpaint: [x, y, w, h] panel fractions
    extend: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # outpaint: left, top, right, bottom, fractions
    width: int = 0  # upscale / outpaint: output size in pixels (0: keep)
    height: int = 0
    model: FileRef | None = None  # upscale: an ESRGAN-family model (spandrel), optional


@dataclass(frozen=True)
class GenerateRequest:
    """Everything that determines a panel's generated image; frozen so it can be hashed into a key."""

    panel_id: str
    prompt: str
    negative: str
    seed: int
    width: int  # generation size in pixels (multiples of 8)
    height: int
    model: FileRef | None = None
    sampler: str = "DPM++ 2M Karras"
    steps: int = 25
    cfg: float = 7.0
    clip_skip: int = 1
    eta: float = 0.0
    loras: tuple[AdapterRef, ...] = ()
    embeddings: tuple[FileRef, ...] = ()
    characters: tuple[CharacterLook, ...] = ()
    poses: tuple[PlacedPose, ...] = ()
    controls: tuple[ControlInput, ...] = ()
    references: tuple[AdapterRef, ...] = ()  # character reference images (IP-Adapter), with weights
    ip_adapter: FileRef | None = None  # IP-Adapter weights (local file)
    shot: str = "medium"
    label: str = ""
    options: tuple[tuple[str, str], ...] = field(default=())  # engine-specific extras (precision, offload…)


@runtime_checkable
class Engine(Protocol):
    """A panel renderer. `version` enters every key of the jobs it runs."""

    name: str
    version: str

    def generate(self, request: GenerateRequest) -> Image.Image:
        """Render one panel at (request.width, request.height), RGB."""
        ...

    def refine(self, request: GenerateRequest, image: Image.Image, step: RefineStep) -> Image.Image:
        """Apply one editing step to a panel image (the panel's request gives prompt, model, seed…)."""
        ...

    def close(self) -> None:
        """Release resident models."""
        ...


ENGINE_NAMES = ("draft", "diffusion")


def engine_version(name: str) -> str:
    """The version of an engine's output format, known without importing the engine's heavy deps."""
    from comicforge.engines import draft

    if name == "draft":
        return draft.VERSION
    from comicforge.engines.diffusion import VERSION as diffusion_version

    return diffusion_version


def create_engine(name: str) -> Engine:
    """Instantiate an engine by name (heavy imports happen only here, and only for diffusion)."""
    if name == "draft":
        from comicforge.engines.draft import DraftEngine

        return DraftEngine()
    if name == "diffusion":
        from comicforge.engines.diffusion.engine import DiffusionEngine

        return DiffusionEngine()
    raise ValueError(f"unknown engine {name!r} (valid: {', '.join(ENGINE_NAMES)})")


def _file(value: dict[str, Any] | None) -> FileRef | None:
    return FileRef(**value) if value else None


def _points(values: Any) -> tuple[Point, ...]:
    return tuple(None if p is None else (float(p[0]), float(p[1])) for p in values or ())


def request_from_json(data: dict[str, Any]) -> GenerateRequest:
    """Rebuild a request from its JSON form (as stored in job specs)."""
    fields = {k: v for k, v in data.items() if k in GenerateRequest.__dataclass_fields__}
    fields["model"] = _file(fields.get("model"))
    fields["loras"] = tuple(AdapterRef(FileRef(**a["file"]), a["weight"]) for a in fields.get("loras", ()))
    fields["embeddings"] = tuple(FileRef(**e) for e in fields.get("embeddings", ()))
    fields["characters"] = tuple(CharacterLook(c["name"], tuple(c["palette"])) for c in fields.get("characters", ()))
    fields["poses"] = tuple(
        PlacedPose(_points(p["body"]), p.get("who"), _points(p.get("left_hand")), _points(p.get("right_hand")), _points(p.get("face")))
        for p in fields.get("poses", ())
    )
    fields["controls"] = tuple(
        ControlInput(c["kind"], _file(c.get("model")), c["weight"], c["start"], c["end"], _file(c.get("source")))
        for c in fields.get("controls", ())
    )
    fields["references"] = tuple(AdapterRef(FileRef(**a["file"]), a["weight"]) for a in fields.get("references", ()))
    fields["ip_adapter"] = _file(fields.get("ip_adapter"))
    fields["options"] = tuple(tuple(o) for o in fields.get("options", ()))
    return GenerateRequest(**fields)


def refine_step_from_json(data: dict[str, Any]) -> RefineStep:
    """Rebuild a refine step from its JSON form."""
    fields = {k: v for k, v in data.items() if k in RefineStep.__dataclass_fields__}
    for name in ("init", "mask", "model"):
        fields[name] = _file(fields.get(name))
    fields["rects"] = tuple(tuple(r) for r in fields.get("rects", ()))
    fields["extend"] = tuple(fields.get("extend", (0.0, 0.0, 0.0, 0.0)))
    return RefineStep(**fields)
