"""Balloon shapes, placement in reading order, and tails aimed at the speaker."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from comicforge.letter.text import LEADING, TextBlock, fit_text

PAD = 0.45  # padding around text, in units of the point size
INSCRIBE = math.sqrt(2)  # an ellipse holding a w×h box has radii w/√2·√2… = box half-size × √2
TAIL_REACH = 0.55  # a tail covers this fraction of the way from balloon edge to the speaker's head
STROKE = 0.8  # balloon outline in points
FILL = {"caption": "#fff8dc"}


@dataclass(frozen=True)
class PlacedBalloon:
    """A lettered balloon in page points: its shape, its text block and where the text starts."""

    style: str
    cx: float
    cy: float
    rx: float
    ry: float
    block: TextBlock
    tail: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None


def balloon_size(block: TextBlock, style: str) -> tuple[float, float]:
    """Half-width and half-height of the shape around a text block."""
    pad = block.size * PAD
    if style == "caption":
        return block.width / 2 + pad, block.height / 2 + pad
    return block.width / 2 * INSCRIBE + pad, block.height / 2 * INSCRIBE + pad


def place_balloons(balloons: list[dict[str, Any]], panel: tuple[float, float, float, float], heads: dict[str, tuple[float, float]], rtl: bool) -> list[PlacedBalloon]:
    """Lay out a panel's balloons in reading order along its top, tails toward the speakers."""
    x, y, w, h = panel
    placed: list[PlacedBalloon] = []
    cursor = 0.0  # fraction of the panel width used so far, from the reading start side
    row_y = y + h * 0.04
    for spec in balloons:
        style = spec["style"]
        block = fit_text(spec["text"], spec["font"]["path"], spec["size"], max_width=w * 0.6)
        rx, ry = balloon_size(block, style)
        if spec.get("at"):
            cx, cy = x + spec["at"][0] * w, y + spec["at"][1] * h
        else:
            if style == "caption":
                cx = x + rx + 2 if not rtl else x + w - rx - 2
                cy = y + ry + 2
            else:
                offset = w * 0.05 + cursor * w + rx
                cx = x + offset if not rtl else x + w - offset
                cy = row_y + ry
                cursor = min(cursor + (2 * rx) / w + 0.04, 0.6)
                row_y += ry * 0.6
        cx = min(max(cx, x + rx + 1), x + w - rx - 1) if 2 * rx + 2 < w else x + w / 2
        cy = min(max(cy, y + ry + 1), y + h - ry - 1) if 2 * ry + 2 < h else y + h / 2
        placed.append(PlacedBalloon(style, cx, cy, rx, ry, block, _tail(spec, style, cx, cy, rx, ry, panel, heads)))
    return placed


def _tail(spec: dict[str, Any], style: str, cx: float, cy: float, rx: float, ry: float, panel: tuple[float, float, float, float], heads: dict[str, tuple[float, float]]) -> Any:
    """A wedge from the balloon's edge toward the speaker's head (or the author's anchor)."""
    if style == "caption":
        return None
    x, y, w, h = panel
    if spec.get("tail"):
        target = (x + spec["tail"][0] * w, y + spec["tail"][1] * h)
    elif spec.get("who") in heads:
        hx, hy = heads[spec["who"]]
        target = (x + hx * w, y + hy * h)
    else:
        target = (cx - rx * 0.3, cy + ry * 2.2)
    angle = math.atan2(target[1] - cy, target[0] - cx)
    edge = (cx + rx * math.cos(angle), cy + ry * math.sin(angle))
    distance = math.dist(edge, target)
    if distance < 2:
        return None
    tip = (edge[0] + (target[0] - edge[0]) * TAIL_REACH, edge[1] + (target[1] - edge[1]) * TAIL_REACH)
    spread = 0.18
    base_a = (cx + rx * 0.9 * math.cos(angle - spread), cy + ry * 0.9 * math.sin(angle - spread))
    base_b = (cx + rx * 0.9 * math.cos(angle + spread), cy + ry * 0.9 * math.sin(angle + spread))
    return base_a, tip, base_b


def text_lines(balloon: PlacedBalloon) -> list[tuple[float, float, str]]:
    """Baseline start (x, y) of each centred line inside the balloon, in page points."""
    block = balloon.block
    line_height = block.size * LEADING
    top = balloon.cy - block.height / 2
    ascent = block.size * 0.8  # baseline sits about 0.8 em below the line top for lettering fonts
    return [
        (balloon.cx - width / 2, top + i * line_height + ascent + (line_height - block.size) / 2, line)
        for i, (line, width) in enumerate(zip(block.lines, block.widths))
    ]
