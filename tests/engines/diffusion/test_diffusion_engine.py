import io

import numpy as np
import pytest
import torch
from PIL import Image

from comicforge.spec.samplers import SAMPLER_NAMES
from comicforge.errors import EngineError


def pixels(img):
    return np.asarray(img)


def test_parity_with_plain_diffusers_pipeline(engine, make_request, sd1_file, sd1_config_dir):
    """Plain prompt, no adapters: bit-identical to diffusers' own from_single_file pipeline."""
    import diffusers

    from comicforge.engines.diffusion.schedulers import make_scheduler

    req = make_request(sd1_file, steps=4)
    ours = engine.generate(req)
    ref = diffusers.StableDiffusionPipeline.from_single_file(
        str(sd1_file), config=str(sd1_config_dir), local_files_only=True, safety_checker=None, requires_safety_checker=False
    )
    ref.set_progress_bar_config(disable=True)
    ref.scheduler = make_scheduler(req.sampler, dict(ref.scheduler.config), req.seed)
    theirs = ref(req.prompt, negative_prompt=req.negative, num_inference_steps=4, guidance_scale=req.cfg, height=64,
                 width=64, generator=torch.Generator().manual_seed(req.seed)).images[0]
    assert ours.mode == "RGB" and ours.size == (64, 64)
    assert np.array_equal(pixels(ours), pixels(theirs))


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_every_sampler_runs(engine, make_request, sd1_file, sampler):
    img = engine.generate(make_request(sd1_file, sampler=sampler, steps=3, cfg=1.5 if sampler == "LCM" else 7.0))
    assert img.size == (64, 64)
    assert np.isfinite(pixels(img)).all() and pixels(img).std() > 0


def test_unknown_sampler_lists_valid_names(engine, make_request, sd1_file):
    with pytest.raises(EngineError, match="unknown sampler 'Foo'.*DPM\\+\\+ 2M Karras.*LCM"):
        engine.generate(make_request(sd1_file, sampler="Foo"))


def test_seed_determinism_identical_bytes(engine, make_request, sd1_file):
    def png(img):
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()

    a = engine.generate(make_request(sd1_file, sampler="DPM++ 2M SDE Karras", seed=7))
    b = engine.generate(make_request(sd1_file, sampler="DPM++ 2M SDE Karras", seed=7))
    c = engine.generate(make_request(sd1_file, sampler="DPM++ 2M SDE Karras", seed=8))
    assert png(a) == png(b)
    assert not np.array_equal(pixels(a), pixels(c))


def test_exact_size_non_square(engine, make_request, sd1_file):
    assert engine.generate(make_request(sd1_file, width=96, height=64)).size == (96, 64)
    with pytest.raises(EngineError, match="multiples of 8"):
        engine.generate(make_request(sd1_file, width=60, height=64))


def test_prompt_syntax_changes_conditioning(engine, make_request, sd1_file):
    base = pixels(engine.generate(make_request(sd1_file, prompt="a cat on a roof")))
    weighted = pixels(engine.generate(make_request(sd1_file, prompt="a (cat:1.4) on a [roof]")))
    escaped = pixels(engine.generate(make_request(sd1_file, prompt=r"a \(cat\) on a roof")))
    assert not np.array_equal(base, weighted)
    assert not np.array_equal(base, escaped)


def test_long_prompts_and_break(engine, make_request, sd1_file):
    long = ", ".join(["a very detailed comic panel of a cat on a roof at night"] * 12)
    img = engine.generate(make_request(sd1_file, prompt=long, negative="blurry"))
    broken = engine.generate(make_request(sd1_file, prompt="a cat BREAK on a roof", negative=long))
    assert img.size == broken.size == (64, 64)
    model = next(iter(engine._models.values()))
    cond = engine._conditioning(model, make_request(sd1_file, prompt=long, negative="x"), {}).first_arguments()
    assert cond["prompt_embeds"].shape[1] == cond["negative_prompt_embeds"].shape[1] > 77


def test_clip_skip_changes_output(engine, make_request, sd1_file):
    a = pixels(engine.generate(make_request(sd1_file)))
    b = pixels(engine.generate(make_request(sd1_file, clip_skip=2)))
    assert not np.array_equal(a, b)


def test_sdxl_two_encoders_and_pooled(engine, make_request, sdxl_file):
    req = make_request(sdxl_file, prompt="a (cat:1.2) BREAK " + "roof, " * 50, steps=2)
    img = engine.generate(req)
    assert img.size == (64, 64)
    model = engine._models[req.model.fingerprint]
    cond = engine._conditioning(model, req, {}).first_arguments()
    assert cond["prompt_embeds"].shape == (1, 77 * 3, 64 + 128)  # 1 chunk, BREAK, 100 tokens → 2 chunks
    assert cond["pooled_prompt_embeds"].shape == (1, 128)


def test_sdxl_with_pruned_clip_l_last_layer(tmp_path, make_request):
    import diffusion_tiny as tiny

    from comicforge.engines.diffusion.engine import DiffusionEngine

    sd = {k: v for k, v in tiny.sdxl_state().items()
          if not (k.startswith("conditioner.embedders.0.") and (".layers.11." in k or "final_layer_norm" in k))}
    path = tiny.save(sd, tmp_path / "pruned-sdxl.safetensors")
    eng = DiffusionEngine(device="cpu")
    assert eng.generate(make_request(path, steps=1)).size == (64, 64)


def test_sd2_v_prediction_generates(engine, make_request, sd2v_file):
    img = engine.generate(make_request(sd2v_file, steps=2))
    model = engine._models["fp-" + sd2v_file.name]
    assert model.pipe.scheduler.config.prediction_type == "v_prediction"
    assert img.size == (64, 64)


def test_diffusers_folder_and_ckpt_load_the_same_model(engine, make_request, sd1_file, tmp_path):
    from safetensors.torch import load_file

    from comicforge.engines.diffusion.engine import DiffusionEngine

    expected = pixels(engine.generate(make_request(sd1_file)))
    model = engine._models["fp-" + sd1_file.name]
    folder = tmp_path / "sd1-diffusers"
    model.pipe.save_pretrained(folder)
    ckpt = tmp_path / "sd1.ckpt"
    torch.save({"state_dict": load_file(str(sd1_file))}, ckpt)
    other = DiffusionEngine(device="cpu")
    assert np.array_equal(pixels(other.generate(make_request(folder))), expected)
    assert np.array_equal(pixels(other.generate(make_request(ckpt))), expected)


def test_nan_vae_output_is_redone_in_fp32(engine, make_request, sd1_file, monkeypatch):
    expected = pixels(engine.generate(make_request(sd1_file)))
    model = engine._models["fp-" + sd1_file.name]
    vae = model.pipe.vae
    original = vae.decode
    calls = []

    def nan_decode(z, *a, **k):
        calls.append(1)
        out = original(z, *a, **k)
        return (out[0] * float("nan"),) if len(calls) == 1 else out

    monkeypatch.setattr(vae, "decode", nan_decode)
    model.vae_fp32 = None
    img = engine.generate(make_request(sd1_file))
    monkeypatch.undo()
    assert len(calls) >= 1 and model.vae_fp32 is not None
    assert np.array_equal(pixels(img), expected)
    model.vae_fp32 = None


def test_missing_model_is_clear(engine, make_request, tmp_path):
    with pytest.raises(EngineError, match="not found") as e:
        engine.generate(make_request(tmp_path / "gone.safetensors"))
    assert "gone.safetensors" in str(e.value)


def test_metadata_round_trip_through_png(engine, make_request, sd1_file, tmp_path):
    from PIL.PngImagePlugin import PngInfo

    from comicforge.engines.diffusion.metadata import file_sha256, parse_parameters

    req = make_request(sd1_file, prompt="a (cat:1.2), roof", negative="blurry, ugly", seed=1234, clip_skip=2,
                       sampler="Euler a", cfg=6.5, width=96)
    img = engine.generate(req)
    info = PngInfo()
    info.add_text("parameters", img.info["parameters"])
    img.save(tmp_path / "p.png", pnginfo=info)
    params = parse_parameters(Image.open(tmp_path / "p.png").text["parameters"])
    assert params["Prompt"] == "a (cat:1.2), roof"
    assert params["Negative prompt"] == "blurry, ugly"
    assert params["Steps"] == "3" and params["Sampler"] == "Euler a" and params["CFG scale"] == "6.5"
    assert params["Seed"] == "1234" and params["Size"] == "96x64" and params["Clip skip"] == "2"
    assert params["Model hash"] == file_sha256(sd1_file)[:10]
