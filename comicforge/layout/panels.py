"""Layouts → panel rectangles in page coordinates, in reading order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

EDGE_EPS = 0.01  # points: a rect edge this close to the live-area edge touches it


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle in points, top-left origin, y down."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def rounded(self, digits: int = 4) -> tuple[float, float, float, float]:
        """The rect as a tuple rounded for stable hashing."""
        return (round(self.x, digits), round(self.y, digits), round(self.w, digits), round(self.h, digits))


# A layout is a tree: {"rows": [...], "sizes": [...]} or {"columns": [...]} or {"rects": [[x, y, w, h], ...]}.
# A rows entry is an int (that many equal panels side by side), a list of relative widths, or a nested layout.
TEMPLATES: dict[str, dict[str, Any]] = {
    "splash": {"rects": [[0, 0, 1, 1]], "bleed": True},
    "rows": {"rows": "auto"},
    "columns": {"columns": "auto"},
    "widescreen": {"rows": [1, 1, 1, 1]},
    "three-tier": {"rows": [1, 2, 1]},
    "big-top": {"rows": [1, 2], "sizes": [3, 2]},
    "big-bottom": {"rows": [2, 1], "sizes": [2, 3]},
    "l-shape": {"columns": [{"rows": [1, 1]}, 1], "sizes": [1, 1.4]},
    "hero-left": {"columns": [1, {"rows": [1, 1, 1]}], "sizes": [1.4, 1]},
    "yonkoma": {"rows": [1, 1, 1, 1]},
    "manga-action": {"rows": [1, [1.6, 1], [1, 1, 1]], "sizes": [1.2, 1.5, 1]},
    "manga-tall": {"columns": [1, {"rows": [[1, 1], 1]}], "sizes": [1, 2]},
    "manga-splash-top": {"rows": [1, [1, 1.4]], "sizes": [2.2, 1]},
}
_GRID = re.compile(r"^grid-(\d+)x(\d+)$")


def template_names() -> list[str]:
    """Every named layout (grids are open-ended: grid-CxR)."""
    return ["grid-2x2", "grid-2x3", "grid-3x3", *TEMPLATES]


def expand_template(name: str, panel_count: int) -> dict[str, Any]:
    """A named layout as a layout tree; raises ValueError for unknown names."""
    grid = _GRID.match(name)
    if grid:
        cols, rows = int(grid.group(1)), int(grid.group(2))
        if not (1 <= cols <= 8 and 1 <= rows <= 8):
            raise ValueError(f"grid size out of range in {name!r} (1..8 columns and rows)")
        return {"rows": [cols] * rows}
    if name not in TEMPLATES:
        raise ValueError(f"unknown layout {name!r} (valid: {', '.join(template_names())}, or grid-CxR)")
    tree = dict(TEMPLATES[name])
    for axis in ("rows", "columns"):
        if tree.get(axis) == "auto":
            tree[axis] = [1] * max(panel_count, 1)
    return tree


def count_cells(tree: dict[str, Any]) -> int:
    """How many panels a layout tree holds."""
    if "rects" in tree:
        return len(tree["rects"])
    axis = "rows" if "rows" in tree else "columns"
    return sum(_entry_cells(entry) for entry in tree[axis])


def _entry_cells(entry: Any) -> int:
    if isinstance(entry, int):
        return entry
    if isinstance(entry, list):
        return len(entry)
    return count_cells(entry)


def _split(region: Rect, weights: list[float], gutter: float, vertical: bool) -> list[Rect]:
    """Cut a region into parts proportional to weights, with gutters between them."""
    total = sum(weights)
    span = (region.h if vertical else region.w) - gutter * (len(weights) - 1)
    parts, at = [], region.y if vertical else region.x
    for weight in weights:
        size = span * weight / total
        parts.append(Rect(region.x, at, region.w, size) if vertical else Rect(at, region.y, size, region.h))
        at += size + gutter
    return parts


def layout_cells(tree: dict[str, Any], region: Rect, gutter: float) -> list[Rect]:
    """Panel rectangles of a layout tree inside a region, in left-to-right reading order."""
    if "rects" in tree:
        return [
            Rect(region.x + fx * region.w, region.y + fy * region.h, fw * region.w, fh * region.h)
            for fx, fy, fw, fh in tree["rects"]
        ]
    vertical = "rows" in tree
    entries = tree["rows"] if vertical else tree["columns"]
    weights = [float(s) for s in tree.get("sizes") or [1.0] * len(entries)]
    cells: list[Rect] = []
    for entry, band in zip(entries, _split(region, weights, gutter, vertical)):
        if isinstance(entry, dict):
            cells += layout_cells(entry, band, gutter)
        else:
            inner = [1.0] * entry if isinstance(entry, int) else [float(w) for w in entry]
            cells += _split(band, inner, gutter, not vertical)
    return cells


def mirror(rect: Rect, region: Rect) -> Rect:
    """Mirror a rect left↔right inside a region (right-to-left books)."""
    return Rect(region.x + region.right - rect.right, rect.y, rect.w, rect.h)


def extend_to_bleed(rect: Rect, live: Rect, media: Rect) -> Rect:
    """Push the edges of a panel that touch the live area out to the bleed edge."""
    x0 = media.x if abs(rect.x - live.x) < EDGE_EPS else rect.x
    y0 = media.y if abs(rect.y - live.y) < EDGE_EPS else rect.y
    x1 = media.right if abs(rect.right - live.right) < EDGE_EPS else rect.right
    y1 = media.bottom if abs(rect.bottom - live.bottom) < EDGE_EPS else rect.bottom
    return Rect(x0, y0, x1 - x0, y1 - y0)
