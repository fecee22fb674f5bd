"""Load a checkpoint into a diffusers pipeline, offline: configs inferred from key names and tensor shapes.

Key conversion is diffusers' own (`diffusers.loaders.single_file_utils`); what is ours is building every config
from the state dict, so a full-size checkpoint and a narrow test checkpoint go through the same path and
nothing is ever fetched from the hub.
"""

from __future__ import annotations

import os
import re
from functools import partial
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

import torch

from comicforge.errors import EngineError
from comicforge.weights.checkpoint import (
    SD1_CLIP,
    SD2_CLIP,
    SDXL_CLIP_G,
    SDXL_CLIP_L,
    UNET,
    ModelInfo,
    family_from_shapes,
    load_pickled_state_dict,
)

TOKENIZER_DIR = Path(__file__).resolve().parents[2] / "data" / "diffusion" / "tokenizer"
VAE_SCALE = {"sdxl": 0.13025}
DEFAULT_VAE_SCALE = 0.18215


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as e:  # safetensors raises its own error type for bad files
            raise EngineError(f"{path}: cannot read safetensors file ({e})") from e
    return load_pickled_state_dict(path)


# --- configs from shapes ----------------------------------------------------------------------------------------


def _count(sd, prefix: str) -> int:
    """How many numbered children `prefix.N.` exist."""
    pat = re.compile(re.escape(prefix) + r"\.(\d+)\.")
    return len({int(m.group(1)) for k in sd for m in [pat.match(k)] if m})


def heads_for(width: int) -> int:
    """Attention heads of a 64-wide-head layer (SD2, SDXL, OpenCLIP, CLIP-L); at least 1 for narrow test models."""
    return max(1, width // 64)


def unet_config(sd, family: str, native_size: int, prediction: str, pooled_dim: int = 0, prefix: str = UNET) -> dict:
    """diffusers UNet2DConditionModel config from an LDM/SGM UNet state dict (or a ControlNet's, by `prefix`)."""
    s = lambda k: tuple(sd[prefix + k].shape)  # noqa: E731
    in_channels = s("input_blocks.0.0.weight")[1]
    n_inputs = _count(sd, prefix + "input_blocks")
    channels, has_attn, depth, layers_per_block = [], [], [], None
    res_in_level = 0
    for i in range(1, n_inputs):
        if prefix + f"input_blocks.{i}.0.op.weight" in sd:
            layers_per_block = layers_per_block or res_in_level
            res_in_level = 0
            continue
        if res_in_level == 0:
            channels.append(s(f"input_blocks.{i}.0.out_layers.3.weight")[0])
            attn = prefix + f"input_blocks.{i}.1.proj_in.weight" in sd
            has_attn.append(attn)
            depth.append(_count(sd, prefix + f"input_blocks.{i}.1.transformer_blocks") if attn else 1)
        res_in_level += 1
    layers_per_block = layers_per_block or res_in_level
    proj = next(k for k in sd if k.startswith(prefix) and k.endswith("proj_in.weight"))
    ctx = next(sd[k].shape[1] for k in sd if k.startswith(prefix) and k.endswith("attn2.to_k.weight"))
    sdxl = family == "sdxl"
    if family == "sd1":
        heads = 8
    else:
        heads = [heads_for(c) for c in channels]
    cfg = {
        "sample_size": native_size // 8,
        "in_channels": in_channels,
        "out_channels": s("out.2.weight")[0] if prefix + "out.2.weight" in sd else in_channels,
        "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in has_attn],
        "up_block_types": ["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(has_attn)],
        "block_out_channels": channels,
        "layers_per_block": layers_per_block,
        "cross_attention_dim": ctx,
        "attention_head_dim": heads,
        "use_linear_projection": len(sd[proj].shape) == 2,
        "transformer_layers_per_block": depth if sdxl else 1,
        "upcast_attention": family == "sd2-v",
    }
    if sdxl:
        adm_in = s("label_emb.0.0.weight")[1]
        cfg.update(
            addition_embed_type="text_time",
            addition_time_embed_dim=(adm_in - pooled_dim) // 6,
            projection_class_embeddings_input_dim=adm_in,
        )
    return cfg


def vae_config(sd, family: str, native_size: int) -> dict:
    p = "first_stage_model.encoder.down"
    levels = _count(sd, p)
    channels = [int(sd[f"{p}.{i}.block.0.conv2.weight"].shape[0]) for i in range(levels)]
    return {
        "sample_size": native_size,
        "in_channels": int(sd["first_stage_model.encoder.conv_in.weight"].shape[1]),
        "out_channels": int(sd["first_stage_model.decoder.conv_out.weight"].shape[0]),
        "down_block_types": ["DownEncoderBlock2D"] * levels,
        "up_block_types": ["UpDecoderBlock2D"] * levels,
        "block_out_channels": channels,
        "latent_channels": int(sd["first_stage_model.decoder.conv_in.weight"].shape[1]),
        "layers_per_block": _count(sd, f"{p}.0.block"),
        "scaling_factor": VAE_SCALE.get(family, DEFAULT_VAE_SCALE),
    }


def clip_config(sd, prefix: str, openclip: bool, drop_last: bool = False):
    """transformers CLIPTextConfig for a CLIP-L (HF layout) or OpenCLIP (`resblocks`) tower."""
    from transformers import CLIPTextConfig

    if openclip:
        vocab, hidden = sd[prefix + "token_embedding.weight"].shape
        positions = sd[prefix + "positional_embedding"].shape[0]
        layers = _count(sd, prefix + "transformer.resblocks")
        inner = sd[prefix + "transformer.resblocks.0.mlp.c_fc.weight"].shape[0]
        proj = sd.get(prefix + "text_projection")
        proj_dim = int(proj.shape[1]) if proj is not None else int(hidden)
        act = "gelu"
    else:
        vocab, hidden = sd[prefix + "embeddings.token_embedding.weight"].shape
        positions = sd[prefix + "embeddings.position_embedding.weight"].shape[0]
        layers = _count(sd, prefix + "encoder.layers")
        inner = sd[prefix + "encoder.layers.0.mlp.fc1.weight"].shape[0]
        proj_dim, act = 768, "quick_gelu"
    return CLIPTextConfig(
        vocab_size=int(vocab),
        hidden_size=int(hidden),
        intermediate_size=int(inner),
        num_hidden_layers=layers - 1 if drop_last else layers,
        num_attention_heads=heads_for(int(hidden)),
        max_position_embeddings=int(positions),
        hidden_act=act,
        projection_dim=proj_dim,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=1,
    )


# --- building modules -------------------------------------------------------------------------------------------


def materialise(cls_or_factory, state: dict, where: Path, what: str, dtype):
    """Build a module on the meta device and assign the checkpoint's tensors (no random init, no copy)."""
    from accelerate import init_empty_weights

    with init_empty_weights():
        module = cls_or_factory()
    expected = set(module.state_dict())
    # transformers >= 5.6 flattened CLIPTextModel (no `text_model.` wrapper); diffusers' converters still emit it.
    state = {k if k in expected else k.removeprefix("text_model."): v for k, v in state.items()}
    state = {k: v for k, v in state.items() if k in expected}
    missing = expected - set(state)
    if missing:
        raise EngineError(f"{where}: {what} weights are incomplete ({len(missing)} missing, e.g. {sorted(missing)[0]})")
    module.load_state_dict({k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}, strict=True, assign=True)
    return module.eval().requires_grad_(False)


def converted(fn, where: Path, what: str):
    try:
        return fn()
    except (KeyError, IndexError, ValueError, RuntimeError, StopIteration) as e:
        raise EngineError(f"{where}: cannot convert the {what} weights ({type(e).__name__}: {e})") from e


def tokenizer(pad_token: str):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(TOKENIZER_DIR), pad_token=pad_token, model_max_length=77)


def _text_encoder(sd, prefix: str, openclip: bool, where: Path, dtype, with_projection=False, drop_last=False):
    from diffusers.loaders.single_file_utils import convert_ldm_clip_checkpoint, convert_open_clip_checkpoint
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    config = converted(lambda: clip_config(sd, prefix, openclip, drop_last), where, "text encoder")
    cls = CLIPTextModelWithProjection if with_projection else CLIPTextModel
    if openclip:
        def convert():
            with init_meta():
                probe = cls(config)
            return convert_open_clip_checkpoint(probe, sd, prefix=prefix)
    else:
        def convert():
            return convert_ldm_clip_checkpoint({k: v for k, v in sd.items() if k.startswith(prefix)}, remove_prefix=prefix.removesuffix("text_model."))

    state = converted(convert, where, "text encoder")
    pruned = 0
    if not openclip and prefix + "final_layer_norm.weight" not in sd:
        # Some SDXL files drop CLIP-L's last layer and final norm (only the penultimate state is used):
        # run the layers that are there and remember the offset when picking hidden states.
        pruned = 1
        state["text_model.final_layer_norm.weight"] = torch.ones(config.hidden_size)
        state["text_model.final_layer_norm.bias"] = torch.zeros(config.hidden_size)
    if with_projection and prefix + "text_projection" not in sd:
        raise EngineError(f"{where}: the OpenCLIP-G text encoder lacks its final layer or text projection "
                          "(pruned file?); SDXL needs them for the pooled prompt embedding")
    encoder = materialise(lambda: cls(config), state, where, "text encoder", dtype)
    encoder.comicforge_pruned_layers = pruned
    return encoder


def init_meta():
    from accelerate import init_empty_weights

    return init_empty_weights()


def build_pipeline(info: ModelInfo, dtype=torch.float32):
    """A StableDiffusion(XL)Pipeline for a single-file checkpoint or a diffusers folder, on CPU, in `dtype`."""
    import diffusers

    from comicforge.engines.diffusion.schedulers import base_scheduler_config

    where = info.path
    if info.format == "diffusers":
        cls = diffusers.StableDiffusionXLPipeline if info.is_sdxl else diffusers.StableDiffusionPipeline
        extra = {} if info.is_sdxl else {"safety_checker": None, "requires_safety_checker": False}
        try:
            return cls.from_pretrained(str(where), torch_dtype=dtype, local_files_only=True, **extra)
        except (OSError, ValueError) as e:
            raise EngineError(f"{where}: cannot load diffusers model ({e})") from e

    if info.is_sd3:
        from comicforge.engines.diffusion.sd3 import build_sd3_pipeline

        return build_sd3_pipeline(info, dtype)
    sd = read_state_dict(where)
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    family, prediction = family_from_shapes(shapes, where, info.prediction == "v_prediction")
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint

    if family == "sdxl":
        te1 = _text_encoder(sd, SDXL_CLIP_L, False, where, dtype)
        te2 = _text_encoder(sd, SDXL_CLIP_G, True, where, dtype, with_projection=True)
        pooled_dim = te2.config.projection_dim
    elif family == "sd1":
        te1, te2, pooled_dim = _text_encoder(sd, SD1_CLIP, False, where, dtype), None, 0
    else:
        te1, te2, pooled_dim = _text_encoder(sd, SD2_CLIP, True, where, dtype, drop_last=True), None, 0

    # partial binds `sd` now: it is deleted below, once the weights are converted
    ucfg = converted(partial(unet_config, sd, family, info.native_size, prediction, pooled_dim), where, "UNet")
    unet_state = converted(partial(convert_ldm_unet_checkpoint, sd, ucfg), where, "UNet")
    unet = materialise(lambda: diffusers.UNet2DConditionModel(**ucfg), unet_state, where, "UNet", dtype)
    vcfg = converted(partial(vae_config, sd, family, info.native_size), where, "VAE")
    vae_state = converted(partial(convert_ldm_vae_checkpoint, sd, vcfg), where, "VAE")
    vae = materialise(lambda: diffusers.AutoencoderKL(**vcfg), vae_state, where, "VAE", dtype)
    del sd

    scheduler = diffusers.DDIMScheduler.from_config(base_scheduler_config(prediction))
    if family == "sdxl":
        return diffusers.StableDiffusionXLPipeline(
            vae=vae, text_encoder=te1, text_encoder_2=te2, tokenizer=tokenizer("<|endoftext|>"),
            tokenizer_2=tokenizer("!"), unet=unet, scheduler=scheduler, force_zeros_for_empty_prompt=False,
            add_watermarker=False,
        )
    return diffusers.StableDiffusionPipeline(
        vae=vae, text_encoder=te1, tokenizer=tokenizer("<|endoftext|>" if family == "sd1" else "!"), unet=unet,
        scheduler=scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
