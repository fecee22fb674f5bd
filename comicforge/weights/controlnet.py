"""What a ControlNet file is, from its header or config (no torch, so `check` can use it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from comicforge.errors import EngineError
from comicforge.weights.checkpoint import ModelInfo, load_pickled_state_dict
from comicforge.weights.header import read_safetensors_header

LDM_PREFIX = "control_model."
V = TypeVar("V")
FAMILY_NAMES = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL", "sd3": "SD3"}


@dataclass(frozen=True)
class ControlNetInfo:
    """What a ControlNet file is, known before loading its weights."""

    path: Path
    format: str  # "single-file" | "diffusers"
    family: str  # "sd1" | "sd2" | "sdxl" (sd2 covers 512 and 768-v)
    context_dim: int


def family_group(family: str) -> str:
    """Families that share a ControlNet: SD 2.x base and 768-v take the same ones."""
    return "sd2" if family.startswith("sd2") else family


def detect_controlnet(path: Path) -> ControlNetInfo:
    """Family and cross-attention width of a ControlNet file or folder; EngineError naming it otherwise."""
    path = Path(path)
    if not path.exists():
        raise EngineError(f"{path}: ControlNet file not found")
    if path.is_dir():
        return _detect_folder(path)
    if path.suffix.lower() == ".safetensors":
        shapes = {k: e.shape for k, e in read_safetensors_header(path)[0].items()}
    elif path.suffix.lower() in (".pth", ".ckpt", ".pt", ".bin"):
        shapes = {k: tuple(v.shape) for k, v in load_pickled_state_dict(path).items() if hasattr(v, "shape")}
    else:
        raise EngineError(f"{path}: unknown ControlNet file type {path.suffix!r} (expected .safetensors, .pth or a diffusers folder)")
    if "controlnet_cond_embedding.conv_in.weight" in shapes:
        if (path.parent / "config.json").is_file():
            return _detect_folder(path.parent)
        raise EngineError(f"{path}: a ControlNet in diffusers layout needs its config.json beside it (give the folder)")
    shapes = without_prefix(shapes)
    if "input_hint_block.0.weight" not in shapes or "zero_convs.0.0.weight" not in shapes:
        raise EngineError(f"{path}: not a ControlNet (no `{LDM_PREFIX}input_hint_block` / `zero_convs` keys)")
    return ControlNetInfo(path, "single-file", _family_from_shapes(shapes), _context_dim(shapes))


def check_controlnet_fits(control: ControlNetInfo, model: ModelInfo) -> None:
    """EngineError naming the ControlNet when it was trained for another family than the base model."""
    group = family_group(model.family)
    if control.family != group or (model.context_dim and control.context_dim != model.context_dim):
        raise EngineError(
            f"{control.path}: this ControlNet is for {FAMILY_NAMES[control.family]} (cross-attention width "
            f"{control.context_dim}); the model {model.path.name} is {FAMILY_NAMES[group]} ({model.context_dim})"
        )


def without_prefix(table: Mapping[str, V]) -> dict[str, V]:
    """Keys of a `control_model.*` file without the prefix (files saved without it pass through)."""
    return {k.removeprefix(LDM_PREFIX): v for k, v in table.items()}


def _family_from_shapes(shapes: Mapping[str, tuple[int, ...]]) -> str:
    if "label_emb.0.0.weight" in shapes:
        return "sdxl"
    projection = next((s for k, s in shapes.items() if k.endswith("proj_in.weight")), (0, 0, 1, 1))
    return "sd2" if len(projection) == 2 else "sd1"


def _context_dim(shapes: Mapping[str, tuple[int, ...]]) -> int:
    return next((int(s[1]) for k, s in shapes.items() if k.endswith("attn2.to_k.weight")), 0)


def _detect_folder(path: Path) -> ControlNetInfo:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise EngineError(f"{path}: not a diffusers ControlNet folder (config.json: {error})") from None
    if config.get("_class_name") != "ControlNetModel":
        raise EngineError(f"{path}: config.json is a {config.get('_class_name')!r}, not a ControlNetModel")
    if config.get("addition_embed_type") == "text_time":
        family = "sdxl"
    else:
        family = "sd2" if config.get("use_linear_projection") else "sd1"
    return ControlNetInfo(path, "diffusers", family, int(config.get("cross_attention_dim") or 0))
