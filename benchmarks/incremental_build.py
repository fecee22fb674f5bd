"""Figures for issues 2, 9 and 16: a generated book (240 pages / 1,200 panels by default) on the draft engine.

Times are wall seconds of `comicforge build --json` in a subprocess, so interpreter start is included:
  1. the first build,
  2. a no-op rebuild (median of --runs),
  3. one panel's prompt edited: to the finished build, and to that page's PNG in build/pages (polled),
  4. one character's tokens edited (a character in every third panel),
  5. `defaults.steps` edited (every panel resolved and generated again),
  6. the store's size after 10 more one-panel edits, then after `comicforge gc`, and that the next build is a no-op.
With --baseline CHECKOUT the same book is built by that checkout too, each figure taken side by side (alternating
runs), so a change is read against the code before it.
Usage: python benchmarks/incremental_build.py [--pages 240] [--dpi 100] [--runs 9] [--baseline ../old-checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

POSES = ["standing", "walking", "running", "pointing", "waving", "sitting"]


def generated_project(pages: int, dpi: int) -> dict:
    """A book of `pages` pages cycling 6-, 4- and 5-panel layouts (1,200 panels for 240): three characters (kai in
    every third panel), a balloon on each page's first panel."""
    book = {
        "title": "Benchmark Book", "format": {"trim": "us-comic", "dpi": dpi},
        "characters": {"mira": {"tokens": "mira_cf", "palette": ["#c0392b", "#f5d0a9"]}, "ren": {"tokens": "ren_cf"},
                       "kai": {"tokens": "kai_cf, green jacket"}},
        "pages": [],
    }
    cycle = [("grid-2x3", 6), ("grid-2x2", 4), ({"rows": [2, 1, 2]}, 5)]
    serial = 0
    for number in range(1, pages + 1):
        layout, count = cycle[number % 3]
        panels = []
        for i in range(1, count + 1):
            serial += 1
            cast = ["mira"] if i % 2 else ["mira", "ren"]
            panels.append({
                "prompt": f"{{{{ mira }}}} scene {number}.{i}", "characters": cast + ["kai"] * (serial % 3 == 0),
                "pose": POSES[(number + i) % len(POSES)],
                "balloons": [{"who": "mira", "text": f"Line {number}.{i}, said quickly."}] if i == 1 else [],
            })
        book["pages"].append({"layout": layout, "panels": panels})
    return book


def timed(project: Path, checkout: Path | None = None, watch: Path | None = None) -> tuple[float, dict, float | None]:
    """Wall time and JSON report of a build (by `checkout` when given), and when `watch` was (re)written, if it was."""
    env = {**os.environ, "PYTHONPATH": str(checkout)} if checkout else None
    before = watch.stat().st_mtime_ns if watch and watch.exists() else None
    seen: list[float] = []
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "comicforge", "build", str(project), "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=checkout)  # (`-m` puts the cwd first on sys.path)
    poller = threading.Thread(target=_poll, args=(watch, before, process, started, seen)) if watch else None
    if poller:
        poller.start()
    out, err = process.communicate()
    wall = time.perf_counter() - started
    if poller:
        poller.join()
    if process.returncode:
        raise SystemExit(f"build failed: {err}")
    return wall, json.loads(out), seen[0] if seen else None


def _poll(path: Path, before: int | None, process: subprocess.Popen, started: float, seen: list[float]) -> None:
    """Note the first moment `path` has a new modification time (every 2 ms while the build runs)."""
    while True:
        try:
            if path.stat().st_mtime_ns != before:
                seen.append(time.perf_counter() - started)
                return
        except OSError:
            pass
        if process.poll() is not None:
            return
        time.sleep(0.002)


def edit(project: Path, old: str, new: str) -> None:
    text = (project / "comic.yaml").read_text()
    assert old in text, old
    (project / "comic.yaml").write_text(text.replace(old, new, 1))


def median_line(name: str, times: list[float]) -> str:
    return f"{name}: median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs)"


class Book:
    """One copy of the book and the checkout that builds it (None: this one)."""

    def __init__(self, folder: Path, data: dict, checkout: Path | None):
        self.folder, self.checkout = folder, checkout
        folder.mkdir()
        (folder / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    def build(self, watch: str | None = None) -> tuple[float, dict, float | None]:
        return timed(self.folder, self.checkout, self.folder / "build" / watch if watch else None)

    @property
    def name(self) -> str:
        return f"baseline {self.checkout}" if self.checkout else "this checkout"


def side_by_side(books: list[Book], runs: int, step) -> dict[str, list]:
    """Run `step(book, run)` for each book in turn, `runs` times (alternating, so both see the same machine load)."""
    found: dict[str, list] = {book.name: [] for book in books}
    for run in range(runs):
        for book in books:
            found[book.name].append(step(book, run))
    return found


def garbage_figures(book: Book, pages: int) -> None:
    """Store size after 10 one-panel edits, then after gc; the build after gc must reuse everything."""
    for n in range(10):
        number = 10 + n if pages >= 20 else 1 + n % pages
        edit(book.folder, f"scene {number}.3'", f"scene {number}.3 in the rain {n}'")
        book.build()
    before = book.build()[1]["store"]
    result = subprocess.run([sys.executable, "-m", "comicforge", "gc", str(book.folder)], capture_output=True, text=True, check=True)
    after_report = book.build()[1]
    after = after_report["store"]
    print(f"store after 10 edits: {before['bytes'] / 1e6:.1f} MB in {before['entries']} entries; "
          f"after gc: {after['bytes'] / 1e6:.1f} MB in {after['entries']} entries ({result.stdout.strip()})")
    print(f"build after gc: {after_report['jobs']['built']} jobs built, {after_report['jobs']['reused']} reused")


def splice_times(pdf_path: Path, page: int, runs: int = 5) -> list[float]:
    """Seconds to open the book's PDF, replace one page's art stream by itself and save it (what a splice must do at least)."""
    import pikepdf

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with pikepdf.open(pdf_path) as pdf:
            image = pdf.pages[page - 1].Resources.XObject["/Im0"]
            image.write(image.read_raw_bytes(), filter=pikepdf.Name.FlateDecode, decode_parms=image.get("/DecodeParms"))
            pdf.save(pdf_path.with_name("spliced.pdf"), deterministic_id=True, compress_streams=False)
        times.append(time.perf_counter() - started)
    return times


def _counts(report: dict) -> str:
    extra = f"; {report['resolve']}" if report.get("resolve") else ""
    return f"{report['panels']['generated']} panels generated, {report['pages']['composed']} pages composed{extra}"


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--pages", type=int, default=240)
    options.add_argument("--dpi", type=int, default=100)
    options.add_argument("--runs", type=int, default=9)
    options.add_argument("--baseline", type=Path, help="a checkout of an earlier commit to time side by side")
    args = options.parse_args()
    data = generated_project(args.pages, args.dpi)
    panels = sum(len(p["panels"]) for p in data["pages"])
    with tempfile.TemporaryDirectory() as folder:
        books = [Book(Path(folder) / "book", data, None)]
        if args.baseline:
            books.append(Book(Path(folder) / "baseline", data, args.baseline.resolve()))
        print(f"book: {args.pages} pages, {panels} panels, {args.dpi} dpi, exports pdf+png; wall seconds, interpreter start included")
        for book in books:
            wall, report, _ = book.build()
            print(f"first build, {book.name}: {wall:.1f} s ({_counts(report)})")

        noops = side_by_side(books, args.runs, lambda book, run: book.build()[0])
        for name, times in noops.items():
            print(median_line(f"no-op rebuild, {name}", times))

        page = min(100, args.pages)
        page_png = f"pages/page-{page:03d}.png"

        def one_panel(book: Book, run: int) -> tuple[float, float | None, dict]:
            edit(book.folder, f"scene {page}.2", f"scene {page}.2 take {run}")
            wall, report, png = book.build(page_png)
            edit(book.folder, f"scene {page}.2 take {run}", f"scene {page}.2")  # back, for the next run's edit
            book.build()  # (a no-op: the original is stored)
            return wall, png, report

        edits = side_by_side(books, max(3, args.runs // 2), one_panel)
        for name, results in edits.items():
            print(median_line(f"one-panel prompt edit → build finished, {name}", [r[0] for r in results]) + f" ({_counts(results[-1][2])})")
            pngs = [r[1] for r in results if r[1] is not None]
            if pngs:
                print(median_line(f"one-panel prompt edit → {page_png} written, {name}", pngs))

        def lettering(book: Book, run: int) -> tuple[float, dict]:
            edit(book.folder, f"Line {page}.1, said" if run == 0 else f"Line {page}.1 take {run - 1}, said", f"Line {page}.1 take {run}, said")
            wall, report, _ = book.build()
            return wall, report

        letterings = side_by_side(books, max(3, args.runs // 2), lettering)
        for name, results in letterings.items():
            print(median_line(f"one balloon's text edited → build finished, {name}", [r[0] for r in results]) + f" ({_counts(results[-1][1])})")
        for name, results in edits.items():
            stages = [r[2]["timings"].get("stages", {}).get("pdf") for r in results]
            if all(stages):
                print(median_line(f"PDF stage after the prompt edit (art only: overlay reused), {name}", stages))
        for name, results in letterings.items():
            stages = [r[1]["timings"].get("stages", {}).get("pdf") for r in results]
            if all(stages):
                print(median_line(f"PDF stage after the balloon edit (overlay drawn again), {name}", stages))
        print(median_line("splicing one page's art into the last PDF (pikepdf open, replace, save: the floor of page-level reuse)",
                          splice_times(books[0].folder / "build" / "benchmark-book.pdf", page)))

        def character(book: Book, run: int) -> tuple[float, dict]:
            edit(book.folder, "kai_cf, green jacket" if run == 0 else f"kai_cf, jacket {run - 1}", f"kai_cf, jacket {run}")
            wall, report, _ = book.build()
            return wall, report

        for name, results in side_by_side(books, 3, character).items():
            print(median_line(f"character tokens edited (kai, every third panel), {name}", [r[0] for r in results]) + f" ({_counts(results[-1][1])})")

        def steps(book: Book, run: int) -> tuple[float, dict]:
            edit(book.folder, "title: Benchmark Book", "title: Benchmark Book\ndefaults: {steps: 30}")
            wall, report, _ = book.build()
            return wall, report

        for name, results in side_by_side(books, 1, steps).items():
            print(f"defaults.steps edited, {name}: {results[0][0]:.2f} s ({_counts(results[0][1])})")

        garbage_figures(books[0], args.pages)


if __name__ == "__main__":
    main()
