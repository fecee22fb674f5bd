"""The draft engine: the engine contract, determinism, and drawing from its inputs."""

from __future__ import annotations

import dataclasses

import numpy as np

from comicforge.control.pose import place_pose, preset_pose
from comicforge.engines.protocol import Engine
from comicforge.engines.registry import create_engine
from comicforge.spec.codec import decode
from comicforge.spec.requests import CharacterLook, GenerateRequest

REQUEST = GenerateRequest(
    panel_id="p1.1", prompt="mira on a rooftop", negative="", seed=7, width=320, height=240,
    characters=(CharacterLook("mira", ("#c0392b", "#f5d0a9")),),
    poses=(place_pose(preset_pose("standing"), panel_aspect=320 / 240, who="mira"),), label="rooftop",
)


def test_draft_implements_the_engine_contract():
    engine = create_engine("draft")
    assert isinstance(engine, Engine)
    image = engine.generate(REQUEST)
    assert image.size == (320, 240) and image.mode == "RGB"
    assert "Seed: 7" in image.info["parameters"]


def test_same_request_same_bytes_other_seed_other_image():
    engine = create_engine("draft")
    first, again = np.asarray(engine.generate(REQUEST)), np.asarray(engine.generate(REQUEST))
    assert np.array_equal(first, again)
    other = np.asarray(engine.generate(dataclasses.replace(REQUEST, seed=8)))
    assert not np.array_equal(first, other)


def test_figure_drawn_in_the_character_colour():
    pixels = np.asarray(create_engine("draft").generate(REQUEST)).reshape(-1, 3)
    assert (np.abs(pixels.astype(int) - (192, 57, 43)).sum(axis=1) < 10).sum() > 200


def test_request_survives_its_json_form():
    assert decode(GenerateRequest, dataclasses.asdict(REQUEST)) == REQUEST


def test_inpaint_keeps_pixels_outside_the_mask():
    from comicforge.spec.requests import Inpaint, Outpaint, Upscale

    engine = create_engine("draft")
    image = engine.generate(REQUEST)
    step = Inpaint(strength=1.0, seed=99, prompt="other", rects=((0.5, 0.5, 0.5, 0.5),))
    out = np.asarray(engine.refine(REQUEST, image, step))
    before = np.asarray(image)
    assert np.array_equal(out[:120], before[:120]) and np.array_equal(out[:, :160], before[:, :160])
    assert not np.array_equal(out[120:, 160:], before[120:, 160:])


def test_outpaint_and_upscale_sizes():
    from comicforge.spec.requests import Inpaint, Outpaint, Upscale

    engine = create_engine("draft")
    image = engine.generate(REQUEST)
    wider = engine.refine(REQUEST, image, Outpaint(extend=(0.25, 0.0, 0.25, 0.0)))
    assert wider.size == (480, 240)
    assert np.array_equal(np.asarray(wider)[:, 80:400], np.asarray(image))
    assert engine.refine(REQUEST, image, Upscale(width=640, height=480)).size == (640, 480)


def test_a_depth_map_shades_the_storyboard(tmp_path):
    """Near = light in the map: near surfaces (the figure's side) darken, far ones fade toward the paper."""
    from PIL import Image

    from comicforge.spec.files import FileRef
    from comicforge.spec.requests import ControlInput

    depth = np.zeros((240, 320), np.uint8)
    depth[:, :160] = 255  # the left half near, the right half far
    Image.fromarray(depth).save(tmp_path / "depth.png")
    shaded_request = dataclasses.replace(REQUEST, controls=(ControlInput("depth", None, source=FileRef(str(tmp_path / "depth.png"), "fp")),))
    plain = np.asarray(create_engine("draft").generate(REQUEST).convert("L"), dtype=float)
    shaded = np.asarray(create_engine("draft").generate(shaded_request).convert("L"), dtype=float)
    rows = slice(0, 180)  # above the label box
    assert shaded[rows, :160].mean() < plain[rows, :160].mean() - 40  # near: darker, figure included
    assert shaded[rows, 160:].mean() > plain[rows, 160:].mean()  # far: paler
