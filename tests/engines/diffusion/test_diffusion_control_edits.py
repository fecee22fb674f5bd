"""Control during edits: img2img, inpaint, outpaint and upscale steered by the panel's ControlNets and T2I-Adapters
(unless `control: false`); an outpaint's control images extend with the canvas."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import diffusion_control_tiny as ctiny
import diffusion_tiny as tiny
from comicforge.control.images import control_image, outpaint_control_image
from comicforge.control.pose import preset_pose
from comicforge.engines.diffusion.metadata import parse_parameters
from comicforge.engines.diffusion.refine import outpaint_frame, outpainted_request
from comicforge.spec.files import FileRef
from comicforge.spec.requests import ControlInput, Img2Img, Inpaint, Outpaint, Upscale

NECK_RGB = (255, 85, 0)


def ref(path: Path) -> FileRef:
    return FileRef(str(path), "fp-" + path.name)


@pytest.fixture(scope="module")
def depth_map(tmp_path_factory) -> Path:
    depth = np.tile(np.linspace(0, 255, 64), (64, 1)).astype(np.uint8)
    depth[10:40, 10:40] = 255
    path = tmp_path_factory.mktemp("maps") / "depth.png"
    Image.fromarray(depth).save(path)
    return path


@pytest.fixture(scope="module")
def nets(models_dir) -> dict[str, Path]:
    return {kind: tiny.save(ctiny.controlnet_sd15_state(seed=seed), models_dir / f"control_edit_{kind}.safetensors")
            for seed, kind in ((5, "depth"), (6, "openpose"))}


@pytest.fixture
def panel(engine, make_request, sd1_file, nets, depth_map):
    """A 64×64 panel with a pose and a depth map, steered by both ControlNets."""
    controls = (ControlInput("openpose", ref(nets["openpose"])), ControlInput("depth", ref(nets["depth"]), source=ref(depth_map)))
    request = make_request(sd1_file, steps=4, poses=(preset_pose("standing"),), controls=controls)
    return request, engine.generate(request)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


@pytest.mark.parametrize("step", [Img2Img(strength=0.6), Inpaint(strength=0.9, rects=((0.25, 0.25, 0.5, 0.5),)),
                                  Upscale(strength=0.5, width=80, height=80)], ids=["img2img", "inpaint", "upscale"])
def test_edits_are_steered_unless_the_step_says_control_false(engine, panel, step):
    request, image = panel
    steered = engine.refine(request, image, step)
    free = engine.refine(request, image, replace(step, control=False))
    assert np.array_equal(pixels(free), pixels(engine.refine(replace(request, controls=()), image, step)))  # = no controls
    assert not np.array_equal(pixels(steered), pixels(free))
    params = parse_parameters(steered.info["parameters"])
    assert "Module: openpose" in params["ControlNet 0"] and "Module: depth" in params["ControlNet 1"]
    assert "ControlNet 0" not in parse_parameters(free.info["parameters"])
    if isinstance(step, Inpaint):  # outside the mask the pixels stay exactly
        outside = np.ones((64, 64), bool)
        outside[16:48, 16:48] = False
        assert np.array_equal(pixels(steered)[outside], pixels(image)[outside])


def test_outpaint_extends_the_control_images_with_the_canvas(engine, panel, make_request, sd1_file, monkeypatch):
    from comicforge.engines.diffusion import engine as engine_module

    request, image = panel
    step = Outpaint(extend=(0.5, 0.0, 0.0, 0.0))
    drawn = {}

    def spy(req, control, frame):
        drawn[control.kind] = outpaint_control_image(req, control, frame)
        return drawn[control.kind]

    monkeypatch.setattr(engine_module, "outpaint_control_image", spy)
    extended = outpainted_request(replace(request, width=96, height=64), step.extend, image.size)
    x, y = request.poses[0].body[1]
    assert extended.poses[0].body[1] == pytest.approx((32 / 96 + x * 64 / 96, y))  # the figure stays on its pixels
    pose_image = control_image(extended, request.controls[0])
    assert pose_image.size == (96, 64) and pose_image.getpixel((int(32 + x * 64), int(y * 64))) == NECK_RGB
    steered = engine.refine(request, image, step)
    free = engine.refine(request, image, replace(step, control=False))
    assert steered.size == (96, 64) and not np.array_equal(pixels(steered), pixels(free))
    assert np.array_equal(pixels(steered)[:, 32:], pixels(image))  # the panel itself is kept
    assert outpaint_frame(image.size, step.extend) == (32, 0, 64, 64)
    assert drawn["openpose"].tobytes() == pose_image.tobytes()
    depth = pixels(drawn["depth"])  # the panel's own depth image, on the panel's pixels; the new area far (black)
    assert np.array_equal(depth[:, 32:], pixels(control_image(request, request.controls[1]))) and not depth[:, :32].any()


def test_a_t2i_adapter_steers_an_img2img_step(engine, make_request, sd1_file, models_dir):
    engine.generate(make_request(sd1_file, steps=1))
    folder = models_dir / "t2iadapter_edit_openpose"
    if not folder.is_dir():
        ctiny.write_t2i_adapter(engine._models[f"fp-{sd1_file.name}"].pipe.unet, folder, seed=7)
    adapter = ControlInput("openpose", ref(folder), network="t2i-adapter")
    request = make_request(sd1_file, steps=4, poses=(preset_pose("standing"),), controls=(adapter,))
    image = engine.generate(request)
    steered = engine.refine(request, image, Img2Img(strength=0.6))
    assert not np.array_equal(pixels(steered), pixels(engine.refine(request, image, Img2Img(strength=0.6, control=False))))
