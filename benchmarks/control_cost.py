"""What each added control costs per denoising step on the tiny SD 1.5 model (ControlNets, T2I-Adapters).

How it is measured: the tests' tiny random-weight checkpoint (SD 1.5 key set, narrow widths) and tiny v1.1
ControlNets (tests/data/controlnet_sd15_keys.tsv layout) and a tiny diffusers T2I-Adapter, at 64×64 with Euler,
on the CPU with 2 torch threads. For each configuration the engine generates a panel at LOW and HIGH steps
(alternating, after one warm-up), RUNS times each; the median wall times give a per-step slope
(t_high − t_low) / (HIGH − LOW) and an intercept (the fixed part: control images, adapter features, VAE).
Each configuration's slope minus the plain panel's is what its controls add per step.

    python benchmarks/control_cost.py [--runs 5] [--low 2] [--high 8] [--size 64]
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

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402


def inputs(folder: Path, size: int) -> tuple[Path, Path]:
    """A depth map and a sketch at the panel size."""
    depth = np.tile(np.linspace(0, 255, size), (size, 1)).astype(np.uint8)
    Image.fromarray(depth).save(folder / "depth.png")
    sketch = Image.new("L", (size, size), 255)
    ImageDraw.Draw(sketch).ellipse([size // 6, size // 8, 5 * size // 6, 7 * size // 8], outline=0, width=3)
    sketch.save(folder / "sketch.png")
    return folder / "depth.png", folder / "sketch.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--low", type=int, default=2)
    parser.add_argument("--high", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)

    import diffusion_control_tiny as ctiny
    import diffusion_tiny as tiny

    from comicforge.control.pose import preset_pose
    from comicforge.engines.diffusion.engine import DiffusionEngine
    from comicforge.spec.files import FileRef
    from comicforge.spec.requests import ControlInput, GenerateRequest

    folder = Path(tempfile.mkdtemp(prefix="control-cost-"))
    ref = lambda path: FileRef(str(path), "fp-" + path.name)  # noqa: E731
    model = tiny.save(tiny.sd1_state(), folder / "tiny-sd15.safetensors")
    nets = {kind: tiny.save(ctiny.controlnet_sd15_state(seed=i), folder / f"control_{kind}.safetensors")
            for i, kind in enumerate(("depth", "softedge", "openpose"), start=1)}
    depth, sketch = inputs(folder, args.size)
    engine = DiffusionEngine(device="cpu")
    base = GenerateRequest("p1", "a cat on a roof", "blurry", 42, args.size, args.size, model=ref(model), sampler="Euler",
                           steps=args.low, cfg=7.0, poses=(preset_pose("standing"),))
    engine.generate(base)
    adapter = ctiny.write_t2i_adapter(engine._models[base.model.fingerprint].pipe.unet, folder / "t2iadapter_openpose", seed=1)
    cn = {"depth": ControlInput("depth", ref(nets["depth"]), source=ref(depth)),
          "softedge": ControlInput("softedge", ref(nets["softedge"]), source=ref(sketch)),
          "openpose": ControlInput("openpose", ref(nets["openpose"]))}
    t2i = ControlInput("openpose", ref(adapter), network="t2i-adapter")
    configs = {
        "plain": (),
        "1 ControlNet (depth)": (cn["depth"],),
        "2 ControlNets (+softedge)": (cn["depth"], cn["softedge"]),
        "3 ControlNets (+openpose)": (cn["depth"], cn["softedge"], cn["openpose"]),
        "1 T2I-Adapter (openpose)": (t2i,),
        "ControlNet (depth) + T2I-Adapter": (cn["depth"], t2i),
    }
    cpu: dict[tuple[str, int], list[float]] = {(name, steps): [] for name in configs for steps in (args.low, args.high)}
    wall: dict[tuple[str, int], list[float]] = {key: [] for key in cpu}
    for run in range(args.runs + 1):
        for name, controls in configs.items():
            for steps in (args.low, args.high):
                request = GenerateRequest(**{**base.__dict__, "controls": controls, "steps": steps})
                started, started_cpu = time.perf_counter(), time.process_time()
                engine.generate(request)
                if run:  # the first round warms up (loads the networks)
                    cpu[(name, steps)].append(time.process_time() - started_cpu)
                    wall[(name, steps)].append(time.perf_counter() - started)

    def fit(times: dict[tuple[str, int], list[float]], name: str) -> tuple[float, float]:
        low, high = statistics.median(times[(name, args.low)]), statistics.median(times[(name, args.high)])
        slope = (high - low) / (args.high - args.low)
        return slope, low - slope * args.low

    results = {name: (*fit(cpu, name), fit(wall, name)[0]) for name in configs}
    plain_slope, plain_fixed, _ = results["plain"]
    print(f"tiny SD 1.5, {args.size}x{args.size}, Euler, CPU 1 thread, medians of {args.runs} rounds at {args.low} and {args.high} steps")
    print(f"{'configuration':34} {'s/step':>7} {'added s/step':>13} {'fixed s':>8} {'added fixed':>12} {'wall s/step':>12}")
    for name, (slope, fixed, wall_slope) in results.items():
        print(f"{name:34} {slope:7.4f} {slope - plain_slope:+13.4f} {fixed:8.3f} {fixed - plain_fixed:+12.3f} {wall_slope:12.4f}")

if __name__ == "__main__":
    main()
