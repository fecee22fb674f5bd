"""SHA-256 of a file's content, streamed: the hash fingerprints, store manifests and A1111 model hashes share."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks (multi-GB checkpoints never sit in memory)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
