"""Reading weight files the user has: safetensors, and pickles only through `torch.load(weights_only=True)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from comicforge.errors import EngineError


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def read_weights(path: Path, what: str) -> dict[str, Any]:
    """A file's tensors as a dict; anything unreadable or unsafe is an EngineError naming the file and `what` it is."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as e:  # safetensors raises SafetensorError, OSError… for corrupt or truncated files
            raise EngineError(f"{path}: cannot read {what} ({_first_line(e)})") from e
    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True, mmap=False)
    except Exception as e:  # UnpicklingError, RuntimeError, EOFError… for bad or unsafe pickles
        raise EngineError(
            f"{path}: cannot read pickled {what} safely (torch.load weights_only=True refused it: {_first_line(e)}); "
            "convert it to .safetensors"
        ) from e
    if not isinstance(data, dict):
        raise EngineError(f"{path}: not a {what} (no state dict inside)")
    return data
