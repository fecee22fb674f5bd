"""Tiny ControlNets with the real key structure: a v1.1 single file from controlnet_sd15_keys.tsv, an SDXL folder."""

from __future__ import annotations

from pathlib import Path

import torch

import diffusion_tiny as tiny
from support import DATA


def controlnet_sd15_keys() -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) rows of the ControlNet v1.1 SD1.5 reference list."""
    rows = []
    for line in (DATA / "controlnet_sd15_keys.tsv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape = line.split("\t")[:2]
        rows.append((key, tuple(int(d) for d in shape.strip("[]").split(",") if d)))
    return rows


def controlnet_sd15_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """The v1.1 layout with the tiny SD1 widths (hint encoder widths kept); zero convs random so it steers."""
    widths = tiny.SD1_MAPS["diffuser"]
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, dims in controlnet_sd15_keys():
        shape = tuple(widths.get(d, d) for d in dims)
        state[key] = tiny._tensor(key, shape, gen)
    return state


def controlnet_sd21_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """The v1.1 layout for SD 2.x: SD1's with linear proj_in/out, as the tiny SD 2.1 UNet has them (`tiny.sd2_state`)."""
    linear = lambda key, value: value.ndim == 4 and key.endswith(("proj_in.weight", "proj_out.weight"))  # noqa: E731
    return {key: value.reshape(value.shape[:2]) if linear(key, value) else value for key, value in controlnet_sd15_state(seed).items()}


def write_sdxl_controlnet_folder(unet, folder: Path, seed: int = 0) -> Path:
    """A diffusers ControlNet folder derived from a (tiny SDXL) UNet, with non-zero output convolutions."""
    import diffusers

    controlnet = diffusers.ControlNetModel.from_unet(unet)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in controlnet.named_parameters():
            if name.startswith(("controlnet_down_blocks", "controlnet_mid_block", "controlnet_cond_embedding.conv_out")):
                param.copy_(torch.randn(param.shape, generator=gen) * 0.05)
    controlnet.save_pretrained(str(folder))
    return folder


def write_ip_adapter(unet, folder: Path, seed: int = 0) -> Path:
    """A tiny IP-Adapter in the release layout: `image_proj.*` + `ip_adapter.N.to_{k,v}_ip.weight`, image_encoder/."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    gen = torch.Generator().manual_seed(seed)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              image_size=32, patch_size=16, projection_dim=32)
    torch.manual_seed(seed)
    CLIPVisionModelWithProjection(vision).save_pretrained(str(folder / "image_encoder"))
    context, tokens = unet.config.cross_attention_dim, 4
    state = {
        "image_proj.proj.weight": torch.randn(context * tokens, vision.projection_dim, generator=gen) * 0.2,
        "image_proj.proj.bias": torch.zeros(context * tokens),
        "image_proj.norm.weight": torch.ones(context),
        "image_proj.norm.bias": torch.zeros(context),
    }
    cross = [name.removesuffix(".processor") for name in unet.attn_processors if name.endswith("attn2.processor")]
    for index, name in zip(range(1, 2 * len(cross), 2), cross):
        width = unet.get_submodule(name).to_k.out_features
        for part in ("to_k_ip", "to_v_ip"):
            state[f"ip_adapter.{index}.{part}.weight"] = torch.randn(width, context, generator=gen) * context**-0.5
    return tiny.save(state, folder / "ip-adapter_tiny.safetensors")


def write_t2i_adapter(unet, folder: Path, seed: int = 0, in_channels: int = 3) -> Path:
    """A tiny T2I-Adapter folder (diffusers' own T2IAdapter class, saved as TencentARC publishes them) whose feature
    widths follow the (tiny) UNet's blocks: `full_adapter` for SD 1.x, `full_adapter_xl` for SDXL."""
    import diffusers

    widths = list(unet.config.block_out_channels)
    xl = unet.config.addition_embed_type == "text_time"
    torch.manual_seed(seed)
    adapter = diffusers.T2IAdapter(in_channels=in_channels, channels=[*widths, widths[-1]] if xl else widths, num_res_blocks=2,
                                   downscale_factor=16 if xl else 8, adapter_type="full_adapter_xl" if xl else "full_adapter")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in adapter.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.3)
    adapter.save_pretrained(str(folder))
    return folder
