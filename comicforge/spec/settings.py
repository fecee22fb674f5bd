"""Checks of post-processing settings, shared by the step models and the functions the CLI calls.

Each returns a message naming the setting and its valid range, or None when the value is fine.
"""

from __future__ import annotations

import math
import re

SHAPES = ("round", "ellipse", "line")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def number_problem(value: object, setting: str) -> str | None:
    """A message when `value` is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{setting}: {value!r} is not a number"
    if not math.isfinite(value):
        return f"{setting}: {value} is not a finite number"
    return None


def angle_problem(angle: object, setting: str) -> str | None:
    """Screen angles are degrees counter-clockwise from the page horizontal, 0 <= angle < 360."""
    problem = number_problem(angle, setting)
    if problem:
        return problem + " (must be an angle in degrees, 0 <= angle < 360)"
    if not 0 <= angle < 360:  # type: ignore[operator]
        return f"{setting}: {angle:g} is out of range (must be 0 <= angle < 360 degrees)"
    return None


def lpi_problem(lpi: object, setting: str, dpi: float | None = None) -> str | None:
    """A ruling must be positive and, once the dpi is known, below dpi/2 (two pixels per line at least)."""
    problem = number_problem(lpi, setting)
    if problem:
        return problem + " (must be lines per inch > 0)"
    if lpi <= 0:  # type: ignore[operator]
        return f"{setting}: {lpi:g} is out of range (must be lines per inch > 0)"
    if dpi is not None and lpi >= dpi / 2:  # type: ignore[operator]
        return f"{setting}: {lpi:g} is too fine for {dpi:g} dpi (must be below dpi/2 = {dpi / 2:g})"
    return None


def range_problem(value: object, setting: str, low: float, high: float, unit: str = "") -> str | None:
    """A message when `value` is not a number in [low, high]."""
    unit = f" {unit}" if unit else ""
    problem = number_problem(value, setting)
    if problem:
        return problem + f" (must be {low:g} to {high:g}{unit})"
    if not low <= value <= high:  # type: ignore[operator]
        return f"{setting}: {value:g} is out of range (must be {low:g} to {high:g}{unit})"
    return None


def shape_problem(shape: object, setting: str) -> str | None:
    """A message when `shape` is not one of the halftone dot shapes."""
    if shape in SHAPES:
        return None
    return f"{setting}: unknown shape {shape!r} (valid shapes: {', '.join(SHAPES)})"


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """(r, g, b), each 0 to 255, of a "#rrggbb" colour already validated (see `colour_problem`)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def colour_problem(colour: object, setting: str) -> str | None:
    """A message when `colour` is not a "#rrggbb" hex colour."""
    if isinstance(colour, str) and HEX_COLOUR.match(colour):
        return None
    return f"{setting}: {colour!r} is not a colour (must be hex \"#rrggbb\")"
