"""ControlNet (v1.1 single files, diffusers folders, several per panel) and IP-Adapter in `generate`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import diffusion_control_tiny as ctiny
import diffusion_tiny as tiny
from comicforge.control.pose import preset_pose
from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.requests import ControlInput
from comicforge.engines.diffusion.controlnet import load_controlnet
from comicforge.engines.diffusion.metadata import parse_parameters
from comicforge.errors import EngineError
from comicforge.weights.controlnet import detect_controlnet


def ref(path: Path) -> FileRef:
    return FileRef(str(path), "fp-" + path.name)


@pytest.fixture(scope="module")
def openpose_file(models_dir) -> Path:
    return tiny.save(ctiny.controlnet_sd15_state(seed=1), models_dir / "control_v11p_tiny_openpose.safetensors")


@pytest.fixture(scope="module")
def lineart_file(models_dir) -> Path:
    return tiny.save(ctiny.controlnet_sd15_state(seed=2), models_dir / "control_v11p_tiny_lineart.safetensors")


def resident_unet(engine, make_request, model: Path):
    """The UNet of a model the shared engine holds (loaded by a one-step panel)."""
    engine.generate(make_request(model, steps=1))
    return engine._models[f"fp-{model.name}"].pipe.unet


@pytest.fixture
def sdxl_controlnet_dir(engine, make_request, models_dir, sdxl_file) -> Path:
    folder = models_dir / "controlnet-sdxl-tiny"
    if not folder.is_dir():
        ctiny.write_sdxl_controlnet_folder(resident_unet(engine, make_request, sdxl_file), folder)
    return folder


def posed(make_request, model: Path, *controls: ControlInput, **kw):
    return make_request(model, poses=(preset_pose("standing"),), controls=controls, **kw)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image)


def test_single_file_detected_and_converted_like_diffusers(openpose_file, tmp_path):
    """Our shape-inferred config + diffusers' converter = diffusers' from_single_file with a hand-written config."""
    import diffusers

    info = detect_controlnet(openpose_file)
    assert (info.format, info.family, info.context_dim) == ("single-file", "sd1", 64)
    ours = load_controlnet(info, torch.float32)
    (tmp_path / "config.json").write_text(json.dumps({
        "_class_name": "ControlNetModel", "block_out_channels": [32, 64, 128, 128], "cross_attention_dim": 64,
        "attention_head_dim": 8, "layers_per_block": 2, "conditioning_embedding_out_channels": [16, 32, 96, 256],
    }))
    theirs = diffusers.ControlNetModel.from_single_file(str(openpose_file), config=str(tmp_path), local_files_only=True)
    assert ours.config.block_out_channels == theirs.config.block_out_channels
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert mine.keys() == reference.keys()
    assert all(torch.equal(mine[k], reference[k]) for k in mine)


def test_controlnet_steers_and_weight_zero_equals_no_control(engine, make_request, sd1_file, openpose_file):
    plain = pixels(engine.generate(posed(make_request, sd1_file)))
    zero = pixels(engine.generate(posed(make_request, sd1_file, ControlInput("openpose", ref(openpose_file), weight=0.0))))
    steered = engine.generate(posed(make_request, sd1_file, ControlInput("openpose", ref(openpose_file))))
    assert np.array_equal(plain, zero)  # bit for bit: zero-scaled residuals add exactly nothing
    assert not np.array_equal(plain, pixels(steered))
    entry = parse_parameters(steered.info["parameters"])["ControlNet 0"]
    assert "Module: openpose" in entry and "Model: control_v11p_tiny_openpose [" in entry and "Weight: 1" in entry


def test_two_controlnets_with_weights_and_windows(engine, make_request, sd1_file, openpose_file, lineart_file, sketch_file):
    pose = ControlInput("openpose", ref(openpose_file), weight=0.8)
    lines = ControlInput("lineart", ref(lineart_file), weight=0.6, start=0.0, end=0.5, source=ref(sketch_file))
    both = engine.generate(posed(make_request, sd1_file, pose, lines))
    pose_only = pixels(engine.generate(posed(make_request, sd1_file, pose)))
    late_lines = pixels(engine.generate(posed(make_request, sd1_file, pose, replace(lines, start=0.5, end=1.0))))
    assert not np.array_equal(pixels(both), pose_only)
    assert not np.array_equal(pixels(both), late_lines)
    params = parse_parameters(both.info["parameters"])
    assert "Guidance End: 0.5" in params["ControlNet 1"] and "Module: lineart" in params["ControlNet 1"]
    assert len([k for k in engine._controlnets if k[0] in (f"fp-{openpose_file.name}", f"fp-{lineart_file.name}")]) == 2


def test_controlnets_stay_resident(engine, make_request, sd1_file, openpose_file):
    control = ControlInput("openpose", ref(openpose_file))
    engine.generate(posed(make_request, sd1_file, control))
    first = dict(engine._controlnets)
    engine.generate(posed(make_request, sd1_file, control, seed=5))
    assert all(engine._controlnets[k] is v for k, v in first.items())


def test_sdxl_controlnet_folder(engine, make_request, sdxl_file, sdxl_controlnet_dir):
    info = detect_controlnet(sdxl_controlnet_dir)
    assert (info.format, info.family) == ("diffusers", "sdxl")
    plain = pixels(engine.generate(posed(make_request, sdxl_file, steps=2)))
    steered = pixels(engine.generate(posed(make_request, sdxl_file, ControlInput("openpose", ref(sdxl_controlnet_dir)), steps=2)))
    assert steered.shape == (64, 64, 3) and not np.array_equal(plain, steered)


def test_sd2_single_file_controlnet(engine, make_request, sd2_file, openpose_file, models_dir):
    net = tiny.save(ctiny.controlnet_sd21_state(seed=8), models_dir / "control_v11p_tiny_sd21_openpose.safetensors")
    assert (detect_controlnet(net).format, detect_controlnet(net).family) == ("single-file", "sd2")
    plain = pixels(engine.generate(posed(make_request, sd2_file)))
    zero = pixels(engine.generate(posed(make_request, sd2_file, ControlInput("openpose", ref(net), weight=0.0))))
    steered = pixels(engine.generate(posed(make_request, sd2_file, ControlInput("openpose", ref(net)))))
    assert np.array_equal(plain, zero) and not np.array_equal(plain, steered)
    with pytest.raises(EngineError, match=r"control_v11p_tiny_openpose\.safetensors: this ControlNet is for SD 1\.x.*is SD 2\.x"):
        engine.generate(posed(make_request, sd2_file, ControlInput("openpose", ref(openpose_file))))


def test_controlnet_for_another_family_is_refused(engine, make_request, sd1_file, sdxl_file, openpose_file, sdxl_controlnet_dir):
    with pytest.raises(EngineError, match=r"control_v11p_tiny_openpose\.safetensors: this ControlNet is for SD 1\.x.*is SDXL"):
        engine.generate(posed(make_request, sdxl_file, ControlInput("openpose", ref(openpose_file))))
    with pytest.raises(EngineError, match=r"controlnet-sdxl-tiny: this ControlNet is for SDXL.*is SD 1\.x"):
        engine.generate(posed(make_request, sd1_file, ControlInput("openpose", ref(sdxl_controlnet_dir))))


def test_bad_controlnet_inputs(engine, make_request, sd1_file, openpose_file, tmp_path):
    with pytest.raises(EngineError, match=r"tiny-sd15\.safetensors: not a ControlNet"):
        engine.generate(posed(make_request, sd1_file, ControlInput("openpose", ref(sd1_file))))
    # an input the book names no ControlNet for is ignored: the panel is drawn as without it
    unsteered = pixels(engine.generate(posed(make_request, sd1_file, ControlInput("openpose", None))))
    assert np.array_equal(unsteered, pixels(engine.generate(posed(make_request, sd1_file))))
    with pytest.raises(EngineError, match="start/end 0.6/0.4"):
        engine.generate(posed(make_request, sd1_file, ControlInput("openpose", ref(openpose_file), start=0.6, end=0.4)))
    blank = tmp_path / "blank.png"
    Image.new("RGB", (64, 64), "white").save(blank)
    with pytest.raises(EngineError, match=r"panel p1: .*blank\.png: no lines"):
        engine.generate(posed(make_request, sd1_file, ControlInput("lineart", ref(openpose_file), source=ref(blank))))


# --- IP-Adapter ---------------------------------------------------------------------------------------------------


@pytest.fixture
def ip_adapter_file(engine, make_request, sd1_file, models_dir) -> Path:
    path = models_dir / "ip-adapter" / "ip-adapter_tiny.safetensors"
    if not path.is_file():
        ctiny.write_ip_adapter(resident_unet(engine, make_request, sd1_file), path.parent)
    return path


@pytest.fixture(scope="module")
def reference_file(tmp_path_factory) -> Path:
    image = Image.new("RGB", (48, 40), (200, 40, 30))
    ImageDraw.Draw(image).rectangle([10, 10, 30, 30], fill=(20, 40, 220))
    path = tmp_path_factory.mktemp("refs") / "mira.png"
    image.save(path)
    return path


def test_ip_adapter_steers_and_detaches_exactly(engine, make_request, sd1_file, ip_adapter_file, reference_file):
    plain = make_request(sd1_file)
    before = pixels(engine.generate(plain))
    referenced = replace(plain, ip_adapter=ref(ip_adapter_file), references=(AdapterRef(ref(reference_file), 0.7),))
    steered = engine.generate(referenced)
    assert not np.array_equal(before, pixels(steered))
    params = parse_parameters(steered.info["parameters"])
    assert params["IP-Adapter"].startswith("ip-adapter_tiny [") and params["IP-Adapter weight"] == "0.7"
    assert np.array_equal(pixels(engine.generate(referenced)), pixels(steered))  # stays attached, same result
    assert np.array_equal(pixels(engine.generate(plain)), before)  # detached: exactly the plain panel again


def test_ip_adapter_needs_its_image_encoder(engine, make_request, sd1_file, ip_adapter_file, reference_file, tmp_path):
    lone = tmp_path / "ip-adapter_lone.safetensors"
    lone.write_bytes(ip_adapter_file.read_bytes())
    request = make_request(sd1_file, ip_adapter=ref(lone), references=(AdapterRef(ref(reference_file), 1.0),))
    with pytest.raises(EngineError, match=r"ip-adapter_lone\.safetensors: the IP-Adapter needs its CLIP image encoder"):
        engine.generate(request)
    missing = make_request(sd1_file, ip_adapter=ref(ip_adapter_file), references=(AdapterRef(ref(tmp_path / "nope.png"), 1.0),))
    with pytest.raises(EngineError, match=r"nope\.png: reference image not found"):
        engine.generate(missing)


def test_scheduled_and_composed_prompts_with_a_controlnet_and_references(engine, make_request, sd1_file, openpose_file, ip_adapter_file,
                                                                         reference_file):
    """The step callback and the AND hooks widen the ControlNet's residuals and IP-Adapter's embeddings with the batch."""
    control = ControlInput("openpose", ref(openpose_file))
    run = lambda prompt: pixels(engine.generate(replace(posed(make_request, sd1_file, control), prompt=prompt))).astype(np.int16)  # noqa: E731
    cat = run("cat")
    assert np.array_equal(run("[cat:dog:3]"), cat)  # 3 steps: `cat` throughout
    assert not np.array_equal(run("[cat:dog:1]"), cat)
    assert np.abs(run("cat AND dog :0") - cat).max() <= 2
    assert np.abs(run("cat AND dog") - cat).max() > 8
    referenced = replace(make_request(sd1_file, prompt="cat AND dog"), ip_adapter=ref(ip_adapter_file), references=(AdapterRef(ref(reference_file), 0.7),))
    assert engine.generate(referenced).size == (64, 64)
