import json

import pytest
import torch

import diffusion_tiny as tiny
from comicforge.weights.checkpoint import detect_model
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
