"""The book format as page geometry (layout/pages.py) and each page's panel rectangles, with located problems."""

from __future__ import annotations

from comicforge.layout.pages import PageGeometry, page_geometry, pixel_box
from comicforge.layout.panels import Rect, count_cells, expand_template, extend_to_bleed, layout_cells, mirror
from comicforge.layout.units import to_points
from comicforge.project.load import Loc
from comicforge.project.resolve.resolver import Resolver
from comicforge.project.schema import Format, Page

MIN_PANEL_PIXELS = 16


def book_geometry(fmt: Format) -> PageGeometry:
    """The page geometry of the book format: its trim (a preset or two lengths), bleed, margins and gutter."""
    width, height = fmt.trim_points()
    top, bottom, inside, outside = (to_points(side, fmt.dpi) for side in fmt.margin_sides())
    return page_geometry(width, height, to_points(fmt.bleed, fmt.dpi), (top, bottom, inside, outside), to_points(fmt.gutter, fmt.dpi), fmt.dpi)


def panel_rects(r: Resolver, page: Page, g: PageGeometry, loc: Loc) -> list[Rect]:
    """The page's panel rectangles in reading order, mirrored for rtl books, bled where asked."""
    try:
        tree = expand_template(page.layout, len(page.panels)) if isinstance(page.layout, str) else page.layout.model_dump(exclude_none=True)
    except ValueError as error:
        r.fail((*loc, "layout"), str(error))
        return []
    cells = count_cells(tree)
    if cells != len(page.panels):
        name = page.layout if isinstance(page.layout, str) else "this layout"
        r.fail((*loc, "panels"), f"{name} has {cells} panel{'s' * (cells != 1)} but the page lists {len(page.panels)}")
        return []
    rects = layout_cells(tree, g.live, g.gutter)
    if not _panels_fit(r, rects, g, (*loc, "layout")):
        return []
    if r.project.format.reading == "rtl":
        rects = [mirror(rect, g.live) for rect in rects]
    bleed_all = bool(tree.get("bleed"))
    return [
        extend_to_bleed(rect, g.live, g.media) if (panel.bleed or bleed_all) else rect
        for rect, panel in zip(rects, page.panels)
    ]


def _panels_fit(r: Resolver, rects: list[Rect], g: PageGeometry, loc: Loc) -> bool:
    """Every panel at least MIN_PANEL_PIXELS a side: gutters and margins must leave room for the layout."""
    for number, rect in enumerate(rects, start=1):
        x0, y0, x1, y1 = pixel_box(rect, g.dpi)
        if min(x1 - x0, y1 - y0) < MIN_PANEL_PIXELS:
            r.fail(loc, f"panel {number} would be {max(x1 - x0, 0)} x {max(y1 - y0, 0)} px at {g.dpi} dpi (at least "
                        f"{MIN_PANEL_PIXELS} a side): the live area ({g.live.w / 72:.4g} x {g.live.h / 72:.4g} in) "
                        f"and gutter ({g.gutter / 72:.4g} in) leave it no room")
            return False
    return True
