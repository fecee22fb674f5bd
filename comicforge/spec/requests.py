"""What a panel's engine is asked for: the generate request, its control inputs and its editing steps."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.poses import PlacedPose


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


def step_request(request: GenerateRequest, step: RefineStep, size: tuple[int, int]) -> GenerateRequest:
    """The panel's request with the step's prompt, seed and size."""
    return dataclasses.replace(
        request, prompt=step.prompt if step.prompt is not None else request.prompt,
        seed=step.seed if step.seed is not None else request.seed, width=size[0], height=size[1],
    )
