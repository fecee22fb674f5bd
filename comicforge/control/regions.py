"""The regions of a panel with several characters as grids: which cells each character's region covers.

A cell belongs to a region when its centre lies inside the region's box, at whatever grid size (the image, the
latents, each UNet level), so every resolution agrees on where a region is. Used by the diffusion engine (masked
cross-attention, blended LoRA passes, IP-Adapter masks), the draft engine and `comicforge control`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from comicforge.spec.requests import GenerateRequest
from comicforge.spec.settings import hex_rgb

Box = tuple[float, float, float, float]
REGION_COLOURS = ("#3b6ea5", "#c0504d", "#6a9b4e", "#8064a2", "#d08b2c")  # a region without a palette, by index


def region_cells(box: Box, width: int, height: int) -> np.ndarray:
    """[height, width] booleans: the cells whose centres lie inside the box ([x, y, w, h] fractions)."""
    x, y, w, h = box
    columns = (np.arange(width) + 0.5) / width
    rows = (np.arange(height) + 0.5) / height
    inside_x = (columns >= x) & (columns < x + w)
    inside_y = (rows >= y) & (rows < y + h)
    return inside_y[:, None] & inside_x[None, :]


def region_colour(request: GenerateRequest, index: int) -> tuple[int, int, int]:
    """A region's colour: its character's first palette colour, else one by index."""
    who = request.regions[index].who
    palettes = {look.name: look.palette for look in request.characters}
    palette = palettes.get(who) or (REGION_COLOURS[index % len(REGION_COLOURS)],)
    return hex_rgb(palette[0])


def regions_image(request: GenerateRequest) -> Image.Image:
    """The region masks at the generation size: black background, each region in its character's colour
    (where regions overlap, their colours are averaged)."""
    total = np.zeros((request.height, request.width, 3), np.float32)
    count = np.zeros((request.height, request.width, 1), np.float32)
    for index, region in enumerate(request.regions):
        cells = region_cells(region.box, request.width, request.height)[..., None]
        total += cells * np.array(region_colour(request, index), np.float32)
        count += cells
    return Image.fromarray(np.round(total / np.maximum(count, 1)).astype(np.uint8), "RGB")
