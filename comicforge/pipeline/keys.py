"""Job keys (hash of everything that changes the bytes) and file content fingerprints."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from comicforge.weights.digest import file_sha256

FINGERPRINT_VERSION = 1


def canonical_json(value: Any) -> str:
    """Stable JSON text: sorted keys, no whitespace variance."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def plain(value: Any) -> Any:
    """Dataclasses, tuples and mappings as JSON-ready lists and dicts (a fast, copy-free `asdict`)."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def job_key(stage: str, version: str, spec: Any, dep_keys: list[str]) -> str:
    """The key of a job: its stage and version, resolved spec and the keys of its inputs."""
    text = canonical_json({"stage": stage, "version": version, "spec": spec, "deps": dep_keys})
    return hashlib.sha256(text.encode()).hexdigest()


class Fingerprints:
    """Content fingerprints, hashed once and then trusted while size and mtime are unchanged."""

    def __init__(self, cache_file: Path):
        self.cache_file = cache_file
        self.entries: dict[str, list[Any]] = {}
        self.dirty = False
        try:
            data = json.loads(cache_file.read_text())
            if data.get("version") == FINGERPRINT_VERSION:
                self.entries = data["files"]
        except (OSError, ValueError, KeyError, AttributeError):
            self.entries = {}  # unreadable cache: start fresh, never trust it

    def __call__(self, path: Path) -> str:
        """The fingerprint of a file, or of a folder (diffusers model) from its files."""
        if path.is_dir():
            parts = [f"{p.relative_to(path)}={self(p)}" for p in sorted(path.rglob("*")) if p.is_file()]
            return "dir:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()
        stat = path.stat()
        key = str(path)
        cached = self.entries.get(key)
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            return str(cached[2])
        digest = "sha256:" + file_sha256(path)
        self.entries[key] = [stat.st_size, stat.st_mtime_ns, digest]
        self.dirty = True
        return digest

    def save(self) -> None:
        """Write the cache atomically (only if something was hashed)."""
        if not self.dirty:
            return
        from comicforge.pipeline.store import write_atomic

        write_atomic(self.cache_file, json.dumps({"version": FINGERPRINT_VERSION, "files": self.entries}).encode())
        self.dirty = False


def stat_signature(paths: list[str]) -> dict[str, list[int] | None]:
    """Size and mtime of each file (None when missing): the fast path for 'nothing changed'."""
    found: dict[str, list[int] | None] = {}
    for path in paths:
        try:
            stat = os.stat(path)
            found[path] = [stat.st_size, stat.st_mtime_ns]
        except OSError:
            found[path] = None
    return found


class StatCache:
    """`stat_signature` with each path looked at once per build (many panels read the same fonts and styles)."""

    def __init__(self) -> None:
        self.seen: dict[str, list[int] | None] = {}

    def __call__(self, paths: list[str]) -> dict[str, list[int] | None]:
        self.seen.update(stat_signature([p for p in paths if p not in self.seen]))
        return {path: self.seen[path] for path in paths}
