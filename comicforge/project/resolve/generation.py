"""What a panel generates with: the model found offline and checked, the generation size, LoRAs, embeddings, IP-Adapter."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from comicforge.project import kinds
from comicforge.project.load import Loc
from comicforge.project.resolve.resolver import Resolver, check_fits, engine_message, setting
from comicforge.project.schema import Character, Panel
from comicforge.spec.files import AdapterRef, FileRef

DRAFT_MAX_EDGE = 1600  # draft panels render at print size up to this long edge, then scale


DEFAULT_STEPS, DEFAULT_CFG = 25, 7.0


def _check_unused_model(r: Resolver, name: str, where: Loc) -> None:
    """A draft panel's model, when it is here, must still be a checkpoint (one that is not here is not needed)."""
    from comicforge.weights.locate import find_model

    path = find_model(name, r.loaded.root)
    if path is not None:
        r.read(path.resolve())
        r.is_kind(path.resolve(), name, where, kinds.model_problem)


def character_adapters(r: Resolver, characters: list[tuple[str, Character]], model_info: Any) -> tuple[tuple[AdapterRef, ...], tuple[FileRef, ...]]:
    """LoRAs and embeddings of the panel's characters, each file once; LoRAs checked against the model."""
    loras: dict[str, AdapterRef] = {}
    embeddings: dict[str, FileRef] = {}
    for name, character in characters:
        for i, lora in enumerate(character.loras):
            where = ("characters", name, "loras", i, "file")
            ref = r.file(lora.file, where, "LoRA file")
            if ref and model_info is not None:
                check_fits(r, ref, lora.file, model_info, where, _lora_fits)
            if ref and ref.path not in loras:
                loras[ref.path] = AdapterRef(ref, lora.weight)
        for i, embedding in enumerate(character.embeddings):
            ref = r.file(embedding, ("characters", name, "embeddings", i), "embedding file")
            if ref:
                embeddings.setdefault(ref.path, ref)
    return tuple(loras.values()), tuple(embeddings.values())


def prompt_loras(r: Resolver, prompt: str, panel_id: str, model_info: Any, where: Loc) -> tuple[AdapterRef, ...]:
    """The LoRAs a prompt's `<lora:NAME:W>` tags apply, found like models and checked like characters' LoRAs."""
    from comicforge.promptlang.networks import scan_tags
    from comicforge.weights.locate import find_lora

    scan = scan_tags(prompt)
    for message in scan.problems:
        r.fail(where, f"panel {panel_id}: {message}")
    refs = []
    for tag in scan.loras:
        path = find_lora(tag.name, r.loaded.root)
        if path is None:
            r.fail(where, f"panel {panel_id}: {tag.source}: no LoRA file named {tag.name!r} (looked in the project folder, its loras/, "
                          "COMICFORGE_LORAS and COMICFORGE_MODELS, with or without .safetensors/.ckpt/.pt)")
            continue
        r.read(path)
        ref = r.reference(path, tag.name, where)
        if ref is None or not r.is_kind(path, f"panel {panel_id}: {tag.source}", where, kinds.lora_problem):
            continue
        if model_info is not None:
            check_fits(r, ref, f"panel {panel_id}: {tag.source}", model_info, where, _lora_fits)
        text_weight = tag.text_weight if tag.text_weight != tag.unet_weight else None
        refs.append(AdapterRef(ref, tag.unet_weight, text_weight))
    return tuple(refs)


def with_prompt_loras(characters: tuple[AdapterRef, ...], tagged: tuple[AdapterRef, ...]) -> tuple[AdapterRef, ...]:
    """Characters' LoRAs then the prompt's; a file both name takes the prompt's weights."""
    by_file = {ref.file.path: ref for ref in characters}
    by_file.update({ref.file.path: ref for ref in tagged})
    return tuple(by_file.values())


def panel_model(r: Resolver, panel: Panel, engine: str, loc: Loc) -> FileRef | None:
    """The checkpoint for diffusion panels, found offline; None for the draft engine."""
    name = setting(r, panel, "model")
    where = (*loc, "model") if panel.model else ("defaults", "model")
    if engine != "diffusion":
        if name:
            _check_unused_model(r, name, where)
        return None
    if not name:
        r.fail(where, "engine diffusion needs a model (a checkpoint path, a name in COMICFORGE_MODELS, or a local Hugging Face id)")
        return None
    missing = _missing_diffusion_packages()
    if missing:
        r.fail((*loc, "engine") if panel.engine else ("defaults", "engine"),
               f"engine diffusion needs {', '.join(missing)}: pip install 'comicforge-studio[diffusion]' (with the torch build for your GPU; see the README)")
        return None
    from comicforge.weights.locate import find_model

    path = find_model(name, r.loaded.root)
    if path is None:
        r.fail(where, f"model not found: {name} (looked in the project folder, COMICFORGE_MODELS and the local Hugging Face cache)")
        return None
    ref = r.reference(path.resolve(), name, where)
    if ref is None:
        return None
    r.read(*([path.resolve(), *(p for p in path.resolve().rglob("*") if p.is_file())] if path.is_dir() else [path.resolve()]))
    if ref.path not in r.models:
        r.models[ref.path] = _detect(r, path.resolve(), name, where)
    return ref if r.models[ref.path] is not None else None


@lru_cache(maxsize=1)
def _missing_diffusion_packages() -> tuple[str, ...]:
    """The diffusion engine's packages that are not installed (looked up, not imported)."""
    import importlib.util

    return tuple(name for name in ("torch", "diffusers", "transformers", "safetensors") if importlib.util.find_spec(name) is None)


def _detect(r: Resolver, path: Path, name: str, where: Loc) -> Any:
    """The checkpoint's family and native size (header only); an unusable file is a located problem."""
    from comicforge.errors import EngineError
    from comicforge.weights.checkpoint import detect_model

    try:
        return detect_model(path)
    except EngineError as error:
        r.fail(where, engine_message(error, path, name))
        return None


def _lora_fits(path: Path, model_info: Any) -> None:
    """LoRA/model compatibility from the LoRA's header (family, LyCORIS, keys that match nothing)."""
    from comicforge.weights.lora import check_lora

    check_lora(path, model_info)


def generation_size(r: Resolver, panel: Panel, engine: str, model: FileRef | None, box: tuple[int, int, int, int],
                    grid: int = 8) -> tuple[int, int]:
    """Explicit size, else the engine's native resolution at the panel's aspect (multiples of `grid` px)."""
    size = setting(r, panel, "size")
    if size:
        return tuple(size)  # type: ignore[return-value]
    width, height = box[2] - box[0], box[3] - box[1]
    if any(edit.op == "outpaint" and edit.fit for edit in panel.edits):
        width = height = min(width, height)  # generate square, then outpaint to the panel's aspect
    if engine == "draft" or model is None:
        scale = min(1.0, DRAFT_MAX_EDGE / max(width, height, 1))
        return max(8, round(width * scale / 8) * 8), max(8, round(height * scale / 8) * 8)
    native = r.models[model.path].native_size
    return native_size_at_aspect(native, width / max(height, 1), grid)


def native_size_at_aspect(native: int, aspect: float, grid: int = 8) -> tuple[int, int]:
    """About native² pixels at the given width/height aspect, both sides multiples of `grid` px."""
    width = max(grid, round(math.sqrt(native * native * aspect) / grid) * grid)
    height = max(grid, round(native * native / width / grid) * grid)
    return width, height


def reference_images(r: Resolver, characters: list[tuple[str, Character]], engine: str) -> tuple[AdapterRef, ...]:
    """Reference images of the panel's characters, for IP-Adapter (diffusion only, when one is configured)."""
    if engine != "diffusion" or not r.project.defaults.ip_adapter:
        return ()
    refs = []
    for name, character in characters:
        for i, image in enumerate(character.references):
            ref = r.file(image, ("characters", name, "references", i), "reference image")
            if ref:
                refs.append(AdapterRef(ref, character.reference_weight))
    return tuple(refs)


def ip_adapter(r: Resolver, characters: list[tuple[str, Character]], engine: str) -> FileRef | None:
    """The IP-Adapter file, for diffusion panels whose characters have reference images."""
    name = r.project.defaults.ip_adapter
    if engine != "diffusion" or not name or not any(c.references for _, c in characters):
        return None
    return r.file(name, ("defaults", "ip_adapter"), "IP-Adapter file")
