"""Variants on the diffusion engine: a panel's candidates denoised as one batch equal each candidate made alone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

SAMPLERS = ("DPM++ 2M Karras", "Euler a")  # deterministic; ancestral (fresh noise each step, from each sample's generator)


def _levels_apart(a, b) -> int:
    return int(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).max())


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_a_batch_candidate_equals_the_panel_alone_with_seed_plus_k(engine, make_request, sd1_file, sampler):
    base = make_request(sd1_file, sampler=sampler, seed=42, steps=3)
    candidates = [dataclasses.replace(base, seed=42 + k) for k in range(3)]
    batch = engine.generate_batch(candidates)
    alone = [engine.generate(c) for c in candidates]
    assert len(batch) == 3
    for k, (together, single) in enumerate(zip(batch, alone)):
        assert _levels_apart(together, single) <= 1, f"candidate {k}"
        assert f"Seed: {42 + k}," in together.info["parameters"]
    assert _levels_apart(batch[0], batch[1]) > 8  # the candidates are different pictures


def test_requests_that_differ_beyond_the_seed_run_one_by_one(engine, make_request, sd1_file):
    first, other = make_request(sd1_file, seed=5), make_request(sd1_file, seed=6, prompt="a dog in the rain")
    together = engine.generate_batch([first, other])
    assert _levels_apart(together[1], engine.generate(other)) <= 1


def test_a_scheduler_seeded_sampler_is_not_batched(make_request, sd1_file):
    """DPM++ SDE draws its noise from one seed in the scheduler: its candidates run one by one to stay equal to each alone."""
    from comicforge.engines.diffusion.engine import batchable

    candidates = [make_request(sd1_file, sampler=sampler, seed=s) for sampler in ("DPM++ SDE Karras", "Euler a") for s in (1, 2)]
    assert not batchable(candidates[:2]) and batchable(candidates[2:])


def _book(folder, model, seed: int, **panel) -> str:
    import yaml

    book = {
        "title": "Variants", "format": {"trim": "manga", "dpi": 36, "margins": "0.3in"},
        "defaults": {"engine": "diffusion", "model": str(model), "steps": 2, "cfg": 5, "size": [64, 64]},
        "pages": [{"layout": "splash", "panels": [{"prompt": "a lantern in the rain", "seed": seed, **panel}]}],
    }
    folder.mkdir(parents=True)
    (folder / "comic.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    return str(folder)


def test_a_build_batches_the_candidates_and_each_equals_its_seed_alone(sd1_file, tmp_path):
    import json

    from PIL import Image
    from support import run_cli

    report = json.loads(run_cli("build", _book(tmp_path / "three", sd1_file, 5, variants=3), "--json").stdout)
    assert report["panels"]["generated"] == 3
    candidates = report["outputs"]["variants"]["p1.1"]
    assert [Path(c).name for c in candidates] == ["p1.1-0.png", "p1.1-1.png", "p1.1-2.png"]
    alone = json.loads(run_cli("build", _book(tmp_path / "alone", sd1_file, 7), "--json").stdout)["outputs"]["panels"]["p1.1"]
    assert _levels_apart(Image.open(candidates[2]).convert("RGB"), Image.open(alone).convert("RGB")) <= 1
    assert "Seed: 7," in Image.open(candidates[2]).info["parameters"]
