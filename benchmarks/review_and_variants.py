"""Figures for issue 11: the review loop on the 200-page benchmark book (draft engine), and diffusion variants batched.

1. pick → page image served: from the POST /api/panels/ID/pick to the new page image fetched from the review server
   (the server writes `pick:` into comic.yaml, rebuilds the previews — resolve, one page recomposed, its PNG — and
   tells the page by a server-sent event; the client then reads /api/book and fetches the image), target ≤ 0.5 s;
2. one prompt edit saved in comic.yaml → the page's new image served (the file watcher starts the rebuild), target ≤ 1.5 s;
3. diffusion variants on the CPU, a tiny random-weight SD 1.5 checkpoint with the real key structure (the tests'
   tests/engines/diffusion/diffusion_tiny.py): time per candidate for 4 candidates made one by one (N = 1) and as one
   batch (N = 4), and the peak resident memory of each, each in a fresh process (ru_maxrss, so it includes the model).
Each figure: several runs, median with min and max.
Usage: python benchmarks/review_and_variants.py [--pages 200] [--dpi 100] [--runs 7] [--size 256] [--steps 8] [--skip-review]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from incremental_build import generated_project, median_line  # noqa: E402


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as response:
        return response.read()


def _post_pick(base: str, panel: str, variant: int) -> None:
    request = urllib.request.Request(f"{base}/api/panels/{panel}/pick", data=json.dumps({"variant": variant}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200


class Events:
    """The server's event stream, read as the review page reads it."""

    def __init__(self, base: str):
        self.stream = urllib.request.urlopen(base + "/events", timeout=300)

    def next_ready(self, after: int) -> dict:
        """The first status of a finished build later than generation `after`."""
        while True:
            line = self.stream.readline().decode()
            if line.startswith("data: "):
                status = json.loads(line[6:])
                if status["state"] in ("ready", "failed") and status["generation"] > after:
                    assert status["state"] == "ready", status["errors"]
                    return status


def _page_image(base: str, number: int) -> tuple[str, int]:
    book = json.loads(_get(base + "/api/book"))
    return book["pages"][number - 1]["image"], book["status"]["generation"]


def _served_after(base: str, events: Events, generation: int, page: int, old_image: str) -> None:
    """Wait for the rebuild's event, read the book, fetch the page's new image (what the review page does)."""
    while True:
        generation = events.next_ready(generation)["generation"]
        image, _ = _page_image(base, page)
        if image != old_image:
            _get(base + image)
            return


def review_figures(pages: int, dpi: int, runs: int) -> None:
    picked_page, edited_page = pages // 2, pages * 3 // 4  # the page whose first panel has candidates; the one edited
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "book"
        project.mkdir()
        book = generated_project(pages, dpi)
        book["pages"][picked_page - 1]["panels"][0]["variants"] = 3
        (project / "comic.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "comicforge", "review", str(project), "--port", "0", "--no-open"],
                                   stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            base = process.stderr.readline().split()[1].rstrip("/")
            events = Events(base)
            events.next_ready(0)
            print(f"review server up, first preview build of {pages} pages: {time.perf_counter() - started:.1f} s")
            picks, edits = [], []
            panel = f"p{picked_page}.1"
            for run in range(runs):
                image, generation = _page_image(base, picked_page)
                started = time.perf_counter()
                _post_pick(base, panel, 1 + run % 2)
                _served_after(base, events, generation, picked_page, image)
                picks.append(time.perf_counter() - started)
                time.sleep(0.5)  # let the watcher's own rebuild after the write pass
            for run in range(runs):
                image, generation = _page_image(base, edited_page)
                text = (project / "comic.yaml").read_text()
                old = f"scene {edited_page}.2 take {run - 1}'" if run else f"scene {edited_page}.2'"
                assert old in text, old
                text = text.replace(old, f"scene {edited_page}.2 take {run}'", 1)
                started = time.perf_counter()
                (project / "comic.yaml").write_text(text)
                _served_after(base, events, generation, edited_page, image)
                edits.append(time.perf_counter() - started)
                time.sleep(0.3)
        finally:
            process.terminate()
            process.wait()
    print(median_line(f"pick → page image served ({pages} pages, draft, previews)", picks))
    print(median_line(f"prompt edit saved → page image served ({pages} pages, draft, previews)", edits))


VARIANT_RUN = """
import resource, sys, time, dataclasses
sys.path.insert(0, {tests!r})
import torch
torch.set_num_threads(2)
from comicforge.engines.diffusion.engine import DiffusionEngine
from comicforge.spec.files import FileRef
from comicforge.spec.requests import GenerateRequest
engine = DiffusionEngine(device="cpu")
request = GenerateRequest(panel_id="p1", prompt="a lantern in the rain", negative="blurry", seed=42, width={size}, height={size},
                          model=FileRef({model!r}, "bench"), steps={steps}, cfg=7.0)
engine.generate(dataclasses.replace(request, width=64, height=64, steps=1))  # load the model, outside the figure
candidates = [dataclasses.replace(request, seed=42 + k) for k in range(4)]
started = time.perf_counter()
images = engine.generate_batch(candidates) if {batched} else [engine.generate(c) for c in candidates]
seconds = time.perf_counter() - started
print(seconds / 4, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def variant_figures(runs: int, size: int, steps: int) -> None:
    sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "engines" / "diffusion")]
    import diffusion_tiny as tiny

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "tiny-sd15.safetensors"
        tiny.save(tiny.sd1_state(), model)
        results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for _ in range(runs):
            for batched in (False, True):  # alternated, so machine load falls on both alike
                code = VARIANT_RUN.format(tests=str(REPO / "tests"), size=size, model=str(model), steps=steps, batched=batched)
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                     env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}).stdout.split()
                results[batched].append((float(out[0]), float(out[1])))
    for batched, name in ((False, "N = 1 (4 candidates one by one)"), (True, "N = 4 (one batch)")):
        times, peaks = [t for t, _ in results[batched]], [p for _, p in results[batched]]
        print(median_line(f"diffusion variants {name}, {size}x{size}, {steps} steps, time per candidate", times)
              + f"; peak RSS median {statistics.median(peaks):.0f} MiB (min {min(peaks):.0f}, max {max(peaks):.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--dpi", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--size", type=int, default=256, help="diffusion candidates' side in pixels")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--skip-review", action="store_true")
    parser.add_argument("--skip-diffusion", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    if not args.skip_review:
        review_figures(args.pages, args.dpi, args.runs)
    if not args.skip_diffusion:
        variant_figures(args.runs, args.size, args.steps)


if __name__ == "__main__":
    main()
