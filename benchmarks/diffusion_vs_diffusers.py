"""comicforge's DiffusionEngine vs a plain diffusers StableDiffusionPipeline loop, same weights, same process.

How it is measured: a random-weight checkpoint with exactly the SD 1.5 key set and shapes
(tests/data/sd15_keys.tsv; UNet dominates) is written once as single-file safetensors (fp16) and
loaded by the engine. The plain pipeline is a StableDiffusionPipeline built from the same modules (so both use
identical weights), called with prompt strings in a loop. Each run renders N panels (different seeds) at
256×256 with DPM++ 2M Karras; runs alternate engine/plain after one warm-up of each; we report the median
wall time per run, the ratio engine/plain, seconds per denoising step and the process's peak RSS.

    python benchmarks/diffusion_vs_diffusers.py [--panels 2] [--steps 4] [--runs 3] [--size 256]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REFERENCE = ROOT / "tests" / "data" / "sd15_keys.tsv"


def write_random_sd15(path: Path, reference: Path) -> None:
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(0)
    sd = {}
    for line in reference.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape, _dtype, comp, optional = line.split("\t")
        if comp == "scheduler":
            continue
        dims = tuple(int(d) for d in shape.strip("[]").split(",") if d)
        if key.endswith("position_ids"):
            sd[key] = torch.arange(dims[-1]).reshape(dims)
        elif len(dims) == 1 and key.endswith("weight"):
            sd[key] = torch.ones(dims, dtype=torch.float16)
        else:
            fan_in = max(1, int(torch.tensor(dims[1:]).prod().item())) if len(dims) > 1 else 1
            sd[key] = (torch.randn(dims, generator=gen) * (fan_in**-0.5 if len(dims) > 1 else 0.02)).half()
    save_file(sd, str(path))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--panels", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reference", type=Path, default=REFERENCE)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    import diffusers

    from comicforge.engines.base import FileRef, GenerateRequest
    from comicforge.engines.diffusion.engine import DiffusionEngine
    from comicforge.engines.diffusion.schedulers import make_scheduler

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "random-sd15.safetensors"
        t0 = time.perf_counter()
        write_random_sd15(ckpt, args.reference)
        print(f"wrote {ckpt.stat().st_size / 2**30:.2f} GiB random SD1.5 checkpoint in {time.perf_counter() - t0:.1f}s")

        engine = DiffusionEngine(device="cpu")
        model = FileRef(str(ckpt), "bench")
        prompt, negative = "a comic panel, a cat on a roof at night, ink", "blurry, lowres"

        def requests():
            return [GenerateRequest(panel_id=f"p{i}", prompt=prompt, negative=negative, seed=1000 + i, width=args.size,
                                    height=args.size, model=model, steps=args.steps, cfg=7.0) for i in range(args.panels)]

        t0 = time.perf_counter()
        engine.generate(requests()[0])  # load + warm-up
        print(f"engine load + first panel: {time.perf_counter() - t0:.1f}s")
        resident = engine._models["bench"].pipe
        plain = diffusers.StableDiffusionPipeline(**{k: v for k, v in resident.components.items()})
        plain.set_progress_bar_config(disable=True)

        def run_engine():
            for r in requests():
                engine.generate(r)

        def run_plain():
            for r in requests():
                plain.scheduler = make_scheduler(r.sampler, dict(resident.scheduler.config), r.seed)
                plain(prompt, negative_prompt=negative, num_inference_steps=args.steps, guidance_scale=7.0,
                      height=args.size, width=args.size, generator=torch.Generator().manual_seed(r.seed))

        run_plain()  # warm-up
        times = {"engine": [], "plain": []}
        for _ in range(args.runs):
            for name, fn in (("engine", run_engine), ("plain", run_plain)):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        steps = args.panels * args.steps
        print(f"setup: SD1.5 key set (random weights), {args.size}x{args.size}, {args.panels} panels x {args.steps} steps, "
              f"DPM++ 2M Karras, CFG 7, fp32 CPU, {args.threads} threads, {args.runs} runs (median)")
        for k in ("engine", "plain"):
            print(f"{k:>6}: {med[k]:.2f}s per run, {med[k] / steps:.3f} s/step (incl. text encode + VAE), runs {[round(x, 2) for x in times[k]]}")
        print(f"ratio engine/plain: {med['engine'] / med['plain']:.3f} (target <= 1.03)")
        print(f"peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
