"""Fixtures: tiny checkpoints with the real key structure, built once per session; one shared engine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch", reason="the diffusion engine tests need torch (pip install -e '.[diffusion]')")
pytest.importorskip("diffusers", reason="the diffusion engine tests need diffusers (pip install -e '.[diffusion]')")

sys.path.insert(0, str(Path(__file__).parent))
import diffusion_tiny as tiny  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _pinned_threads():
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True, warn_only=True)
    yield


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


def _ckpt(models_dir: Path, name: str, build) -> Path:
    path = models_dir / name
    if not path.exists():
        tiny.save(build(), path)
    return path


@pytest.fixture(scope="session")
def sd1_file(models_dir) -> Path:
    return _ckpt(models_dir, "tiny-sd15.safetensors", tiny.sd1_state)


@pytest.fixture(scope="session")
def sd2_file(models_dir) -> Path:
    return _ckpt(models_dir, "tiny-sd21-base.safetensors", tiny.sd2_state)


@pytest.fixture(scope="session")
def sd2v_file(models_dir) -> Path:
    return _ckpt(models_dir, "tiny-sd21-768v.safetensors", lambda: tiny.sd2_state(v=True))


@pytest.fixture(scope="session")
def sdxl_file(models_dir) -> Path:
    return _ckpt(models_dir, "tiny-sdxl.safetensors", tiny.sdxl_state)


@pytest.fixture(scope="session")
def sd1_config_dir(models_dir) -> Path:
    return tiny.write_sd1_diffusers_config(models_dir / "sd1-config")


@pytest.fixture(scope="session")
def sketch_file(tmp_path_factory) -> Path:
    """A 64×64 sketch: one black ellipse on white."""
    from PIL import Image, ImageDraw

    sketch = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(sketch).ellipse([12, 8, 52, 56], outline="black", width=3)
    path = tmp_path_factory.mktemp("sketch") / "sketch.png"
    sketch.save(path)
    return path


@pytest.fixture(scope="session")
def engine():
    from comicforge.engines.diffusion.engine import DiffusionEngine

    eng = DiffusionEngine(device="cpu", max_resident=2)
    yield eng
    eng.close()


def ref(path: Path):
    from comicforge.spec.files import FileRef

    return FileRef(str(path), "fp-" + path.name)


def request(model: Path, **kw):
    from comicforge.spec.requests import GenerateRequest

    base = dict(panel_id="p1", prompt="a cat on a roof", negative="blurry", seed=42, width=64, height=64,
                model=ref(model), steps=3, cfg=7.0)
    base.update(kw)
    return GenerateRequest(**base)


@pytest.fixture
def make_request():
    return request
