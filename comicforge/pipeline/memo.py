"""Results of pure, costly steps inside a stage, kept by a digest of their inputs so a later build skips the step.

Outside every key: a memo only saves time, never changes bytes. Each file is named by the digest of its inputs
and of its own content, so a damaged file is found (and made again) rather than trusted; a few per kind are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

MEMOS_KEPT = 4  # per kind: the last few builds' (a reverted edit finds its memo again)


class Memo:
    """Memoized step results in a folder of the store (`.comicforge/memo/`)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __call__(self, kind: str, inputs: bytes, make: Callable[[], bytes]) -> bytes:
        """The bytes `make()` returns for these inputs: from the memo when it holds them intact, else made and kept."""
        digest = hashlib.sha256(kind.encode() + b"\0" + inputs).hexdigest()[:32]
        for path in self.folder.glob(f"{kind}-{digest}-*"):
            data = _intact(path)
            if data is not None:
                path.touch()  # most recently used: kept longest
                return data
            path.unlink(missing_ok=True)
        data = make()
        self._keep(kind, f"{kind}-{digest}-{hashlib.sha256(data).hexdigest()[:32]}", data)
        return data

    def _keep(self, kind: str, name: str, data: bytes) -> None:
        from comicforge.pipeline.store import write_atomic

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / name, data)
            older = sorted(self.folder.glob(f"{kind}-*"), key=lambda p: p.stat().st_mtime_ns, reverse=True)[MEMOS_KEPT:]
            for path in older:
                path.unlink(missing_ok=True)
        except OSError:
            pass  # a memo that cannot be written costs the next build time, nothing else


def _intact(path: Path) -> bytes | None:
    """A memo file's bytes when they still hash to the digest in its name."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest()[:32] == path.name.rsplit("-", 1)[-1] else None


def no_memo(kind: str, inputs: bytes, make: Callable[[], bytes]) -> bytes:
    """Where no memo folder is at hand (Ray workers): make it every time."""
    return make()
