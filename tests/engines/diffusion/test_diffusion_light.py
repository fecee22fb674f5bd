import subprocess
import sys

import pytest

import diffusion_tiny as tiny


def test_light_modules_do_not_import_torch():
    code = (
        "import sys; import comicforge.engines.diffusion, comicforge.weights.checkpoint, comicforge.weights.controlnet, "
        "comicforge.weights.locate, comicforge.weights.lora, comicforge.engines.diffusion.lora, "
        "comicforge.engines.diffusion.prompts, comicforge.engines.diffusion.metadata, "
        "comicforge.engines.diffusion.schedulers; "
        "bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]; print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_create_engine_by_name():
    from comicforge.engines.registry import create_engine

    eng = create_engine("diffusion")
    assert eng.name == "diffusion" and eng.version.startswith("diffusion-")


@pytest.mark.slow
def test_full_size_sd15_key_set_loads_and_generates(tmp_path, make_request):
    """Exactly the SD 1.5 key set and shapes of reference/sd15_keys.tsv, random weights (fp16 on disk)."""
    import numpy as np

    from comicforge.weights.checkpoint import detect_model
    from comicforge.engines.diffusion.engine import DiffusionEngine

    rows = [r for r in tiny.reference_keys("sd15_keys.tsv")]
    sd = {k: (v.half() if v.is_floating_point() else v) for k, v in tiny._build(rows, {}, 0).items()}
    path = tiny.save(sd, tmp_path / "full-sd15.safetensors")
    del sd
    info = detect_model(path)
    assert (info.family, info.context_dim, info.native_size) == ("sd1", 768, 512)
    img = DiffusionEngine(device="cpu").generate(make_request(path, steps=1, width=64, height=64))
    assert img.size == (64, 64) and np.asarray(img).std() >= 0


def test_panel_order_groups_model_and_loras():
    from comicforge.spec.files import AdapterRef, FileRef
    from comicforge.spec.requests import GenerateRequest
    from comicforge.pipeline.grouping import panel_order_key

    a, b = FileRef("/m/a.safetensors", "A"), FileRef("/m/b.safetensors", "B")
    hero = AdapterRef(FileRef("/l/hero.safetensors", "H"))
    reqs = [GenerateRequest(panel_id=p, prompt="", negative="", seed=0, width=8, height=8, model=m, loras=l)
            for p, m, l in [("1", b, ()), ("2", a, (hero,)), ("3", b, (hero,)), ("4", a, ()), ("5", a, (hero,))]]
    order = [r.panel_id for r in sorted(reqs, key=panel_order_key)]
    assert order == ["4", "2", "5", "1", "3"]
