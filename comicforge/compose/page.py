"""Compose a page: panel art placed at print resolution, plus a vector overlay of borders, balloons, SFX and proof marks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PIL import Image

from comicforge.letter.balloons import PlacedBalloon, place_balloons
from comicforge.letter.shapes import Path as ShapePath
from comicforge.letter.shapes import ellipse_path, inset_band, outline_path, polygon_path, rect_path, tail_path, tail_seam
from comicforge.letter.text import block_runs, text_width
from comicforge.spec.jobs import PageJob
from comicforge.spec.lettering import SfxSpec

VERSION = "compose-2"
INK = "#000000"
PAPER = "#ffffff"
CAPTION_FILL = "#fff8dc"
PROOF_LIVE = "#00a0e0"
PROOF_OVERFLOW = "#e00000"
STROKE = 0.8  # balloon outline in points
WHISPER_DASH = [2.0, 1.5]
Op = dict[str, Any]


def compose_art(spec: PageJob, panels: list[Path]) -> Image.Image:
    """The page's raster layer: white paper with each finished panel pasted at its pixel box."""
    mode = {"color": "RGB", "grayscale": "L", "bitmap": "L"}[spec.color]
    page = Image.new(mode, spec.pixels, 255 if mode == "L" else (255, 255, 255))
    for panel, path in zip(spec.panels, panels):
        x0, y0, x1, y1 = panel.box
        with Image.open(path) as stored:
            art = stored.convert(mode) if stored.mode != mode else stored
            if art.size != (x1 - x0, y1 - y0):
                art = art.resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS)
            page.paste(art, (x0, y0))
    if spec.color == "bitmap":
        page = page.convert("1")  # panels already screened stay exact; continuous tone is error-diffused
    return page


def path_op(d: ShapePath, fill: str | None, stroke: float, dash: list[float] | None = None, color: str = INK, proof: bool = False) -> Op:
    """A vector path drawing operation (page points, top-left origin)."""
    op: Op = {"op": "path", "d": [list(c) for c in d], "fill": fill, "stroke": stroke, "color": color, "dash": dash}
    if proof:
        op["proof"] = True
    return op


def compose_overlay(spec: PageJob) -> tuple[list[Op], list[str]]:
    """Vector operations in page points (borders, balloons, SFX; proof marks tagged) and lettering warnings."""
    ops: list[Op] = []
    warnings: list[str] = []
    rtl = spec.reading == "rtl"
    ops.append(path_op(rect_path(*spec.live), None, 0.5, [4.0, 3.0], PROOF_LIVE, proof=True))
    for panel in spec.panels:
        rect = panel.rect
        if spec.border > 0:
            ops.append(path_op(rect_path(*rect), None, spec.border))
        heads = {head.who: (head.x, head.y) for head in panel.heads if head and head.who}
        placed = place_balloons(panel.balloons, rect, spec.live, heads, rtl)
        ops += balloon_layers(placed)
        for index, balloon in enumerate(placed, start=1):
            if balloon.overflow:
                warnings.append(f"page {spec.number}, panel {panel.id}, balloon {index}: text does not fit even at the minimum size "
                                f"({balloon.block.size:g} pt); it overflows the panel")
                ops.append(path_op(rect_path(*balloon.outer), None, 1.5, [3.0, 2.0], PROOF_OVERFLOW, proof=True))
        for sfx in panel.sfx:
            ops += sfx_ops(sfx, rect)
    return ops, warnings


def balloon_layers(placed: list[PlacedBalloon]) -> list[Op]:
    """A panel's balloons drawn in layers: outlined tails and links, shapes, seam fills over the joins, then text."""
    under: list[Op] = []
    shapes: list[Op] = []
    seams: list[Op] = []
    text: list[Op] = []
    for balloon in placed:
        fill = CAPTION_FILL if balloon.style == "caption" else PAPER
        dash = WHISPER_DASH if balloon.style == "whisper" else None
        stroke = STROKE * (1.5 if balloon.style == "shout" else 1)
        if balloon.tail:
            under.append(path_op(tail_path(list(balloon.tail)), fill, stroke, dash))
            seams.append(path_op(polygon_path(tail_seam(list(balloon.tail), balloon.cx, balloon.cy, balloon.rx, balloon.ry, stroke)), fill, 0))
        if balloon.link:
            under.append(path_op(polygon_path(list(balloon.link)), fill, stroke, dash))
            seams.append(path_op(polygon_path(inset_band(list(balloon.link), stroke)), fill, 0))
        for x, y, r in balloon.bubbles:
            under.append(path_op(ellipse_path(x, y, r, r), fill, STROKE))
        shapes.append(path_op(outline_path(balloon.style, balloon.cx, balloon.cy, balloon.rx, balloon.ry), fill, stroke, dash))
        text += [{"op": "text", "x": x, "y": y, "size": balloon.block.size, "font": font, "text": run, "color": INK}
                 for x, y, run, font in block_runs(balloon.block, balloon.cx, balloon.cy)]
    return under + shapes + seams + text


def sfx_ops(sfx: SfxSpec, panel: tuple[float, ...]) -> list[Op]:
    """Display lettering: large text rotated about its centre, outlined and filled."""
    x, y, w, h = panel
    cx, cy = x + sfx.at[0] * w, y + sfx.at[1] * h
    size, font = sfx.size, sfx.font.path
    width = text_width(sfx.text, font, size)
    theta = math.radians(sfx.angle)  # counter-clockwise on the page; y points down
    dx, dy = -width / 2, size * 0.35  # baseline start relative to the centre, before rotation
    start = (cx + dx * math.cos(theta) + dy * math.sin(theta), cy - dx * math.sin(theta) + dy * math.cos(theta))
    return [{"op": "text", "x": start[0], "y": start[1], "size": size, "font": font, "text": sfx.text, "color": sfx.fill,
             "angle": sfx.angle, "outline": sfx.outline_width, "outline_color": sfx.outline}]
