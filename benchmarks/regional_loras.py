"""Regional LoRAs: does a character's LoRA act in its own region only, and what do the regions cost per step?

How it is measured: the tiny real-key SD 1.5 checkpoint of the tests (tests/engines/diffusion/diffusion_tiny.py:
every SD 1.5 key, narrower channels) and kohya LoRAs with every kohya SD 1.5 key (tests'
`kohya_sd15_lora`, one seed per character), on the CPU. A 256×128 panel holds two characters side by side, each
region half the panel, each with its own LoRA. Switching one character's LoRA off, we take the mean absolute
pixel change inside its own region and inside the other character's; the ratio own/other is reported for both
characters over several seeds (median; the isolation figure). Cost: the wall time of the denoising loop per step
(UNet passes, adapter switching, blending) for panels of 2 and 3 characters with LoRAs (halves, thirds), and 2
characters whose regions leave a background, relative to a one-character panel with one LoRA at the same size
(median over runs taking turns, after one warm-up; min and max shown).

    python benchmarks/regional_loras.py [--steps 8] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "engines" / "diffusion")]

import diffusion_tiny as tiny  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from test_diffusion_adapters import kohya_sd15_lora  # noqa: E402

from comicforge.engines.diffusion.engine import DiffusionEngine  # noqa: E402
from comicforge.spec.files import AdapterRef, FileRef  # noqa: E402
from comicforge.spec.requests import GenerateRequest, Region  # noqa: E402

WIDTH, HEIGHT = 256, 128
NAMES = ("hero", "villain", "sidekick")


def ref(path: Path) -> FileRef:
    return FileRef(str(path), "fp-" + path.name)


def panel(model: Path, loras: list[Path], boxes: list[tuple], steps: int, seed: int, off: int | None = None) -> GenerateRequest:
    """A panel with one character per box, each with its LoRA (character `off` without)."""
    regions = tuple(Region(NAMES[i], box, f"{NAMES[i]}, standing on a roof", () if i == off else (AdapterRef(ref(loras[i])),))
                    for i, box in enumerate(boxes))
    return GenerateRequest(panel_id="p", prompt=", ".join(NAMES[:len(boxes)]) + ", a roof at night", scene="a roof at night",
                           negative="blurry", seed=seed, width=WIDTH, height=HEIGHT, model=ref(model), steps=steps, regions=regions)


def one_character(model: Path, lora: Path, steps: int, seed: int) -> GenerateRequest:
    return GenerateRequest(panel_id="p", prompt="hero, standing on a roof, a roof at night", negative="blurry", seed=seed,
                           width=WIDTH, height=HEIGHT, model=ref(model), steps=steps, loras=(AdapterRef(ref(lora)),))


def region_change(a, b, box: tuple) -> float:
    """Mean absolute pixel change inside a box."""
    x, y, w, h = box
    change = np.abs(np.asarray(a, float) - np.asarray(b, float)).mean(axis=2)
    return float(change[round(y * HEIGHT):round((y + h) * HEIGHT), round(x * WIDTH):round((x + w) * WIDTH)].mean())


def isolation(engine: DiffusionEngine, model: Path, loras: list[Path], steps: int, seeds: list[int]) -> tuple[list[float], float]:
    """Own/other pixel change ratios when each of two side-by-side characters' LoRA is switched off, and the largest
    change of the other region's latents (before the VAE, whose decoder mixes the whole image)."""
    halves = [(0.0, 0.0, 0.5, 1.0), (0.5, 0.0, 0.5, 1.0)]
    latents: list = []
    denoise = engine._denoise
    engine._denoise = lambda *args, **kwargs: latents.append(denoise(*args, **kwargs)) or latents[-1]  # type: ignore[method-assign]
    ratios, latent_leak = [], 0.0
    try:
        for seed in seeds:
            both = engine.generate(panel(model, loras, halves, steps, seed))
            for off in (0, 1):
                image = engine.generate(panel(model, loras, halves, steps, seed, off))
                own, other = region_change(both, image, halves[off]), region_change(both, image, halves[1 - off])
                half = latents[-1].shape[-1] // 2
                cut = slice(half, None) if off == 0 else slice(0, half)
                latent_leak = max(latent_leak, float((latents[-1] - latents[0])[..., cut].abs().max()))
                print(f"  seed {seed}, {NAMES[off]}'s LoRA off: own region {own:.2f}, other's {other:.2f} → {own / max(other, 1e-9):.2f}×")
                ratios.append(own / max(other, 1e-9))
            latents.clear()
    finally:
        engine._denoise = denoise  # type: ignore[method-assign]
    return ratios, latent_leak


def step_timings(engine: DiffusionEngine, requests: dict[str, GenerateRequest], runs: int) -> dict[str, list[float]]:
    """Seconds per step of the denoising loop for each request, the requests taking turns (after one warm-up each)."""
    timings: list[float] = []
    denoise = engine._denoise

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return denoise(*args, **kwargs)
        finally:
            timings.append(time.perf_counter() - start)

    found: dict[str, list[float]] = {name: [] for name in requests}
    engine._denoise = timed  # type: ignore[method-assign]
    try:
        for round_ in range(runs + 1):
            for name, request in requests.items():
                timings.clear()
                engine.generate(request)
                if round_:
                    found[name].append(sum(timings) / request.steps)
    finally:
        engine._denoise = denoise  # type: ignore[method-assign]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(min(os.cpu_count() or 1, 2))
    folder = Path(tempfile.mkdtemp(prefix="regional-loras-"))
    model = tiny.save(tiny.sd1_state(), folder / "tiny-sd15.safetensors")
    loras = [tiny.save(kohya_sd15_lora(seed=i + 1), folder / f"{name}.safetensors") for i, name in enumerate(NAMES)]
    engine = DiffusionEngine(device="cpu")
    print(f"isolation, {WIDTH}x{HEIGHT}, {args.steps} steps, DPM++ 2M Karras, LoRA weight 1:")
    ratios, latent_leak = isolation(engine, model, loras, args.steps, list(range(1, args.runs + 1)))
    print(f"LoRA-off ratio (own region / other region): median {statistics.median(ratios):.2f}×, min {min(ratios):.2f}× over {len(ratios)}")
    print(f"largest change of the other region's latents: {latent_leak:g} (what remains in pixels is the VAE decoder's)")
    cases = {
        "one character with its LoRA": one_character(model, loras[0], args.steps, 1),
        "2 characters, halves": panel(model, loras, [(0.0, 0.0, 0.5, 1.0), (0.5, 0.0, 0.5, 1.0)], args.steps, 1),
        "3 characters, thirds": panel(model, loras, [(0.0, 0.0, 1 / 3, 1.0), (1 / 3, 0.0, 1 / 3, 1.0), (2 / 3, 0.0, 1 / 3, 1.0)], args.steps, 1),
        "2 characters + background": panel(model, loras, [(0.05, 0.1, 0.35, 0.85), (0.6, 0.1, 0.35, 0.85)], args.steps, 1),
    }
    found = step_timings(engine, cases, args.runs)
    base = statistics.median(found["one character with its LoRA"])
    for name, seconds in found.items():
        cost = statistics.median(seconds)
        print(f"{name}: {cost * 1000:.0f} ms per step (min {min(seconds) * 1000:.0f}, max {max(seconds) * 1000:.0f}, "
              f"{len(seconds)} runs) = {cost / base:.2f}× the one-character panel")

if __name__ == "__main__":
    main()
