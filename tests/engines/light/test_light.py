"""Torch-free parts of the diffusion engine: these run (and must pass) without torch, diffusers or transformers.

tests/engines/light/ has no torch conftest; test_runs_without_torch proves it by running this folder with the
heavy packages made unimportable.
"""

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

from comicforge.errors import EngineError
from comicforge.weights.checkpoint import detect_model

HERE = Path(__file__).resolve().parent
HEAVY = ("torch", "diffusers", "transformers")


def test_light_modules_do_not_import_torch():
    code = (
        "import sys; import comicforge.engines.diffusion, comicforge.weights.checkpoint, comicforge.weights.controlnet, "
        "comicforge.weights.locate, comicforge.weights.lora, comicforge.engines.diffusion.lora, "
        "comicforge.engines.diffusion.prompts, comicforge.engines.diffusion.metadata, "
        "comicforge.engines.diffusion.schedulers, comicforge.pipeline.grouping; "
        f"bad = [m for m in {HEAVY!r} if m in sys.modules]; print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_this_folder_runs_without_torch():
    """Every test here passes with torch, diffusers and transformers unimportable (as in a draft-only install)."""
    code = (f"import sys; sys.modules.update(dict.fromkeys({HEAVY!r})); import pytest; "
            f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', sys.argv[1], '-k', 'not this_folder_runs and not light_modules']))")
    result = subprocess.run([sys.executable, "-c", code, str(HERE)], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-3000:]


def test_panel_order_groups_model_and_loras():
    from comicforge.spec.files import AdapterRef, FileRef
    from comicforge.spec.requests import GenerateRequest
    from comicforge.pipeline.grouping import panel_order_key

    a, b = FileRef("/m/a.safetensors", "A"), FileRef("/m/b.safetensors", "B")
    hero = AdapterRef(FileRef("/l/hero.safetensors", "H"))
    reqs = [GenerateRequest(panel_id=p, prompt="", negative="", seed=0, width=8, height=8, model=m, loras=adapters)
            for p, m, adapters in [("1", b, ()), ("2", a, (hero,)), ("3", b, (hero,)), ("4", a, ()), ("5", a, (hero,))]]
    order = [r.panel_id for r in sorted(reqs, key=panel_order_key)]
    assert order == ["4", "2", "5", "1", "3"]


def test_find_model_everywhere(tmp_path, monkeypatch):
    from comicforge.weights.locate import find_model

    project = tmp_path / "proj"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.safetensors").write_bytes(b"x")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "b.safetensors").write_bytes(b"x")
    monkeypatch.setenv("COMICFORGE_MODELS", str(tmp_path / "empty") + os.pathsep + str(shared))
    assert find_model("models/a.safetensors", project) == (project / "models" / "a.safetensors").resolve()
    assert find_model(str(shared / "b.safetensors"), project) == (shared / "b.safetensors").resolve()
    assert find_model("b.safetensors", project) == (shared / "b.safetensors").resolve()
    assert find_model("b", project) == (shared / "b.safetensors").resolve()
    assert find_model("missing.safetensors", project) is None

    cache = tmp_path / "hf"
    snap = cache / "models--org--name" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "model_index.json").write_text("{}")
    (cache / "models--org--name" / "refs").mkdir()
    (cache / "models--org--name" / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert find_model("org/name", project) == snap
    assert find_model("org/other", project) is None


def _fake_safetensors(path: Path, keys: list[str]) -> Path:
    """A valid safetensors file (8-byte little-endian header length, JSON header, data), one float32 per key."""
    header = {key: {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]} for i, key in enumerate(keys)}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(4 * len(keys)))
    return path


@pytest.mark.parametrize(
    "keys, message",
    [
        (["model.diffusion_model.joint_blocks.0.context_block.attn.qkv.weight"], "this SD3 file has no CLIP-L, CLIP-G, VAE"),
        (["joint_blocks.0.context_block.attn.qkv.weight"], "Stable Diffusion 3 transformer-only .* not supported yet"),
        (["double_blocks.0.img_attn.qkv.weight", "single_blocks.0.linear1.weight"], "Flux checkpoints are recognised but not supported yet"),
        (["some.random.key"], "unknown checkpoint layout"),
    ],
)
def test_unsupported_and_unknown_layouts(tmp_path, keys, message):
    path = _fake_safetensors(tmp_path / "odd.safetensors", keys)
    with pytest.raises(EngineError, match=message) as e:
        detect_model(path)
    assert str(path) in str(e.value)


def test_corrupt_header(tmp_path):
    path = tmp_path / "corrupt.safetensors"
    path.write_bytes(struct.pack("<Q", 20) + b"{not json at all!!!}" + b"\0" * 100)
    with pytest.raises(EngineError, match="corrupt safetensors header") as e:
        detect_model(path)
    assert "corrupt.safetensors" in str(e.value)
