"""The diffusion engine through a whole build: project file → panels → PDF, and its errors located in comic.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from PIL import Image

from support import run_cli


def _project(folder: Path, model: Path, **defaults) -> Path:
    book = {
        "title": "Diffusion Book",
        "format": {"trim": "manga", "dpi": 36, "margins": "0.3in"},
        "defaults": {"engine": "diffusion", "model": str(model), "steps": 2, "cfg": 5, "size": [64, 96], **defaults},
        "characters": {"mira": {"tokens": "mira_cf, silver hair"}},
        "pages": [{"layout": "grid-1x2", "panels": [
            {"prompt": "{{ mira }} on a (rooftop:1.2)", "characters": ["mira"], "seed": 5},
            {"prompt": "a city at night", "sampler": "Euler a", "seed": 6},
        ]}],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "comic.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    return folder


def test_build_with_a_single_file_checkpoint(sd1_file: Path, tmp_path: Path):
    project = _project(tmp_path / "book", sd1_file)
    report = json.loads(run_cli("build", str(project), "--json").stdout)
    assert report["panels"] == {"generated": 2, "reused": 0}
    raw = Image.open(report["outputs"]["panels"]["p1.1"])
    assert raw.size == (64, 96)  # generation size, before resizing to print size
    parameters = raw.info["parameters"]
    assert parameters.startswith("mira_cf, silver hair on a (rooftop:1.2)") and "Seed: 5" in parameters and "Size: 64x96" in parameters
    assert "Sampler: Euler a" in Image.open(report["outputs"]["panels"]["p1.2"]).info["parameters"]
    assert Path(report["outputs"]["pdf"]).is_file()
    again = json.loads(run_cli("build", str(project), "--json").stdout)
    assert again["panels"] == {"generated": 0, "reused": 2}


def test_native_size_at_the_panel_aspect(sd1_file: Path, tmp_path: Path):
    """No `size`: each panel is generated at about 512² pixels (SD 1.x native), multiples of 8, at its own aspect.

    Read from the planned jobs (the engine's exact-size output is test_exact_size_non_square's), so nothing generates.
    """
    from comicforge.pipeline.run import BuildOptions, plan_build
    from comicforge.pipeline.store import Store

    project = _project(tmp_path / "book", sd1_file)
    data = yaml.safe_load((project / "comic.yaml").read_text())
    del data["defaults"]["size"]
    data["pages"][0]["layout"] = {"rects": [[0, 0, 1, 0.35], [0, 0.35, 0.45, 0.65]]}  # one wide panel, one tall
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    jobs = {d.job.id: d.job for d in plan_build(project / "comic.yaml", Store(project), BuildOptions())}
    aspects = []
    for panel in ("p1.1", "p1.2"):
        printed = jobs[f"finish:{panel}"].spec["size"]  # the panel in print pixels
        width, height = jobs[f"generate:{panel}"].spec["width"], jobs[f"generate:{panel}"].spec["height"]
        aspect = printed[0] / printed[1]
        assert width % 8 == 0 and height % 8 == 0, (width, height)
        assert abs(width * height - 512 * 512) <= 8 * (width + height), (width, height)  # one 8-px step per side
        assert abs(width / height - aspect) <= aspect * (8 / width + 8 / height), (width, height, printed)
        aspects.append(aspect)
    assert aspects[0] > 1.5 and aspects[1] < 0.7  # the two panels really differ


def test_bad_model_and_lora_are_located_in_the_project(sd1_file: Path, tmp_path: Path):
    project = _project(tmp_path / "missing", tmp_path / "nope.safetensors")
    result = run_cli("check", str(project), check=False)
    assert result.returncode == 2
    assert f"defaults.model: model not found: {tmp_path / 'nope.safetensors'}" in result.stderr

    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(sd1_file.read_bytes()[:5000])
    project = _project(tmp_path / "truncated", truncated)
    result = run_cli("check", str(project), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "defaults.model: " in result.stderr and "truncated" in result.stderr.lower()

    lora = tmp_path / "unrelated.safetensors"
    from safetensors.numpy import save_file
    import numpy as np

    save_file({"lora_unet_nothing_here.lora_down.weight": np.zeros((4, 8), np.float32),
               "lora_unet_nothing_here.lora_up.weight": np.zeros((8, 4), np.float32)}, str(lora))
    project = _project(tmp_path / "lora", sd1_file)
    data = yaml.safe_load((project / "comic.yaml").read_text())
    data["characters"]["mira"]["loras"] = [{"file": str(lora), "weight": 0.7}]
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_cli("check", str(project), check=False)
    assert result.returncode == 2, result.stderr
    assert "characters.mira.loras[0].file: " in result.stderr


def test_memory_savers_never_rebuild_but_precision_does(sd1_file: Path, tmp_path: Path):
    project = _project(tmp_path / "book", sd1_file)
    run_cli("build", str(project))
    data = yaml.safe_load((project / "comic.yaml").read_text())
    data["defaults"]["memory"] = {"attention_slicing": True, "vae_tiling": True}
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    report = json.loads(run_cli("build", str(project), "--json").stdout)
    assert report["panels"] == {"generated": 0, "reused": 2} and report["jobs"]["built"] == 0
    data["defaults"]["precision"] = "fp32"
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    plan = json.loads(run_cli("plan", str(project), "--json").stdout)
    reasons = {row["job"]: row["reason"] for row in plan["jobs"] if row["action"] == "build"}
    assert reasons["generate:p1.1"] == "options changed"


def test_controlnet_and_edits_through_the_build(sd1_file: Path, tmp_path: Path):
    import diffusion_control_tiny as ctiny
    import diffusion_tiny as tiny

    controlnet = tiny.save(ctiny.controlnet_sd15_state(seed=1), tmp_path / "control_v11p_tiny_openpose.safetensors")
    project = _project(tmp_path / "book", sd1_file)
    data = yaml.safe_load((project / "comic.yaml").read_text())
    data["defaults"]["controlnets"] = {"openpose": {"file": str(controlnet), "weight": 0.8}}
    panel = data["pages"][0]["panels"][0]
    panel["pose"] = "standing"
    panel["edits"] = [{"op": "inpaint", "rects": [[0.0, 0.5, 1.0, 0.5]], "strength": 0.9, "prompt": "better hands"}]
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    report = json.loads(run_cli("build", str(project), "--json").stdout)
    raw = Image.open(report["outputs"]["panels"]["p1.1"])
    assert "ControlNet 0:" in raw.info["parameters"] and "Weight: 0.8" in raw.info["parameters"]
    panel["edits"][0]["strength"] = 0.7  # editing the step redoes only the step and what follows
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    plan = json.loads(run_cli("plan", str(project), "--json").stdout)
    built = {row["job"] for row in plan["jobs"] if row["action"] == "build"}
    assert {"refine:p1.1:1", "finish:p1.1", "page:1"} <= built and "generate:p1.1" not in built


def test_controlnet_for_another_family_is_found_at_check(sdxl_file: Path, tmp_path: Path):
    import diffusion_control_tiny as ctiny
    import diffusion_tiny as tiny

    controlnet = tiny.save(ctiny.controlnet_sd15_state(seed=1), tmp_path / "control_sd15.safetensors")
    project = _project(tmp_path / "book", sdxl_file)
    data = yaml.safe_load((project / "comic.yaml").read_text())
    data["defaults"]["controlnets"] = {"openpose": {"file": str(controlnet)}}
    data["pages"][0]["panels"][0]["pose"] = "standing"
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_cli("check", str(project), check=False)
    assert result.returncode == 2, result.stderr
    assert f"defaults.controlnets.openpose.file: {controlnet}: this ControlNet is for SD 1.x" in result.stderr


def test_lora_tags_in_prompts_are_found_applied_and_checked(sd1_file: Path, tmp_path: Path, monkeypatch):
    """A `<lora:>` tag is found in COMICFORGE_LORAS without its extension, applied, kept in the infotext; a wrong family is located."""
    import diffusion_tiny as tiny
    from test_diffusion_adapters import kohya_sd15_lora

    loras = tmp_path / "shared-loras"
    loras.mkdir()
    tiny.save(kohya_sd15_lora(), loras / "ink_style.safetensors")
    tiny.save(kohya_sd15_lora(unet_width=2048), loras / "xl_style.safetensors")
    monkeypatch.setenv("COMICFORGE_LORAS", str(loras))
    project = _project(tmp_path / "book", sd1_file)
    text = (project / "comic.yaml").read_text()
    (project / "comic.yaml").write_text(text.replace("a city at night", "a city at night <lora:ink_style:0.7>"))
    report = json.loads(run_cli("build", str(project), "--json").stdout)
    parameters = Image.open(report["outputs"]["panels"]["p1.2"]).info["parameters"]
    assert parameters.startswith("a city at night <lora:ink_style:0.7>\n") and "Lora hashes: \"ink_style: " in parameters
    plain = _project(tmp_path / "plain", sd1_file)
    plain_report = json.loads(run_cli("build", str(plain), "--json").stdout)
    tagged_pixels = Image.open(report["outputs"]["panels"]["p1.2"]).tobytes()
    assert tagged_pixels != Image.open(plain_report["outputs"]["panels"]["p1.2"]).tobytes()  # the LoRA was applied
    assert Image.open(report["outputs"]["panels"]["p1.1"]).tobytes() == Image.open(plain_report["outputs"]["panels"]["p1.1"]).tobytes()

    (project / "comic.yaml").write_text(text.replace("a city at night", "a city at night <lora:xl_style>"))
    result = run_cli("check", str(project), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "comic.yaml:24: pages[0].panels[1].prompt: panel p1.2: <lora:xl_style>: LoRA is for SDXL but the model" in result.stderr


def test_prompt_command_with_the_model_tokenizer(sd1_file: Path):
    report = json.loads(run_cli("prompt", "a [cat:dog:0.5] BREAK (on a roof:1.2)", "--steps", "4", "--model", str(sd1_file), "--json").stdout)
    bare = json.loads(run_cli("prompt", "a [cat:dog:0.5] BREAK (on a roof:1.2)", "--steps", "4", "--json").stdout)
    assert report == bare  # the single file uses the shipped tokenizer: transformers' counts equal the pure-Python ones
    assert [c["tokens"] for c in report["schedule"][0]["chunks"]] == [2, 3]
    result = run_cli("prompt", "a", "--model", str(sd1_file.parent / "nothing.safetensors"), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
