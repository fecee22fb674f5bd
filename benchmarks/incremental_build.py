"""Figures for issues 2 and 9: a generated 200-page / 1,000-panel book on the draft engine.

Times (wall, via subprocess so interpreter start is included):
  1. the first draft build,
  2. a no-op rebuild (target < 0.5 s including interpreter start; several runs, median), which checks every
     entry's manifest and file sizes; with --baseline CHECKOUT the same book is built by that checkout too and
     the no-op runs alternate between the two, so the cost of entry verification is read side by side,
  3. a one-panel prompt edit (checks exactly 1 panel generated and 1 page composed),
  4. the store's size after 10 more one-panel edits, then after `comicforge gc`, and that the next build is a no-op.
Usage: python benchmarks/incremental_build.py [--pages 200] [--dpi 100] [--runs 7] [--baseline ../old-checkout]
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


def timed(args: list[str], checkout: Path | None = None) -> tuple[float, dict]:
    """Wall time and JSON report of a comicforge command (run from `checkout` when given)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)} if checkout else None
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "comicforge", *args, "--json"], capture_output=True, text=True, check=True, env=env)
    return time.perf_counter() - started, json.loads(result.stdout)


def edit_panel(project: Path, old: str, new: str) -> None:
    text = (project / "comic.yaml").read_text()
    assert old in text, old
    (project / "comic.yaml").write_text(text.replace(old, new, 1))


def median_line(name: str, times: list[float]) -> str:
    return f"{name}: median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs)"


def garbage_figures(project: Path) -> None:
    """Store size after 10 one-panel edits, then after gc; the build after gc must reuse everything."""
    for n in range(10):
        edit_panel(project, f"scene {10 + n}.1'", f"scene {10 + n}.1 in the rain'")
        timed(["build", str(project)])
    before = timed(["build", str(project)])[1]["store"]
    result = subprocess.run([sys.executable, "-m", "comicforge", "gc", str(project)], capture_output=True, text=True, check=True)
    after_report = timed(["build", str(project)])[1]
    after = after_report["store"]
    print(f"store after 10 edits: {before['bytes'] / 1e6:.1f} MB in {before['entries']} entries; "
          f"after gc: {after['bytes'] / 1e6:.1f} MB in {after['entries']} entries ({result.stdout.strip()})")
    print(f"build after gc: {after_report['jobs']['built']} jobs built, {after_report['jobs']['reused']} reused")


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--pages", type=int, default=200)
    options.add_argument("--dpi", type=int, default=100)
    options.add_argument("--runs", type=int, default=7)
    options.add_argument("--baseline", type=Path, help="a checkout of an earlier commit to time the no-op against")
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project, old = Path(folder) / "book", Path(folder) / "baseline"
        data = generated_project(args.pages, args.dpi)
        for target in (project, old) if args.baseline else (project,):
            target.mkdir()
            (target / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        panels = sum(len(p["panels"]) for p in data["pages"])
        first, report = timed(["build", str(project)])
        print(f"book: {args.pages} pages, {panels} panels, {args.dpi} dpi, exports pdf+png")
        print(f"first build: {first:.1f} s ({report['panels']['generated']} panels generated, {report['pages']['composed']} pages composed)")
        if args.baseline:  # the same first build by the baseline: what sealing and fsyncing every entry costs
            old_first = timed(["build", str(old)], args.baseline.resolve())[0]
            print(f"first build, baseline {args.baseline}: {old_first:.1f} s")
        noops, baseline = [], []
        for _ in range(args.runs):  # interleaved, so both see the same machine load
            noops.append(timed(["build", str(project)])[0])
            if args.baseline:
                baseline.append(timed(["build", str(old)], args.baseline.resolve())[0])
        print(median_line("no-op rebuild (entries verified by size)", noops) + ", interpreter start included")
        if baseline:
            print(median_line(f"no-op rebuild, baseline {args.baseline}", baseline))
        edit_panel(project, "scene 100.2", "scene 100.2 at dawn")
        edit, report = timed(["build", str(project)])
        print(f"one-panel edit: {edit:.2f} s ({report['panels']['generated']} panel generated, {report['pages']['composed']} page composed; PDF re-exported)")
        garbage_figures(project)


if __name__ == "__main__":
    main()
