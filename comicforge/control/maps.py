"""Depth and normal maps the artist exports from a 3D posing tool, as control images fitted to the panel.

A depth map is near = light (ControlNet's and MiDaS' convention), in any size and bit depth (8-bit, 16-bit or
float greyscale, or RGB): its values are stretched to the full 0..255 range as the MiDaS annotator does
(`(d - min) / (max - min)`), so a 16-bit Blender export and an 8-bit PNG give the same control image. A normal
map is RGB (x → red, y → green, z toward the viewer → blue, as ControlNet v1.1's normalbae model reads it).
Both are fitted inside the panel like a sketch: depth padded with black (far), normals with the flat normal
facing the viewer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from comicforge.readers import FileProblem, open_image

FLAT_NORMAL = (128, 128, 255)  # a surface facing the viewer: the padding of a fitted normal map
MIN_DEPTH_RANGE = 1e-6  # a depth map whose values span less than this share of its type's range is flat
MIN_NORMAL_SPREAD = 2.0  # mean |R - B| + |G - B| below this (0..255) = a greyscale image, not a normal map
WIDE_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")  # greyscale modes with more than 8 bits


class MapError(ValueError):
    """A depth or normal map that cannot be read or carries nothing to steer by."""


def fit_inside(image: Image.Image, width: int, height: int, background: int | tuple[int, int, int]) -> Image.Image:
    """The image scaled (Lanczos) to fit inside width×height, centred on `background`; nothing is cropped."""
    fit = min(width / image.width, height / image.height)
    size = (max(1, round(image.width * fit)), max(1, round(image.height * fit)))
    canvas = Image.new(image.mode, (width, height), background)
    canvas.paste(image.resize(size, Image.Resampling.LANCZOS), ((width - size[0]) // 2, (height - size[1]) // 2))
    return canvas


def load_map(path: Path, what: str) -> Image.Image:
    """Read a map file fully through the limited reader, naming the file if it is missing or unreadable."""
    try:
        return open_image(path, what)
    except FileProblem as problem:
        raise MapError(f"{path}: {problem.reason}") from None


def depth_values(image: Image.Image, name: str = "depth map") -> np.ndarray:
    """Depth in 0..1 (near = 1) as float64, stretched over its own range; transparency counts as far."""
    if image.mode in WIDE_MODES:
        values = np.asarray(image, dtype=np.float64)
    else:
        values = np.asarray(image.convert("L"), dtype=np.float64)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            values = values * (np.asarray(image.convert("RGBA"))[..., 3] / 255.0)
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(values.min()), float(values.max())
    scale = max(abs(low), abs(high), 1.0)
    if high - low <= MIN_DEPTH_RANGE * scale:
        raise MapError(f"{name}: the depth map is flat (one value everywhere); export it with near = light, far = dark")
    return (values - low) / (high - low)


def depth_control(path: Path, width: int, height: int) -> Image.Image:
    """A depth file → grey RGB control image (near = white), fitted inside width×height, black (far) padded."""
    depth = Image.fromarray(np.rint(depth_values(load_map(path, "depth map"), str(path)) * 255).astype(np.uint8), "L")
    return fit_inside(depth, width, height, 0).convert("RGB")


def normal_control(path: Path, width: int, height: int) -> Image.Image:
    """A normal-map file → RGB control image fitted inside width×height, padded with the flat normal."""
    normals = load_map(path, "normal map").convert("RGB")
    pixels = np.asarray(normals, dtype=np.float32)
    spread = np.abs(pixels[..., 0] - pixels[..., 2]) + np.abs(pixels[..., 1] - pixels[..., 2])
    if float(spread.mean()) < MIN_NORMAL_SPREAD:
        raise MapError(f"{path}: not a normal map (the image is greyscale; a normal map is RGB, mostly blue where "
                       "surfaces face the viewer); give a depth map as `depth:` instead")
    return fit_inside(normals, width, height, FLAT_NORMAL)
