"""Which Stable Diffusion family a model file is, from its key names and tensor shapes (no torch import).

Safetensors files are judged from their JSON header alone (plus one small tensor read with numpy for the SD 2.x
v-prediction heuristic); diffusers folders from their config files; pickled `.ckpt` files need torch and are
opened lazily with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comicforge.errors import EngineError
from comicforge.weights.header import read_safetensors_header, read_small_tensor

UNET = "model.diffusion_model."
SD1_CLIP = "cond_stage_model.transformer.text_model."
SD2_CLIP = "cond_stage_model.model."
SDXL_CLIP_L = "conditioner.embedders.0.transformer.text_model."
SDXL_CLIP_G = "conditioner.embedders.1.model."
SD3_CLIP_L = "text_encoders.clip_l.transformer."
SD3_CLIP_G = "text_encoders.clip_g.transformer."
SD3_T5 = "text_encoders.t5xxl.transformer."
SD3_BLOCKS = UNET + "joint_blocks."  # the MMDiT's joint (image + text) blocks

NATIVE_SIZE = {"sd1": 512, "sd2": 512, "sd2-v": 768, "sdxl": 1024, "sd3": 1024}
FAMILIES = tuple(NATIVE_SIZE)

# ComfyUI's heuristic: SD 2.x 768-v checkpoints have a spread-out norm bias here (std > 0.09), base ones do not.
_SD2_V_PROBE = UNET + "output_blocks.11.1.transformer_blocks.0.norm1.bias"

Shapes = Mapping[str, tuple[int, ...]]


@dataclass(frozen=True)
class ModelInfo:
    """What we know about a model file before loading it."""

    path: Path
    format: str  # "safetensors" | "ckpt" | "diffusers"
    family: str  # "sd1" | "sd2" | "sd2-v" | "sdxl" | "sd3" (SD 3 and 3.5)
    native_size: int  # 512 | 768 | 1024
    prediction: str  # "epsilon" | "v_prediction" | "flow" (SD3's rectified flow)
    context_dim: int  # cross-attention width the UNet expects (768, 1024, 2048 for real models; SD3: its joint width, 4096)

    @property
    def is_sdxl(self) -> bool:
        return self.family == "sdxl"

    @property
    def is_sd3(self) -> bool:
        return self.family == "sd3"


def _unsupported_family(keys: Shapes) -> str | None:
    if any(k.startswith("joint_blocks.") for k in keys):
        return "Stable Diffusion 3 transformer-only (no `model.diffusion_model.` prefix, no VAE or text encoders)"
    if any(k.startswith(("double_blocks.", UNET + "double_blocks.")) for k in keys):
        return "Flux"
    if any(k.startswith(("model.diffusion_model.transformer_blocks.", "adaln_single.", "blocks.0.cross_attn")) for k in keys):
        return "a transformer (DiT) model"
    return None


def context_dim(shapes: Shapes) -> int:
    if UNET + "context_embedder.weight" in shapes:
        return int(shapes[UNET + "context_embedder.weight"][1])
    for k, s in shapes.items():
        if k.startswith(UNET) and k.endswith(".attn2.to_k.weight"):
            return int(s[1])
    return 0


def family_from_shapes(shapes: Shapes, where: Path | str, v_hint: bool | None = None) -> tuple[str, str]:
    """(family, prediction) from an LDM/SGM state dict's key shapes; EngineError naming `where` otherwise."""
    other = _unsupported_family(shapes)
    if other:
        raise EngineError(f"{where}: {other} checkpoints are recognised but not supported yet (SD 1.x, 2.x, SDXL, SD3 single files only)")
    if any(k.startswith(SD3_BLOCKS) for k in shapes):
        return _sd3_family(shapes, where)
    conv_in = shapes.get(UNET + "input_blocks.0.0.weight")
    if conv_in is None:
        raise EngineError(
            f"{where}: unknown checkpoint layout (no `{UNET}input_blocks.*` UNet keys); expected a Stable Diffusion "
            "1.x/2.x (CompVis/LDM) or SDXL (SGM) single-file checkpoint"
        )
    if len(conv_in) != 4 or conv_in[1] != 4:
        raise EngineError(f"{where}: UNet takes {conv_in[1] if len(conv_in) > 1 else '?'} input channels (inpainting or "
                          "other special model); only text-to-image checkpoints (4 channels) are supported yet")
    if SDXL_CLIP_G + "token_embedding.weight" in shapes:
        if SDXL_CLIP_L + "embeddings.token_embedding.weight" not in shapes:
            raise EngineError(f"{where}: SDXL refiner checkpoints are not supported yet (base models only)")
        family = "sdxl"
    elif SD1_CLIP + "embeddings.token_embedding.weight" in shapes:
        family = "sd1"
    elif SD2_CLIP + "token_embedding.weight" in shapes:
        family = "sd2"
    else:
        raise EngineError(f"{where}: unknown checkpoint layout (UNet found but no known text encoder keys)")
    if not context_dim(shapes):
        raise EngineError(f"{where}: unknown checkpoint layout (no cross-attention layers in the UNet)")
    prediction = "v_prediction" if v_hint else "epsilon"
    if "v_pred" in shapes:
        prediction = "v_prediction"
    if family == "sd2" and prediction == "v_prediction":
        family = "sd2-v"
    return family, prediction


def _sd3_family(shapes: Shapes, where: Path | str) -> tuple[str, str]:
    """An SD3/3.5 single file must carry its VAE and both CLIP encoders (T5 is optional)."""
    missing = [name for name, key in (("CLIP-L", SD3_CLIP_L + "text_model.embeddings.token_embedding.weight"),
                                      ("CLIP-G", SD3_CLIP_G + "text_model.embeddings.token_embedding.weight"),
                                      ("VAE", "first_stage_model.decoder.conv_in.weight")) if key not in shapes]
    if missing:
        raise EngineError(f"{where}: this SD3 file has no {', '.join(missing)} (a model-only file); use the all-in-one "
                          "file with the text encoders inside (e.g. sd3_medium_incl_clips.safetensors or …_t5xxlfp16)")
    return "sd3", "flow"


def _sidecar_v_hint(path: Path) -> bool | None:
    """A1111 convention: `model.yaml` beside the checkpoint with `parameterization: "v"`."""
    yaml = path.with_suffix(".yaml")
    if not yaml.is_file():
        return None
    text = yaml.read_text(encoding="utf-8", errors="replace")
    return bool(re.search(r"parameterization:\s*['\"]?v['\"]?\s*$", text, re.M))


def detect_model(path: Path) -> ModelInfo:
    """Family, native size and prediction type of a model file or diffusers folder."""
    path = Path(path)
    if not path.exists():
        raise EngineError(f"{path}: model file not found")
    if path.is_dir():
        return _detect_diffusers_folder(path)
    suffix = path.suffix.lower()
    v_hint = _sidecar_v_hint(path)
    if suffix == ".safetensors":
        entries, _ = read_safetensors_header(path)
        shapes = {k: e.shape for k, e in entries.items()}
        if v_hint is None and SD2_CLIP + "token_embedding.weight" in shapes and _SD2_V_PROBE in entries:
            values = read_small_tensor(path, entries[_SD2_V_PROBE])
            if values is not None and len(values):
                v_hint = float(values.std()) > 0.09
        fmt = "safetensors"
    elif suffix in (".ckpt", ".pt", ".pth", ".bin"):
        sd = load_pickled_state_dict(path)
        shapes = {k: tuple(v.shape) for k, v in sd.items() if hasattr(v, "shape")}
        if v_hint is None and _SD2_V_PROBE in sd and SD2_CLIP + "token_embedding.weight" in shapes:
            v_hint = float(sd[_SD2_V_PROBE].float().std(unbiased=False)) > 0.09
        fmt = "ckpt"
    else:
        raise EngineError(f"{path}: unknown model file type {suffix!r} (expected .safetensors, .ckpt or a diffusers folder)")
    family, prediction = family_from_shapes(shapes, path, v_hint)
    return ModelInfo(path, fmt, family, NATIVE_SIZE[family], prediction, context_dim(shapes))


def load_pickled_state_dict(path: Path) -> dict[str, Any]:
    """A `.ckpt` state dict through `torch.load(weights_only=True)` only; never arbitrary unpickling."""
    from comicforge.weights.tensors import read_weights

    obj = read_weights(path, "checkpoint")
    return obj["state_dict"] if isinstance(obj.get("state_dict"), dict) else obj


_PIPELINES = {"StableDiffusionPipeline": None, "StableDiffusionXLPipeline": "sdxl"}


def _detect_diffusers_folder(path: Path) -> ModelInfo:
    index = path / "model_index.json"
    if not index.is_file():
        raise EngineError(f"{path}: folder is not a diffusers model (no model_index.json)")
    try:
        cls = json.loads(index.read_text(encoding="utf-8")).get("_class_name", "")
    except (OSError, ValueError) as e:
        raise EngineError(f"{path}: unreadable model_index.json ({e})") from e
    if cls.startswith("StableDiffusion3"):
        raise EngineError(f"{path}: SD3 diffusers folders are not supported yet; give the single file (with its text encoders inside)")
    if cls.startswith("Flux"):
        raise EngineError(f"{path}: {cls} models are recognised but not supported yet (SD 1.x, 2.x, SDXL, SD3 only)")
    try:
        unet = json.loads((path / "unet" / "config.json").read_text(encoding="utf-8"))
        sched_file = path / "scheduler" / "scheduler_config.json"
        sched = json.loads(sched_file.read_text(encoding="utf-8")) if sched_file.is_file() else {}
    except (OSError, ValueError) as e:
        raise EngineError(f"{path}: unreadable diffusers model config ({e})") from e
    if cls not in _PIPELINES:
        raise EngineError(f"{path}: unsupported diffusers pipeline {cls!r}")
    ctx = int(unet.get("cross_attention_dim") or 0)
    prediction = sched.get("prediction_type", "epsilon")
    if cls == "StableDiffusionXLPipeline":
        family = "sdxl"
    elif unet.get("attention_head_dim") == 8 or not unet.get("use_linear_projection"):
        family = "sd1"
    else:
        family = "sd2-v" if prediction == "v_prediction" else "sd2"
    size = int(unet.get("sample_size") or NATIVE_SIZE[family] // 8) * 8
    return ModelInfo(path, "diffusers", family, size if size in (512, 768, 1024) else NATIVE_SIZE[family], prediction, ctx)
