"""Tiny checkpoints with the real key structure (from the key lists in tests/data/), narrower channels."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import torch

from support import DATA

# Real width → tiny width, per component (all tiny widths stay divisible by 32 for GroupNorm).
SD1_MAPS = {
    "diffuser": {320: 32, 640: 64, 1280: 128, 960: 96, 1920: 192, 2560: 256, 5120: 512, 10240: 1024, 768: 64},
    "clip_l": {768: 64, 3072: 256},
    "vae": {128: 32, 256: 64, 512: 96},
}
SDXL_MAPS = {
    "diffuser": {320: 32, 640: 64, 1280: 128, 960: 96, 1920: 192, 2560: 256, 5120: 512, 10240: 1024,
                 2048: 64 + 128, 2816: 128 + 6 * 32},
    "clip_l": {768: 64, 3072: 256},
    "clip_g": {1280: 128, 3840: 384, 5120: 512},
    "vae": {128: 32, 256: 64, 512: 96},
}


def reference_keys(name: str) -> list[tuple[str, tuple[int, ...], str, bool]]:
    rows = []
    for line in (DATA / name).read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape, _dtype, comp, optional = line.split("\t")
        dims = tuple(int(d) for d in shape.strip("[]").split(",") if d)
        rows.append((key, dims, comp, optional.strip() == "1"))
    return rows


def _tensor(key: str, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    if key.endswith("position_ids"):
        return torch.arange(shape[-1], dtype=torch.int64).reshape(shape)
    last = key.rsplit(".", 1)[-1]
    if len(shape) == 1 and ("norm" in key or "ln_" in key or re.search(r"(in|out)_layers\.0|\.0\.weight$|layers\.[0-9]+\.weight", key)) and last == "weight":
        return torch.ones(shape)
    if last in ("bias", "in_proj_bias") or len(shape) <= 1 and last != "logit_scale":
        return torch.randn(shape, generator=gen) * 0.02
    fan_in = 1
    for d in shape[1:]:
        fan_in *= d
    return torch.randn(shape, generator=gen) * (max(fan_in, 1) ** -0.5)


def _build(rows, maps, seed: int, rename=None, reshape=None) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    sd = {}
    for key, dims, comp, optional in rows:
        if optional and comp == "scheduler":
            continue
        m = maps.get(comp, {})
        shape = tuple(m.get(d, d) for d in dims)
        if reshape:
            shape = reshape(key, shape)
        sd[rename(key) if rename else key] = _tensor(key, shape, gen)
    return sd


def sd1_state(seed: int = 0) -> dict[str, torch.Tensor]:
    return _build(reference_keys("sd15_keys.tsv"), SD1_MAPS, seed)


def sdxl_state(seed: int = 0) -> dict[str, torch.Tensor]:
    return _build(reference_keys("sdxl_keys.tsv"), SDXL_MAPS, seed)


def sd2_state(seed: int = 0, v: bool = False) -> dict[str, torch.Tensor]:
    """SD 2.x: SD1's UNet with linear proj_in/out and OpenCLIP-H (24 resblocks) under cond_stage_model.model."""
    rows = [r for r in reference_keys("sd15_keys.tsv") if r[2] != "clip_l"]
    maps = {"diffuser": {**SD1_MAPS["diffuser"], 768: 64, 1024: 64}, "vae": SD1_MAPS["vae"]}

    def linear_proj(key, shape):
        if key.endswith(("proj_in.weight", "proj_out.weight")) and len(shape) == 4:
            return shape[:2]
        return shape

    sd = _build(rows, maps, seed, reshape=linear_proj)
    g_rows = []
    for key, dims, comp, optional in reference_keys("sdxl_keys.tsv"):
        if comp != "clip_g":
            continue
        m = re.search(r"resblocks\.(\d+)\.", key)
        if m and int(m.group(1)) >= 24:
            continue
        g_rows.append((key.replace("conditioner.embedders.1.model.", "cond_stage_model.model."), dims, comp, optional))
    sd.update(_build(g_rows, {"clip_g": {1280: 64, 3840: 192, 5120: 256}}, seed + 1))
    probe = "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias"
    sd[probe] = torch.randn(sd[probe].shape, generator=torch.Generator().manual_seed(seed)) * (0.3 if v else 0.0)
    return sd


def save(sd: dict[str, torch.Tensor], path: Path) -> Path:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    return path


TOKENIZER = Path(__file__).resolve().parents[3] / "comicforge" / "data" / "diffusion" / "tokenizer"


def write_sd1_diffusers_config(folder: Path) -> Path:
    """Hand-written diffusers configs for the tiny SD1 (independent of our shape inference), for from_single_file."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "model_index.json": {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
                             "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                             "vae": ["diffusers", "AutoencoderKL"], "safety_checker": [None, None],
                             "feature_extractor": [None, None], "requires_safety_checker": False},
        "unet/config.json": {"_class_name": "UNet2DConditionModel", "sample_size": 64, "in_channels": 4, "out_channels": 4,
                             "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
                             "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
                             "block_out_channels": [32, 64, 128, 128], "layers_per_block": 2,
                             "cross_attention_dim": 64, "attention_head_dim": 8},
        "vae/config.json": {"_class_name": "AutoencoderKL", "sample_size": 512, "in_channels": 3, "out_channels": 3,
                            "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
                            "block_out_channels": [32, 64, 96, 96], "latent_channels": 4, "layers_per_block": 2,
                            "scaling_factor": 0.18215},
        "text_encoder/config.json": {"architectures": ["CLIPTextModel"], "model_type": "clip_text_model",
                                     "vocab_size": 49408, "hidden_size": 64, "intermediate_size": 256,
                                     "num_hidden_layers": 12, "num_attention_heads": 1, "max_position_embeddings": 77,
                                     "hidden_act": "quick_gelu", "projection_dim": 768, "bos_token_id": 49406,
                                     "eos_token_id": 49407, "pad_token_id": 1},
        "scheduler/scheduler_config.json": {"_class_name": "DDIMScheduler", "num_train_timesteps": 1000,
                                            "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
                                            "prediction_type": "epsilon", "steps_offset": 1, "clip_sample": False,
                                            "set_alpha_to_one": False, "timestep_spacing": "leading"},
        "tokenizer/tokenizer_config.json": {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77,
                                            "pad_token": "<|endoftext|>", "bos_token": "<|startoftext|>",
                                            "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"},
    }
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(content))
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(TOKENIZER / name, folder / "tokenizer" / name)
    return folder
