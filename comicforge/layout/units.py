"""Lengths with units, converted to PDF points (1/72 in)."""

from __future__ import annotations

import math
import re

POINTS_PER = {"in": 72.0, "mm": 72.0 / 25.4, "cm": 72.0 / 2.54, "pt": 1.0}
UNITS = ("in", "mm", "cm", "pt", "px")
_LENGTH = re.compile(r"^\s*(-?\d+(?:\.\d*)?|-?\.\d+)\s*([a-z]*)\s*$")

Length = float | int | str


def to_points(value: Length, dpi: float) -> float:
    """A length (number = inches, or '3mm', '0.125in', '9pt', '300px') in points."""
    if isinstance(value, bool):
        raise ValueError(f"not a length: {value!r}")
    if isinstance(value, (int, float)):
        return float(value) * 72.0
    match = _LENGTH.match(value)
    if not match:
        raise ValueError(f"not a length: {value!r} (write e.g. 0.125in, 3mm, 9pt, 300px)")
    number, unit = float(match.group(1)), match.group(2) or "in"
    if unit == "px":
        return number * 72.0 / dpi
    if unit not in POINTS_PER:
        raise ValueError(f"unknown unit {unit!r} in {value!r} (valid: {', '.join(UNITS)})")
    return number * POINTS_PER[unit]


def check_length(value: Length, positive: bool = False) -> Length:
    """Validate a length's syntax and sign without knowing the dpi (the sign of a px length does not depend on it)."""
    points = to_points(value, 300.0)
    shown = f"{value:g}" if isinstance(value, (int, float)) else repr(value)
    if not math.isfinite(points):
        raise ValueError(f"{shown} is not a finite length")
    if points <= 0 if positive else points < 0:
        raise ValueError(f"{shown} must be {'greater than 0' if positive else '0 or more'}")
    return value


def check_positive_length(value: Length) -> Length:
    """A length that must be greater than 0 (a trim side)."""
    return check_length(value, positive=True)


def points_to_pixels(points: float, dpi: float) -> float:
    """Points at a print resolution, as (fractional) pixels."""
    return points * dpi / 72.0
