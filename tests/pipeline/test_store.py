"""The store and keys: atomic entries, broken entries rebuilt, fingerprints trusted only while unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from comicforge.pipeline.keys import Fingerprints, job_key
from comicforge.pipeline.run import build
from comicforge.pipeline.store import Store


def test_key_covers_stage_version_spec_and_inputs():
    base = job_key("page", "v1", {"a": 1}, ["k1"])
    assert base == job_key("page", "v1", {"a": 1}, ["k1"])
    assert len({base, job_key("page", "v2", {"a": 1}, ["k1"]), job_key("page", "v1", {"a": 2}, ["k1"]),
                job_key("page", "v1", {"a": 1}, ["k2"]), job_key("png", "v1", {"a": 1}, ["k1"])}) == 5


def test_entry_appears_only_when_complete(tmp_path: Path):
    store = Store(tmp_path)

    def failing(folder: Path) -> None:
        (folder / "half.png").write_bytes(b"partial")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        store.put("ab" * 32, failing)
    assert not store.has("ab" * 32)
    store.put("ab" * 32, lambda folder: (folder / "ok.txt").write_text("done"))
    assert store.has("ab" * 32) and (store.entry("ab" * 32) / "ok.txt").read_text() == "done"
    # a second writer of the same key keeps the first entry intact
    store.put("ab" * 32, lambda folder: (folder / "ok.txt").write_text("other"))
    assert (store.entry("ab" * 32) / "ok.txt").read_text() == "done"


def test_fingerprint_is_hashed_once_then_trusted_while_size_and_mtime_hold(tmp_path: Path):
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"x" * 1000)
    fingerprints = Fingerprints(tmp_path / "fp.json")
    first = fingerprints(model)
    fingerprints.save()
    stat = model.stat()
    model.write_bytes(b"y" * 1000)  # same size; restore the mtime: the cache must trust it
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert Fingerprints(tmp_path / "fp.json")(model) == first
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: content is hashed again
    assert Fingerprints(tmp_path / "fp.json")(model) != first


def test_unreadable_entry_is_rebuilt_not_trusted(small_project: Path):
    first = build(small_project)
    pdf = Path(first.outputs["pdf"]).read_bytes()
    finish = next(d.job for d in first.decisions if d.job.id == "finish:p1.1")
    page = next(d.job for d in first.decisions if d.job.id == "page:1")
    store = Store(small_project)
    (store.entry(finish.key) / "panel.png").write_bytes(b"garbage")  # a damaged input entry
    store.discard(page.key)  # the page must be recomposed from it
    build(small_project)
    assert Path(first.outputs["pdf"]).read_bytes() == pdf
    assert (store.entry(finish.key) / "panel.png").read_bytes().startswith(b"\x89PNG")
