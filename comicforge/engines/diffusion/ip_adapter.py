"""IP-Adapter from local files: a character's reference images steer the panels the character appears in.

Layout (as the h94/IP-Adapter repository ships it, and as diffusers' `load_ip_adapter` reads it locally):

    models/ip-adapter_sd15.safetensors      # `image_proj.*` + `ip_adapter.N.to_k_ip/to_v_ip.*` (or a .bin)
    models/image_encoder/config.json        # the CLIP vision tower (CLIPVisionModelWithProjection)
    models/image_encoder/model.safetensors

so the image encoder is required in an `image_encoder/` folder beside the weights file.
"""

from __future__ import annotations

from pathlib import Path

from comicforge.errors import EngineError
from comicforge.weights.ip_adapter import IMAGE_ENCODER_FOLDER, check_ip_adapter_files


def load_ip_adapter(pipe, weights: Path) -> None:
    """Attach an IP-Adapter and its image encoder to a resident pipeline, from local files only."""
    check_ip_adapter_files(weights)
    try:
        pipe.load_ip_adapter(str(weights.parent), subfolder="", weight_name=weights.name,
                             image_encoder_folder=IMAGE_ENCODER_FOLDER, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise EngineError(f"{weights}: cannot load the IP-Adapter for this model ({str(error)[:300]})") from error


def reference_scale(weights: list[float]) -> float:
    """One IP-Adapter takes one scale: the mean of the references' weights."""
    return sum(weights) / len(weights)
