"""Page boxes in points and panel boxes in pixels (layout/pages.py)."""

from comicforge.layout.pages import page_geometry, pixel_box
from comicforge.layout.panels import Rect


def test_trim_sits_inside_bleed_and_live_area_inside_margins():
    g = page_geometry(432, 648, bleed=9, margins=(36, 45, 27, 18), gutter=12, dpi=300)
    assert g.media == Rect(0, 0, 450, 666)
    assert g.trim == Rect(9, 9, 432, 648)
    assert g.live == Rect(9 + 27, 9 + 36, 432 - 27 - 18, 648 - 36 - 45)
    assert (g.bleed, g.gutter, g.dpi) == (9, 12, 300)


def test_page_pixels_are_the_media_box_at_the_dpi():
    assert page_geometry(432, 648, bleed=9, margins=(0, 0, 0, 0), gutter=0, dpi=300).pixels == (1875, 2775)


def test_neighbouring_pixel_boxes_share_an_edge_and_never_overlap():
    left, right = Rect(0, 0, 100.1, 50), Rect(100.1, 0, 100, 50)
    assert pixel_box(left, 300)[2] == pixel_box(right, 300)[0] == round(100.1 * 300 / 72)
    assert pixel_box(Rect(10, 20, 30, 40), 72) == (10, 20, 40, 60)
