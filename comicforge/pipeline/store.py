"""The content-addressed store in PROJECT/.comicforge: verified atomic entries, a build lock, disposable state."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson  # a thousand-panel book's state files are megabytes: read twice, written ten times as fast as with json

from comicforge.errors import ComicforgeError, Problem
from comicforge.weights.digest import file_sha256

STORE_DIR = ".comicforge"
STORE_LAYOUT = 2  # 2: every entry carries a manifest (sha256 and size of its files, warnings)
MANIFEST = "manifest.json"
INDEX_STATE = "index.json"  # per entry: each file's (name, size, mtime) when last found intact, and its warnings


def _fsync_dir(folder: Path) -> None:
    """Make a folder's entries (new names, renames) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_beside(path: Path) -> Path:
    """A new empty temp file in the target's folder (so the final rename stays on one file system)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


def _replace_with(path: Path, fill: Callable[[Any], None]) -> None:
    """Write a temp file through `fill(handle)`, fsync it, and rename it over `path`."""
    tmp = _temp_beside(path)
    try:
        with open(tmp, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so readers see the old or the new content, never a part."""
    _replace_with(path, lambda handle: handle.write(data))


def copy_atomic(source: Path, target: Path) -> None:
    """Copy a file into place atomically."""
    def fill(handle: Any) -> None:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, handle, 1 << 20)

    _replace_with(target, fill)


@dataclass(frozen=True)
class Manifest:
    """What an entry holds: each file's size and sha256 when written, and the stage's warnings."""

    files: dict[str, tuple[int, str]]
    warnings: tuple[str, ...] = ()

    def to_bytes(self) -> bytes:
        files = {name: list(record) for name, record in sorted(self.files.items())}
        return json.dumps({"layout": STORE_LAYOUT, "files": files, "warnings": list(self.warnings)}).encode()

    @staticmethod
    def parse(data: bytes) -> Manifest | None:
        """A manifest from its bytes; None when it is not a valid one of this layout."""
        try:
            raw = json.loads(data)
            if raw.get("layout") != STORE_LAYOUT:
                return None
            files = {str(name): (int(size), str(digest)) for name, (size, digest) in raw["files"].items()}
            return Manifest(files, tuple(str(w) for w in raw.get("warnings", ())))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    @property
    def size(self) -> int:
        return sum(size for size, _ in self.files.values())


def _seal(folder: Path, warnings: tuple[str, ...]) -> None:
    """Record every file's size and hash in the folder's manifest and make it all durable."""
    files: dict[str, tuple[int, str]] = {}
    for path in sorted(folder.iterdir()):
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
            os.fsync(handle.fileno())
        files[path.name] = (path.stat().st_size, digest)
    manifest = folder / MANIFEST
    with open(manifest, "wb") as handle:
        handle.write(Manifest(files, warnings).to_bytes())
        handle.flush()
        os.fsync(handle.fileno())
    _fsync_dir(folder)


class Store:
    """Job results by key: each entry is a folder with a manifest, published by one atomic rename when complete."""

    def __init__(self, project_root: Path):
        self.root = project_root / STORE_DIR
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"
        self._index: dict[str, list[Any]] | None = None
        self._index_dirty = False

    def entry(self, key: str) -> Path:
        """Where the entry of a key lives (it may not exist)."""
        return self.objects / key[:2] / key

    def manifest(self, key: str) -> Manifest | None:
        """An entry's manifest; None when the entry is missing or its manifest unreadable."""
        try:
            with open(os.path.join(self.objects, key[:2], key, MANIFEST), "rb") as handle:
                return Manifest.parse(handle.read())
        except OSError:
            return None

    def _entries(self) -> dict[str, list[Any]]:
        """The index of entries found intact before (a disposable cache: the manifests stay authoritative)."""
        if self._index is None:
            self._index = self.read_state(INDEX_STATE).get("entries", {})
        return self._index

    def _file_stats(self, key: str, names: Any) -> list[list[Any]] | None:
        """[name, size, mtime] of each named file of an entry; None when one is missing."""
        folder = os.path.join(self.objects, key[:2], key)
        stats = []
        for name in names:
            try:
                stat = os.stat(os.path.join(folder, name))
            except OSError:
                return None
            stats.append([name, stat.st_size, stat.st_mtime_ns])
        return stats

    def has(self, key: str) -> bool:
        """Whether a complete entry exists whose files all have their recorded size (the cheap check, every build).

        Files whose size and mtime match the index are trusted without reading the manifest, so a no-op build
        is one state file and a stat per file; anything else is checked against the entry's own manifest.
        """
        cached = self._entries().get(key)
        if cached and self._file_stats(key, (name for name, _, _ in cached[0])) == cached[0]:
            return True
        manifest = self.manifest(key)
        stats = self._file_stats(key, manifest.files) if manifest else None
        if manifest is None or stats is None or any(size != manifest.files[name][0] for name, size, _ in stats):
            self._forget(key)
            return False
        self._entries()[key] = [stats, list(manifest.warnings)]
        self._index_dirty = True
        return True

    def _remember(self, key: str) -> None:
        """Index an entry just published (as it is on disk, whichever build wrote it)."""
        self._forget(key)
        self.has(key)

    def warnings(self, key: str) -> tuple[str, ...]:
        """The warnings a stage stored with its entry."""
        cached = self._entries().get(key)
        if cached:
            return tuple(cached[1])
        manifest = self.manifest(key)
        return manifest.warnings if manifest else ()

    def verify(self, key: str) -> bool:
        """Whether an entry is complete and every file still hashes to what was recorded (the full check)."""
        manifest = self.manifest(key)
        if manifest is None:
            return False
        folder = self.entry(key)
        try:
            return all((folder / name).stat().st_size == size and file_sha256(folder / name) == digest
                       for name, (size, digest) in manifest.files.items())
        except OSError:
            return False

    def _forget(self, key: str) -> None:
        if self._entries().pop(key, None) is not None:
            self._index_dirty = True

    def save_index(self) -> None:
        """Write the index if this process changed it (call while holding the lock)."""
        if self._index_dirty and self._index is not None:
            self.write_state(INDEX_STATE, {"entries": self._index})
            self._index_dirty = False

    def put(self, key: str, write: Callable[[Path], None], warnings: tuple[str, ...] = ()) -> Path:
        """Run `write(folder)` into a private temp folder, seal it with its manifest, then publish it under the key."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=self.tmp, prefix=f"{key[:12]}-"))
        try:
            write(work)
            _seal(work, warnings)
            final = self.entry(key)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(work, final)
            except OSError:
                if not final.is_dir():
                    raise
                shutil.rmtree(work, ignore_errors=True)  # another build published the same key first
            _fsync_dir(final.parent)
            self._remember(key)
            return final
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def discard(self, key: str) -> None:
        """Drop an entry (found broken, or no longer reached), so it is rebuilt rather than trusted."""
        self._forget(key)
        shutil.rmtree(self.entry(key), ignore_errors=True)

    def keys(self) -> Iterator[str]:
        """The key of every entry folder in the store (complete or not)."""
        try:
            shards = list(os.scandir(self.objects))
        except OSError:
            return
        for shard in shards:
            if shard.is_dir():
                yield from (item.name for item in os.scandir(shard.path) if item.is_dir())

    def entry_size(self, key: str) -> int:
        """Bytes held by one entry's files."""
        try:
            return sum(item.stat().st_size for item in os.scandir(self.entry(key)))
        except OSError:
            return 0

    def usage(self) -> tuple[int, int]:
        """(entries, bytes) held in the store's objects."""
        sizes = [self.entry_size(key) for key in self.keys()]
        return len(sizes), sum(sizes)

    def clean_tmp(self) -> None:
        """Remove temp folders left by killed builds (call while holding the lock)."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    @contextmanager
    def lock(self, wait_message: str | None = "waiting for another build of this project…") -> Iterator[None]:
        """Hold the project's build lock; a second build waits for the first (or, with no message, is refused)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if wait_message is None:
                    handle.seek(0)
                    holder = handle.read().split()[:1]
                    pid = f" (pid {holder[0]})" if holder else ""
                    raise ComicforgeError(Problem(f"a build of this project is running{pid}; try again when it has finished", str(self.root))) from None
                print(wait_message, file=sys.stderr)
                fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()} {time.time():.0f}\n")
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read_state(self, name: str) -> dict[str, Any]:
        """A state file (last build's specs, resolve cache…); unreadable or old layout → empty."""
        try:
            data = orjson.loads((self.root / name).read_bytes())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) and data.get("layout") == STORE_LAYOUT else {}

    def write_state(self, name: str, data: dict[str, Any]) -> None:
        """Write a state file atomically."""
        write_atomic(self.root / name, orjson.dumps({**data, "layout": STORE_LAYOUT}))
