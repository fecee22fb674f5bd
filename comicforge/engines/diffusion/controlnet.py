"""ControlNet models, offline: single-file v1.1 checkpoints (`control_model.*`) and diffusers folders.

A single file's architecture is read from its shapes with the same inference as the base UNet (a ControlNet is
the UNet's encoder half plus a hint encoder and zero convolutions); diffusers' own converter maps the keys.
Which family it belongs to is judged from shapes too (SDXL: an added time/text embedding; SD 2.x: linear
attention projections; else SD 1.x) and checked against the base model before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from comicforge.engines.diffusion.models import converted, materialise, read_state_dict, unet_config
from comicforge.errors import EngineError
from comicforge.weights.controlnet import ControlNetInfo, without_prefix


def load_controlnet(info: ControlNetInfo, dtype: torch.dtype):
    """A diffusers ControlNetModel on the CPU in `dtype`, never touching the hub."""
    import diffusers

    if info.format == "diffusers":
        try:
            return diffusers.ControlNetModel.from_pretrained(str(info.path), torch_dtype=dtype, local_files_only=True).eval()
        except (OSError, ValueError) as error:
            raise EngineError(f"{info.path}: cannot load the diffusers ControlNet ({error})") from error
    from diffusers.loaders.single_file_utils import convert_controlnet_checkpoint

    if info.family == "sdxl":
        raise EngineError(f"{info.path}: SDXL ControlNets are supported as diffusers folders only (config.json + weights)")
    state = without_prefix(read_state_dict(info.path))
    config = converted(lambda: controlnet_config(state, info.family), info.path, "ControlNet")
    weights = converted(lambda: convert_controlnet_checkpoint(state, config), info.path, "ControlNet")
    return materialise(lambda: diffusers.ControlNetModel(**config), weights, info.path, "ControlNet", dtype)


def controlnet_config(state: Mapping[str, torch.Tensor], family: str) -> dict:
    """diffusers ControlNetModel config from a v1.1 state dict: the UNet encoder's, plus the hint encoder's widths."""
    unet = unet_config(state, family, 512, "epsilon", prefix="")
    hint_convs = sorted(int(k.split(".")[1]) for k in state if k.startswith("input_hint_block.") and k.endswith(".weight"))
    hint_widths = [int(state[f"input_hint_block.{i}.weight"].shape[0]) for i in hint_convs[:-1]]
    shared = ("in_channels", "down_block_types", "block_out_channels", "layers_per_block", "cross_attention_dim",
              "attention_head_dim", "use_linear_projection", "transformer_layers_per_block", "upcast_attention")
    return {
        **{k: unet[k] for k in shared},
        "conditioning_channels": int(state["input_hint_block.0.weight"].shape[1]),
        "conditioning_embedding_out_channels": hint_widths[::2],
    }
