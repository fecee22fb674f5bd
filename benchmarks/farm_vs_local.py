"""Figures for issue 15: panel farms on Ray against the in-process executor, on this machine.

1. Scheduling overhead per job: the generate jobs of a generated book (draft engine, 64×64 panels so the engine
   costs little) run through the runner, with its store writes, by the local executor and by the Ray executor
   (1 and 2 CPU actors, started and warmed by a first batch that is not timed); ms per job, median and spread of --runs.
2. Scaling: the same runner and Ray executor with a simulated engine whose `generate` sleeps --step-ms × --steps
   (a sleeping actor costs no CPU, so 16 of them fit on 2 cores): panels per second with 1, 2, 4, 8, 16 actors,
   against the ideal (actors ÷ seconds per panel).
Usage: python benchmarks/farm_vs_local.py [--panels 1000] [--runs 3] [--step-ms 40] [--steps 20] [--scale-panels 64]
       [--only overhead|scaling]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from comicforge.pipeline.executors import LocalExecutor, engine_factory  # noqa: E402
from comicforge.pipeline.farm import RayExecutor  # noqa: E402
from comicforge.pipeline.run import Runner, resolved_jobs  # noqa: E402
from comicforge.pipeline.store import Store  # noqa: E402


def book(panels: int) -> dict[str, Any]:
    """A draft book of `panels` 64×64 panels, four to a page, at a low dpi (the pages are not built here)."""
    pages = [{"layout": "grid-2x2", "panels": [{"prompt": f"scene {n}.{i}", "seed": n * 4 + i} for i in range(4)]} for n in range(panels // 4)]
    return {"title": "Farm Benchmark", "format": {"trim": "us-comic", "dpi": 36}, "defaults": {"size": [64, 64]}, "pages": pages}


def generate_jobs(folder: Path, panels: int) -> tuple[Path, list[Any]]:
    """The book's generate jobs (resolved once; each run gets a fresh store)."""
    folder.mkdir(parents=True)
    (folder / "comic.yaml").write_text(yaml.safe_dump(book(panels), sort_keys=False))
    jobs, _ = resolved_jobs(folder / "comic.yaml", Store(folder))
    return folder, [j for j in jobs if j.stage == "generate"]


def run_seconds(folder: Path, jobs: list[Any], executor: Any, warm: int) -> float:
    """Seconds the runner takes to run and store `jobs` (after `warm` untimed ones: actors started, engines made)."""
    shutil.rmtree(folder / ".comicforge", ignore_errors=True)
    store = Store(folder)
    runner = Runner(store, {j.id: j for j in jobs}, False, executor)
    runner.run(jobs[:warm])
    started = time.perf_counter()
    runner.run(jobs[warm:])
    return time.perf_counter() - started


class SleepingEngine:
    """A stand-in for a GPU engine: `generate` sleeps a fixed time and returns a blank panel."""

    name, version = "draft", ""

    def __init__(self, seconds: float):
        from comicforge.engines.draft import VERSION

        self.seconds, self.version = seconds, VERSION

    def generate(self, request: Any) -> Any:
        from PIL import Image

        time.sleep(self.seconds)
        return Image.new("RGB", (request.width, request.height), "white")

    def close(self) -> None:
        pass


def sleeping_factory(seconds: float) -> Any:
    return lambda name: SleepingEngine(seconds)


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f}, {len(values)} runs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--panels", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--step-ms", type=float, default=40.0, help="simulated time of one sampling step")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--scale-panels", type=int, default=64)
    parser.add_argument("--only", choices=("overhead", "scaling"), help="measure one of the two figures")
    args = parser.parse_args()

    import ray

    ray.init(num_cpus=16, include_dashboard=False, log_to_driver=False, configure_logging=False)  # 16 logical CPUs: room for 16 actors
    work = Path(tempfile.mkdtemp(prefix="comicforge-farm-bench-"))
    try:
        folder, jobs = generate_jobs(work / "book", args.panels)
        warm = 20
        timed = len(jobs) - warm
        print(f"1. scheduling overhead: {timed} draft generate jobs (64×64) through the runner and its store, after {warm} untimed")
        engines = (("draft engine", engine_factory), ("null engine (a blank panel, no work)", sleeping_factory(0.0)))
        for engine, factory in () if args.only == "scaling" else engines:
            local = [run_seconds(folder, jobs, LocalExecutor((), factory), warm) * 1000 / timed for _ in range(args.runs)]
            print(f"   {engine}, in-process: {spread(local)} ms per job")
            for actors in (1, 2):
                farm = []
                for _ in range(args.runs):
                    executor = RayExecutor((), None, actors=actors, factory=factory)
                    farm.append(run_seconds(folder, jobs, executor, warm) * 1000 / timed)
                    executor.close()
                print(f"   {engine}, Ray, {actors} CPU actor{'s' * (actors > 1)}: {spread(farm)} ms per job")
        print("   (in-process, the engine, the PNG encoding and the store write of each job run one after the other; through Ray the")
        print("   actor draws and encodes while the driver stores the previous result: the null engine isolates the scheduling cost)")

        panel = args.step_ms * args.steps / 1000
        scale_jobs = jobs[: args.scale_panels + 32]
        if args.only == "overhead":
            return
        print(f"2. scaling: {args.scale_panels} panels of a simulated engine sleeping {args.step_ms:g} ms × {args.steps} steps = {panel:.2f} s each")
        print("   | actors | panels/s (median) | spread | ideal | efficiency |")
        print("   |---|---|---|---|---|")
        for actors in () if args.only == "overhead" else (1, 2, 4, 8, 16):
            rates = []
            for _ in range(args.runs):
                executor = RayExecutor((), None, actors=actors, factory=sleeping_factory(panel))
                seconds = run_seconds(folder, scale_jobs, executor, 32)  # the warm batch starts all actors and their engines
                executor.close()
                rates.append(args.scale_panels / seconds)
            ideal = actors / panel
            median = statistics.median(rates)
            print(f"   | {actors} | {median:.2f} | {min(rates):.2f}-{max(rates):.2f} | {ideal:.2f} | {median / ideal:.0%} |")
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
