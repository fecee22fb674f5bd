"""A1111 `parameters` text: what other tools (A1111, Forge, ComfyUI readers, civitai) read from a PNG."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from comicforge.spec.files import FileRef
from comicforge.weights import digest

_HASHES: dict[tuple[str, int, int], str] = {}


def ref_sha256(ref: FileRef) -> str:
    """A model file's full SHA-256: its fingerprint already is one (the build hashed it once), else hashed here."""
    if ref.fingerprint.startswith("sha256:"):
        return ref.fingerprint.removeprefix("sha256:")
    return file_sha256(Path(ref.path))


def file_sha256(path: Path) -> str:
    """Full-file SHA-256 (A1111's AutoV2 model hash is its first 10 hex digits), cached per path/size/mtime."""
    path = Path(path)
    if path.is_dir():
        h = hashlib.sha256()
        for f in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".json", ".safetensors", ".bin")):
            h.update(str(f.relative_to(path)).encode())
            h.update(file_sha256(f).encode())
        return h.hexdigest()
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = digest.file_sha256(path)
    return _HASHES[key]


def _quote(value: str) -> str:
    return '"' + value.replace('"', "'") + '"' if any(c in value for c in ',:"\n') else value


def format_number(x: float) -> str:
    return f"{x:g}"


def a1111_parameters(
    prompt: str,
    negative: str,
    settings: dict[str, object],
    loras: list[tuple[str, float, str]] = (),
    embeddings: list[tuple[str, str]] = (),
    tags: list[tuple[str, float, str]] | None = None,
) -> str:
    """Three lines as A1111 writes them: prompt (with `<lora:name:w>` tags), `Negative prompt: …`, `Key: value, …`.

    `settings` is written in order (Steps, Sampler, CFG scale, Seed, Size, Model hash, Model, …);
    LoRAs are `(name, weight, sha256)` and embeddings `(name, sha256)`; `tags` are the LoRAs whose tags are
    added to the prompt (default all; those the prompt already tags are left out).
    """
    tags = "".join(f" <lora:{name}:{format_number(w)}>" for name, w, _ in (loras if tags is None else tags))
    lines = [prompt + tags]
    if negative:
        lines.append(f"Negative prompt: {negative}")
    items = dict(settings)
    if loras:
        items["Lora hashes"] = '"' + ", ".join(f"{n}: {h[:12]}" for n, h, in ((n, h) for n, _, h in loras)) + '"'
    if embeddings:
        items["TI hashes"] = '"' + ", ".join(f"{n}: {h[:12]}" for n, h in embeddings) + '"'
    lines.append(", ".join(f"{k}: {v if str(v).startswith(chr(34)) else _quote(str(v))}" for k, v in items.items()))
    return "\n".join(lines)


_PAIR = re.compile(r'\s*([\w -]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def parse_parameters(text: str) -> dict[str, str]:
    """Read an A1111 `parameters` text back: `Prompt`, `Negative prompt` and every `Key: value`."""
    lines = text.strip().split("\n")
    settings_line = lines[-1] if len(lines) > 1 or re.search(r"\bSteps: ", lines[-1]) else ""
    body = lines[:-1] if settings_line else lines
    prompt, negative, in_negative = [], [], False
    for line in body:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative if in_negative else prompt).append(line)
    out = {"Prompt": "\n".join(prompt), "Negative prompt": "\n".join(negative)}
    for key, value in _PAIR.findall(settings_line):
        value = value.strip()
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        out[key.strip()] = value
    return out
