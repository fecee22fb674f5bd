"""T2I-Adapters (diffusers folders, SD 1.x and SDXL) beside any pipeline, alone or with ControlNets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import diffusion_control_tiny as ctiny
import diffusion_tiny as tiny
from comicforge.control.pose import preset_pose
from comicforge.engines.diffusion.metadata import parse_parameters
from comicforge.errors import EngineError
from comicforge.spec.files import FileRef
from comicforge.spec.requests import ControlInput
from comicforge.weights.t2i_adapter import detect_t2i_adapter


def ref(path: Path) -> FileRef:
    return FileRef(str(path), "fp-" + path.name)


def resident_unet(engine, make_request, model: Path):
    engine.generate(make_request(model, steps=1))
    return engine._models[f"fp-{model.name}"].pipe.unet


@pytest.fixture
def adapters(engine, make_request, models_dir, sd1_file, sdxl_file) -> dict[str, Path]:
    """Tiny adapters: openpose (SD 1.x), a one-channel sketch (SD 1.x), openpose (SDXL)."""
    folders = {"sd1": models_dir / "t2iadapter_tiny_openpose_sd15", "sketch": models_dir / "t2iadapter_tiny_sketch_sd15",
               "sdxl": models_dir / "t2i-adapter-tiny-openpose-sdxl"}
    if not all(folder.is_dir() for folder in folders.values()):
        ctiny.write_t2i_adapter(resident_unet(engine, make_request, sd1_file), folders["sd1"], seed=1)
        ctiny.write_t2i_adapter(resident_unet(engine, make_request, sd1_file), folders["sketch"], seed=2, in_channels=1)
        ctiny.write_t2i_adapter(resident_unet(engine, make_request, sdxl_file), folders["sdxl"], seed=3)
    return folders


def adapter(kind: str, folder: Path, weight: float = 1.0, source: Path | None = None) -> ControlInput:
    return ControlInput(kind, ref(folder), weight=weight, source=ref(source) if source else None, network="t2i-adapter")


def posed(make_request, model: Path, *controls: ControlInput, **kw):
    return make_request(model, poses=(preset_pose("standing"),), controls=controls, **kw)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image)


def test_adapter_steers_at_weight_one_and_equals_none_at_zero(engine, make_request, sd1_file, adapters):
    info = detect_t2i_adapter(adapters["sd1"])
    assert (info.family, info.in_channels) == ("sd1", 3)
    plain = pixels(engine.generate(posed(make_request, sd1_file)))
    zero = pixels(engine.generate(posed(make_request, sd1_file, adapter("openpose", adapters["sd1"], 0.0))))
    steered = engine.generate(posed(make_request, sd1_file, adapter("openpose", adapters["sd1"])))
    assert np.array_equal(plain, zero)  # zero features: the UNet adds exact zeros
    assert not np.array_equal(plain, pixels(steered))
    entry = parse_parameters(steered.info["parameters"])["ControlNet 0"]
    assert "Module: openpose" in entry and "Model: t2iadapter_tiny_openpose_sd15 [" in entry
    assert engine.generate(posed(make_request, sd1_file)).tobytes() == plain.tobytes()  # the hook is gone afterwards


def test_one_channel_sketch_adapter_and_a_controlnet_together(engine, make_request, sd1_file, adapters, sketch_file, models_dir):
    net = tiny.save(ctiny.controlnet_sd15_state(seed=1), models_dir / "control_v11p_tiny_openpose.safetensors")
    pose_net = ControlInput("openpose", ref(net), weight=0.8)
    sketch = adapter("sketch", adapters["sketch"], 0.8, sketch_file)
    net_only = pixels(engine.generate(posed(make_request, sd1_file, pose_net)))
    both = engine.generate(posed(make_request, sd1_file, pose_net, sketch))
    assert not np.array_equal(net_only, pixels(both))
    params = parse_parameters(both.info["parameters"])
    assert "Module: openpose" in params["ControlNet 0"] and "Module: sketch" in params["ControlNet 1"]


def test_sdxl_adapter_and_wrong_families_refused(engine, make_request, sd1_file, sdxl_file, adapters):
    assert detect_t2i_adapter(adapters["sdxl"]).family == "sdxl"
    plain = pixels(engine.generate(posed(make_request, sdxl_file, steps=2)))
    zero = pixels(engine.generate(posed(make_request, sdxl_file, adapter("openpose", adapters["sdxl"], 0.0), steps=2)))
    steered = pixels(engine.generate(posed(make_request, sdxl_file, adapter("openpose", adapters["sdxl"]), steps=2)))
    assert np.array_equal(plain, zero) and not np.array_equal(plain, steered)
    with pytest.raises(EngineError, match=r"t2iadapter_tiny_openpose_sd15: this T2I-Adapter is for SD 1\.x; the model tiny-sdxl"):
        engine.generate(posed(make_request, sdxl_file, adapter("openpose", adapters["sd1"]), steps=1))
    with pytest.raises(EngineError, match=r"t2i-adapter-tiny-openpose-sdxl: this T2I-Adapter is for SDXL; the model tiny-sd15"):
        engine.generate(posed(make_request, sd1_file, adapter("openpose", adapters["sdxl"]), steps=1))


def test_original_pth_files_and_other_folders_are_refused_saying_what_loads(tmp_path, adapters):
    pth = tmp_path / "t2iadapter_depth_sd15v2.pth"
    torch.save({"conv_in.weight": torch.zeros(1)}, pth)
    with pytest.raises(EngineError, match=r"T2I-Adapters load as diffusers folders .*convert_original_t2i_adapter\.py"):
        detect_t2i_adapter(pth)
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "config.json").write_text('{"_class_name": "ControlNetModel"}')
    with pytest.raises(EngineError, match=r"config\.json is a 'ControlNetModel', not a T2IAdapter"):
        detect_t2i_adapter(tmp_path / "net")
