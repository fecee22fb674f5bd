"""Measurements of screened output: ink coverage, and screen angle and ruling read from the 2-D spectrum."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScreenReading:
    """A screen as measured: angle in degrees counter-clockwise from the page horizontal, ruling in lpi."""

    angle: float
    lpi: float


def ink_coverage(ink: np.ndarray) -> float:
    """Share of pixels carrying ink, in percent."""
    return float(np.count_nonzero(ink)) * 100.0 / ink.size


def measure_screen(ink: np.ndarray, dpi: float, symmetry: float = 90.0) -> ScreenReading:
    """Angle (modulo `symmetry`) and ruling of the strongest periodic component of a screened area."""
    height, width = ink.shape
    window = np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)
    signal = (ink.astype(np.float32) - ink.mean()) * window
    power = np.abs(np.fft.rfft2(signal))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    power[np.hypot(fx, fy) < 4.0 / min(height, width)] = 0  # the window's leakage around DC
    row, col = (int(i) for i in np.unravel_index(int(np.argmax(power)), power.shape))
    peak_fy = (row if row <= height // 2 else row - height) + refine_peak(power, row, col, axis=0)
    peak_fx = col + refine_peak(power, row, col, axis=1)
    cycles_x, cycles_y = peak_fx / width, peak_fy / height
    angle = math.degrees(math.atan2(-cycles_y, cycles_x)) % symmetry  # image y points down
    return ScreenReading(angle=angle, lpi=math.hypot(cycles_x, cycles_y) * dpi)


def refine_peak(power: np.ndarray, row: int, col: int, axis: int) -> float:
    """Sub-bin offset of a spectral peak along one axis by a parabola through log magnitudes."""
    size = power.shape[axis]
    centre = (row, col)
    if axis == 1 and not 0 < col < size - 1:
        return 0.0  # the half spectrum of rfft2 has no neighbour beyond its edges
    before, after = list(centre), list(centre)
    before[axis] = (centre[axis] - 1) % size
    after[axis] = (centre[axis] + 1) % size
    left, middle, right = (math.log(power[tuple(at)] + 1e-12) for at in (before, centre, after))
    curvature = left - 2 * middle + right
    return 0.0 if curvature >= 0 else 0.5 * (left - right) / curvature
