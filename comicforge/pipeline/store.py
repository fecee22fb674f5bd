"""The content-addressed store in PROJECT/.comicforge: atomic entries, a build lock, disposable state."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STORE_DIR = ".comicforge"
STORE_LAYOUT = 1


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so readers see the old or the new content, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def copy_atomic(source: Path, target: Path) -> None:
    """Copy a file into place atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Store:
    """Job results by key: each entry is a folder, published by one atomic rename when complete."""

    def __init__(self, project_root: Path):
        self.root = project_root / STORE_DIR
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"

    def entry(self, key: str) -> Path:
        """Where the entry of a key lives (it may not exist)."""
        return self.objects / key[:2] / key

    def has(self, key: str) -> bool:
        """Whether a complete entry exists (entries appear only by rename, so existence means complete)."""
        return os.path.isdir(self.objects / key[:2] / key)

    def put(self, key: str, write: Callable[[Path], None]) -> Path:
        """Run `write(folder)` into a private temp folder, then publish it under the key."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=self.tmp, prefix=f"{key[:12]}-"))
        try:
            write(work)
            final = self.entry(key)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(work, final)
            except OSError:
                if not final.is_dir():
                    raise
                shutil.rmtree(work, ignore_errors=True)  # another build published the same key first
            return final
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def discard(self, key: str) -> None:
        """Drop an entry found unreadable, so it is rebuilt rather than trusted."""
        shutil.rmtree(self.entry(key), ignore_errors=True)

    def clean_tmp(self) -> None:
        """Remove temp folders left by killed builds (call while holding the lock)."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    @contextmanager
    def lock(self, wait_message: str = "waiting for another build of this project…") -> Iterator[None]:
        """Hold the project's build lock; a second build waits for the first."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
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
            data = json.loads((self.root / name).read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) and data.get("layout") == STORE_LAYOUT else {}

    def write_state(self, name: str, data: dict[str, Any]) -> None:
        """Write a state file atomically."""
        write_atomic(self.root / name, json.dumps({**data, "layout": STORE_LAYOUT}).encode())
