"""Several characters in one panel on the tiny real-key SD 1.5: each character's LoRA acts in its own region."""

import numpy as np
import pytest
import torch

import diffusion_control_tiny as ctiny
import diffusion_tiny as tiny
from comicforge.control.pose import preset_pose
from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.requests import ControlInput, Region
from test_diffusion_adapters import kohya_sd15_lora
from test_diffusion_control import ip_adapter_file  # noqa: F401 (a fixture)
from test_diffusion_t2i import adapter, adapters  # noqa: F401 (a fixture)


@pytest.fixture(scope="module")
def two_loras(tmp_path_factory):
    folder = tmp_path_factory.mktemp("region-loras")
    return [tiny.save(kohya_sd15_lora(seed=seed), folder / f"{name}.safetensors") for seed, name in ((1, "hero"), (2, "villain"))]


def _lora(path):
    return (AdapterRef(FileRef(str(path), "fp-" + path.name)),)


def _two_characters(make_request, model, loras, left=True, right=True, width=128, **kw):
    regions = (Region("hero", (0.0, 0.0, 0.5, 1.0), "hero, a cat on a roof", _lora(loras[0]) if left else ()),
               Region("villain", (0.5, 0.0, 0.5, 1.0), "villain, a dog on a roof", _lora(loras[1]) if right else ()))
    return make_request(model, prompt="hero, villain, a roof", scene="a roof", regions=regions, width=width, height=64, **kw)


def _halves(a, b):
    change = np.abs(np.asarray(a, float) - np.asarray(b, float)).mean(axis=2)
    half = change.shape[1] // 2
    return change[:, :half].mean(), change[:, half:].mean()


def test_switching_one_characters_lora_off_changes_its_own_region_at_least_twice_as_much(engine, make_request, sd1_file, two_loras):
    both = engine.generate(_two_characters(make_request, sd1_file, two_loras))
    no_villain = engine.generate(_two_characters(make_request, sd1_file, two_loras, right=False))
    no_hero = engine.generate(_two_characters(make_request, sd1_file, two_loras, left=False))
    left, right = _halves(both, no_villain)
    assert right > 0 and right >= 2 * left, (left, right)
    left, right = _halves(both, no_hero)
    assert left > 0 and left >= 2 * right, (left, right)


def test_region_prompt_steers_its_own_region_and_the_key_fields_change_the_image(engine, make_request, sd1_file, two_loras):
    base = np.asarray(engine.generate(_two_characters(make_request, sd1_file, two_loras, left=False, right=False)))
    request = _two_characters(make_request, sd1_file, two_loras, left=False, right=False)
    moved = request.__class__(**{**request.__dict__, "regions": (request.regions[0], Region("villain", (0.5, 0.0, 0.5, 1.0), "(a red fire truck:1.4) BREAK night"))})
    changed = np.asarray(engine.generate(moved))
    assert not np.array_equal(base, changed)
    assert "Regions: \"hero: 0.000 0.000 0.500 1.000; villain:" in engine.generate(moved).info["parameters"]


def test_masked_cross_attention_gives_each_cell_its_regions_prompt():
    """Cells inside a region attend exactly as plain attention over that region's embedding; the rest over the scene's."""
    from diffusers.models.attention_processor import Attention, AttnProcessor2_0

    from comicforge.engines.diffusion.regions import RegionalCrossAttention, RegionLayout

    torch.manual_seed(0)
    attn = Attention(query_dim=32, cross_attention_dim=16, heads=2, dim_head=8, processor=AttnProcessor2_0())
    span, height, width = 5, 4, 8
    scene, region = torch.randn(2, span, 16), torch.randn(2, span, 16)
    cells = torch.randn(2, height * width, 32)

    class Run:
        layout = RegionLayout(((0.5, 0.0, 0.5, 1.0),), (height, width), span)

    masked = RegionalCrossAttention(AttnProcessor2_0(), Run())(attn, cells, torch.cat([scene, region], dim=1))
    plain_scene = AttnProcessor2_0()(attn, cells, scene).reshape(2, height, width, 32)
    plain_region = AttnProcessor2_0()(attn, cells, region).reshape(2, height, width, 32)
    masked = masked.reshape(2, height, width, 32)
    torch.testing.assert_close(masked[:, :, :4], plain_scene[:, :, :4])
    torch.testing.assert_close(masked[:, :, 4:], plain_region[:, :, 4:])


def test_a_panel_whose_regions_carry_no_loras_runs_one_unet_pass(engine, make_request, sd1_file, two_loras):
    calls = []
    engine.generate(make_request(sd1_file))  # load
    unet = engine._models["fp-" + sd1_file.name].pipe.unet
    forward = unet.forward

    def counted(*args, **kwargs):
        calls.append(1)
        return forward(*args, **kwargs)

    unet.forward = counted  # every UNet evaluation, the crop passes' included (they bypass the hooks)
    try:
        engine.generate(_two_characters(make_request, sd1_file, two_loras, left=False, right=False, steps=2))
        plain = len(calls)
        calls.clear()
        engine.generate(_two_characters(make_request, sd1_file, two_loras, steps=2))
    finally:
        del unet.forward
    assert plain == 2 and len(calls) == 4  # 2 steps; with two LoRA regions covering the panel: one crop pass each


def test_characters_with_loras_for_different_families_are_a_located_error_at_check(tmp_path, two_loras):
    import yaml
    from support import run_cli

    tiny.save(kohya_sd15_lora(unet_width=2048), tmp_path / "xl.safetensors")  # SDXL's cross-attention width
    book = {"title": "Families", "characters": {"mira": {"loras": [{"file": str(two_loras[0])}]}, "ren": {"loras": [{"file": "xl.safetensors"}]}},
            "pages": [{"layout": "grid-1x1", "panels": [{"prompt": "a roof", "characters": ["mira", "ren"]}]}]}
    (tmp_path / "comic.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    result = run_cli("check", str(tmp_path), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "pages[0].panels[0].characters[1]: ren's LoRA xl.safetensors is for SDXL but mira's hero.safetensors is for a model with cross-attention width 64" in result.stderr  # the tiny width


def test_draft_and_control_show_the_regions(tmp_path):
    from comicforge.control.regions import regions_image
    from comicforge.engines.draft import DraftEngine
    from comicforge.spec.requests import CharacterLook, GenerateRequest

    regions = (Region("mira", (0.0, 0.0, 0.5, 1.0), "mira"), Region("ren", (0.5, 0.0, 0.5, 1.0), "ren"))
    looks = (CharacterLook("mira", ("#ff0000",)), CharacterLook("ren", ("#0000ff",)))
    request = GenerateRequest(panel_id="p", prompt="a roof", negative="", seed=1, width=160, height=80, characters=looks, regions=regions)
    masks = np.asarray(regions_image(request))
    assert (masks[:, :80] == (255, 0, 0)).all() and (masks[:, 80:] == (0, 0, 255)).all()
    framed = np.asarray(DraftEngine().generate(request))
    plain = np.asarray(DraftEngine().generate(request.__class__(**{**request.__dict__, "regions": ()})))
    assert (framed[2, :78] == (255, 0, 0)).all(axis=1).sum() > 20 and (framed[2, 82:] == (0, 0, 255)).all(axis=1).sum() > 20
    assert not np.array_equal(framed, plain)


def test_lora_regions_with_a_controlnet_and_a_t2i_adapter_crop_their_residuals(engine, make_request, sd1_file, two_loras,
                                                                                adapters, models_dir):
    net = tiny.save(ctiny.controlnet_sd15_state(seed=1), models_dir / "control_v11p_tiny_openpose.safetensors")
    pose_net = ControlInput("openpose", FileRef(str(net), "fp-" + net.name), weight=0.8)

    def posed(*controls):
        return _two_characters(make_request, sd1_file, two_loras, poses=(preset_pose("standing"),), controls=(pose_net, *controls))

    net_only = np.asarray(engine.generate(posed()))
    zero = np.asarray(engine.generate(posed(adapter("openpose", adapters["sd1"], 0.0))))
    both = np.asarray(engine.generate(posed(adapter("openpose", adapters["sd1"]))))
    assert np.array_equal(net_only, zero)  # each crop pass got its own cut of the adapter's features (zeros here)
    assert not np.array_equal(net_only, both)


def _reference(folder, name, colour):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (48, 40), colour)
    ImageDraw.Draw(image).ellipse([8, 6, 40, 34], fill=(255 - colour[0], 255 - colour[1], 255 - colour[2]))
    image.save(folder / f"{name}.png")
    return AdapterRef(FileRef(str(folder / f"{name}.png"), f"fp-{name}.png"), 0.8)


def test_each_characters_references_steer_its_own_region(engine, make_request, sd1_file, two_loras, ip_adapter_file, tmp_path):
    import dataclasses

    mira, ren, other = (_reference(tmp_path, n, c) for n, c in (("mira", (200, 40, 30)), ("ren", (20, 60, 210)), ("kai", (30, 200, 60))))

    def referenced(left_ref, right_ref):
        request = _two_characters(make_request, sd1_file, two_loras, left=False, right=False, ip_adapter=FileRef(str(ip_adapter_file), "fp-ip"))
        left, right = request.regions
        regions = (dataclasses.replace(left, references=(left_ref,)), dataclasses.replace(right, references=(right_ref,)))
        return dataclasses.replace(request, regions=regions, references=(left_ref, right_ref))

    base = engine.generate(referenced(mira, ren))
    left, right = _halves(base, engine.generate(referenced(other, ren)))  # mira's reference swapped
    assert left > 0 and left >= 2 * right, (left, right)
    left, right = _halves(base, engine.generate(referenced(mira, other)))  # ren's
    assert right > 0 and right >= 2 * left, (left, right)
    assert "IP-Adapter weight: 0.8" in base.info["parameters"]


def test_an_edit_steps_prompt_replaces_every_regions_prompt(engine, make_request, sd1_file, two_loras):
    from comicforge.spec.requests import Img2Img

    request = _two_characters(make_request, sd1_file, two_loras)
    image = engine.generate(request)
    truck = engine.refine(request, image, Img2Img(strength=0.8, prompt="a red fire truck"))
    sky = engine.refine(request, image, Img2Img(strength=0.8, prompt="a blue sky, night"))
    left, right = _halves(truck, sky)
    assert left > 0 and right > 0  # both regions follow the step's prompt (they kept their own before)
