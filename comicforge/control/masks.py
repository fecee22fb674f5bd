"""Inpaint masks at an image's size, from a refine step's mask file and rectangles (white = repaint)."""

from __future__ import annotations

from PIL import Image, ImageDraw

from comicforge.spec.requests import Inpaint


def repaint_mask(step: Inpaint, size: tuple[int, int]) -> Image.Image:
    """The inpaint mask at an image's size: the step's mask file and/or rectangles; white = repaint."""
    mask = Image.new("L", size, 0)
    if step.mask is not None:
        with Image.open(step.mask.path) as drawn:
            mask = drawn.convert("L").resize(size, Image.Resampling.NEAREST).point(lambda v: 255 if v >= 128 else 0)
    draw = ImageDraw.Draw(mask)
    for x, y, w, h in step.rects:
        draw.rectangle([x * size[0], y * size[1], (x + w) * size[0] - 1, (y + h) * size[1] - 1], fill=255)
    return mask
