"""Export a 200-page bitmap book at 600 dpi to PDF: comicforge's print PDF writer against img2pdf, same page images.

Pages are 1-bit PNGs of a US comic page with bleed (4125 x 6263 at 600 dpi), made here: six panels of a
45-degree clustered-dot halftone of gradients and shapes, solid blacks, borders and hatching (eight distinct
pages, written to 200 files). Both sides read the 200 files and write one PDF:
comicforge `write_pdf` (PNG data embedded as-is, boxes, metadata, fonts for the overlay; the overlay is empty so
both files hold the same content) and `img2pdf.convert` at 600 dpi. Runs alternate; medians of `--repeats` runs.

    python benchmarks/export_vs_img2pdf.py [--pages 200] [--repeats 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from comicforge.compose.pdf import PdfPage, PrintSettings, write_pdf  # noqa: E402

PAGE = (4125, 6263)  # 6.875 x 10.4375 in at 600 dpi
DPI = 600
LPI = 85
DISTINCT = 8


def clustered_dot_screen(width: int, height: int) -> np.ndarray:
    """Threshold of a 45-degree round-dot screen at LPI (0..255)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    period = DPI / LPI
    u, v = (x + y) / (period * np.sqrt(2)), (x - y) / (period * np.sqrt(2))
    spot = (np.cos(2 * np.pi * u) + np.cos(2 * np.pi * v)) / 4 + 0.5  # 0..1
    return (spot * 255).astype(np.float32)


def make_page(seed: int, screen: np.ndarray) -> Image.Image:
    """A bitmap comic page: halftoned tone in six panels, solid blacks, hatching, borders, gutters."""
    width, height = PAGE
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    tone = 240 - 180 * ((x * rng.uniform(0.3, 1) + y * rng.uniform(0.3, 1)) / (width + height))
    tone = Image.fromarray(tone.astype(np.uint8), "L")
    draw = ImageDraw.Draw(tone)
    for _ in range(14):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(150, 700)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=int(rng.uniform(40, 220)))
    bits = np.asarray(tone, dtype=np.float32) > screen
    page = Image.fromarray(bits).convert("1")
    draw = ImageDraw.Draw(page)
    for _ in range(6):
        cx, cy = rng.uniform(300, width - 300), rng.uniform(300, height - 300)
        draw.polygon([(cx + rng.uniform(-400, 400), cy + rng.uniform(-400, 400)) for _ in range(5)], fill=0)
        for k in range(40):
            draw.line((cx - 300, cy + 12 * k, cx + 300, cy + 12 * k - 200), fill=0, width=3)
    for row in range(3):
        for col in range(2):
            left, top = 225 + col * 1860, 225 + row * 1800
            draw.rectangle((left - 60, top - 60, left + 1860, top + 1800), outline=1, width=60)
            draw.rectangle((left, top, left + 1800, top + 1740), outline=0, width=10)
    return page


def make_book(folder: Path, count: int) -> list[Path]:
    """Write the distinct pages once and copy them to `count` numbered files."""
    screen = clustered_dot_screen(*PAGE)
    distinct = []
    for i in range(DISTINCT):
        path = folder / f"distinct-{i}.png"
        make_page(i, screen).save(path, format="PNG", compress_level=6)
        distinct.append(path)
    pages = []
    for n in range(count):
        path = folder / f"page-{n + 1:03d}.png"
        shutil.copyfile(distinct[n % DISTINCT], path)
        pages.append(path)
    return pages


def export_comicforge(pages: list[Path], target: Path) -> None:
    media = (PAGE[0] * 72 / DPI, PAGE[1] * 72 / DPI)
    write_pdf([PdfPage(media, 9.0, path, [], n) for n, path in enumerate(pages, start=1)], target,
              PrintSettings(space="gray", title="Benchmark", condition="FOGRA39"))


def export_img2pdf(pages: list[Path], target: Path) -> None:
    import img2pdf

    target.write_bytes(img2pdf.convert([str(p) for p in pages], layout_fun=img2pdf.get_fixed_dpi_layout_fun((DPI, DPI))))


def timed(run, pages: list[Path], target: Path) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    run(pages, target)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cf-export-bench-"))
    try:
        started = time.perf_counter()
        pages = make_book(folder, args.pages)
        print(f"{args.pages} pages of {PAGE[0]}x{PAGE[1]} 1-bit PNG ({sum(p.stat().st_size for p in pages) / 1e6:.1f} MB) "
              f"made in {time.perf_counter() - started:.1f} s")
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(timed(export_comicforge, pages, folder / "comicforge.pdf"))
            theirs.append(timed(export_img2pdf, pages, folder / "img2pdf.pdf"))
        a, b = statistics.median(ours), statistics.median(theirs)
        size_a, size_b = (folder / "comicforge.pdf").stat().st_size, (folder / "img2pdf.pdf").stat().st_size
        print(f"comicforge write_pdf: median {a:.2f} s  (runs {', '.join(f'{t:.2f}' for t in ours)})  size {size_a} bytes")
        print(f"img2pdf.convert:      median {b:.2f} s  (runs {', '.join(f'{t:.2f}' for t in theirs)})  size {size_b} bytes")
        print(f"time ratio {a / b:.2f}x (target <= 1.5x); size ratio {size_a / size_b:.4f} (target <= 1)")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for name in ("comicforge.pdf", "img2pdf.pdf"):
                shutil.copyfile(folder / name, args.keep / name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
