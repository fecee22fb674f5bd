"""Depth maps, derived soft edges, per-panel ControlNets and T2I-Adapters through comic.yaml: check, control, build."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageDraw

import diffusion_control_tiny as ctiny
import diffusion_tiny as tiny
from support import run_cli
from test_diffusion_build import _project


def _inputs(folder: Path) -> None:
    depth = np.tile(np.linspace(0, 200, 96), (96, 1)).astype(np.uint8)
    depth[20:70, 20:60] = 255
    Image.fromarray(depth).save(folder / "depth.png")
    sketch = Image.new("L", (64, 96), 255)
    ImageDraw.Draw(sketch).ellipse([10, 10, 54, 86], outline=0, width=4)
    sketch.save(folder / "sketch.png")


def _edit(project: Path, change) -> dict:
    data = yaml.safe_load((project / "comic.yaml").read_text())
    change(data)
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return data


def test_depth_and_softedge_controlnets_from_the_project(sd1_file: Path, tmp_path: Path):
    depth_net = tiny.save(ctiny.controlnet_sd15_state(seed=3), tmp_path / "control_depth.safetensors")
    soft_net = tiny.save(ctiny.controlnet_sd15_state(seed=4), tmp_path / "control_softedge.safetensors")
    project = _project(tmp_path / "book", sd1_file)
    _inputs(project)

    def controls(data):
        data["defaults"]["controlnets"] = {"depth": {"file": str(depth_net)}, "softedge": {"file": str(soft_net), "weight": 0.5}}
        data["pages"][0]["panels"][0].update(depth="depth.png", lineart="sketch.png")

    _edit(project, controls)
    out = tmp_path / "control"
    printed = run_cli("control", str(project), "p1.1", "--out", str(out)).stdout.split()
    assert printed == [str(out / f"p1.1-{kind}.png") for kind in ("lineart", "softedge", "depth")]
    assert Image.open(out / "p1.1-depth.png").size == (64, 96)
    report = json.loads(run_cli("build", str(project), "--json").stdout)
    parameters = Image.open(report["outputs"]["panels"]["p1.1"]).info["parameters"]
    assert "Module: softedge" in parameters and "Module: depth" in parameters and "Weight: 0.5" in parameters
    assert "ControlNet" not in Image.open(report["outputs"]["panels"]["p1.2"]).info["parameters"]  # no inputs: no ControlNets


def test_a_panels_controlnet_without_its_input_is_located_at_check(sd1_file: Path, tmp_path: Path):
    depth_net = tiny.save(ctiny.controlnet_sd15_state(seed=3), tmp_path / "control_depth.safetensors")
    project = _project(tmp_path / "book", sd1_file)
    _inputs(project)

    def controls(data):
        data["defaults"]["controlnets"] = {"depth": {"file": str(depth_net)}}  # book-wide: panels without a map skip it
        data["pages"][0]["panels"][0]["controlnets"] = {"normal": {"file": str(depth_net)}, "scribble": {"weight": 0.5}}
        data["pages"][0]["panels"][1]["controlnets"] = {"depth": {"weight": 0.4}, "lineart": {"file": str(depth_net), "start": 0.5, "end": 0.5}}

    _edit(project, controls)
    result = run_cli("check", str(project), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "pages[0].panels[0].controlnets.normal: a normal ControlNet needs a `normal:` map (the panel has none)" in result.stderr
    assert ("pages[0].panels[0].controlnets.scribble: no ControlNet file for scribble: give `file` here or in "
            "defaults.controlnets.scribble") in result.stderr
    assert "pages[0].panels[1].controlnets.depth: a depth ControlNet needs a `depth:` map (the panel has none)" in result.stderr
    assert "pages[0].panels[1].controlnets.lineart.start: start 0.5 must be below end (0.5)" in result.stderr  # as the engine refuses it
    Image.new("L", (30, 30), 90).save(project / "depth.png")
    _edit(project, lambda data: (data["pages"][0]["panels"][0].update(depth="depth.png", controlnets=None),
                                 data["pages"][0]["panels"][1].pop("controlnets")))
    result = run_cli("check", str(project), check=False)
    assert result.returncode == 2 and "pages[0].panels[0].depth: depth.png: the depth map is flat" in result.stderr


def _adapter(folder: Path, widths: list[int], xl: bool = False) -> Path:
    from types import SimpleNamespace

    unet = SimpleNamespace(config=SimpleNamespace(block_out_channels=widths, addition_embed_type="text_time" if xl else None))
    return ctiny.write_t2i_adapter(unet, folder, seed=1)


def test_t2i_adapter_and_control_false_from_the_project(sd1_file: Path, sdxl_file: Path, tmp_path: Path):
    adapter = _adapter(tmp_path / "t2iadapter_openpose_tiny", [32, 64, 128, 128])
    project = _project(tmp_path / "book", sd1_file)

    def adapters(data):
        data["defaults"]["t2i_adapters"] = {"openpose": {"file": str(adapter), "weight": 0.9}}
        data["pages"][0]["panels"][0].update(pose="standing", edits=[{"op": "img2img", "strength": 0.5, "control": False}])

    _edit(project, adapters)
    report = json.loads(run_cli("build", str(project), "--json").stdout)
    assert "Module: openpose, Model: t2iadapter_openpose_tiny [" in Image.open(report["outputs"]["panels"]["p1.1"]).info["parameters"]
    xl = _project(tmp_path / "xl", sdxl_file)
    _edit(xl, adapters)
    result = run_cli("check", str(xl), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"defaults.t2i_adapters.openpose.file: {adapter}: this T2I-Adapter is for SD 1.x; the model tiny-sdxl" in result.stderr


def test_an_sdxl_t2i_adapter_needs_a_size_in_multiples_of_16_at_check(sdxl_file: Path, tmp_path: Path):
    adapter = _adapter(tmp_path / "t2i-adapter-openpose-sdxl-tiny", [32, 64, 128], xl=True)
    project = _project(tmp_path / "xl", sdxl_file, size=[64, 88])
    _edit(project, lambda data: (data["defaults"].update(t2i_adapters={"openpose": {"file": str(adapter)}}),
                                 data["pages"][0]["panels"][0].update(pose="standing")))
    result = run_cli("check", str(project), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("defaults.size: the T2I-Adapter defaults.t2i_adapters.openpose needs a generation size in multiples of 16 px "
            "(this panel's is 64x88); give it a `size:` that is") in result.stderr
    assert result.stderr.count("multiples of 16") == 1  # the panel without a pose has no adapter
    _edit(project, lambda data: data["defaults"].update(size=[64, 96]))
    run_cli("check", str(project))


def test_native_and_preview_sizes_of_sdxl_t2i_adapter_panels_are_multiples_of_16(sdxl_file: Path, tmp_path: Path):
    from comicforge.project.load import load_project
    from comicforge.project.resolve import resolve_book
    from comicforge.project.resolve.generation import native_size_at_aspect

    adapter = _adapter(tmp_path / "t2i-adapter-openpose-sdxl-tiny", [32, 64, 128], xl=True)
    project = _project(tmp_path / "xl", sdxl_file)

    def unsized(data):
        del data["defaults"]["size"]
        data["defaults"].update(t2i_adapters={"openpose": {"file": str(adapter)}}, preview={"scale": 0.3})
        data["format"]["margins"] = "0.4in"
        data["pages"] = [{"layout": "grid-1x1", "panels": [{"prompt": "a roof", "pose": "standing"}]}]

    _edit(project, unsized)
    (panel,) = resolve_book(load_project(project / "comic.yaml"), lambda path: "fp")[0].panels
    aspect = (panel.box[2] - panel.box[0]) / (panel.box[3] - panel.box[1])
    assert native_size_at_aspect(1024, aspect)[0] % 16 == 8  # on the 8 px grid this panel would not do
    for request in (panel.request, panel.preview):
        assert request.width % 16 == 0 and request.height % 16 == 0, (request.width, request.height)
    assert abs(panel.request.width / panel.request.height - aspect) < 0.02
