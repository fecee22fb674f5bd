"""IP-Adapter files as the h94/IP-Adapter release lays them out: the weights, and the image encoder folder beside them."""

from __future__ import annotations

from pathlib import Path

from comicforge.errors import EngineError

IMAGE_ENCODER_FOLDER = "image_encoder"


def image_encoder_dir(weights: Path) -> Path:
    """Where the CLIP vision encoder of an IP-Adapter weights file must be."""
    return weights.parent / IMAGE_ENCODER_FOLDER


def check_ip_adapter_files(weights: Path) -> None:
    """EngineError naming the file when the weights or their image encoder are missing."""
    if not weights.is_file():
        raise EngineError(f"{weights}: IP-Adapter weights not found")
    encoder = image_encoder_dir(weights)
    if not (encoder / "config.json").is_file():
        raise EngineError(f"{weights}: the IP-Adapter needs its CLIP image encoder in {encoder}/ (config.json and "
                          "model.safetensors, as in the IP-Adapter release's `image_encoder` folder)")
