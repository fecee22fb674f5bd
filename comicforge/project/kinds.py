"""Is each file a project names what it claims to be? Header-only and torch-free, so `check` runs them for any engine.

Each function returns a message saying what is wrong (without the path, which the caller names as the author
wrote it), or None when the file is fine. Weight files are judged by the torch-free
readers of `comicforge/weights/` (`header.py`, `checkpoint.py`, `lora.py`, `controlnet.py`, `ip_adapter.py`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

from comicforge.errors import EngineError

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")
_PICKLE_PROTOCOL = 0x80  # first byte of a pickle of protocol 2 or later (torch.save's legacy format)


def without_path(error: Exception, path: Path) -> str:
    """An engine error's text without the absolute path it starts with."""
    return str(error).replace(f"{path}: ", "")


def _engine_check(path: Path, check: Callable[[Path], object]) -> str | None:
    try:
        check(path)
    except EngineError as error:
        return without_path(error, path)
    return None


def pickle_problem(path: Path, what: str) -> str | None:
    """A `.ckpt`/`.pt` file must at least be a torch zip archive or a pickle (its tensors need torch to read)."""
    try:
        with path.open("rb") as f:
            first = f.read(1)
    except OSError as error:
        return f"cannot read {what}: {error.strerror or error}"
    if zipfile.is_zipfile(path) or first == bytes([_PICKLE_PROTOCOL]):
        return None
    return f"not a {what} (neither a safetensors file nor a PyTorch checkpoint)"


def _safetensors_keys(path: Path) -> dict[str, tuple[int, ...]]:
    from comicforge.weights.header import read_safetensors_header

    return {key: entry.shape for key, entry in read_safetensors_header(path)[0].items()}


def weights_problem(path: Path, what: str) -> str | None:
    """A weight file: a safetensors header that parses, or a PyTorch pickle."""
    if path.is_dir():
        return f"a folder, not a {what} file"
    if path.suffix.lower() == ".safetensors":
        return _engine_check(path, _safetensors_keys)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return pickle_problem(path, what)
    return f"unknown {what} file type {path.suffix!r} (expected .safetensors, {', '.join(PICKLE_SUFFIXES)})"


def _detected(path: Path, what: str, detect: Callable[[Path], object]) -> str | None:
    """The engine's header detector judges the file; pickles only that they are pickles (reading them needs torch)."""
    if path.is_file() and path.suffix.lower() in PICKLE_SUFFIXES:
        return pickle_problem(path, what)
    return _engine_check(path, detect)


def model_problem(path: Path) -> str | None:
    """A checkpoint: its family recognised from the header."""
    from comicforge.weights.checkpoint import detect_model

    return _detected(path, "checkpoint", detect_model)


def lora_problem(path: Path) -> str | None:
    """A LoRA: a kohya or diffusers/peft layout, not LyCORIS or a checkpoint (pickles: only that they are pickles)."""
    from comicforge.weights.lora import lora_format

    if path.suffix.lower() != ".safetensors":
        return weights_problem(path, "LoRA")
    return _engine_check(path, lambda p: lora_format(p, _safetensors_keys(p)))


def embedding_problem(path: Path) -> str | None:
    """A textual inversion: one tensor, `emb_params`, or SDXL's `clip_l` and `clip_g`."""
    if path.suffix.lower() != ".safetensors":
        return weights_problem(path, "embedding")
    try:
        keys = _safetensors_keys(path)
    except EngineError as error:
        return without_path(error, path)
    if len(keys) == 1 or "emb_params" in keys or {"clip_l", "clip_g"} <= set(keys):
        return None
    return f"not a textual-inversion embedding ({len(keys)} tensors; an embedding holds one, or clip_l and clip_g)"


def controlnet_problem(path: Path) -> str | None:
    """A ControlNet: v1.1 single file or diffusers folder, recognised from its header or config."""
    from comicforge.weights.controlnet import detect_controlnet

    return _detected(path, "ControlNet", detect_controlnet)


def ip_adapter_problem(path: Path) -> str | None:
    """IP-Adapter weights with their image encoder folder beside them."""
    from comicforge.weights.ip_adapter import check_ip_adapter_files

    return _engine_check(path, check_ip_adapter_files) or weights_problem(path, "IP-Adapter")


def icc_profile_problem(path: Path) -> str | None:
    """An ICC profile within the size cap that Little CMS parses."""
    from comicforge.readers import FileProblem, open_icc_profile

    try:
        open_icc_profile(path)
    except FileProblem as problem:
        return problem.reason
    return None


def image_problem(path: Path, max_pixels: int) -> str | None:
    """An image that decodes completely within the pixel budget, in a mode we convert (a sketch, mask, init or reference image)."""
    from comicforge.readers import FileProblem, open_image

    try:
        open_image(path, "image", max_pixels)
    except FileProblem as problem:
        return problem.reason
    return None
