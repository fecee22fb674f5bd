"""Balloon outlines as vector paths in page points: ellipse, cloud, burst, jagged, box, tails, bubbles, links."""

from __future__ import annotations

import math
from itertools import pairwise

Point = tuple[float, float]
Command = tuple[float | str, ...]  # ("M", x, y) | ("L", x, y) | ("C", x1, y1, x2, y2, x, y) | ("Z",)
Path = list[Command]

KAPPA = 0.5522847498  # cubic Bézier control distance for a quarter ellipse
# how far each style's outline reaches beyond the ellipse that holds the text (for placement and clipping)
OUTER = {"speech": 1.0, "whisper": 1.0, "thought": 1.22, "shout": 1.42, "radio": 1.12, "caption": 1.0}
BURST_SPIKES = (1.42, 1.3, 1.38, 1.26)  # spike lengths of a shout, cycled so the burst looks hand-drawn
TAIL_HALF_WIDTH = 0.8  # half the tail's base, in units of the point size


def ellipse_path(cx: float, cy: float, rx: float, ry: float) -> Path:
    """An ellipse as four cubic Béziers."""
    kx, ky = rx * KAPPA, ry * KAPPA
    return [
        ("M", cx + rx, cy),
        ("C", cx + rx, cy + ky, cx + kx, cy + ry, cx, cy + ry),
        ("C", cx - kx, cy + ry, cx - rx, cy + ky, cx - rx, cy),
        ("C", cx - rx, cy - ky, cx - kx, cy - ry, cx, cy - ry),
        ("C", cx + kx, cy - ry, cx + rx, cy - ky, cx + rx, cy),
        ("Z",),
    ]


def polygon_path(points: list[Point]) -> Path:
    """A closed polygon."""
    (x0, y0), *rest = points
    return [("M", x0, y0), *(("L", x, y) for x, y in rest), ("Z",)]


def rect_path(x: float, y: float, w: float, h: float) -> Path:
    """An axis-aligned rectangle."""
    return polygon_path([(x, y), (x + w, y), (x + w, y + h), (x, y + h)])


def _on_ellipse(cx: float, cy: float, rx: float, ry: float, angle: float, scale: float = 1.0) -> Point:
    return cx + rx * scale * math.cos(angle), cy + ry * scale * math.sin(angle)


def _count(rx: float, ry: float, spacing: float, least: int) -> int:
    """How many features fit round an ellipse's perimeter at a spacing (Ramanujan's perimeter)."""
    perimeter = math.pi * (3 * (rx + ry) - math.sqrt((3 * rx + ry) * (rx + 3 * ry)))
    return max(least, round(perimeter / spacing))


def cloud_path(cx: float, cy: float, rx: float, ry: float) -> Path:
    """A thought cloud: bumps bulging outward between points on the ellipse."""
    n = _count(rx, ry, min(rx, ry) * 0.75, 8)
    points = [_on_ellipse(cx, cy, rx * 1.02, ry * 1.02, 2 * math.pi * i / n) for i in range(n + 1)]
    bulge = OUTER["thought"] - 1.0
    path: Path = [("M", *points[0])]
    for i, (a, b) in enumerate(pairwise(points)):
        angle = 2 * math.pi * (i + 0.5) / n
        ox, oy = math.cos(angle) * rx * bulge * 1.3, math.sin(angle) * ry * bulge * 1.3
        path.append(("C", a[0] + ox, a[1] + oy, b[0] + ox, b[1] + oy, b[0], b[1]))
    return [*path, ("Z",)]


def burst_path(cx: float, cy: float, rx: float, ry: float) -> Path:
    """A shout burst: spikes of cycling length between valleys on the ellipse."""
    n = _count(rx, ry, min(rx, ry) * 0.55, 12)
    points = []
    for i in range(2 * n):
        scale = BURST_SPIKES[(i // 2) % len(BURST_SPIKES)] if i % 2 else 1.02
        points.append(_on_ellipse(cx, cy, rx, ry, math.pi * i / n, scale))
    return polygon_path(points)


def jagged_path(cx: float, cy: float, rx: float, ry: float) -> Path:
    """A radio/electronic balloon: a fine zigzag round the ellipse."""
    n = _count(rx, ry, 5.0, 24)
    return polygon_path([_on_ellipse(cx, cy, rx, ry, math.pi * i / n, OUTER["radio"] if i % 2 else 1.02) for i in range(2 * n)])


def outline_path(style: str, cx: float, cy: float, rx: float, ry: float) -> Path:
    """The outline of a balloon of a style round the text's ellipse (or box, for captions)."""
    if style == "caption":
        return rect_path(cx - rx, cy - ry, 2 * rx, 2 * ry)
    if style == "thought":
        return cloud_path(cx, cy, rx, ry)
    if style == "shout":
        return burst_path(cx, cy, rx, ry)
    if style == "radio":
        return jagged_path(cx, cy, rx, ry)
    return ellipse_path(cx, cy, rx, ry)


def edge_point(cx: float, cy: float, rx: float, ry: float, toward: Point) -> Point:
    """Where the ray from the centre toward a point leaves the ellipse."""
    dx, dy = toward[0] - cx, toward[1] - cy
    t = 1 / max(math.hypot(dx / rx, dy / ry), 1e-9)
    return cx + dx * t, cy + dy * t


def tail_points(cx: float, cy: float, rx: float, ry: float, tip: Point, half_width: float) -> list[Point]:
    """A wedge tail: its base sits just inside the ellipse (so the fill hides the seam), its point at the tip."""
    ex, ey = edge_point(cx, cy, rx * 0.85, ry * 0.85, tip)
    dx, dy = tip[0] - cx, tip[1] - cy
    length = max(math.hypot(dx, dy), 1e-9)
    nx, ny = -dy / length * half_width, dx / length * half_width
    return [(ex + nx, ey + ny), tip, (ex - nx, ey - ny)]


def _quadratic(p0: Point, control: Point, p2: Point) -> Command:
    """A quadratic Bézier from p0 to p2 as the equivalent cubic segment."""
    c1 = (p0[0] + 2 / 3 * (control[0] - p0[0]), p0[1] + 2 / 3 * (control[1] - p0[1]))
    c2 = (p2[0] + 2 / 3 * (control[0] - p2[0]), p2[1] + 2 / 3 * (control[1] - p2[1]))
    return ("C", *c1, *c2, *p2)


def tail_path(points: list[Point]) -> Path:
    """A tail whose sides bow slightly inward, as lettered tails do."""
    a, tip, b = points
    bow = 0.18
    side_a = ((a[0] + tip[0]) / 2 + (b[0] - a[0]) * bow, (a[1] + tip[1]) / 2 + (b[1] - a[1]) * bow)
    side_b = ((b[0] + tip[0]) / 2 + (a[0] - b[0]) * bow, (b[1] + tip[1]) / 2 + (a[1] - b[1]) * bow)
    return [("M", *a), _quadratic(a, side_a, tip), _quadratic(tip, side_b, b), ("Z",)]


def thought_bubbles(cx: float, cy: float, rx: float, ry: float, target: Point, size: float) -> list[tuple[float, float, float]]:
    """Three shrinking circles (x, y, r) trailing from a thought cloud toward the thinker."""
    ex, ey = edge_point(cx, cy, rx * OUTER["thought"], ry * OUTER["thought"], target)
    dx, dy = target[0] - ex, target[1] - ey
    length = math.hypot(dx, dy)
    if length < size:
        return []
    ux, uy = dx / length, dy / length
    bubbles, at = [], 0.0
    for radius in (size * 0.5, size * 0.34, size * 0.22):
        at += radius * 1.6
        if at + radius > length:
            break
        bubbles.append((ex + ux * at, ey + uy * at, radius))
        at += radius
    return bubbles


def link_points(a: tuple[float, float, float, float], b: tuple[float, float, float, float], half_width: float) -> list[Point]:
    """A band joining two balloons (cx, cy, rx, ry) of one speaker, from centre to centre."""
    (ax, ay, _, _), (bx, by, _, _) = a, b
    length = max(math.hypot(bx - ax, by - ay), 1e-9)
    nx, ny = -(by - ay) / length * half_width, (bx - ax) / length * half_width
    return [(ax + nx, ay + ny), (bx + nx, by + ny), (bx - nx, by - ny), (ax - nx, ay - ny)]


def tail_seam(points: list[Point], cx: float, cy: float, rx: float, ry: float, inset: float) -> list[Point]:
    """The part of a tail that hides the balloon's outline where the tail joins it, inset so the tail keeps its own."""
    a, tip, b = points
    base = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    length = max(math.dist(base, tip), 1e-9)
    edge = edge_point(cx, cy, rx, ry, tip)
    reach = min(0.6, (math.dist(base, edge) + 3 * inset) / length)  # just past the outline
    ends = [(p[0] + (tip[0] - p[0]) * reach, p[1] + (tip[1] - p[1]) * reach) for p in (a, b)]
    return [_toward(a, b, inset), _toward(ends[0], ends[1], inset), _toward(ends[1], ends[0], inset), _toward(b, a, inset)]


def _toward(p: Point, q: Point, distance: float) -> Point:
    """p moved toward q by a distance (never past the midpoint)."""
    length = math.dist(p, q)
    step = min(distance, length / 2) / max(length, 1e-9)
    return p[0] + (q[0] - p[0]) * step, p[1] + (q[1] - p[1]) * step


def inset_band(band: list[Point], inset: float) -> list[Point]:
    """A link band narrowed by the stroke width on both long sides (its seam fill keeps the band's outline)."""
    a1, b1, b2, a2 = band
    return [_toward(a1, a2, inset), _toward(b1, b2, inset), _toward(b2, b1, inset), _toward(a2, a1, inset)]
