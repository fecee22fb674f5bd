"""The numpy rasterisers reproduce OpenCV's drawing (read from imgproc/src/drawing.cpp)."""

from __future__ import annotations

import numpy as np
import pytest

from comicforge.control import raster


def bresenham_loop(p0: tuple[int, int], p1: tuple[int, int]) -> list[tuple[int, int]]:
    """OpenCV's LineIterator (8-connected, left to right) stepped literally, as the test oracle."""
    (x0, y0), (x1, y1) = (p1, p0) if p1[0] < p0[0] else (p0, p1)
    dx, dy = x1 - x0, abs(y1 - y0)
    sy = -1 if y1 < y0 else 1
    x_major = dx >= dy
    major, minor = (dx, dy) if x_major else (dy, dx)
    err, x, y, points = major - 2 * minor, x0, y0, []
    for _ in range(major + 1):
        points.append((x, y))
        step_minor = err < 0
        err += -2 * minor + (2 * major if step_minor else 0)
        if x_major:
            x, y = x + 1, y + (sy if step_minor else 0)
        else:
            x, y = x + (1 if step_minor else 0), y + sy
    return points


@pytest.mark.parametrize("end", [(7, 3), (3, 7), (-5, 2), (2, -9), (-6, -6), (0, 5), (9, 0), (-1, 13), (13, -4)])
def test_line_pixels_match_the_line_iterator(end: tuple[int, int]) -> None:
    start = (20, 20)
    target = (start[0] + end[0], start[1] + end[1])
    assert [tuple(p) for p in raster.line_pixels(start, target)] == bresenham_loop(start, target)


def test_filled_circle_radius_4_is_opencvs_49_pixel_disc() -> None:
    canvas = np.zeros((11, 11, 3), np.uint8)
    raster.fill_circle(canvas, (5, 5), 4, (255, 0, 0))
    rows = (canvas[..., 0] > 0).sum(axis=1).tolist()
    assert rows == [0, 1, 5, 7, 7, 9, 7, 7, 5, 1, 0]


def test_filled_circle_radius_3() -> None:
    canvas = np.zeros((9, 9, 3), np.uint8)
    raster.fill_circle(canvas, (4, 4), 3, (255, 255, 255))
    assert (canvas[..., 0] > 0).sum(axis=1).tolist() == [0, 1, 5, 5, 7, 5, 5, 1, 0]


def test_circle_is_clipped_at_the_border() -> None:
    canvas = np.zeros((6, 6, 3), np.uint8)
    raster.fill_circle(canvas, (0, 0), 4, (9, 9, 9))
    assert canvas[0, 0, 0] == 9 and canvas[0, 4, 0] == 9 and canvas[5, 5, 0] == 0


def test_ellipse_polygon_vertices() -> None:
    points = raster.ellipse_polygon((50, 50), (10, 4), 0)
    assert tuple(points[0]) == (60, 50)  # 0°: end of the major axis
    assert (50, 54) in {tuple(p) for p in points}  # 90°: end of the minor axis
    assert tuple(points[-1]) != tuple(points[-2])  # consecutive duplicates dropped
    rotated = raster.ellipse_polygon((50, 50), (10, 4), 90)
    assert tuple(rotated[0]) == (50, 60)
    negative = raster.ellipse_polygon((50, 50), (10, 4), -90)  # cv2 adds 360 to negative angles
    assert tuple(negative[0]) == (50, 40)


def test_degenerate_ellipse_is_two_centre_points() -> None:
    assert raster.ellipse_polygon((5, 7), (0, 0), 0).tolist() == [[5, 7], [5, 7]]


@pytest.mark.parametrize("angle", [0, 17, 45, 90, 133, -60])
def test_filled_ellipse_covers_its_inside_and_little_else(angle: int) -> None:
    canvas = np.zeros((100, 100, 3), np.uint8)
    raster.fill_convex_polygon(canvas, raster.ellipse_polygon((50, 50), (30, 4), angle), (153, 0, 0))
    filled = canvas[..., 0] == 153
    y, x = np.mgrid[0:100, 0:100] - 50.0
    theta = np.radians(angle)
    u, v = x * np.cos(theta) + y * np.sin(theta), -x * np.sin(theta) + y * np.cos(theta)
    inside = (u / 30) ** 2 + (v / 4) ** 2
    assert filled[inside <= 0.8].all()
    assert not filled[inside >= 1.6].any()
    assert abs(filled.sum() - np.pi * 30 * 4) < 0.25 * np.pi * 30 * 4


def test_thick_line_is_two_pixels_wide_with_round_caps() -> None:
    canvas = np.zeros((20, 40, 3), np.uint8)
    raster.thick_line(canvas, (5, 10), (30, 10), (0, 255, 0), 2)
    column = canvas[:, 18, 1] > 0
    assert column.sum() in (2, 3) and column[10]
    assert canvas[10, 4, 1] > 0 and canvas[10, 31, 1] > 0  # radius-1 caps
    assert canvas[10, 33, 1] == 0
