"""LoRA files loaded for a resident pipeline through diffusers, after the header checks of `weights.lora`.

Formats: kohya-ss / A1111 (`lora_unet_*`, `lora_te*_*`, `.lora_down/.lora_up/.alpha`) and diffusers/peft
(`unet.*.lora_A/lora_B`, `text_encoder.*`). LyCORIS LoHa/LoKr are recognised and refused.
"""

from __future__ import annotations

from pathlib import Path

from comicforge.weights.checkpoint import ModelInfo
from comicforge.weights.lora import check_lora, check_lora_keys


def load_lora_state(path: Path, model_info: ModelInfo) -> dict:
    """The LoRA's tensors (checked), ready for diffusers' `load_lora_weights`."""
    from comicforge.weights.tensors import read_weights

    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        check_lora(path, model_info)
    state = read_weights(path, "LoRA file")
    if path.suffix.lower() != ".safetensors":
        check_lora_keys(path, {k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}, model_info)
    return state
