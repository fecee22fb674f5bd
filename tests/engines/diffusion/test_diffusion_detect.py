import json
import struct

import pytest
import torch

import diffusion_tiny as tiny  # noqa: E402
from comicforge.weights.checkpoint import detect_model
from comicforge.weights.locate import find_model
from comicforge.errors import EngineError


@pytest.mark.parametrize(
    "fixture, family, size, prediction",
    [
        ("sd1_file", "sd1", 512, "epsilon"),
        ("sd2_file", "sd2", 512, "epsilon"),
        ("sd2v_file", "sd2-v", 768, "v_prediction"),
        ("sdxl_file", "sdxl", 1024, "epsilon"),
    ],
)
def test_family_from_keys_and_shapes(request, fixture, family, size, prediction):
    info = detect_model(request.getfixturevalue(fixture))
    assert (info.family, info.native_size, info.prediction, info.format) == (family, size, prediction, "safetensors")


def test_sidecar_yaml_marks_v_prediction(sd1_file, tmp_path):
    copy = tmp_path / "vmodel.safetensors"
    copy.write_bytes(sd1_file.read_bytes())
    (tmp_path / "vmodel.yaml").write_text('model:\n  params:\n    parameterization: "v"\n')
    assert detect_model(copy).prediction == "v_prediction"


def _fake_safetensors(path, keys):
    tiny.save({k: torch.zeros(1) for k in keys}, path)
    return path


@pytest.mark.parametrize(
    "keys, message",
    [
        (["model.diffusion_model.joint_blocks.0.context_block.attn.qkv.weight"], "Stable Diffusion 3 checkpoints are recognised but not supported yet"),
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


def test_truncated_file(sd1_file, tmp_path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(sd1_file.read_bytes()[: sd1_file.stat().st_size // 2])
    with pytest.raises(EngineError, match="truncated") as e:
        detect_model(path)
    assert "cut.safetensors" in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(EngineError, match="not found"):
        detect_model(tmp_path / "nope.safetensors")


def test_ckpt_through_weights_only(sd1_file, tmp_path):
    from safetensors.torch import load_file

    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": load_file(str(sd1_file))}, path)
    assert detect_model(path).family == "sd1"


def test_unsafe_pickle_is_refused(tmp_path):
    import pickle

    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"state_dict": {"x": print}}))
    with pytest.raises(EngineError, match="weights_only"):
        detect_model(path)


def test_diffusers_folder_detection(tmp_path):
    folder = tiny.write_sd1_diffusers_config(tmp_path / "m")
    info = detect_model(folder)
    assert (info.family, info.format, info.context_dim) == ("sd1", "diffusers", 64)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    with pytest.raises(EngineError, match="not supported yet"):
        detect_model(folder)


def test_find_model_everywhere(tmp_path, monkeypatch):
    project = tmp_path / "proj"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.safetensors").write_bytes(b"x")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "b.safetensors").write_bytes(b"x")
    monkeypatch.setenv("COMICFORGE_MODELS", str(tmp_path / "empty") + __import__("os").pathsep + str(shared))
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
