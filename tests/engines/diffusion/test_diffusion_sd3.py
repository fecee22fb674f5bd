"""SD3/3.5 single files in the original layout: detection, parity with diffusers' own loader, flow samplers, LoRAs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import diffusion_sd3_tiny as tiny3
import diffusion_tiny as tiny
from comicforge.errors import EngineError
from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.requests import ControlInput, Img2Img
from comicforge.weights.checkpoint import detect_model


def ref(path: Path) -> FileRef:
    return FileRef(str(path), "fp-" + path.name)


@pytest.fixture(scope="module")
def sd3_file(models_dir) -> Path:
    path = models_dir / "tiny-sd35.safetensors"
    return path if path.exists() else tiny.save(tiny3.sd3_state(), path)


def sd3_request(make_request, model: Path, **kw):
    return make_request(model, **{"sampler": "Euler", "cfg": 5.0, **kw})


def pixels(image) -> np.ndarray:
    return np.asarray(image)


def test_detected_from_the_original_keys_and_model_only_files_refused(sd3_file, tmp_path):
    info = detect_model(sd3_file)
    assert (info.family, info.native_size, info.prediction, info.context_dim) == ("sd3", 1024, "flow", tiny3.JOINT)
    model_only = {k: v for k, v in tiny3.sd3_state().items() if k.startswith("model.diffusion_model.")}
    with pytest.raises(EngineError, match=r"model-only\.safetensors: this SD3 file has no CLIP-L, CLIP-G, VAE \(a model-only file\)"):
        detect_model(tiny.save(model_only, tmp_path / "model-only.safetensors"))


def test_bit_identical_to_diffusers_single_file_pipeline(make_request, sd3_file, tmp_path, capfd):
    """Our shape-inferred configs + diffusers' converters = diffusers' `from_single_file` with hand-written configs,
    weights and pixels; the CLIP-only note is printed once, when the model loads."""
    import diffusers

    from comicforge.engines.diffusion.engine import DiffusionEngine

    engine = DiffusionEngine(device="cpu")
    request = sd3_request(make_request, sd3_file)
    ours = pixels(engine.generate(request))
    engine.generate(replace(request, seed=7))
    assert capfd.readouterr().err.count("no T5-XXL; SD3 runs on its CLIP-L and CLIP-G encoders alone") == 1
    config = tiny3.write_sd3_diffusers_config(tmp_path / "sd3-config")
    theirs = diffusers.StableDiffusion3Pipeline.from_single_file(str(sd3_file), config=str(config), local_files_only=True,
                                                                 text_encoder_3=None, tokenizer_3=None)
    mine = engine._models[request.model.fingerprint].pipe
    for name in ("transformer", "vae", "text_encoder", "text_encoder_2"):
        a, b = getattr(mine, name).state_dict(), getattr(theirs, name).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    assert np.array_equal(ours, pixels(_diffusers_image(theirs, request)))
    engine.close()


def test_flow_samplers_and_the_others_refused(engine, make_request, sd3_file):
    euler = pixels(engine.generate(sd3_request(make_request, sd3_file)))
    for sampler in ("Euler a", "Heun"):
        assert not np.array_equal(euler, pixels(engine.generate(sd3_request(make_request, sd3_file, sampler=sampler))))
    with pytest.raises(EngineError, match=r"'DPM\+\+ 2M Karras' has no flow-matching scheduler for SD3; valid: Euler, Euler a, Heun"):
        engine.generate(make_request(sd3_file, sampler="DPM++ 2M Karras"))


def test_sd3_lora_weight_zero_equals_none_and_families_refused(engine, make_request, sd3_file, sd1_file, models_dir):
    from test_diffusion_adapters import kohya_sd15_lora

    lora = tiny.save(tiny3.peft_sd3_lora(), models_dir / "sd3_style.safetensors")
    sd15 = tiny.save(kohya_sd15_lora(), models_dir / "sd15_style_for_sd3.safetensors")
    plain = pixels(engine.generate(sd3_request(make_request, sd3_file)))
    zero = pixels(engine.generate(sd3_request(make_request, sd3_file, loras=(AdapterRef(ref(lora), 0.0),))))
    styled = pixels(engine.generate(sd3_request(make_request, sd3_file, loras=(AdapterRef(ref(lora), 1.0),))))
    assert np.array_equal(plain, zero) and not np.array_equal(plain, styled)
    assert np.array_equal(plain, pixels(engine.generate(sd3_request(make_request, sd3_file))))  # switched off again
    with pytest.raises(EngineError, match=r"sd15_style_for_sd3\.safetensors: LoRA is for SD 1\.x/2\.x/SDXL \(a UNet\) but the model tiny-sd35"):
        engine.generate(sd3_request(make_request, sd3_file, loras=(AdapterRef(ref(sd15), 1.0),)))
    with pytest.raises(EngineError, match=r"sd3_style\.safetensors: LoRA is for SD3 but the model tiny-sd15\.safetensors is SD 1\.x"):
        engine.generate(make_request(sd1_file, loras=(AdapterRef(ref(lora), 1.0),)))


def test_img2img_on_sd3_and_controlnets_refused(engine, make_request, sd3_file, models_dir):
    import diffusion_control_tiny as ctiny

    request = sd3_request(make_request, sd3_file, steps=4)
    image = engine.generate(request)
    refined = engine.refine(request, image, Img2Img(strength=0.5))
    assert refined.size == (64, 64) and not np.array_equal(pixels(refined), pixels(image))
    net = tiny.save(ctiny.controlnet_sd15_state(seed=1), models_dir / "control_for_sd3.safetensors")
    from comicforge.control.pose import preset_pose

    with pytest.raises(EngineError, match=r"control_for_sd3\.safetensors: this ControlNet is for SD 1\.x .*is SD3"):
        engine.generate(replace(request, poses=(preset_pose("standing"),), controls=(ControlInput("openpose", ref(net)),)))


def test_sd3_book_defaults_to_euler_and_locates_other_samplers(sd3_file, tmp_path):
    import json

    import yaml
    from PIL import Image

    from support import run_cli
    from test_diffusion_build import _project

    project = _project(tmp_path / "book", sd3_file)  # its second panel asks for "Euler a"
    report = json.loads(run_cli("build", str(project), "--json").stdout)
    assert "Sampler: Euler," in Image.open(report["outputs"]["panels"]["p1.1"]).info["parameters"]
    assert "Sampler: Euler a," in Image.open(report["outputs"]["panels"]["p1.2"]).info["parameters"]
    data = yaml.safe_load((project / "comic.yaml").read_text())
    data["defaults"]["sampler"] = "DPM++ 2M Karras"
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_cli("check", str(project), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("defaults.sampler: sampler 'DPM++ 2M Karras' has no flow-matching scheduler for SD3 models "
            "(valid: Euler, Euler a, Heun)") in result.stderr


def test_t5_inside_the_file_is_used_with_a_local_tokenizer(make_request, sd3_file, models_dir, tmp_path, monkeypatch, capfd):
    """With T5 in the file and COMICFORGE_T5_TOKENIZER: T5 joins the context (as diffusers' pipeline joins it);
    without the tokenizer, CLIP alone, and the note names what is missing."""
    import diffusers

    from comicforge.engines.diffusion.engine import DiffusionEngine

    t5_file = tiny.save({**tiny3.sd3_state(), **tiny3.t5_state()}, models_dir / "tiny-sd35-t5.safetensors")
    monkeypatch.delenv("COMICFORGE_T5_TOKENIZER", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    engine = DiffusionEngine(device="cpu")
    clip_only = pixels(engine.generate(sd3_request(make_request, t5_file)))
    assert "no T5 tokenizer (set COMICFORGE_T5_TOKENIZER" in capfd.readouterr().err
    assert np.array_equal(clip_only, pixels(engine.generate(sd3_request(make_request, sd3_file))))  # = the file without T5
    engine.close()
    capfd.readouterr()
    monkeypatch.setenv("COMICFORGE_T5_TOKENIZER", str(tiny3.write_t5_tokenizer(tmp_path / "t5-tokenizer")))
    engine = DiffusionEngine(device="cpu")
    request = sd3_request(make_request, t5_file)
    with_t5 = pixels(engine.generate(request))
    assert "SD3 runs on" not in capfd.readouterr().err and not np.array_equal(with_t5, clip_only)
    mine = engine._models[request.model.fingerprint].pipe
    source = {k.removeprefix("text_encoders.t5xxl.transformer."): v for k, v in tiny3.t5_state().items()}
    loaded = mine.text_encoder_3.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in source.items())
    theirs = diffusers.StableDiffusion3Pipeline.from_single_file(
        str(t5_file), config=str(tiny3.write_sd3_diffusers_config(tmp_path / "config")), local_files_only=True,
        text_encoder_3=mine.text_encoder_3, tokenizer_3=mine.tokenizer_3)
    assert np.array_equal(with_t5, pixels(_diffusers_image(theirs, request)))
    engine.close()


def _diffusers_image(pipe, request):
    """The image plain diffusers' SD3 pipeline makes of the request (Euler flow matching, shift 3, 64×64)."""
    import diffusers

    pipe.scheduler = diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0)
    pipe.set_progress_bar_config(disable=True)
    return pipe(request.prompt, negative_prompt=request.negative, num_inference_steps=request.steps, guidance_scale=request.cfg,
                height=64, width=64, generator=torch.Generator().manual_seed(request.seed)).images[0]


def test_a_panel_with_two_characters_on_sd3_is_prompted_as_a_whole(sd3_file, tmp_path):
    import yaml

    from comicforge.project.load import load_project
    from comicforge.project.resolve import resolve_book

    book = {"title": "Pair", "defaults": {"engine": "diffusion", "model": str(sd3_file), "sampler": "Euler"},
            "characters": {"mira": {"tokens": "mira_cf"}, "ren": {"tokens": "ren_cf"}},
            "pages": [{"layout": "grid-1x1", "panels": [{"prompt": "{{ mira }} waves, a roof", "characters": ["mira", "ren"]}]}]}
    (tmp_path / "comic.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    spec, _ = resolve_book(load_project(tmp_path / "comic.yaml"), lambda path: "fp")
    request = spec.panels[0].request
    assert request.regions == () and request.scene == "" and request.prompt == "ren_cf, mira_cf waves, a roof"
