"""Stable Diffusion 3 / 3.5 single files in their original layout, offline: configs inferred from the state dict.

A Stability all-in-one file holds the MMDiT (`model.diffusion_model.joint_blocks.*`, `x_embedder`, `pos_embed`, …),
the 16-channel VAE (`first_stage_model.*`), CLIP-L and CLIP-G in Hugging Face layout (`text_encoders.clip_l.transformer.*`,
`text_encoders.clip_g.transformer.*`, each with its `text_projection`) and, in the `…_incl_clips_t5xxlfp8/16`
files, T5-XXL (`text_encoders.t5xxl.transformer.*`). Key conversion is diffusers' own (`single_file_utils`);
the configs come from tensor shapes, as for the UNet families, so nothing is fetched from the hub.

T5 needs its sentencepiece tokenizer, which no checkpoint holds: it is looked up in `COMICFORGE_T5_TOKENIZER`
(a folder with `spiece.model` or `tokenizer.json`) and in the local Hugging Face cache (the `tokenizer_3` of
stabilityai/stable-diffusion-3-medium-diffusers or 3.5, or google/t5-v1_1-xxl). Without T5 weights or tokenizer,
the pipeline runs on the CLIP encoders alone, with diffusers' zero T5 states (as Stability's reference code does),
and says so once when the model loads.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from functools import partial
from pathlib import Path

import torch

from comicforge.engines.diffusion.conditioning import Encoded, Scheduled, StepConditioning
from comicforge.engines.diffusion.models import _count, converted, materialise, read_state_dict, tokenizer
from comicforge.errors import EngineError
from comicforge.weights.checkpoint import SD3_CLIP_G, SD3_CLIP_L, SD3_T5, UNET, ModelInfo
from comicforge.weights.locate import hf_cache_dir

VAE_SCALE, VAE_SHIFT = 1.5305, 0.0609  # SD3's VAE latent scaling and shift
FLOW_SHIFT = 3.0  # the flow-matching timestep shift SD3 and 3.5 were trained with
T5_TOKENS = 256  # diffusers' default max_sequence_length for the T5 part of the context
HEAD_DIM = 64  # MMDiT attention head width (SD3 medium, 3.5 medium and large)
T5_TOKENIZER_REPOS = (("stabilityai/stable-diffusion-3.5-large", "tokenizer_3"), ("stabilityai/stable-diffusion-3.5-medium", "tokenizer_3"),
                      ("stabilityai/stable-diffusion-3-medium-diffusers", "tokenizer_3"), ("google/t5-v1_1-xxl", ""))


def transformer_config(sd: dict, native_size: int) -> dict:
    """diffusers SD3Transformer2DModel config from an original MMDiT state dict (prefix stripped)."""
    hidden, in_channels, patch, _ = sd["x_embedder.proj.weight"].shape
    ln_q = sd.get("joint_blocks.0.x_block.attn.ln_q.weight")
    head_dim = int(ln_q.shape[0]) if ln_q is not None else min(HEAD_DIM, int(hidden))
    positions = int(sd["pos_embed"].shape[1])
    return {
        "sample_size": native_size // 8,
        "patch_size": int(patch),
        "in_channels": int(in_channels),
        "num_layers": _count(sd, "joint_blocks"),
        "attention_head_dim": head_dim,
        "num_attention_heads": int(hidden) // head_dim,
        "joint_attention_dim": int(sd["context_embedder.weight"].shape[1]),
        "caption_projection_dim": int(sd["context_embedder.weight"].shape[0]),
        "pooled_projection_dim": int(sd["y_embedder.mlp.0.weight"].shape[1]),
        "out_channels": int(sd["final_layer.linear.weight"].shape[0]) // int(patch) ** 2,
        "pos_embed_max_size": round(positions**0.5),
        "dual_attention_layers": tuple(sorted({int(k.split(".")[1]) for k in sd if k.startswith("joint_blocks.") and ".attn2." in k})),
        "qk_norm": "rms_norm" if ln_q is not None else None,
    }


def vae_config(sd: dict, native_size: int) -> dict:
    """The 16-channel SD3 VAE (no quant convs, a latent shift) from its `first_stage_model.*` shapes."""
    from comicforge.engines.diffusion.models import vae_config as ldm_vae_config

    return {**ldm_vae_config(sd, "sd3", native_size), "scaling_factor": VAE_SCALE, "shift_factor": VAE_SHIFT,
            "use_quant_conv": "first_stage_model.quant_conv.weight" in sd,
            "use_post_quant_conv": "first_stage_model.post_quant_conv.weight" in sd}


def clip_encoder(sd: dict, prefix: str, act: str, where: Path, dtype, projected: bool):
    """CLIPTextModelWithProjection for SD3's CLIP-L (quick GELU) or CLIP-G (GELU) in Hugging Face layout.

    SD3 pools CLIP-G through its `text_projection` but takes CLIP-L's pooled state unprojected (Stability's
    `return_projected_pooled=False`), so CLIP-L gets an identity projection, as diffusers' single-file loader gives it.
    """
    from diffusers.loaders.single_file_utils import convert_ldm_clip_checkpoint
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    text = prefix + "text_model."
    if projected and prefix + "text_projection.weight" not in sd:
        raise EngineError(f"{where}: the SD3 text encoder {prefix.split('.')[1]} lacks its text_projection (needed for the pooled embedding)")
    vocab, hidden = sd[text + "embeddings.token_embedding.weight"].shape
    config = CLIPTextConfig(
        vocab_size=int(vocab), hidden_size=int(hidden), intermediate_size=int(sd[text + "encoder.layers.0.mlp.fc1.weight"].shape[0]),
        num_hidden_layers=_count(sd, text + "encoder.layers"), num_attention_heads=max(1, int(hidden) // 64),
        max_position_embeddings=int(sd[text + "embeddings.position_embedding.weight"].shape[0]), hidden_act=act,
        projection_dim=int(sd[prefix + "text_projection.weight"].shape[0]) if projected else int(hidden),
        bos_token_id=49406, eos_token_id=49407, pad_token_id=1,
    )

    def convert() -> dict:
        state = convert_ldm_clip_checkpoint({k: v for k, v in sd.items() if k.startswith(prefix)}, remove_prefix=prefix)
        if not projected:
            state["text_projection.weight"] = torch.eye(int(hidden))
        return state

    encoder = materialise(lambda: CLIPTextModelWithProjection(config), converted(convert, where, "text encoder"), where, "text encoder", dtype)
    encoder.comicforge_pruned_layers = 0
    return encoder


def t5_tokenizer_dir() -> Path | None:
    """A local T5 tokenizer folder: `COMICFORGE_T5_TOKENIZER`, else a tokenizer in the local HF cache."""
    named = os.environ.get("COMICFORGE_T5_TOKENIZER", "")
    if named and _is_t5_tokenizer(Path(named).expanduser()):
        return Path(named).expanduser()
    for repo, sub in T5_TOKENIZER_REPOS:
        snapshots = hf_cache_dir() / ("models--" + repo.replace("/", "--")) / "snapshots"
        for snapshot in sorted(snapshots.iterdir()) if snapshots.is_dir() else []:
            if _is_t5_tokenizer(snapshot / sub):
                return snapshot / sub
    return None


def _is_t5_tokenizer(folder: Path) -> bool:
    return (folder / "spiece.model").is_file() or (folder / "tokenizer.json").is_file()


def t5_encoder(sd: dict, where: Path, dtype):
    """T5-XXL's encoder from the file's `text_encoders.t5xxl.transformer.*` keys (config from shapes)."""
    from diffusers.loaders.single_file_utils import convert_sd3_t5_checkpoint_to_diffusers
    from transformers import T5Config, T5EncoderModel

    block = SD3_T5 + "encoder.block.0.layer."
    vocab, width = sd[SD3_T5 + "shared.weight"].shape
    buckets, heads = sd[block + "0.SelfAttention.relative_attention_bias.weight"].shape
    config = T5Config(
        vocab_size=int(vocab), d_model=int(width), d_kv=int(sd[block + "0.SelfAttention.q.weight"].shape[0]) // int(heads),
        d_ff=int(sd[block + "1.DenseReluDense.wi_0.weight"].shape[0]), num_layers=_count(sd, SD3_T5 + "encoder.block"),
        num_heads=int(heads), relative_attention_num_buckets=int(buckets), feed_forward_proj="gated-gelu", is_encoder_decoder=False,
    )
    state = converted(lambda: convert_sd3_t5_checkpoint_to_diffusers(sd), where, "T5 text encoder")
    state.setdefault("encoder.embed_tokens.weight", state["shared.weight"])
    return materialise(lambda: T5EncoderModel(config), state, where, "T5 text encoder", dtype)


def build_sd3_pipeline(info: ModelInfo, dtype=torch.float32):
    """A StableDiffusion3Pipeline for an SD3/3.5 single file on the CPU in `dtype` (CLIP-only when T5 is not here)."""
    import diffusers
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint, convert_sd3_transformer_checkpoint_to_diffusers
    from transformers import T5TokenizerFast

    where = info.path
    sd = read_state_dict(where)
    mmdit = {k.removeprefix(UNET): v for k, v in sd.items() if k.startswith(UNET)}
    tcfg = converted(partial(transformer_config, mmdit, info.native_size), where, "SD3 transformer")
    tstate = converted(partial(convert_sd3_transformer_checkpoint_to_diffusers, mmdit), where, "SD3 transformer")
    transformer = materialise(lambda: diffusers.SD3Transformer2DModel(**tcfg), tstate, where, "SD3 transformer", dtype)
    vcfg = converted(partial(vae_config, sd, info.native_size), where, "VAE")
    vae_state = converted(partial(convert_ldm_vae_checkpoint, sd, vcfg), where, "VAE")
    vae = materialise(lambda: diffusers.AutoencoderKL(**vcfg), vae_state, where, "VAE", dtype)
    clip_l = clip_encoder(sd, SD3_CLIP_L, "quick_gelu", where, dtype, projected=False)
    clip_g = clip_encoder(sd, SD3_CLIP_G, "gelu", where, dtype, projected=True)
    t5, t5_tokenizer, folder = None, None, t5_tokenizer_dir()
    if SD3_T5 + "shared.weight" in sd and folder is not None:
        t5, t5_tokenizer = t5_encoder(sd, where, dtype), T5TokenizerFast.from_pretrained(str(folder), local_files_only=True)
    else:
        missing = "T5 tokenizer (set COMICFORGE_T5_TOKENIZER to a folder with spiece.model)" if SD3_T5 + "shared.weight" in sd else "T5-XXL"
        print(f"note: {where.name}: no {missing}; SD3 runs on its CLIP-L and CLIP-G encoders alone", file=sys.stderr)
    del sd, mmdit
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=FLOW_SHIFT)
    return diffusers.StableDiffusion3Pipeline(
        transformer=transformer, scheduler=scheduler, vae=vae, text_encoder=clip_l, tokenizer=tokenizer("<|endoftext|>"),
        text_encoder_2=clip_g, tokenizer_2=tokenizer("!"), text_encoder_3=t5, tokenizer_3=t5_tokenizer,
    )


def sd3_context(clip_hidden: torch.Tensor, t5_hidden: torch.Tensor | None, joint_dim: int) -> torch.Tensor:
    """SD3's joint context: the CLIP states zero-padded to T5's width, then T5's states (zeros without T5), as
    diffusers' `encode_prompt` lays them out."""
    padded = torch.nn.functional.pad(clip_hidden, (0, joint_dim - clip_hidden.shape[-1]))
    if t5_hidden is None:
        t5_hidden = torch.zeros((clip_hidden.shape[0], T5_TOKENS, joint_dim), dtype=clip_hidden.dtype, device=clip_hidden.device)
    return torch.cat([padded, t5_hidden.to(padded.dtype)], dim=-2)


def sd3_conditioning(conditioning: StepConditioning, pipe, panel_id: str) -> StepConditioning:
    """The CLIP conditioning with every text's T5 states (zeros without T5) joined into SD3's context."""
    if not conditioning.is_plain:
        raise EngineError(f"panel {panel_id}: prompt editing, alternation, AND and part weights are not supported on SD3 models yet")
    joint = int(pipe.transformer.config.joint_attention_dim)

    def joined(scheduled: Scheduled) -> Scheduled:
        encoded = {text: Encoded(sd3_context(e.hidden, t5_states(pipe, text), joint), e.pooled) for text, e in scheduled.encoded.items()}
        return Scheduled(scheduled.spans, encoded)

    return dataclasses.replace(conditioning, negative=joined(conditioning.negative),
                               parts=tuple((weight, joined(scheduled)) for weight, scheduled in conditioning.parts))


def t5_states(pipe, text: str) -> torch.Tensor | None:
    """T5's states for a text without A1111 attention syntax (None when the pipeline has no T5)."""
    if pipe.text_encoder_3 is None:
        return None
    from comicforge.engines.diffusion.prompts import strip_attention

    plain = strip_attention(text) if text else ""
    with torch.no_grad():
        return pipe._get_t5_prompt_embeds(prompt=[plain], num_images_per_prompt=1, max_sequence_length=T5_TOKENS,
                                          device=pipe.text_encoder_3.device)
