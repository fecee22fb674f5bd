"""`DiffusionEngine.refine`: img2img, inpaint (kept pixels exact), outpaint, upscale, and their bad inputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from comicforge.engines.diffusion.metadata import parse_parameters
from comicforge.errors import EngineError
from comicforge.spec.files import FileRef
from comicforge.spec.requests import Img2Img, Inpaint, Outpaint, Upscale

CENTRE = ((0.25, 0.25, 0.5, 0.5),)  # x, y, w, h in panel fractions


def ref(path: Path) -> FileRef:
    return FileRef(str(path), "fp-" + path.name)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


@pytest.fixture
def panel(engine, make_request, sd1_file):
    request = make_request(sd1_file, steps=4)
    return request, engine.generate(request)


def centre_mask(size: int = 64) -> np.ndarray:
    inside = np.zeros((size, size), bool)
    inside[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = True
    return inside


def test_img2img_strength_zero_keeps_the_image_and_more_repaints(engine, panel):
    request, image = panel
    kept = engine.refine(request, image, Img2Img(strength=0.0))
    assert np.array_equal(pixels(kept), pixels(image))
    refined = engine.refine(request, image, Img2Img(strength=0.5))
    assert refined.size == (64, 64) and np.abs(pixels(refined) - pixels(image)).max() > 0
    params = parse_parameters(refined.info["parameters"])
    assert params["Denoising strength"] == "0.5" and params["Seed"] == str(request.seed)


def test_img2img_is_seeded_from_the_step(engine, panel):
    request, image = panel
    a = pixels(engine.refine(request, image, Img2Img(strength=0.5, seed=3)))
    b = pixels(engine.refine(request, image, Img2Img(strength=0.5, seed=3)))
    c = pixels(engine.refine(request, image, Img2Img(strength=0.5, seed=4)))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_inpaint_keeps_every_pixel_outside_the_mask(engine, panel):
    request, image = panel
    out = pixels(engine.refine(request, image, Inpaint(strength=0.9, rects=CENTRE)))
    inside = centre_mask()
    assert np.array_equal(out[~inside], pixels(image)[~inside])  # exact: the original is pasted back
    assert np.abs(out[inside] - pixels(image)[inside]).max() > 0


def test_inpaint_mask_file_of_another_size_but_same_aspect(engine, panel, tmp_path):
    request, image = panel
    drawn = Image.new("L", (128, 128), 0)
    drawn.paste(255, (32, 32, 96, 96))
    drawn.save(tmp_path / "mask.png")
    out = pixels(engine.refine(request, image, Inpaint(strength=0.9, mask=ref(tmp_path / "mask.png"))))
    assert np.array_equal(out[~centre_mask()], pixels(image)[~centre_mask()])


def test_empty_mask_changes_nothing(engine, panel):
    request, image = panel
    assert np.array_equal(pixels(engine.refine(request, image, Inpaint(strength=1.0))), pixels(image))


def test_outpaint_grows_the_canvas_and_keeps_the_original_in_place(engine, panel):
    request, image = panel
    out = engine.refine(request, image, Outpaint(extend=(0.25, 0.0, 0.25, 0.125)))
    assert out.size == (96, 72)  # 64·1.5 × 64·1.125; 72 is a multiple of 8, 96 too
    assert np.array_equal(pixels(out)[:64, 16:80], pixels(image))
    resized = engine.refine(request, image, Outpaint(extend=(0.0, 0.5, 0.0, 0.0), width=50, height=75))
    assert resized.size == (50, 75)


def test_upscale_is_lanczos_then_img2img_at_the_strength(engine, panel):
    """Upscale = Lanczos to the print size, then img2img: no step at a tiny strength, img2img on that image otherwise."""
    request, image = panel
    lanczos = pixels(image.resize((100, 76), Image.Resampling.LANCZOS))
    kept = engine.refine(request, image, Upscale(strength=0.2, width=100, height=76))  # 4 × 0.2 → 0 steps
    assert kept.size == (100, 76) and kept.mode == "RGB" and np.array_equal(pixels(kept), lanczos)
    out = engine.refine(request, image, Upscale(strength=0.5, width=100, height=76))
    assert out.size == (100, 76) and parse_parameters(out.info["parameters"])["Size"] == "100x76"
    assert not np.array_equal(pixels(out), lanczos)  # the sampler ran, from the Lanczos image: the same as img2img on it
    repainted = engine.refine(request, Image.fromarray(lanczos.astype(np.uint8)), Img2Img(strength=0.5))
    assert np.array_equal(pixels(out), pixels(repainted))


@pytest.mark.skipif(importlib.util.find_spec("spandrel") is not None, reason="spandrel is installed")
def test_upscaler_model_without_spandrel_is_a_clear_error(engine, panel, tmp_path):
    request, image = panel
    step = Upscale(strength=0.2, width=128, height=128, model=ref(tmp_path / "4x-UltraSharp.pth"))
    with pytest.raises(EngineError, match=r"4x-UltraSharp\.pth: upscaler models need the optional package spandrel"):
        engine.refine(request, image, step)


def test_bad_refine_inputs_name_their_file(engine, panel, tmp_path):
    request, image = panel
    Image.new("L", (128, 64), 255).save(tmp_path / "wide-mask.png")
    with pytest.raises(EngineError, match=r"wide-mask\.png: inpaint mask is 128x64, not the panel's aspect"):
        engine.refine(request, image, Inpaint(mask=ref(tmp_path / "wide-mask.png")))
    (tmp_path / "init.png").write_bytes(b"garbage")
    with pytest.raises(EngineError, match=r"init\.png: not an image in a format we read"):
        engine.refine(request, image, Img2Img(init=ref(tmp_path / "init.png")))
    with pytest.raises(EngineError, match="outpaint needs `extend`"):
        engine.refine(request, image, Outpaint())


def test_sdxl_inpaint(engine, make_request, sdxl_file):
    request = make_request(sdxl_file, steps=2)
    image = engine.generate(request)
    out = pixels(engine.refine(request, image, Inpaint(strength=1.0, rects=CENTRE)))
    assert np.array_equal(out[~centre_mask()], pixels(image)[~centre_mask()])
    assert np.abs(out[centre_mask()] - pixels(image)[centre_mask()]).max() > 0


def test_refine_steps_follow_the_prompt_schedule(engine, panel):
    request, image = panel
    run = lambda prompt: pixels(engine.refine(request, image, Img2Img(strength=0.75, prompt=prompt)))  # noqa: E731
    assert np.array_equal(run("[a cat:a dog:4]"), run("a cat"))
    assert not np.array_equal(run("[a cat:a dog:1]"), run("a cat"))
    assert np.abs(run("a cat AND a dog") - run("a cat")).max() > 0
    inpainted = engine.refine(request, image, Inpaint(strength=0.9, rects=CENTRE, prompt="[a cat|a dog] AND a hat :0.5"))
    assert inpainted.size == image.size
