"""Rasterise a page's vector overlay with Pillow, matching what the PDF draws."""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import pairwise
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from comicforge.spec.settings import hex_rgb

Op = dict[str, Any]
Point = tuple[float, float]
CURVE_STEPS = 16  # line segments per Bézier when flattening


@lru_cache(maxsize=64)
def _font(path: str, pixels: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, pixels)


def _ink(image: Image.Image, colour: str | None) -> Any:
    """A hex colour in the image's mode."""
    if colour is None:
        return None
    rgb = hex_rgb(colour)
    if image.mode == "RGB":
        return rgb
    gray = round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
    return (255 if gray >= 128 else 0) if image.mode == "1" else gray


def flatten(d: list[list[Any]], scale: float) -> list[list[Point]]:
    """Subpaths of a path (M/L/C/Z commands in points) as polylines in pixels."""
    rings: list[list[Point]] = []
    for command in d:
        kind, values = command[0], [v * scale for v in command[1:]]
        if kind == "M":
            rings.append([(values[0], values[1])])
        elif kind == "L":
            rings[-1].append((values[0], values[1]))
        elif kind == "C":
            (x0, y0), (x1, y1, x2, y2, x3, y3) = rings[-1][-1], values
            for i in range(1, CURVE_STEPS + 1):
                t = i / CURVE_STEPS
                a, b, c, e = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3
                rings[-1].append((a * x0 + b * x1 + c * x2 + e * x3, a * y0 + b * y1 + c * y2 + e * y3))
    return rings


def _outline(draw: ImageDraw.ImageDraw, ring: list[Point], colour: Any, width: int, dash: list[float] | None, scale: float) -> None:
    """A closed outline, dashed when asked (dash lengths in points)."""
    ring = [*ring, ring[0]]
    if not dash:
        draw.line(ring, fill=colour, width=width, joint="curve")
        return
    on, off = dash[0] * scale, dash[1] * scale
    travelled = 0.0
    for a, b in pairwise(ring):
        if travelled % (on + off) < on:
            draw.line([a, b], fill=colour, width=width)
        travelled += math.dist(a, b)


def _draw_path(page: Image.Image, draw: ImageDraw.ImageDraw, op: Op, scale: float) -> None:
    rings = flatten(op["d"], scale)
    if op.get("fill"):
        for ring in rings:
            draw.polygon(ring, fill=_ink(page, op["fill"]))
    if op.get("stroke"):
        width = max(1, round(op["stroke"] * scale))
        for ring in rings:
            _outline(draw, ring, _ink(page, op["color"]), width, op.get("dash"), scale)


def _text_mask(font: ImageFont.FreeTypeFont, text: str, stroke: int, angle: float) -> tuple[Image.Image, int]:
    """The text (dilated by `stroke` pixels) as a mask rotated about its baseline start, which sits at the mask's centre."""
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke, anchor="ls")
    half = math.ceil(max(abs(left), abs(top), abs(right), abs(bottom))) + 2
    mask = Image.new("L", (2 * half, 2 * half), 0)
    ImageDraw.Draw(mask).text((half, half), text, fill=255, font=font, anchor="ls", stroke_width=stroke, stroke_fill=255)
    if angle:
        mask = mask.rotate(angle, resample=Image.Resampling.BICUBIC, center=(half, half))
    return mask, half


def _draw_display_text(page: Image.Image, op: Op, font: ImageFont.FreeTypeFont, scale: float) -> None:
    """Rotated and/or outlined text: the outline colour under the dilated glyphs, the fill over the plain ones."""
    x, y = round(op["x"] * scale), round(op["y"] * scale)
    layers = []
    if op.get("outline"):
        layers.append((op["outline_color"], max(1, round(op["outline"] * scale))))
    layers.append((op["color"], 0))
    for colour, stroke in layers:
        mask, half = _text_mask(font, op["text"], stroke, op.get("angle", 0.0))
        if page.mode == "1":
            mask = mask.point(lambda v: 255 if v >= 128 else 0)
        page.paste(_ink(page, colour), (x - half, y - half), mask)


def draw_overlay(image: Image.Image, ops: list[Op], dpi: int, proof: bool = False) -> Image.Image:
    """Draw overlay operations onto a copy of the page art at its resolution (proof marks only in proof mode)."""
    page = image.copy()
    draw = ImageDraw.Draw(page)
    scale = dpi / 72.0
    for op in ops:
        if op.get("proof") and not proof:
            continue
        if op["op"] == "path":
            _draw_path(page, draw, op, scale)
            continue
        font = _font(op["font"], max(1, round(op["size"] * scale)))
        if op.get("angle") or op.get("outline"):
            _draw_display_text(page, op, font, scale)
        else:
            draw.text((op["x"] * scale, op["y"] * scale), op["text"], fill=_ink(page, op["color"]), font=font, anchor="ls")
    return page
