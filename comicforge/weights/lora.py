"""LoRA files checked from their keys and shapes before any work (no torch): format, family, LyCORIS.

Formats: kohya-ss / A1111 (`lora_unet_*`, `lora_te*_*`, `.lora_down/.lora_up/.alpha`) and diffusers/peft
(`unet.*.lora_A/lora_B`, `text_encoder.*`). LyCORIS LoHa/LoKr are recognised and refused.
"""

from __future__ import annotations

import re
from pathlib import Path

from comicforge.errors import EngineError
from comicforge.weights.checkpoint import ModelInfo
from comicforge.weights.header import read_safetensors_header

FAMILY_BY_WIDTH = {768: "SD 1.x", 1024: "SD 2.x", 2048: "SDXL"}
_SD3_KEY = re.compile(r"^(transformer\.(transformer_blocks|context_embedder|pos_embed|proj_out)\."
                      r"|lora_unet_joint_blocks_|lora_transformer_transformer_blocks_)")  # diffusers/peft, kohya, ai-toolkit
_FLUX_KEY = re.compile(r"(single_transformer_blocks|single_blocks|double_blocks)")

_KOHYA_UNET = re.compile(
    r"lora_unet_("
    r"(down_blocks|up_blocks)_\d+_(attentions|resnets|downsamplers|upsamplers)_\d+"
    r"|mid_block_(attentions|resnets)_\d+"
    r"|(input_blocks|output_blocks)_\d+_\d+|middle_block_\d+"
    r"|conv_in|conv_out|time_embedding_linear_\d|time_embed_\d|label_emb_\d_\d|add_embedding_linear_\d|out_\d"
    r"|joint_blocks_\d+_(x_block|context_block)"
    r")(_|$)"
)
_KOHYA_TE = re.compile(r"lora_te\d?_text_model_encoder_layers_\d+_(self_attn_(q|k|v|out)_proj|mlp_fc[12])$")
_PEFT = re.compile(r"^(unet|transformer|text_encoder|text_encoder_2)\.(base_model\.model\.)?.+\.(lora_A|lora_B|lora\.down|lora\.up)(\.[\w]+)?\.weight$")
_LYCORIS = ("hada_w1", "hada_w2", "lokr_w1", "lokr_w2", "lokr_t1")


def _module(key: str) -> str:
    return key.split(".", 1)[0]


def lora_width(keys: dict[str, tuple[int, ...]]) -> int:
    """Cross-attention width the LoRA was trained against (from an attn2 to_k down/A matrix), 0 if none."""
    for k, shape in keys.items():
        if ("attn2_to_k.lora_down.weight" in k or re.search(r"attn2\.to_k\.lora(_A|\.down)\.weight$", k)) and len(shape) == 2:
            return int(shape[1])
    return 0


def lora_format(path: Path, keys: dict[str, tuple[int, ...]]) -> str:
    """"kohya" or "peft"; EngineError naming the file for LyCORIS and unknown layouts."""
    if not keys:
        raise EngineError(f"{path}: LoRA file holds no tensors")
    lyco = [k for k in keys if any(p in k for p in _LYCORIS)]
    if lyco:
        kind = "LoKr" if any("lokr_" in k for k in lyco) else "LoHa"
        raise EngineError(f"{path}: LyCORIS {kind} files are not supported (only LoRA/LoCon); e.g. key {lyco[0]!r}")
    kohya = [k for k in keys if k.startswith(("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_"))]
    if kohya:
        known = [k for k in kohya if _KOHYA_UNET.match(_module(k)) or _KOHYA_TE.match(_module(k))]
        if not known:
            raise EngineError(
                f"{path}: none of the LoRA's {len(keys)} keys match a layer of a Stable Diffusion model "
                f"(e.g. {kohya[0]!r})"
            )
        return "kohya"
    if any(_PEFT.match(k) for k in keys):
        return "peft"
    raise EngineError(
        f"{path}: LoRA keys match nothing we know (kohya `lora_unet_*`/`lora_te_*` or diffusers `unet.*.lora_A`); "
        f"e.g. {next(iter(keys))!r}"
    )


def check_lora(path: Path, model_info: ModelInfo) -> None:
    """Reject a LoRA that cannot apply to the model, from its header alone (no torch)."""
    path = Path(path)
    if not path.is_file():
        raise EngineError(f"{path}: LoRA file not found")
    if path.suffix.lower() != ".safetensors":
        return  # pickled LoRAs are checked when loaded
    entries, _ = read_safetensors_header(path)
    check_lora_keys(path, {k: e.shape for k, e in entries.items()}, model_info)


def check_lora_keys(path: Path, keys: dict[str, tuple[int, ...]], model_info: ModelInfo) -> None:
    """Reject a LoRA whose keys match no known layout or whose family differs from the model's."""
    lora_format(path, keys)
    _check_family(path, keys, model_info)


def _is_sdxl_lora(keys: dict[str, tuple[int, ...]], width: int) -> bool:
    """SDXL's two text encoders, or the original UNet layout at a width other than SD 1.x's."""
    return any(k.startswith(("lora_te1_", "lora_te2_", "text_encoder_2.")) for k in keys) or (any(
        re.match(r"lora_unet_(input_blocks|output_blocks|middle_block)_", k) for k in keys
    ) and width != 768)


def lora_family(path: Path) -> str | None:
    """The model family a LoRA is for ("SD 1.x", "SD 2.x", "SDXL", "SD3", "Flux", …), from its header; None unread."""
    path = Path(path)
    if path.suffix.lower() != ".safetensors" or not path.is_file():
        return None
    try:
        entries, _ = read_safetensors_header(path)
    except EngineError:
        return None  # reported where the file is checked
    keys = {k: e.shape for k, e in entries.items()}
    if any(_FLUX_KEY.search(k) for k in keys):
        return "Flux"
    if any(_SD3_KEY.match(k) for k in keys):
        return "SD3"
    width = lora_width(keys)
    if width:
        return FAMILY_BY_WIDTH.get(width, f"a model with cross-attention width {width}")
    return "SDXL" if _is_sdxl_lora(keys, width) else "SD 1.x/2.x"


def _check_family(path: Path, keys: dict[str, tuple[int, ...]], model_info: ModelInfo) -> None:
    if any(_FLUX_KEY.search(k) for k in keys):
        raise EngineError(f"{path}: a Flux LoRA; Flux models are not supported")
    sd3_lora = any(_SD3_KEY.match(k) for k in keys)
    if sd3_lora or model_info.is_sd3:
        if sd3_lora != model_info.is_sd3:
            model_family = "SD3" if model_info.is_sd3 else FAMILY_BY_WIDTH.get(model_info.context_dim, "SD 1.x/2.x/SDXL")
            raise EngineError(f"{path}: LoRA is for {'SD3' if sd3_lora else 'SD 1.x/2.x/SDXL (a UNet)'} but the model "
                              f"{model_info.path.name} is {model_family}")
        return
    width = lora_width(keys)
    sdxl_lora = _is_sdxl_lora(keys, width)
    model_family = FAMILY_BY_WIDTH.get(model_info.context_dim, f"a model with cross-attention width {model_info.context_dim}")
    if width and width != model_info.context_dim:
        lora_family = FAMILY_BY_WIDTH.get(width, f"a model with cross-attention width {width}")
        raise EngineError(f"{path}: LoRA is for {lora_family} but the model {model_info.path.name} is {model_family}")
    if not width and sdxl_lora != model_info.is_sdxl:
        raise EngineError(
            f"{path}: LoRA is for {'SDXL' if sdxl_lora else 'SD 1.x/2.x'} but the model {model_info.path.name} is {model_family}"
        )

