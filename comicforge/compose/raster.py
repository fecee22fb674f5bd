"""Rasterise a page's vector overlay with Pillow, matching what the PDF draws."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

Op = dict[str, Any]


@lru_cache(maxsize=64)
def _font(path: str, pixels: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, pixels)


def _ink(image: Image.Image, colour: str | None) -> Any:
    """A hex colour in the image's mode."""
    if colour is None:
        return None
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    if image.mode == "RGB":
        return rgb
    gray = round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
    return (255 if gray >= 128 else 0) if image.mode == "1" else gray


def _ellipse_points(op: Op, scale: float) -> list[tuple[float, float]]:
    steps = 96
    return [
        ((op["cx"] + op["rx"] * math.cos(2 * math.pi * i / steps)) * scale, (op["cy"] + op["ry"] * math.sin(2 * math.pi * i / steps)) * scale)
        for i in range(steps)
    ]


def _outline(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], colour: Any, width: int, dash: list[float] | None, scale: float) -> None:
    """A closed outline, dashed when asked (dash lengths in points)."""
    ring = [*points, points[0]]
    if not dash:
        draw.line(ring, fill=colour, width=width, joint="curve")
        return
    on, off = dash[0] * scale, dash[1] * scale
    travelled = 0.0
    for a, b in zip(ring, ring[1:]):
        if travelled % (on + off) < on:
            draw.line([a, b], fill=colour, width=width)
        travelled += math.dist(a, b)


def draw_overlay(image: Image.Image, ops: list[Op], dpi: int) -> Image.Image:
    """Draw overlay operations onto a copy of the page art at its resolution."""
    page = image.copy()
    draw = ImageDraw.Draw(page)
    scale = dpi / 72.0
    for op in ops:
        colour = _ink(page, op.get("color"))
        width = max(1, round(op.get("stroke", 0) * scale)) if op.get("stroke") else 0
        if op["op"] == "text":
            font = _font(op["font"], max(1, round(op["size"] * scale)))
            draw.text((op["x"] * scale, op["y"] * scale), op["text"], fill=colour, font=font, anchor="ls")
            continue
        if op["op"] == "rect":
            points = [(op["x"] * scale, op["y"] * scale), ((op["x"] + op["w"]) * scale, op["y"] * scale),
                      ((op["x"] + op["w"]) * scale, (op["y"] + op["h"]) * scale), (op["x"] * scale, (op["y"] + op["h"]) * scale)]
        elif op["op"] == "ellipse":
            points = _ellipse_points(op, scale)
        else:
            points = [(x * scale, y * scale) for x, y in op["points"]]
        if op.get("fill"):
            draw.polygon(points, fill=_ink(page, op["fill"]))
        if width:
            _outline(draw, points, colour, width, op.get("dash"), scale)
    return page
