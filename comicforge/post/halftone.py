"""AM halftone screens: calibrated round, elliptical and line dots at a ruling and angle, in page coordinates.

A screen is a threshold matrix. The spot function is sampled on a 256 x 256 grid over one cell and replaced by
its rank (so the share of a cell below any threshold equals that threshold: ink coverage is linear in tone), and
every pixel looks up its threshold from its position in the rotated cell. That position is kept in 16-bit fixed
point (65536 = one cell), so wrapping into the cell is the free overflow of uint16 addition, and a pixel's
position is the sum of a per-column and a per-row term: no full-size float temporaries.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from comicforge.errors import PostError
from comicforge.post.bitmap_png import write_bitmap_png
from comicforge.post.color import grayscale
from comicforge.spec.settings import angle_problem, lpi_problem, shape_problem

CELL_BITS = 8  # spot-function samples per cell axis = 2**CELL_BITS
FIXED_ONE = 1 << 16  # one cell in the fixed-point screen coordinates
STRIP_ROWS = 64  # rows per strip: keeps the strip's temporaries in cache
PIXELS_PER_BAND = 1 << 22  # images larger than this are screened in bands on several cores
CORES = os.cpu_count() or 1

ELLIPSE_RATIO = 0.6  # weight of the minor axis term: chains join along v near 40 %, along u near 60 %

Origin = tuple[int, int]


def spot_function(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Spot height at cell phase (u, v) in [0, 1): the highest points take ink first."""
    cu, cv = np.cos(2 * np.pi * u), np.cos(2 * np.pi * v)
    if shape == "round":
        return cu + cv  # Euclidean dot: round dots, a checkerboard at 50 %, round holes above
    if shape == "ellipse":
        return cu + ELLIPSE_RATIO * cv
    if shape == "line":
        return cv  # lines run along the screen angle
    raise PostError(shape_problem(shape, "halftone.shape") or f"unknown shape {shape!r}")


@lru_cache(maxsize=8)
def spot_ranks(shape: str) -> np.ndarray:
    """Order in which the cell's samples take ink (0 first), flattened as (u_bin << 8) | v_bin, as uint16."""
    n = 1 << CELL_BITS
    phase = (np.arange(n) + 0.5) / n
    height = np.broadcast_to(spot_function(shape, phase[:, None], phase[None, :]), (n, n)).ravel()
    # symmetric samples tie exactly after rounding; the sample index breaks ties so every rank is distinct,
    # which matters when the pixel grid samples only a few symmetric cell positions (0 degrees, whole cells)
    order = np.lexsort((np.arange(n * n), -np.round(height, 9)))
    ranks = np.empty(n * n, dtype=np.uint16)
    ranks[order] = np.arange(n * n, dtype=np.uint16)
    ranks.flags.writeable = False
    return ranks


@dataclass(frozen=True)
class Screen:
    """One AM screen: ruling and angle (counter-clockwise from the page horizontal) at a print resolution."""

    dpi: float
    lpi: float
    angle: float
    shape: str = "round"

    def axis_terms(self, count: int, start: int, along_x: bool) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-point (u, v) contributions of `count` pixel centres from page column/row `start`."""
        theta = math.radians(self.angle)
        scale = FIXED_ONE * self.lpi / self.dpi  # cells per pixel, in fixed point
        pos = (np.arange(count, dtype=np.float64) + start + 0.5) * scale
        # image y points down, so a counter-clockwise angle on the page rotates by -angle in pixel space
        if along_x:
            du, dv = math.cos(theta), math.sin(theta)
        else:
            du, dv = -math.sin(theta), math.cos(theta)
        return fixed_phase(pos * du), fixed_phase(pos * dv)

    def cell_index_strips(
        self, height: int, width: int, origin: Origin = (0, 0)
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """Each pixel's sample in the cell, (u_bin << 8) | v_bin, strip by strip; the block is reused."""
        col_u, col_v = self.axis_terms(width, origin[0], along_x=True)
        row_u, row_v = self.axis_terms(height, origin[1], along_x=False)
        u = np.empty((STRIP_ROWS, width), dtype=np.uint16)
        v = np.empty_like(u)
        for top in range(0, height, STRIP_ROWS):
            rows = slice(top, min(top + STRIP_ROWS, height))
            ub, vb = u[: rows.stop - top], v[: rows.stop - top]
            np.add(col_u[None, :], row_u[rows, None], out=ub)  # wraps modulo one cell
            np.add(col_v[None, :], row_v[rows, None], out=vb)
            np.bitwise_and(ub, 0xFF00, out=ub)
            np.right_shift(vb, 16 - CELL_BITS, out=vb)
            np.bitwise_or(ub, vb, out=ub)
            yield rows, ub

    def threshold_strips(
        self, height: int, width: int, origin: Origin = (0, 0)
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """Threshold matrix (uint8, 1..255) strip by strip; each yielded block is reused by the next strip."""
        cell = calibrated_cell(self)
        t = np.empty((STRIP_ROWS, width), dtype=np.uint8)
        for rows, index in self.cell_index_strips(height, width, origin):
            block = t[: rows.stop - rows.start]
            np.take(cell, index, out=block)
            yield rows, block

    def thresholds(self, height: int, width: int, origin: Origin = (0, 0)) -> np.ndarray:
        """The full threshold matrix for an area whose top-left pixel sits at page pixel `origin`."""
        out = np.empty((height, width), dtype=np.uint8)
        for rows, block in self.threshold_strips(height, width, origin):
            out[rows] = block
        return out


CALIBRATION_PATCH = 512  # page pixels per side sampled to calibrate a screen


@lru_cache(maxsize=32)
def calibrated_cell(screen: Screen) -> np.ndarray:
    """Thresholds (1..255) per cell sample, ranked over the samples this screen's pixel grid actually hits."""
    # Ranking the hit samples, not the whole cell, keeps coverage linear in tone when the pixel grid meets
    # the cell at only a few positions (0 degrees at a whole number of pixels per line). The patch sits at
    # the page origin, so every panel of a page gets the same thresholds.
    ranks = spot_ranks(screen.shape)
    hits = np.zeros(ranks.size, dtype=np.int64)
    for _, index in screen.cell_index_strips(CALIBRATION_PATCH, CALIBRATION_PATCH):
        hits += np.bincount(ranks[index].ravel(), minlength=ranks.size)
    share_before = (np.cumsum(hits) - hits) / hits.sum()
    share_middle = share_before + hits / (2 * hits.sum())  # a tied group switches at its middle tone
    threshold_of_rank = 1 + np.minimum(np.floor(share_middle * 255), 254).astype(np.uint8)
    cell = threshold_of_rank[ranks]
    cell.flags.writeable = False
    return cell


def fixed_phase(cells: np.ndarray) -> np.ndarray:
    """Cell coordinates in fixed point, wrapped into one cell, as uint16."""
    return (np.rint(cells).astype(np.int64) % FIXED_ONE).astype(np.uint16)


def check_screen(dpi: float, lpi: float, angle: float, shape: str, setting: str = "halftone") -> None:
    """Raise PostError naming the setting when a screen cannot be rendered at this dpi."""
    for problem in (
        lpi_problem(lpi, f"{setting}.lpi", dpi=dpi),
        angle_problem(angle, f"{setting}.angle"),
        shape_problem(shape, f"{setting}.shape"),
    ):
        if problem:
            raise PostError(problem)


def paper_mask(gray: np.ndarray, screen: Screen, origin: Origin = (0, 0)) -> np.ndarray:
    """Where paper stays white (True) for an 8-bit gray image (0 black … 255 white) under the screen."""
    gray = np.asarray(gray, dtype=np.uint8)
    out = np.empty(gray.shape, dtype=bool)
    calibrated_cell(screen)  # once, before the bands share it
    bands = np.array_split(np.arange(gray.shape[0]), max(1, min(CORES, gray.size // PIXELS_PER_BAND)))
    jobs = [(slice(band[0], band[-1] + 1)) for band in bands if band.size]
    if len(jobs) == 1:
        screen_band(gray, out, jobs[0], screen, origin)
    else:
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:  # numpy releases the GIL in the strips
            list(pool.map(lambda rows: screen_band(gray, out, rows, screen, origin), jobs))
    return out


def screen_band(gray: np.ndarray, out: np.ndarray, rows: slice, screen: Screen, origin: Origin) -> None:
    """Screen the rows `rows` of `gray` into `out`; the band knows its place on the page."""
    band_origin = (origin[0], origin[1] + rows.start)
    band, band_out = gray[rows], out[rows]
    height, width = band.shape
    for strip, thresholds in screen.threshold_strips(height, width, band_origin):
        np.greater_equal(band[strip], thresholds, out=band_out[strip])


def halftone_dots(
    gray: np.ndarray,
    dpi: float,
    lpi: float,
    angle: float,
    shape: str = "round",
    origin: Origin = (0, 0),
) -> np.ndarray:
    """Ink mask (True = ink) of an AM halftone of an 8-bit gray image; the screen is laid from page `origin`."""
    check_screen(dpi, lpi, angle, shape)
    return ~paper_mask(gray, Screen(dpi, lpi, angle, shape), origin)


def bitmap_from_paper(paper: np.ndarray) -> Image.Image:
    """A mode "1" image (white = paper) from a boolean paper mask, packed without a per-pixel detour."""
    height, width = paper.shape
    return Image.frombytes("1", (width, height), np.packbits(paper, axis=1).tobytes())


def halftone_image(image: Image.Image, screen: Screen, origin: Origin = (0, 0)) -> Image.Image:
    """A 1-bit halftone of any image (converted to gray first)."""
    gray = np.asarray(grayscale(image))
    return bitmap_from_paper(paper_mask(gray, screen, origin))


def halftone_file(
    input: Path, output: Path, *, dpi: int, lpi: float, angle: float, shape: str = "round"
) -> None:
    """Halftone any image file to a 1-bit PNG at `dpi` (the image is taken as already at print size)."""
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not dpi > 0:
        raise PostError(f"halftone.dpi: {dpi!r} is not a print resolution (must be > 0)")
    check_screen(dpi, lpi, angle, shape)
    image = read_image(Path(input))
    paper = paper_mask(np.asarray(grayscale(image)), Screen(dpi, lpi, angle, shape))
    try:
        write_bitmap_png(Path(output), paper, dpi)
    except OSError as error:
        raise PostError(f"{output}: cannot write ({error.strerror or error})") from error


def read_image(path: Path) -> Image.Image:
    """Open and decode an image file, turning a missing or unreadable file into a PostError."""
    if not path.is_file():
        raise PostError(f"{path}: no such image file")
    try:
        with Image.open(path) as opened:
            opened.load()
            return opened
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise PostError(f"{path}: not a readable image ({error})") from error
