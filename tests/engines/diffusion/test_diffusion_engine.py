import io

import numpy as np
import pytest
import torch
from PIL import Image

from comicforge.spec.samplers import SAMPLER_NAMES
from comicforge.errors import EngineError


def pixels(img):
    return np.asarray(img)


# A1111 name → (diffusers class, options) as diffusers documents them (docs/source/en/api/schedulers/overview.md,
# "A1111/k-diffusion ↔ Diffusers"); DDIM, UniPC and LCM are diffusers' own samplers, named as such. One departure:
# the table offers the deterministic DPMSolverSinglestepScheduler for "DPM++ SDE Karras", but A1111's sampler is
# k-diffusion's stochastic sample_dpmpp_sde, which diffusers ports as DPMSolverSDEScheduler (it needs torchsde).
DOCUMENTED = {
    "DPM++ 2M Karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler", {}),
    "DPM++ 2M SDE Karras": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++", "use_karras_sigmas": True}),
    "DPM++ SDE Karras": ("DPMSolverSDEScheduler", {"use_karras_sigmas": True}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "Euler": ("EulerDiscreteScheduler", {}),
    "DDIM": ("DDIMScheduler", {}),
    "UniPC": ("UniPCMultistepScheduler", {}),
    "Heun": ("HeunDiscreteScheduler", {}),
    "LMS Karras": ("LMSDiscreteScheduler", {"use_karras_sigmas": True}),
    "LCM": ("LCMScheduler", {}),
}
KARRAS = {"use_karras_sigmas": True}
OFF_BY_DEFAULT = {"use_karras_sigmas": False, "algorithm_type": "dpmsolver++"}  # what the plain names must keep


@pytest.fixture(scope="module")
def plain_pipeline(sd1_file, sd1_config_dir):
    """diffusers' own single-file pipeline on the tiny checkpoint, nothing of ours in it."""
    import diffusers

    pipe = diffusers.StableDiffusionPipeline.from_single_file(
        str(sd1_file), config=str(sd1_config_dir), local_files_only=True, safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe, dict(pipe.scheduler.config)  # the checkpoint's own noise schedule, before any sampler replaces it


def _plain(plain, req, scheduler):
    pipe, _ = plain
    pipe.scheduler = scheduler
    return pipe(req.prompt, negative_prompt=req.negative, num_inference_steps=req.steps, guidance_scale=req.cfg,
                height=req.height, width=req.width, generator=torch.Generator().manual_seed(req.seed)).images[0]


def _documented_scheduler(plain, name: str, seed: int):
    import diffusers

    cls, options = DOCUMENTED[name]
    extra = {"noise_sampler_seed": seed} if cls == "DPMSolverSDEScheduler" else {}
    return getattr(diffusers, cls).from_config(plain[1], **options, **extra)


def test_parity_with_plain_diffusers_pipeline(engine, make_request, sd1_file, plain_pipeline):
    """Plain prompt, no adapters, the default sampler: bit-identical to diffusers' own from_single_file pipeline."""
    req = make_request(sd1_file, steps=4)
    ours = engine.generate(req)
    theirs = _plain(plain_pipeline, req, _documented_scheduler(plain_pipeline, req.sampler, req.seed))
    assert ours.mode == "RGB" and ours.size == (64, 64)
    assert np.array_equal(pixels(ours), pixels(theirs))


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_sampler_table_is_diffusers_documented_equivalent(engine, make_request, sd1_file, plain_pipeline, sampler):
    """Each A1111 name → the documented diffusers class and options, and the same pixels as that scheduler."""
    from comicforge.engines.diffusion.schedulers import base_scheduler_config, has_torchsde, make_scheduler

    cls, options = DOCUMENTED[sampler]
    ours = make_scheduler(sampler, base_scheduler_config("epsilon"), 42)
    expected = {**{k: v for k, v in OFF_BY_DEFAULT.items() if k in ours.config}, **options}
    assert {k: ours.config[k] for k in expected} == expected
    req = make_request(sd1_file, sampler=sampler, steps=3, cfg=1.5 if sampler == "LCM" else 7.0)
    image = pixels(engine.generate(req))
    if cls == "DPMSolverSDEScheduler" and not has_torchsde():
        assert type(ours).__name__ == "BrownianDPMSolverSDEScheduler"  # our sample_dpmpp_sde without torchsde
        _assert_k_diffusion_karras_sigmas(ours)
        other_seed = pixels(engine.generate(make_request(sd1_file, sampler=sampler, steps=3, seed=43)))
        assert np.isfinite(image).all() and not np.array_equal(image, other_seed)
        return
    assert type(ours).__name__ == cls
    theirs = _plain(plain_pipeline, req, _documented_scheduler(plain_pipeline, sampler, req.seed))
    assert np.array_equal(image, pixels(theirs))


def _assert_k_diffusion_karras_sigmas(scheduler, steps: int = 5, rho: float = 7.0):
    """k-diffusion's get_sigmas_karras over the model's whole trained range (as A1111 samples), then a final 0."""
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000) ** 2
    trained = np.sqrt((1 - np.cumprod(1 - betas)) / np.cumprod(1 - betas))
    low, high = trained[0] ** (1 / rho), trained[-1] ** (1 / rho)
    expected = (high + np.linspace(0, 1, steps) * (low - high)) ** rho
    scheduler.set_timesteps(steps)
    assert np.allclose(scheduler.sigmas.numpy(), [*expected, 0.0], rtol=1e-6)


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
    model = engine._models["fp-" + sd1_file.name]
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


def test_sdxl_with_pruned_clip_l_last_layer(engine, make_request, sdxl_file, tmp_path):
    """SDXL reads CLIP-L's penultimate layer, so a file without the last layer gives the very same pixels."""
    import diffusion_tiny as tiny

    from comicforge.engines.diffusion.engine import DiffusionEngine

    sd = {k: v for k, v in tiny.sdxl_state().items()
          if not (k.startswith("conditioner.embedders.0.") and (".layers.11." in k or "final_layer_norm" in k))}
    path = tiny.save(sd, tmp_path / "pruned-sdxl.safetensors")
    full = pixels(engine.generate(make_request(sdxl_file, steps=1)))
    pruned = DiffusionEngine(device="cpu").generate(make_request(path, steps=1))
    assert pruned.size == (64, 64) and np.array_equal(pixels(pruned), full)


def test_sd2_v_prediction_generates(engine, make_request, sd2v_file):
    """The v checkpoint denoises as v-prediction: diffusers' loop on the same weights, v scheduler → same pixels."""
    import diffusers

    req = make_request(sd2v_file, steps=2)
    ours = pixels(engine.generate(req))
    loaded = engine._models["fp-" + sd2v_file.name].pipe
    plain = diffusers.StableDiffusionPipeline(**{**loaded.components, "scheduler": None})
    plain.set_progress_bar_config(disable=True)
    schedule = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
                "steps_offset": 1, "timestep_spacing": "leading"}  # SD 2.1's published scheduler_config.json

    def run(prediction: str):
        scheduler = diffusers.DPMSolverMultistepScheduler(**schedule, prediction_type=prediction, use_karras_sigmas=True)
        return pixels(_plain((plain, None), req, scheduler))

    assert np.array_equal(ours, run("v_prediction"))
    assert not np.array_equal(ours, run("epsilon"))


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


@pytest.mark.parametrize("failure", ["nan", "black"])
def test_nan_or_black_vae_output_is_redone_in_fp32(engine, make_request, sd1_file, monkeypatch, failure):
    expected = pixels(engine.generate(make_request(sd1_file)))
    model = engine._models["fp-" + sd1_file.name]
    vae = model.pipe.vae
    original = vae.decode
    calls = []

    def broken_decode(z, *a, **k):
        calls.append(1)
        out = original(z, *a, **k)
        if len(calls) > 1:
            return out
        return (out[0] * float("nan"),) if failure == "nan" else (out[0] * 0 - 1,)  # -1 everywhere: an all-black image

    monkeypatch.setattr(vae, "decode", broken_decode)
    model.vae_fp32 = None
    img = engine.generate(make_request(sd1_file))
    monkeypatch.undo()
    assert calls and model.vae_fp32 is not None  # redone on an fp32 copy of the VAE
    assert np.array_equal(pixels(img), expected)
    model.vae_fp32 = None


def test_attention_slicing_engages_and_changes_pixels_only_by_rounding(engine, make_request, sd1_file):
    plain = pixels(engine.generate(make_request(sd1_file))).astype(np.int16)
    sliced = pixels(engine.generate(make_request(sd1_file, options=(("attention_slicing", "true"),)))).astype(np.int16)
    processors = {type(p).__name__ for p in engine._models["fp-" + sd1_file.name].pipe.unet.attn_processors.values()}
    assert processors == {"SlicedAttnProcessor"}  # (the next request without it switches back)
    assert np.abs(sliced - plain).max() <= 1  # the same sums in another order: float rounding, no more


@pytest.mark.parametrize(("options", "tiled"), [((), False), ((("vae_tiling", "true"),), True), ((("vae_tiling", "false"),), False)])
def test_vae_tiling_follows_the_option(engine, make_request, sd1_file, options, tiled):
    from comicforge.engines.diffusion.engine import RunSettings

    engine.generate(make_request(sd1_file, steps=1))
    model = engine._models["fp-" + sd1_file.name]
    settings = RunSettings.from_request(make_request(sd1_file, options=options), "cpu")
    engine._decode(model, torch.zeros(1, 4, 8, 8), settings)  # 64² is far below 4× native: never automatic
    assert model.pipe.vae.use_tiling is tiled


def test_offload_on_the_cpu_changes_nothing(make_request, sd1_file, engine):
    """On the CPU there is nowhere to offload to (accelerate's sequential offload used to fail on meta tensors)."""
    from comicforge.engines.diffusion.engine import DiffusionEngine

    expected = pixels(engine.generate(make_request(sd1_file)))
    offloaded = DiffusionEngine(device="cpu").generate(make_request(sd1_file, options=(("offload", "sequential"),)))
    assert np.array_equal(pixels(offloaded), expected)


@pytest.mark.gpu
@pytest.mark.parametrize("offload", ["model", "sequential"])
def test_offload_on_cuda_gives_the_same_pixels(make_request, sd1_file, offload):
    from comicforge.engines.diffusion.engine import DiffusionEngine

    fp32 = (("precision", "fp32"),)
    expected = pixels(DiffusionEngine(device="cuda").generate(make_request(sd1_file, options=fp32)))
    offloaded = DiffusionEngine(device="cuda").generate(make_request(sd1_file, options=(*fp32, ("offload", offload))))
    assert np.array_equal(pixels(offloaded), expected)


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


def test_create_engine_by_name():
    from comicforge.engines.registry import create_engine

    eng = create_engine("diffusion")
    assert eng.name == "diffusion" and eng.version.startswith("diffusion-")
