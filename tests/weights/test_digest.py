"""The one file hash (weights/digest.py) that fingerprints, store manifests and A1111 model hashes share."""

from __future__ import annotations

import hashlib

from comicforge.weights.digest import file_sha256


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path):
    data = bytes(range(256)) * 40_000  # several read blocks
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_an_empty_file_has_the_empty_digest(tmp_path):
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    assert file_sha256(path) == hashlib.sha256(b"").hexdigest()
