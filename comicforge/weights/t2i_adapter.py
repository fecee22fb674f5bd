"""What a T2I-Adapter is, from its diffusers config (no torch, so `check` can use it).

T2I-Adapters load as diffusers folders (`config.json` + `diffusion_pytorch_model.safetensors`, as TencentARC
publishes them on the Hub). The original `.pth` release files are not converted here: diffusers keeps that
converter outside the library (`scripts/convert_original_t2i_adapter.py`), so they are a clear error saying so.
Families: `full_adapter_xl` is SDXL; `full_adapter` and `light_adapter` are SD 1.x (no SD 2.x adapters exist).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from comicforge.errors import EngineError
from comicforge.weights.checkpoint import ModelInfo

ADAPTER_TYPES = {"full_adapter": "sd1", "light_adapter": "sd1", "full_adapter_xl": "sdxl"}
FAMILY_NAMES = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sd2-v": "SD 2.x", "sdxl": "SDXL", "sd3": "SD3"}


@dataclass(frozen=True)
class T2IAdapterInfo:
    """What a T2I-Adapter folder holds, known before loading its weights."""

    path: Path
    family: str  # "sd1" | "sdxl"
    in_channels: int  # 3 (RGB control image) or 1 (a sketch)
    channels: tuple[int, ...]  # feature widths, one per UNet down block
    downscale: int = 8  # pixels per feature of its first level: the generation size must be a multiple (SDXL: 16)


def detect_t2i_adapter(path: Path) -> T2IAdapterInfo:
    """Family and widths of a T2I-Adapter folder; EngineError naming it (and the formats that load) otherwise."""
    path = Path(path)
    if not path.exists():
        raise EngineError(f"{path}: T2I-Adapter not found")
    if path.is_file():
        if (path.parent / "config.json").is_file() and path.suffix.lower() == ".safetensors":
            return detect_t2i_adapter(path.parent)
        raise EngineError(f"{path}: T2I-Adapters load as diffusers folders (config.json + diffusion_pytorch_model.safetensors); "
                          "convert an original .pth file with diffusers' scripts/convert_original_t2i_adapter.py and give the folder")
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise EngineError(f"{path}: not a diffusers T2I-Adapter folder (config.json: {error})") from None
    if not isinstance(config, dict) or config.get("_class_name") != "T2IAdapter":
        name = config.get("_class_name") if isinstance(config, dict) else None
        raise EngineError(f"{path}: config.json is a {name!r}, not a T2IAdapter")
    kind = config.get("adapter_type", "full_adapter")
    if kind not in ADAPTER_TYPES:
        raise EngineError(f"{path}: unknown T2I-Adapter type {kind!r} (known: {', '.join(ADAPTER_TYPES)})")
    channels = tuple(int(c) for c in config.get("channels", (320, 640, 1280, 1280)))
    downscale = int(config.get("downscale_factor", 16 if kind == "full_adapter_xl" else 8))
    return T2IAdapterInfo(path, ADAPTER_TYPES[kind], int(config.get("in_channels", 3)), channels, downscale)


def check_t2i_adapter_fits(adapter: T2IAdapterInfo, model: ModelInfo) -> None:
    """EngineError naming the adapter when it was trained for another family than the base model."""
    family = "sdxl" if model.is_sdxl else model.family
    if adapter.family != family:
        raise EngineError(f"{adapter.path}: this T2I-Adapter is for {FAMILY_NAMES[adapter.family]}; the model "
                          f"{model.path.name} is {FAMILY_NAMES.get(model.family, model.family)}")
