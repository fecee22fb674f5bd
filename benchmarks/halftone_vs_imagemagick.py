"""Halftone a 600-dpi US comic page with bleed (4125 x 6263 gray) to 1 bit: comicforge against ImageMagick.

Both sides read the same PNG and write a 1-bit PNG; times include reading, screening and writing.
comicforge: `halftone_file(..., dpi=600, lpi=65, angle=45)` in process, and the same call in a fresh Python
process (interpreter start and imports included). ImageMagick: `convert IN -ordered-dither h8x8a -type
bilevel OUT`. Runs are interleaved; medians of `--repeats` runs are reported.
Accuracy is read from comicforge's output file: ink coverage of 11 flat tone patches (0-100 %) and the screen
angle and ruling from the 2-D spectrum of a flat 30 % patch.

    python benchmarks/halftone_vs_imagemagick.py [--repeats 5] [--keep DIR]

ImageMagick is an optional baseline that only this benchmark uses (the tests and CI never need it): install it
with your system's package manager, e.g. `apt-get update && apt-get install -y imagemagick` (Debian/Ubuntu, as
root) or `brew install imagemagick` (macOS).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from comicforge.post.halftone import halftone_file  # noqa: E402
from comicforge.post.measure import ink_coverage, measure_screen  # noqa: E402

PAGE = (4125, 6263)  # 6.875 x 10.4375 in at 600 dpi: US comic trim plus 0.125 in bleed each side
DPI, LPI, ANGLE = 600, 65, 45.0
TONES = tuple(range(0, 101, 10))
PATCH, PATCH_TOP, PATCH_LEFT = 320, 5600, 300  # tone patches: a row along the bottom
SPECTRUM_BOX = (2900, 600, 3924, 1624)  # left, top, right, bottom of a flat 30 % area
CROP = 40  # pixels trimmed from each patch edge before measuring


def gray_of(tone: float) -> int:
    """The 8-bit gray of an ink tone in percent."""
    return round(255 * (1 - tone / 100))


def make_page(seed: int = 65) -> Image.Image:
    """A page-like gray image: gradient ground, painted texture, panels, shapes, tone patches."""
    width, height = PAGE
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ground = 235 - 150 * (x / width) * (y / height)
    coarse = (height // 8 + 1, width // 8 + 1)
    texture = ndimage.gaussian_filter(np.random.default_rng(seed).normal(0, 60, coarse), 3).astype(np.float32)
    texture = np.kron(texture, np.ones((8, 8), dtype=np.float32))[:height, :width]
    art = np.clip(ground + texture * (y < height * 0.55), 0, 255).astype(np.uint8)
    page = Image.fromarray(art, mode="L")
    draw = ImageDraw.Draw(page)
    for row in range(3):
        for col in range(2):
            left, top = 225 + col * 1860, 225 + row * 1800
            draw.rectangle((left, top, left + 1800, top + 1740), outline=0, width=10)
    rng = np.random.default_rng(seed)
    for _ in range(60):
        cx, cy, r = rng.integers(300, width - 300), rng.integers(300, 5200), rng.integers(40, 260)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r * 1.3), fill=int(rng.integers(30, 230)), outline=0, width=6)
    for _ in range(200):
        points = [tuple(int(v) for v in rng.integers(0, (width, 5400))) for _ in range(2)]
        draw.line(points, fill=0, width=int(rng.integers(3, 12)))
    draw.rectangle(SPECTRUM_BOX, fill=gray_of(30))
    for index, tone in enumerate(TONES):
        left = PATCH_LEFT + index * (PATCH + 13)
        draw.rectangle((left, PATCH_TOP, left + PATCH - 1, PATCH_TOP + PATCH - 1), fill=gray_of(tone))
    return page


def patch_coverages(ink: np.ndarray) -> list[float]:
    """Measured ink coverage (%) of each tone patch's interior."""
    coverages = []
    for index in range(len(TONES)):
        left = PATCH_LEFT + index * (PATCH + 13)
        area = ink[PATCH_TOP + CROP : PATCH_TOP + PATCH - CROP, left + CROP : left + PATCH - CROP]
        coverages.append(ink_coverage(area))
    return coverages


def time_run(command: list[str] | None, call=None) -> float:
    """Seconds one run takes: a subprocess when `command` is given, else the in-process `call`."""
    start = time.perf_counter()
    if command is not None:
        subprocess.run(command, check=True, capture_output=True)
    else:
        call()
    return time.perf_counter() - start


def main() -> None:
    """Build the page, time both tools, print medians, ratio and accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="copy the input and outputs here")
    args = parser.parse_args()
    if not shutil.which("convert"):
        sys.exit("ImageMagick `convert` is not installed (an optional baseline: apt-get install imagemagick, or brew install imagemagick)")
    work = Path(tempfile.mkdtemp(prefix="halftone-bench-"))
    source, ours, theirs = work / "page.png", work / "comicforge.png", work / "imagemagick.png"
    make_page().save(source)
    ours_call = lambda: halftone_file(source, ours, dpi=DPI, lpi=LPI, angle=ANGLE)  # noqa: E731
    fresh_process = [
        sys.executable,
        "-c",
        "import sys; sys.path.insert(0, sys.argv[1]); from comicforge.post.halftone import halftone_file; "
        f"halftone_file(sys.argv[2], sys.argv[3], dpi={DPI}, lpi={LPI}, angle={ANGLE})",
        str(Path(__file__).resolve().parents[1]),
        str(source),
        str(ours),
    ]
    magick = ["convert", str(source), "-ordered-dither", "h8x8a", "-type", "bilevel", str(theirs)]
    ours_call()  # warm caches (file system, threshold cell) once for both sides
    subprocess.run(magick, check=True, capture_output=True)
    in_process, new_process, imagemagick = [], [], []
    for _ in range(args.repeats):
        in_process.append(time_run(None, ours_call))
        new_process.append(time_run(fresh_process))
        imagemagick.append(time_run(magick))
    report(source, ours, theirs, in_process, new_process, imagemagick)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for path in (source, ours, theirs):
            shutil.copy(path, args.keep / path.name)
    shutil.rmtree(work)


def report(source, ours, theirs, in_process, new_process, imagemagick) -> None:
    """Print the timing and accuracy figures."""
    median_ours, median_fresh, median_magick = map(statistics.median, (in_process, new_process, imagemagick))
    with Image.open(ours) as image:
        assert image.mode == "1" and image.size == PAGE
        ink = ~np.asarray(image)
    with Image.open(theirs) as image:
        magick_ink = np.asarray(image.convert("L")) < 128
    print(f"page {PAGE[0]}x{PAGE[1]} gray, {DPI} dpi -> 1-bit, {LPI} lpi at {ANGLE:g} deg; "
          f"input PNG {source.stat().st_size / 1e6:.1f} MB; {len(in_process)} interleaved runs each")
    print(f"comicforge halftone_file, in process : median {median_ours:.3f} s  "
          f"(runs {', '.join(f'{t:.3f}' for t in in_process)})")
    print(f"comicforge, fresh python process     : median {median_fresh:.3f} s  "
          f"(runs {', '.join(f'{t:.3f}' for t in new_process)})")
    print(f"ImageMagick -ordered-dither h8x8a    : median {median_magick:.3f} s  "
          f"(runs {', '.join(f'{t:.3f}' for t in imagemagick)})")
    print(f"speed-up: {median_magick / median_ours:.1f}x in process, {median_magick / median_fresh:.1f}x "
          "with a fresh process (target >= 5x)")
    print(f"output sizes: comicforge {ours.stat().st_size / 1e6:.2f} MB, "
          f"ImageMagick {theirs.stat().st_size / 1e6:.2f} MB")
    coverages, magick_coverages = patch_coverages(ink), patch_coverages(magick_ink)
    print("tone %      : " + " ".join(f"{tone:6d}" for tone in TONES))
    print("comicforge %: " + " ".join(f"{c:6.2f}" for c in coverages))
    print("ImageMagick%: " + " ".join(f"{c:6.2f}" for c in magick_coverages))
    worst = max(abs(c - t) for c, t in zip(coverages, TONES))
    worst_magick = max(abs(c - t) for c, t in zip(magick_coverages, TONES))
    print(f"coverage error, worst of 11: comicforge {worst:.2f} points, ImageMagick {worst_magick:.2f} "
          "(target <= 2)")
    left, top, right, bottom = SPECTRUM_BOX
    reading = measure_screen(ink[top + CROP : bottom - CROP, left + CROP : right - CROP], DPI)
    angle_error = min((reading.angle - ANGLE) % 90, (ANGLE - reading.angle) % 90)
    print(f"screen from spectrum: angle {reading.angle:.2f} deg (error {angle_error:.2f}, target <= 1), "
          f"ruling {reading.lpi:.2f} lpi (error {100 * (reading.lpi / LPI - 1):+.2f} %, target within 2 %)")


if __name__ == "__main__":
    main()
