"""OpenCV-exact rasterisers for the OpenPose control image, in numpy (no cv2 dependency).

Each function reproduces the pixels of the cv2 call named in its docstring (OpenCV 4.x
`imgproc/src/drawing.cpp`, 8-connected, no anti-aliasing), because ControlNet's OpenPose models were
trained on images drawn by those calls. Canvases are `(H, W, 3)` uint8 arrays, changed in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Colour = tuple[int, int, int]

XY_SHIFT = 16  # OpenCV's fixed-point fraction bits for sub-pixel drawing
XY_ONE = 1 << XY_SHIFT

# OpenCV's SinTable: sin of whole degrees 0..450, as 7-decimal float32 literals.
_SIN_TABLE = np.round(np.sin(np.radians(np.arange(451))), 7).astype(np.float32).astype(np.float64)


def ellipse_polygon(center: tuple[int, int], axes: tuple[int, int], angle: int) -> np.ndarray:
    """`cv2.ellipse2Poly(center, axes, angle, 0, 360, 1)`: the full ellipse as integer vertices (N, 2)."""
    angle %= 360
    cos_a, sin_a = _SIN_TABLE[450 - angle], _SIN_TABLE[angle]
    degrees = np.arange(361)
    x = axes[0] * _SIN_TABLE[450 - degrees]
    y = axes[1] * _SIN_TABLE[degrees]
    px = np.rint(center[0] + x * cos_a - y * sin_a).astype(np.int64)  # cvRound: half to even
    py = np.rint(center[1] + x * sin_a + y * cos_a).astype(np.int64)
    points = np.stack([px, py], axis=1)
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = np.any(points[1:] != points[:-1], axis=1)  # drop consecutive duplicates only
    points = points[keep]
    if len(points) == 1:
        return np.array([center, center], dtype=np.int64)
    return points


def line_pixels(p0: tuple[int, int], p1: tuple[int, int]) -> np.ndarray:
    """Pixels of `cv2.line(..., thickness=1)` (LineIterator, 8-connected, left to right) as (N, 2)."""
    (x0, y0), (x1, y1) = (p1, p0) if p1[0] < p0[0] else (p0, p1)
    dx, dy = x1 - x0, y1 - y0
    major, minor = (abs(dx), abs(dy)) if abs(dx) >= abs(dy) else (abs(dy), abs(dx))
    steps = np.arange(major + 1)
    # Closed form of the Bresenham error recurrence err0 = major - 2*minor, step minor when err < 0.
    shifts = (2 * minor * steps + major - 1) // (2 * major) if major else steps * 0
    if abs(dx) >= abs(dy):
        return np.stack([x0 + steps, y0 + np.sign(dy) * shifts], axis=1)
    return np.stack([x0 + shifts, y0 + np.sign(dy) * steps], axis=1)


def fixed_line_pixels(p0: tuple[int, int], p1: tuple[int, int]) -> np.ndarray:
    """Pixels of OpenCV's `Line2`: the outline of a polygon given in 16-bit fixed point (N, 2)."""
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    ends = [((x1 + XY_ONE // 2) >> XY_SHIFT, (y1 + XY_ONE // 2) >> XY_SHIFT)]
    if abs(dx) > abs(dy):
        if dx < 0:
            (x0, y0), (x1, y1), dy = (x1, y1), (x0, y0), -dy
        step = _c_div(dy << XY_SHIFT, abs(dx) | 1)
        k = np.arange(((x1 - x0) >> XY_SHIFT) + 1)
        major = ((x0 + XY_ONE // 2) >> XY_SHIFT) + k
        minor = (y0 + XY_ONE // 2 + k * step) >> XY_SHIFT
        points = np.stack([major, minor], axis=1)
    else:
        if dy < 0:
            (x0, y0), (x1, y1), dx = (x1, y1), (x0, y0), -dx
        step = _c_div(dx << XY_SHIFT, abs(dy) | 1)
        k = np.arange(((y1 - y0) >> XY_SHIFT) + 1)
        major = ((y0 + XY_ONE // 2) >> XY_SHIFT) + k
        minor = (x0 + XY_ONE // 2 + k * step) >> XY_SHIFT
        points = np.stack([minor, major], axis=1)
    return np.concatenate([np.array(ends, dtype=np.int64), points.astype(np.int64)])


def fill_convex_polygon(canvas: np.ndarray, vertices: np.ndarray, colour: Colour, shift: int = 0) -> None:
    """`cv2.fillConvexPoly(canvas, vertices, colour, LINE_8, shift)`: outline lines plus scanline spans."""
    v = [(int(x), int(y)) for x, y in vertices]
    n = len(v)
    outline = [
        line_pixels((a[0] >> shift, a[1] >> shift), (b[0] >> shift, b[1] >> shift))
        if shift == 0
        else fixed_line_pixels(_to_fixed(a, shift), _to_fixed(b, shift))
        for a, b in zip([v[-1], *v[:-1]], v)
    ]
    _put_pixels(canvas, np.concatenate(outline), colour)
    if n < 3:
        return
    for y, left, right in _scanline_spans(v, shift, canvas.shape[0], canvas.shape[1]):
        canvas[y, left : right + 1] = colour


@dataclass
class _Edge:
    """One side of FillConvexPoly's edge walk: vertex index, walk direction, fixed-point x and its step."""

    idx: int
    di: int
    x: int = -XY_ONE
    dx: int = 0
    ye: int = 0


def _scanline_spans(v: list[tuple[int, int]], shift: int, height: int, width: int):
    """The (row, x_left, x_right) spans of OpenCV's FillConvexPoly edge walk (a literal port of its DDA)."""
    delta = (1 << shift) >> 1
    half = XY_ONE >> 1
    n = len(v)
    xs_all = [p[0] for p in v]
    ys_all = [p[1] for p in v]
    imin = min(range(n), key=lambda i: (ys_all[i], i))
    xmin, xmax = (min(xs_all) + delta) >> shift, (max(xs_all) + delta) >> shift
    ymin, ymax = (ys_all[imin] + delta) >> shift, (max(ys_all) + delta) >> shift
    if xmax < 0 or ymax < 0 or xmin >= width or ymin >= height:
        return
    ymax = min(ymax, height - 1)
    edges = n
    edge = [_Edge(imin, 1, ye=ymin), _Edge(imin, n - 1, ye=ymin)]
    y = ymin
    while True:
        for e in edge:
            if y < e.ye:
                continue
            idx0 = e.idx
            idx = (idx0 + e.di) % n
            while edges > 0:
                edges -= 1
                ty = (v[idx][1] + delta) >> shift
                if ty > y:
                    xs, xe = v[idx0][0] << (XY_SHIFT - shift), v[idx][0] << (XY_SHIFT - shift)
                    e.ye, e.dx, e.x, e.idx = ty, _c_div((xe - xs) * 2 + (ty - y), 2 * (ty - y)), xs, idx
                    break
                idx0 = idx
                idx = (idx + e.di) % n
            else:
                edges -= 1  # the C loop's post-decrement when it runs out of edges
        if edges < 0:
            return
        if y >= 0:
            left, right = sorted((edge[0].x, edge[1].x))
            x_left, x_right = (left + half) >> XY_SHIFT, (right + half) >> XY_SHIFT
            if x_right >= 0 and x_left < width:
                yield y, max(x_left, 0), min(x_right, width - 1)
        for e in edge:
            e.x += e.dx
        y += 1
        if y > ymax:
            return


def fill_circle(canvas: np.ndarray, center: tuple[int, int], radius: int, colour: Colour) -> None:
    """`cv2.circle(canvas, center, radius, colour, thickness=-1)`: OpenCV's midpoint disc."""
    cx, cy = center
    for dy, half_width in enumerate(_disc_half_widths(radius)):
        for y in {cy - dy, cy + dy}:
            if 0 <= y < canvas.shape[0]:
                left, right = max(cx - half_width, 0), min(cx + half_width, canvas.shape[1] - 1)
                if left <= right:
                    canvas[y, left : right + 1] = colour


def _disc_half_widths(radius: int) -> list[int]:
    """Half width of each row offset 0..radius of OpenCV's filled `Circle` (its midpoint recurrence)."""
    widths = [-1] * (radius + 1)
    err, dx, dy, plus, minus = 0, radius, 0, 1, 2 * radius - 1
    while dx >= dy:
        widths[dy] = max(widths[dy], dx)
        widths[dx] = max(widths[dx], dy)
        dy += 1
        err += plus
        plus += 2
        if err > 0:
            err -= minus
            dx -= 1
            minus += 2
    return widths


def thick_line(canvas: np.ndarray, p0: tuple[int, int], p1: tuple[int, int], colour: Colour, thickness: int) -> None:
    """`cv2.line(canvas, p0, p1, colour, thickness)` for thickness > 1: a filled quad with round caps."""
    a = (p0[0] << XY_SHIFT, p0[1] << XY_SHIFT)
    b = (p1[0] << XY_SHIFT, p1[1] << XY_SHIFT)
    dx, dy = (a[0] - b[0]) / XY_ONE, (b[1] - a[1]) / XY_ONE
    half = thickness << (XY_SHIFT - 1)
    odd = thickness & 1
    length_sq = dx * dx + dy * dy
    if length_sq > np.finfo(float).eps:
        r = (half + odd * XY_ONE * 0.5) / np.sqrt(length_sq)
        ox, oy = int(np.rint(dy * r)), int(np.rint(dx * r))
        quad = np.array([
            (a[0] + ox, a[1] + oy), (a[0] - ox, a[1] - oy),
            (b[0] - ox, b[1] - oy), (b[0] + ox, b[1] + oy),
        ])
        fill_convex_polygon(canvas, quad, colour, shift=XY_SHIFT)
    cap = (half + XY_ONE // 2) >> XY_SHIFT
    for end in (p0, p1):
        fill_circle(canvas, end, cap, colour)


def _to_fixed(point: tuple[int, int], shift: int) -> tuple[int, int]:
    """A vertex with `shift` fraction bits in OpenCV's 16-bit fixed point."""
    return point[0] << (XY_SHIFT - shift), point[1] << (XY_SHIFT - shift)


def _put_pixels(canvas: np.ndarray, points: np.ndarray, colour: Colour) -> None:
    """Set the given (x, y) pixels that lie on the canvas."""
    h, w = canvas.shape[:2]
    inside = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
    canvas[points[inside, 1], points[inside, 0]] = colour


def _c_div(numerator: int, denominator: int) -> int:
    """Integer division truncating toward zero, as C does."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient
