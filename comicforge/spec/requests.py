"""What a panel's engine is asked for: the generate request, its control inputs and its editing steps (a tagged union)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.poses import PlacedPose


@dataclass(frozen=True)
class CharacterLook:
    """What the draft renderer needs of a character: name and palette colours (hex)."""

    name: str
    palette: tuple[str, ...] = ()


CONTROL_INPUTS = {"openpose": "pose", "lineart": "lineart", "softedge": "lineart", "scribble": "lineart",
                  "sketch": "lineart", "depth": "depth", "normal": "normal"}  # control type → the panel input it reads


@dataclass(frozen=True)
class ControlInput:
    """A control image request for a ControlNet or T2I-Adapter: type, model file, weight and active step fraction."""

    kind: str  # "openpose" | "lineart" | "softedge" | "scribble" | "depth" | "normal" (| "sketch": T2I-Adapters)
    model: FileRef | None
    weight: float = 1.0
    start: float = 0.0
    end: float = 1.0
    source: FileRef | None = None  # sketch / reference image / depth or normal map the control is derived from
    network: str = "controlnet"  # "controlnet" | "t2i-adapter": what the model file is


@dataclass(frozen=True)
class Region:
    """One character's part of a panel with several: where it is and what steers it there (and only there)."""

    who: str
    box: tuple[float, float, float, float]  # [x, y, w, h], panel fractions
    prompt: str  # the scene's clauses with the character's own (its tokens where the template names it)
    loras: tuple[AdapterRef, ...] = ()  # the character's LoRAs and its clauses' `<lora:…>` tags
    embeddings: tuple[FileRef, ...] = ()
    references: tuple[AdapterRef, ...] = ()  # reference images steering this region only (IP-Adapter masks)


@dataclass(frozen=True)
class Img2Img:
    """Redraw the panel from its current image (or `init`) at a denoising strength (0 keeps it, 1 repaints fully)."""

    op: Literal["img2img"] = "img2img"
    strength: float = 0.5
    prompt: str | None = None  # None: the panel's prompt
    seed: int | None = None  # None: the panel's seed
    init: FileRef | None = None  # start from this image instead of the previous step's
    control: bool = True  # steered by the panel's control inputs (ControlNets, T2I-Adapters)


@dataclass(frozen=True)
class Inpaint:
    """Repaint part of the panel: a mask file (white = repaint, the panel's aspect) and/or rectangles."""

    op: Literal["inpaint"] = "inpaint"
    strength: float = 0.75
    prompt: str | None = None
    seed: int | None = None
    mask: FileRef | None = None
    rects: tuple[tuple[float, float, float, float], ...] = ()  # [x, y, w, h] panel fractions
    control: bool = True


@dataclass(frozen=True)
class Outpaint:
    """Extend the canvas by fractions on each side (the new area is painted at full strength)."""

    op: Literal["outpaint"] = "outpaint"
    prompt: str | None = None
    seed: int | None = None
    extend: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # left, top, right, bottom, fractions
    width: int = 0  # output size in pixels (0: the extended canvas as it is)
    height: int = 0
    control: bool = True


@dataclass(frozen=True)
class Upscale:
    """Upscale to a pixel size (through an ESRGAN-family model when given), then a low-strength refine pass."""

    op: Literal["upscale"] = "upscale"
    strength: float = 0.3
    prompt: str | None = None
    seed: int | None = None
    width: int = 0  # output size in pixels (0: keep)
    height: int = 0
    model: FileRef | None = None
    control: bool = True


Edit = Img2Img | Inpaint | Outpaint | Upscale  # one editing step after generation (each its own job), tagged by `op`


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
    engine: str = "draft"  # the renderer that draws it: "draft" or "diffusion"
    regions: tuple[Region, ...] = ()  # several characters: each one's region; `loras`, `embeddings`, `references` are then the scene's
    scene: str = ""  # with regions: the prompt outside them (the clauses naming no character or several); `prompt` is the whole


def region_boxes_after_outpaint(regions: tuple[Region, ...], extend: tuple[float, float, float, float]) -> tuple[Region, ...]:
    """Regions moved into an outpainted canvas (the old panel sits inside it at the extension's offsets)."""
    left, top, right, bottom = extend
    wide, tall = 1 + left + right, 1 + top + bottom
    return tuple(dataclasses.replace(region, box=((left + x) / wide, (top + y) / tall, w / wide, h / tall))
                 for region in regions for x, y, w, h in [region.box])


def step_request(request: GenerateRequest, step: Edit, size: tuple[int, int]) -> GenerateRequest:
    """The panel's request for an editing step: its prompt (and scene), seed, size, moved regions, controls if kept."""
    regions = region_boxes_after_outpaint(request.regions, step.extend) if isinstance(step, Outpaint) else request.regions
    if step.prompt is not None:  # it replaces every prompt of the panel: the characters' adapters stay regional
        regions = tuple(dataclasses.replace(region, prompt=step.prompt) for region in regions)
    return dataclasses.replace(
        request, prompt=step.prompt if step.prompt is not None else request.prompt,
        scene=step.prompt if step.prompt is not None and request.regions else request.scene,
        seed=step.seed if step.seed is not None else request.seed, width=size[0], height=size[1], regions=regions,
        controls=request.controls if step.control else (),
    )
