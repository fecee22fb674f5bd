"""Depth and normal maps fitted as control images; soft-edge and scribble controls derived from a sketch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from comicforge.control.images import control_image, control_images, outpaint_control_image
from comicforge.control.lineart import scribble_strokes, sketch_to_control, soft_edges
from comicforge.control.maps import FLAT_NORMAL, MapError, depth_control, normal_control
from comicforge.errors import EngineError
from comicforge.spec.files import FileRef
from comicforge.spec.requests import ControlInput, GenerateRequest


def ramp_depth(dtype=np.uint8, top: float = 255) -> np.ndarray:
    """A 120×80 depth map: far (0) on the left rising to near (`top`) on the right, a near box in the middle."""
    values = np.tile(np.linspace(0, top * 0.5, 120), (80, 1))
    values[20:60, 40:80] = top
    return values.astype(dtype)


def sketch(tmp_path: Path) -> Path:
    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(20, 100), (180, 100)], fill=0, width=5)
    image.save(tmp_path / "sketch.png")
    return tmp_path / "sketch.png"


def test_depth_is_fitted_near_light_and_any_bit_depth_gives_the_same_image(tmp_path: Path) -> None:
    Image.fromarray(ramp_depth()).save(tmp_path / "d8.png")
    Image.fromarray(ramp_depth(np.uint16, 65535)).save(tmp_path / "d16.png")
    assert Image.open(tmp_path / "d16.png").mode.startswith("I")
    eight, sixteen = (np.asarray(depth_control(tmp_path / name, 96, 96)) for name in ("d8.png", "d16.png"))
    assert np.abs(eight.astype(int) - sixteen.astype(int)).max() <= 1  # 16-bit scaled over its range, like 8-bit
    assert eight.shape == (96, 96, 3) and eight[0, 48].tolist() == [0, 0, 0]  # 3:2 map fitted inside a square: black (far) bars
    assert eight[48, 48, 0] == 255 and eight[48, 2, 0] < 20  # the near box white, the far edge dark


def test_flat_depth_and_grey_normal_maps_are_refused_naming_the_file(tmp_path: Path) -> None:
    Image.new("L", (40, 40), 128).save(tmp_path / "flat.png")
    with pytest.raises(MapError, match=r"flat\.png: the depth map is flat"):
        depth_control(tmp_path / "flat.png", 64, 64)
    Image.fromarray(ramp_depth()).convert("RGB").save(tmp_path / "grey.png")
    with pytest.raises(MapError, match=r"grey\.png: not a normal map"):
        normal_control(tmp_path / "grey.png", 64, 64)


def test_normal_map_is_fitted_with_the_flat_normal(tmp_path: Path) -> None:
    normals = np.zeros((40, 80, 3), np.uint8)
    normals[..., 0], normals[..., 1], normals[..., 2] = 200, 90, 230
    Image.fromarray(normals).save(tmp_path / "normal.png")
    image = np.asarray(normal_control(tmp_path / "normal.png", 64, 64))
    assert image[32, 32].tolist() == [200, 90, 230] and image[0, 32].tolist() == list(FLAT_NORMAL)


def test_soft_edges_are_wider_and_graded_scribbles_thick_and_binary(tmp_path: Path) -> None:
    lines = sketch_to_control(Image.open(sketch(tmp_path)), 128, 128)
    soft, scribble = np.asarray(soft_edges(lines))[..., 0], np.asarray(scribble_strokes(lines))[..., 0]
    line_rows = (np.asarray(lines)[:, 64, 0] >= 128).sum()
    assert soft.max() == 255 and (soft[:, 64] > 0).sum() > line_rows + 2  # wider than the drawn line
    assert len(np.unique(soft[:, 64])) > 4  # a soft falloff, not a step
    assert set(np.unique(scribble)) == {0, 255} and (scribble[:, 64] == 255).sum() > line_rows  # binary and thicker


def test_request_control_images_for_every_kind(tmp_path: Path) -> None:
    Image.fromarray(ramp_depth()).save(tmp_path / "depth.png")
    source = FileRef(str(sketch(tmp_path)), "fp")
    depth = FileRef(str(tmp_path / "depth.png"), "fp2")
    controls = (ControlInput("lineart", None, source=source), ControlInput("softedge", None, source=source),
                ControlInput("scribble", None, source=source), ControlInput("depth", None, source=depth),
                ControlInput("sketch", None, source=source, network="t2i-adapter"))
    images = control_images(GenerateRequest("p1", "x", "", 1, 64, 48, controls=controls))
    assert list(images) == ["lineart", "softedge", "scribble", "depth", "sketch"]
    assert all(image.size == (64, 48) and image.mode == "RGB" for image in images.values())
    with pytest.raises(EngineError, match="panel p1: a depth control needs its depth image"):
        control_images(GenerateRequest("p1", "x", "", 1, 64, 48, controls=(ControlInput("depth", None),)))


def test_an_outpaint_canvas_extends_the_panels_control_images(tmp_path: Path) -> None:
    """The panel's own control image sits where the panel sits on the canvas (not refitted to it); the rest is nothing."""
    Image.fromarray(ramp_depth()).save(tmp_path / "depth.png")
    normals = np.full((40, 60, 3), (200, 90, 230), np.uint8)
    Image.fromarray(normals).save(tmp_path / "normal.png")
    panel = GenerateRequest("p1", "x", "", 1, 64, 48)
    canvas = GenerateRequest("p1", "x", "", 1, 96, 64)
    frame = (24, 8, 64, 48)  # extended 0.375 left, 1/6 top and bottom
    for kind, name, padding in (("depth", "depth.png", (0, 0, 0)), ("normal", "normal.png", FLAT_NORMAL), ("softedge", str(sketch(tmp_path)), (0, 0, 0))):
        control = ControlInput(kind, None, source=FileRef(str(tmp_path / name), "fp-" + kind))
        extended = np.asarray(outpaint_control_image(canvas, control, frame))
        assert extended.shape == (64, 96, 3)
        assert np.array_equal(extended[8:56, 24:88], np.asarray(control_image(panel, control))), kind
        outside = np.ones((64, 96), bool)
        outside[8:56, 24:88] = False
        assert (extended[outside] == padding).all(), kind
