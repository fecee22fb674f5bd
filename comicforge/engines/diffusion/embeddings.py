"""Textual-inversion embeddings: A1111 `.pt`/`.safetensors`, SDXL `clip_l`/`clip_g`, diffusers `learned_embeds`."""

from __future__ import annotations

from pathlib import Path

from comicforge.errors import EngineError


def load_embedding(path: Path, widths: list[int]) -> list:
    """One tensor [n, width] per text encoder (`widths` in encoder order); the token is the file stem."""
    import torch

    from comicforge.weights.tensors import read_weights

    path = Path(path)
    if not path.is_file():
        raise EngineError(f"{path}: embedding file not found")
    data = read_weights(path, "embedding")
    if "string_to_param" in data:  # A1111 .pt
        params = data["string_to_param"]
        tensors = [next(iter(params.values()))]
    elif "clip_l" in data and "clip_g" in data:  # SDXL
        tensors = [data["clip_l"], data["clip_g"]]
    elif "emb_params" in data:
        tensors = [data["emb_params"]]
    else:
        values = [v for v in data.values() if isinstance(v, torch.Tensor) and v.is_floating_point()]
        if len(values) != 1:
            raise EngineError(f"{path}: unknown embedding layout (keys: {', '.join(list(data)[:5])})")
        tensors = values
    tensors = [t.detach().float().reshape(-1, t.shape[-1]) for t in tensors]
    have = [t.shape[-1] for t in tensors]
    if have != widths:
        raise EngineError(
            f"{path}: embedding is for text encoder width(s) {have}, but this model's are {widths} "
            "(an embedding for another model family?)"
        )
    return tensors
