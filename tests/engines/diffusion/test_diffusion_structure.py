"""Depth, normal, soft-edge and scribble ControlNets (the v1.1 layout is the same for every type) in `generate`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import diffusion_control_tiny as ctiny
import diffusion_tiny as tiny
from comicforge.errors import EngineError
from comicforge.spec.files import FileRef
from comicforge.spec.requests import ControlInput


def ref(path: Path) -> FileRef:
    return FileRef(str(path), "fp-" + path.name)


@pytest.fixture(scope="module")
def nets(models_dir) -> dict[str, Path]:
    """Two tiny v1.1 ControlNets (different random weights), named like the depth and soft-edge releases."""
    names = {"depth": "control_v11f1p_tiny_depth", "softedge": "control_v11p_tiny_softedge"}
    return {kind: tiny.save(ctiny.controlnet_sd15_state(seed=seed), models_dir / f"{names[kind]}.safetensors")
            for seed, kind in enumerate(names, start=3)}


@pytest.fixture(scope="module")
def maps(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("maps")
    depth = np.tile(np.linspace(0, 40000, 64), (64, 1)).astype(np.uint16)
    depth[16:48, 20:44] = 65535
    Image.fromarray(depth).save(folder / "depth.png")
    normals = np.zeros((64, 64, 3), np.uint8)
    normals[...] = (128, 128, 255)
    normals[:, :32] = (60, 128, 230)
    Image.fromarray(normals).save(folder / "normal.png")
    sketch = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(sketch).ellipse([12, 8, 52, 56], outline="black", width=3)
    sketch.save(folder / "sketch.png")
    return {"depth": folder / "depth.png", "normal": folder / "normal.png", "sketch": folder / "sketch.png"}


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image)


@pytest.mark.parametrize(("kind", "source", "net"), [("depth", "depth", "depth"), ("softedge", "sketch", "softedge"),
                                                      ("normal", "normal", "depth"), ("scribble", "sketch", "softedge")])
def test_each_type_steers_at_weight_one_and_equals_none_at_zero(engine, make_request, sd1_file, maps, nets, kind, source, net):
    model = nets[net]
    control = ControlInput(kind, ref(model), source=ref(maps[source]))
    plain = pixels(engine.generate(make_request(sd1_file)))
    zero = pixels(engine.generate(make_request(sd1_file, controls=(ControlInput(kind, ref(model), weight=0.0, source=ref(maps[source])),))))
    steered = engine.generate(make_request(sd1_file, controls=(control,)))
    assert np.array_equal(plain, zero)
    assert not np.array_equal(plain, pixels(steered))
    assert f"Module: {kind}" in steered.info["parameters"]


def test_depth_and_softedge_together(engine, make_request, sd1_file, maps, nets):
    depth = ControlInput("depth", ref(nets["depth"]), weight=0.7, source=ref(maps["depth"]))
    soft = ControlInput("softedge", ref(nets["softedge"]), weight=0.7, source=ref(maps["sketch"]))
    both = pixels(engine.generate(make_request(sd1_file, controls=(depth, soft))))
    assert not np.array_equal(both, pixels(engine.generate(make_request(sd1_file, controls=(depth,)))))
    assert not np.array_equal(both, pixels(engine.generate(make_request(sd1_file, controls=(soft,)))))


def test_depth_controlnet_for_another_family_is_refused(engine, make_request, sdxl_file, maps, nets):
    with pytest.raises(EngineError, match=r"control_v11f1p_tiny_depth\.safetensors: this ControlNet is for SD 1\.x.*is SDXL"):
        engine.generate(make_request(sdxl_file, steps=1, controls=(ControlInput("depth", ref(nets["depth"]), source=ref(maps["depth"])),)))
