"""Compose a page: panel art placed at print resolution, plus a vector overlay of borders and lettering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from comicforge.letter.balloons import PlacedBalloon, place_balloons, text_lines

VERSION = "compose-1"
INK = "#000000"
PAPER = "#ffffff"
Op = dict[str, Any]


def compose_art(spec: dict[str, Any], panels: list[Path]) -> Image.Image:
    """The page's raster layer: white paper with each finished panel pasted at its pixel box."""
    mode = {"color": "RGB", "grayscale": "L", "bitmap": "L"}[spec["color"]]
    page = Image.new(mode, tuple(spec["pixels"]), 255 if mode == "L" else (255, 255, 255))
    for panel, path in zip(spec["panels"], panels):
        x0, y0, x1, y1 = panel["box"]
        with Image.open(path) as art:
            art = art.convert(mode) if art.mode != mode else art
            if art.size != (x1 - x0, y1 - y0):
                art = art.resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS)
            page.paste(art, (x0, y0))
    if spec["color"] == "bitmap":
        page = page.convert("1")  # panels already screened stay exact; continuous tone is error-diffused
    return page


def compose_overlay(spec: dict[str, Any]) -> list[Op]:
    """Vector drawing operations in page points (top-left origin): borders, balloons, tails, text."""
    ops: list[Op] = []
    rtl = spec["reading"] == "rtl"
    for panel in spec["panels"]:
        x, y, w, h = panel["rect"]
        if spec["border"] > 0:
            ops.append({"op": "rect", "x": x, "y": y, "w": w, "h": h, "fill": None, "stroke": spec["border"], "color": INK})
        heads = {head[2]: (head[0], head[1]) for head in panel["heads"] if head and head[2]}
        for balloon in place_balloons(panel["balloons"], (x, y, w, h), heads, rtl):
            ops += balloon_ops(balloon)
    return ops


def balloon_ops(balloon: PlacedBalloon) -> list[Op]:
    """Drawing operations of one balloon: outlined tail and shape, tail fill over the seam, text."""
    from comicforge.letter.balloons import FILL, STROKE

    fill = FILL.get(balloon.style, PAPER)
    dash = [2.0, 1.5] if balloon.style == "whisper" else None
    ops: list[Op] = []
    tail = [list(p) for p in balloon.tail] if balloon.tail else None
    if tail:
        ops.append({"op": "polygon", "points": tail, "fill": fill, "stroke": STROKE, "color": INK, "dash": dash})
    shape = "rect" if balloon.style == "caption" else "ellipse"
    if shape == "rect":
        ops.append({"op": "rect", "x": balloon.cx - balloon.rx, "y": balloon.cy - balloon.ry, "w": 2 * balloon.rx, "h": 2 * balloon.ry,
                    "fill": fill, "stroke": STROKE, "color": INK})
    else:
        ops.append({"op": "ellipse", "cx": balloon.cx, "cy": balloon.cy, "rx": balloon.rx, "ry": balloon.ry,
                    "fill": fill, "stroke": STROKE * (2 if balloon.style == "shout" else 1), "color": INK, "dash": dash})
    if tail:
        ops.append({"op": "polygon", "points": tail, "fill": fill, "stroke": 0, "color": INK, "dash": None})
    for tx, ty, line in text_lines(balloon):
        ops.append({"op": "text", "x": tx, "y": ty, "size": balloon.block.size, "font": balloon.block.font, "text": line, "color": INK})
    return ops
