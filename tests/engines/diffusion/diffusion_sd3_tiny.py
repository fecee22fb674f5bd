"""A tiny SD3/3.5 single file in the original (Stability all-in-one) key layout, narrow and shallow.

There is no SD3 key dump in tests/data, so the MMDiT keys are written from the architecture of Stability's
reference MMDiT (`sd3_impls.py`, as ComfyUI's `mmdit.py` names them): `model.diffusion_model.{x_embedder.proj,
pos_embed, t_embedder.mlp.{0,2}, y_embedder.mlp.{0,2}, context_embedder, joint_blocks.N.{x_block,context_block}.
{attn.qkv, attn.proj, attn.ln_q, attn.ln_k, adaLN_modulation.1, mlp.fc1, mlp.fc2}, final_layer.{linear,
adaLN_modulation.1}}`, the last context block "pre-only" (qkv and a 2×-wide modulation, no proj or MLP), RMS
qk-norms as in 3.5. The VAE is SD1.5's key list (tests/data/sd15_keys.tsv) with 16 latent channels and no quant
convs; CLIP-L and CLIP-G are SD1.5's CLIP key list moved under `text_encoders.clip_{l,g}.transformer.` with a
`text_projection`, as Stability's `…_incl_clips` files hold them.
"""

from __future__ import annotations

import torch

import diffusion_tiny as tiny

WIDTH, HEAD, LAYERS, PATCH, LATENT = 64, 32, 2, 2, 16  # tiny MMDiT: 2 heads of 32, 2 joint blocks
POSITIONS = 16  # pos_embed_max_size: a 16×16 grid of patches (256 latent pixels a side)
JOINT = 256  # context width (T5's d_model in a real file: 4096)
CLIP_L, CLIP_G = 64, 128  # tiny CLIP widths (real: 768, 1280)


def _mmdit_shapes() -> dict[str, tuple[int, ...]]:
    d = WIDTH
    shapes = {
        "x_embedder.proj.weight": (d, LATENT, PATCH, PATCH), "x_embedder.proj.bias": (d,),
        "pos_embed": (1, POSITIONS * POSITIONS, d),
        "t_embedder.mlp.0.weight": (d, 256), "t_embedder.mlp.0.bias": (d,), "t_embedder.mlp.2.weight": (d, d), "t_embedder.mlp.2.bias": (d,),
        "y_embedder.mlp.0.weight": (d, CLIP_L + CLIP_G), "y_embedder.mlp.0.bias": (d,),
        "y_embedder.mlp.2.weight": (d, d), "y_embedder.mlp.2.bias": (d,),
        "context_embedder.weight": (d, JOINT), "context_embedder.bias": (d,),
        "final_layer.linear.weight": (PATCH * PATCH * LATENT, d), "final_layer.linear.bias": (PATCH * PATCH * LATENT,),
        "final_layer.adaLN_modulation.1.weight": (2 * d, d), "final_layer.adaLN_modulation.1.bias": (2 * d,),
    }
    for i in range(LAYERS):
        for part in ("x_block", "context_block"):
            block = f"joint_blocks.{i}.{part}."
            pre_only = part == "context_block" and i == LAYERS - 1
            shapes.update({block + "attn.qkv.weight": (3 * d, d), block + "attn.qkv.bias": (3 * d,),
                           block + "attn.ln_q.weight": (HEAD,), block + "attn.ln_k.weight": (HEAD,),
                           block + "adaLN_modulation.1.weight": ((2 if pre_only else 6) * d, d),
                           block + "adaLN_modulation.1.bias": ((2 if pre_only else 6) * d,)})
            if not pre_only:
                shapes.update({block + "attn.proj.weight": (d, d), block + "attn.proj.bias": (d,),
                               block + "mlp.fc1.weight": (4 * d, d), block + "mlp.fc1.bias": (4 * d,),
                               block + "mlp.fc2.weight": (d, 4 * d), block + "mlp.fc2.bias": (d,)})
    return {"model.diffusion_model." + k: v for k, v in shapes.items()}


def _vae_rows():
    """SD1.5's VAE keys with 16 latent channels (encoder out 32, decoder in 16) and no quant convs."""
    latent_in = {"first_stage_model.encoder.conv_out.weight": 0, "first_stage_model.encoder.conv_out.bias": 0,
                 "first_stage_model.decoder.conv_in.weight": 1}
    rows = []
    for key, dims, comp, optional in tiny.reference_keys("sd15_keys.tsv"):
        if comp != "vae" or "quant_conv" in key:
            continue
        if key in latent_in:
            axis = latent_in[key]
            dims = tuple((2 * LATENT if axis == 0 else LATENT) if j == axis else v for j, v in enumerate(dims))
        rows.append((key, dims, comp, optional))
    return rows


def _clip_rows(name: str, width: int):
    rows = [(key.replace("cond_stage_model.transformer.", f"text_encoders.{name}.transformer."), dims, name, optional)
            for key, dims, comp, optional in tiny.reference_keys("sd15_keys.tsv") if comp == "clip_l"]
    return [*rows, (f"text_encoders.{name}.transformer.text_projection.weight", (768, 768), name, False)], {768: width, 3072: 4 * width}


def sd3_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """The tiny all-in-one SD3 file's tensors (no T5): MMDiT, VAE, CLIP-L, CLIP-G."""
    gen = torch.Generator().manual_seed(seed)
    state = {key: tiny._tensor(key, shape, gen) for key, shape in _mmdit_shapes().items()}
    state.update(tiny._build(_vae_rows(), tiny.SD1_MAPS, seed + 1))
    for offset, (name, width) in enumerate((("clip_l", CLIP_L), ("clip_g", CLIP_G)), start=2):
        rows, widths = _clip_rows(name, width)
        state.update(tiny._build(rows, {name: widths}, seed + offset))
    return state


def peft_sd3_lora(rank: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    """A diffusers/peft SD3 LoRA on every joint block's image-stream q/k/v (`transformer.transformer_blocks.N.attn.to_q`)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for i in range(LAYERS):
        for proj in ("to_q", "to_k", "to_v"):
            base = f"transformer.transformer_blocks.{i}.attn.{proj}"
            state[f"{base}.lora_A.weight"] = torch.randn(rank, WIDTH, generator=gen) * 0.5
            state[f"{base}.lora_B.weight"] = torch.randn(WIDTH, rank, generator=gen) * 0.5
    return state


def write_sd3_diffusers_config(folder):
    """Hand-written diffusers configs of the tiny SD3 (independent of our shape inference), for `from_single_file`."""
    import json
    import shutil

    clip = {"architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", "vocab_size": 49408,
            "num_hidden_layers": 12, "max_position_embeddings": 77, "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 1}
    files = {
        "model_index.json": {"_class_name": "StableDiffusion3Pipeline", "_diffusers_version": "0.30.0",
                             "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
                             "text_encoder": ["transformers", "CLIPTextModelWithProjection"], "tokenizer": ["transformers", "CLIPTokenizer"],
                             "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"], "tokenizer_2": ["transformers", "CLIPTokenizer"],
                             "text_encoder_3": [None, None], "tokenizer_3": [None, None],
                             "transformer": ["diffusers", "SD3Transformer2DModel"], "vae": ["diffusers", "AutoencoderKL"]},
        "transformer/config.json": {"_class_name": "SD3Transformer2DModel", "sample_size": 128, "patch_size": PATCH, "in_channels": LATENT,
                                    "num_layers": LAYERS, "attention_head_dim": HEAD, "num_attention_heads": WIDTH // HEAD,
                                    "joint_attention_dim": JOINT, "caption_projection_dim": WIDTH, "pooled_projection_dim": CLIP_L + CLIP_G,
                                    "out_channels": LATENT, "pos_embed_max_size": POSITIONS, "qk_norm": "rms_norm"},
        "vae/config.json": {"_class_name": "AutoencoderKL", "sample_size": 1024, "in_channels": 3, "out_channels": 3,
                            "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
                            "block_out_channels": [32, 64, 96, 96], "latent_channels": LATENT, "layers_per_block": 2,
                            "scaling_factor": 1.5305, "shift_factor": 0.0609, "use_quant_conv": False, "use_post_quant_conv": False},
        "text_encoder/config.json": {**clip, "hidden_size": CLIP_L, "intermediate_size": 4 * CLIP_L, "num_attention_heads": 1,
                                     "hidden_act": "quick_gelu", "projection_dim": CLIP_L},
        "text_encoder_2/config.json": {**clip, "hidden_size": CLIP_G, "intermediate_size": 4 * CLIP_G, "num_attention_heads": 2,
                                       "hidden_act": "gelu", "projection_dim": CLIP_G},
        "scheduler/scheduler_config.json": {"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": 3.0},
    }
    for pad, name in (("<|endoftext|>", "tokenizer"), ("!", "tokenizer_2")):
        files[f"{name}/tokenizer_config.json"] = {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "pad_token": pad,
                                                  "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(content))
    for sub in ("tokenizer", "tokenizer_2"):
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(tiny.TOKENIZER / name, folder / sub / name)
    return folder


T5_WORDS = "a cat on the roof blurry dog city at night".split()


def t5_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A tiny T5 encoder (transformers' T5EncoderModel, Hugging Face names) under `text_encoders.t5xxl.transformer.`,
    as the `…_t5xxlfp16` files hold T5-XXL (the tied `encoder.embed_tokens` left out, as there)."""
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    config = T5Config(vocab_size=40, d_model=JOINT, d_kv=32, d_ff=2 * JOINT, num_layers=2, num_heads=4,
                      relative_attention_num_buckets=32, feed_forward_proj="gated-gelu", is_encoder_decoder=False)
    model = T5EncoderModel(config)
    return {f"text_encoders.t5xxl.transformer.{k}": v.clone() for k, v in model.state_dict().items() if k != "encoder.embed_tokens.weight"}


def write_t5_tokenizer(folder):
    """A tiny sentencepiece-style (Unigram, metaspace) T5 tokenizer folder with tokenizer.json, built offline."""
    import string

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import T5TokenizerFast

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), *((f"▁{w}", -2.0) for w in T5_WORDS), ("▁", -3.0),
             *((c, -6.0) for c in string.ascii_lowercase)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=2))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    T5TokenizerFast(tokenizer_object=tokenizer, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=0).save_pretrained(str(folder))
    return folder
