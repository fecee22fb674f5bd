"""A1111 prompts encoded: `encode_chunks` runs a CLIP text encoder over the chunks of `promptlang.attention` and
applies the weights the way A1111's "Original" emphasis does (scale, then restore the mean).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from comicforge.promptlang.attention import BREAK, CHUNK, Chunk, Fragment, TokenIds, chunk_ids, chunk_prompt, parse_attention, strip_attention
from comicforge.promptlang.explain import Tokenizer

__all__ = ["BREAK", "CHUNK", "Chunk", "Fragment", "TextEncoderSide", "TokenIds", "chunk_ids", "chunk_prompt", "encode_chunks",
           "model_tokenizers", "parse_attention", "strip_attention", "token_ids_for"]



@dataclass
class TextEncoderSide:
    """One CLIP tower with the tokenizer that feeds it and how its hidden state is taken."""

    tokenizer: object
    encoder: object  # transformers CLIPTextModel / CLIPTextModelWithProjection
    ids: TokenIds
    layer: str  # "last" (SD1/SD2: last hidden state, or hidden_states[-clip_skip] + final norm) | "penultimate" (SDXL)


def token_ids_for(tokenizer, pad_token: str) -> TokenIds:
    comma = tokenizer.convert_tokens_to_ids(",</w>")
    return TokenIds(tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids(pad_token), comma)


def encode_chunks(side: TextEncoderSide, chunks: Sequence[Chunk], clip_skip: int, vectors: dict[str, object]):
    """Hidden states [1, 77·n, dim] for the chunks, weighted; and the pooled output of the first chunk."""
    import torch

    enc = side.encoder
    device = enc.device
    hidden_all, pooled = [], None
    for i, chunk in enumerate(chunks):
        tokens, weights = chunk_ids(chunk, side.ids)
        ids = torch.tensor([tokens], dtype=torch.long, device=device)
        hook = None
        if chunk.splices:
            splices = [(slot + 1, vectors[name][j]) for slot, name, j in chunk.splices]

            def splice(_module, _inputs, output, splices=splices):
                output = output.clone()
                for pos, vec in splices:
                    output[0, pos] = vec.to(output.dtype)
                return output

            hook = enc.get_input_embeddings().register_forward_hook(splice)
        try:
            out = enc(ids, output_hidden_states=side.layer == "penultimate" or clip_skip > 1)
        finally:
            if hook is not None:
                hook.remove()
        if side.layer == "penultimate":
            pruned = getattr(enc, "comicforge_pruned_layers", 0)
            hidden = out.hidden_states[-(max(clip_skip, 1) + 1) + pruned]
        elif clip_skip > 1:
            hidden = getattr(enc, "text_model", enc).final_layer_norm(out.hidden_states[-clip_skip])
        else:
            hidden = out[0]
        if any(w != 1.0 for w in weights):
            w = torch.tensor(weights, dtype=hidden.dtype, device=device).reshape(1, -1, 1)
            original_mean = hidden.mean()
            hidden = hidden * w
            hidden = hidden * (original_mean / hidden.mean())
        hidden_all.append(hidden)
        if i == 0 and hasattr(out, "text_embeds"):
            pooled = out.text_embeds
    return torch.cat(hidden_all, dim=1), pooled


def model_tokenizers(path: Path) -> list[Tokenizer]:
    """The tokenizer(s) of a model's text encoder(s) for `comicforge prompt --model`: a diffusers folder's own, else the shipped one."""
    from transformers import CLIPTokenizer

    from comicforge.engines.diffusion.models import TOKENIZER_DIR
    from comicforge.weights.checkpoint import detect_model

    info = detect_model(path)
    folders = [info.path / "tokenizer", info.path / "tokenizer_2"] if info.format == "diffusers" else [TOKENIZER_DIR] * (2 if info.is_sdxl else 1)
    tokenizers = []
    for folder in (f for f in folders if f.is_dir()):
        clip = CLIPTokenizer.from_pretrained(str(folder))
        ids = TokenIds(clip.bos_token_id, clip.eos_token_id, clip.pad_token_id or clip.eos_token_id, clip.convert_tokens_to_ids(",</w>"))
        tokenizers.append(Tokenizer(tokenizer_fn(clip), lambda ids, clip=clip: clip.decode(ids), ids))
    return tokenizers


def tokenizer_fn(tokenizer):
    def tokenize(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False, truncation=False, verbose=False).input_ids

    return tokenize
