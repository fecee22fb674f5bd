"""Layouts → panel rectangles: grids, nesting, rtl mirroring, bleed."""

import pytest

from comicforge.layout.panels import Rect, count_cells, expand_template, extend_to_bleed, layout_cells, mirror
from comicforge.layout.units import to_points

LIVE = Rect(10, 10, 200, 300)


def test_grid_2x3_is_two_columns_three_rows_in_reading_order():
    cells = layout_cells(expand_template("grid-2x3", 6), LIVE, gutter=10)
    assert len(cells) == 6
    assert cells[0] == Rect(10, 10, 95, pytest.approx(280 / 3))
    assert cells[1].x == pytest.approx(115) and cells[1].y == cells[0].y
    assert cells[2].y == pytest.approx(10 + 280 / 3 + 10)


def test_nested_rows_and_sizes():
    tree = {"rows": [1, [2, 1]], "sizes": [1, 3]}
    cells = layout_cells(tree, Rect(0, 0, 100, 100), gutter=0)
    assert [c.rounded(2) for c in cells] == [(0, 0, 100, 25), (0, 25, 66.67, 75), (66.67, 25, 33.33, 75)]
    assert count_cells(tree) == 3


def test_rows_template_follows_panel_count():
    assert count_cells(expand_template("rows", 5)) == 5


def test_rtl_mirrors_inside_live_area():
    cell = Rect(10, 10, 50, 50)
    assert mirror(cell, LIVE) == Rect(160, 10, 50, 50)


def test_bleed_extends_only_edges_on_the_live_boundary():
    media = Rect(0, 0, 230, 330)
    inner = Rect(60, 10, 50, 50)
    assert extend_to_bleed(inner, LIVE, media) == Rect(60, 0, 50, 60)


def test_unknown_layout_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown layout 'grdi-2x2' \(valid: grid-2x2, grid-2x3"):
        expand_template("grdi-2x2", 4)


@pytest.mark.parametrize(("text", "points"), [("1in", 72), ("25.4mm", 72), ("9pt", 9), ("300px", 72), (0.5, 36)])
def test_lengths(text, points):
    assert to_points(text, 300) == pytest.approx(points)


def test_bad_unit():
    with pytest.raises(ValueError, match="unknown unit 'ft'"):
        to_points("2ft", 300)


def test_points_to_pixels_is_the_one_unit_conversion():
    from comicforge.layout.units import points_to_pixels

    assert points_to_pixels(72, 300) == 300
    assert points_to_pixels(0.5, 600) == pytest.approx(600 / 144)
