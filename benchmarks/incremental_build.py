"""Figure for issue 2: a generated 200-page / 1,000-panel book on the draft engine.

Times (wall, via subprocess so interpreter start is included):
  1. the first draft build,
  2. a no-op rebuild (target < 0.5 s including interpreter start; several runs, median),
  3. a one-panel prompt edit (checks exactly 1 panel generated and 1 page composed).
Usage: python benchmarks/incremental_build.py [--pages 200] [--dpi 100] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

LAYOUTS = [("grid-2x3", 6), ("three-tier", 4), ("big-top", 3), ("widescreen", 4), ("grid-2x2", 4)]
POSES = ["standing", "walking", "running", "pointing", "waving", "sitting"]


def generated_project(pages: int, dpi: int) -> dict:
    """A book of `pages` pages cycling layouts so the panel count is about 5 per page (1,000 for 200)."""
    book = {
        "title": "Benchmark Book", "format": {"trim": "us-comic", "dpi": dpi},
        "characters": {"mira": {"tokens": "mira_cf", "palette": ["#c0392b", "#f5d0a9"]}, "ren": {"tokens": "ren_cf"}},
        "pages": [],
    }
    # 200 pages × 5 panels: alternate 6- and 4-panel layouts with a 5-panel one
    cycle = [("grid-2x3", 6), ("grid-2x2", 4), ({"rows": [2, 1, 2]}, 5)]
    for number in range(1, pages + 1):
        layout, count = cycle[number % 3]
        panels = [
            {"prompt": f"{{{{ mira }}}} scene {number}.{i}", "characters": ["mira"] if i % 2 else ["mira", "ren"],
             "pose": POSES[(number + i) % len(POSES)],
             "balloons": [{"who": "mira", "text": f"Line {number}.{i}, said quickly."}] if i == 1 else []}
            for i in range(1, count + 1)
        ]
        book["pages"].append({"layout": layout, "panels": panels})
    return book


def timed(args: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "comicforge", *args, "--json"], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(result.stdout)


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--pages", type=int, default=200)
    options.add_argument("--dpi", type=int, default=100)
    options.add_argument("--runs", type=int, default=7)
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        data = generated_project(args.pages, args.dpi)
        (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        panels = sum(len(p["panels"]) for p in data["pages"])
        first, report = timed(["build", str(project)])
        print(f"book: {args.pages} pages, {panels} panels, {args.dpi} dpi, exports pdf+png")
        print(f"first build: {first:.1f} s ({report['panels']['generated']} panels generated, {report['pages']['composed']} pages composed)")
        noops = [timed(["build", str(project)])[0] for _ in range(args.runs)]
        print(f"no-op rebuild: median {statistics.median(noops):.3f} s (min {min(noops):.3f}, max {max(noops):.3f}, {args.runs} runs, interpreter start included)")
        text = (project / "comic.yaml").read_text().replace("scene 100.2", "scene 100.2 at dawn", 1)
        (project / "comic.yaml").write_text(text)
        edit, report = timed(["build", str(project)])
        print(f"one-panel edit: {edit:.2f} s ({report['panels']['generated']} panel generated, {report['pages']['composed']} page composed; PDF re-exported)")


if __name__ == "__main__":
    main()
