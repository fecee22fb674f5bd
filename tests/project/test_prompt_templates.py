"""Prompt templates as the README describes them: tokens of unnamed characters prepended, the Jinja sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from support import REPO, run_cli

from comicforge.pipeline.run import BuildOptions, plan_build
from comicforge.pipeline.store import Store


def _book(folder: Path, panels: list[dict], **defaults) -> Path:
    book = {"title": "Prompts", "defaults": defaults,
            "characters": {"mira": {"tokens": "mira_cf, silver hair"}, "ren": {"tokens": "ren_cf, black coat"}},
            "pages": [{"layout": f"grid-1x{len(panels)}", "panels": panels}]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "comic.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    return folder


def _prompts(project: Path) -> list[str]:
    jobs = [d.job for d in plan_build(project / "comic.yaml", Store(project), BuildOptions())]
    return [job.spec["prompt"] for job in sorted(jobs, key=lambda j: j.id) if job.stage == "generate"]


def test_tokens_of_characters_not_named_in_the_prompt_are_prepended(tmp_path: Path):
    project = _book(tmp_path / "book", [
        {"prompt": "{{ mira }} waves", "characters": ["mira", "ren"]},  # ren is in the panel but not the prompt
        {"prompt": "an empty street", "characters": ["ren", "mira"]},  # neither named: both, in the panel's order
        {"prompt": "ren_cf, black coat, in the rain", "characters": ["ren"]},  # tokens already written out
        {"prompt": "{{ mira.description }}{{ ren }} alone", "characters": ["mira"]},  # named through an attribute
    ])
    assert _prompts(project) == [
        "ren_cf, black coat, mira_cf, silver hair waves",
        "ren_cf, black coat, mira_cf, silver hair, an empty street",
        "ren_cf, black coat, in the rain",
        "ren_cf, black coat alone",
    ]


def test_the_sandbox_refuses_python_internals_through_any_variable(tmp_path: Path):
    escapes = ["{{ mira.__init__.__globals__ }}", "{{ characters.__class__.__base__.__subclasses__() }}",
               "{{ shot.__class__ }}", "{{ cycler.__init__.__globals__.os }}"]
    project = _book(tmp_path / "book", [{"prompt": p, "characters": ["mira"]} for p in escapes])
    result = run_cli("check", str(project), check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr and len(lines) == 4, result.stderr
    for i, line in enumerate(lines):
        assert line.startswith("error: comic.yaml:") and f"pages[0].panels[{i}].prompt: prompt template: " in line, line
        assert line.endswith("is unsafe. (names available: mira, ren, shot, characters)"), line


def test_diffusion_packages_missing_is_a_located_error(tmp_path: Path):
    """With torch, diffusers and transformers unimportable, `check` says what to install and where it was asked for."""
    project = _book(tmp_path / "book", [{"prompt": "a roof"}], engine="diffusion", model="any.safetensors")
    code = ("import sys; sys.modules.update(dict.fromkeys(('torch', 'diffusers', 'transformers'))); "
            "from comicforge.cli import main; sys.exit(main(['check', sys.argv[1]]))")
    result = subprocess.run([sys.executable, "-c", code, str(project)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: comic.yaml:3: defaults.engine: engine diffusion needs torch, diffusers, transformers: "
        "pip install 'comicforge-studio[diffusion]' (with the torch build for your GPU; see the README)"]
