"""Find the model a project names: a path, a file in a `COMICFORGE_MODELS` folder, or a local HF cache id."""

from __future__ import annotations

import os
import re
from pathlib import Path

MODEL_SUFFIXES = (".safetensors", ".ckpt")
LORA_SUFFIXES = (".safetensors", ".ckpt", ".pt")
_HF_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
SEARCH_VARIABLES = ("COMICFORGE_MODELS", "COMICFORGE_LORAS", "HF_HUB_CACHE", "HF_HOME")  # where named weights are looked for


def search_environment() -> str:
    """The environment variables that decide which files weight names find, as one text (a resolve depends on it)."""
    return "\0".join(os.environ.get(name, "") for name in SEARCH_VARIABLES)


def _env_dirs(variable: str) -> list[Path]:
    raw = os.environ.get(variable, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def model_dirs() -> list[Path]:
    """Folders listed in `COMICFORGE_MODELS` (os.pathsep-separated), in order."""
    return _env_dirs("COMICFORGE_MODELS")


def _candidates(base: Path, suffixes: tuple[str, ...] = MODEL_SUFFIXES) -> list[Path]:
    if base.suffix.lower() in suffixes:
        return [base]
    return [base, *(base.with_name(base.name + s) for s in suffixes)]


def lora_bases(name: str, project_dir: Path) -> list[Path]:
    """Where a prompt's `<lora:NAME>` is looked for: the project folder and its loras/, `COMICFORGE_LORAS`, `COMICFORGE_MODELS`."""
    raw = Path(name).expanduser()
    if raw.is_absolute():
        return [raw]
    folders = [Path(project_dir), Path(project_dir) / "loras", *_env_dirs("COMICFORGE_LORAS"), *model_dirs()]
    return [folder / raw for folder in folders]


def find_lora(name: str, project_dir: Path) -> Path | None:
    """The LoRA file a prompt tag names (the extension may be left off); None when none is found."""
    for base in lora_bases(name, project_dir):
        for candidate in _candidates(base, LORA_SUFFIXES):
            if candidate.is_file():
                return candidate.resolve()
    return None


def hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def find_in_hf_cache(repo_id: str) -> Path | None:
    """The snapshot folder of a diffusers model in the local Hugging Face cache (never the network)."""
    repo = hf_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file():
        snap = snapshots / ref.read_text(encoding="utf-8").strip()
        if (snap / "model_index.json").is_file():
            return snap
    found = [s for s in snapshots.iterdir() if (s / "model_index.json").is_file()]
    return max(found, key=lambda s: s.stat().st_mtime) if found else None


def find_model(name: str, project_dir: Path) -> Path | None:
    """Resolve a `model:` value; None when nothing matches (the caller reports where it looked)."""
    raw = Path(name).expanduser()
    bases = [raw] if raw.is_absolute() else [Path(project_dir) / raw, *(d / raw for d in model_dirs())]
    for base in bases:
        for candidate in _candidates(base):
            if candidate.is_file() or (candidate.is_dir() and (candidate / "model_index.json").is_file()):
                return candidate.resolve()
    if not raw.is_absolute() and _HF_ID.fullmatch(name):
        return find_in_hf_cache(name)
    return None


def searched_places(name: str, project_dir: Path) -> list[str]:
    """Where `find_model` looked, for the error message when it finds nothing."""
    raw = Path(name).expanduser()
    if raw.is_absolute():
        return [str(raw)]
    places = [str(Path(project_dir) / raw), *(str(d / raw) for d in model_dirs())]
    if _HF_ID.fullmatch(name):
        places.append(f"Hugging Face cache {hf_cache_dir()}")
    return places
