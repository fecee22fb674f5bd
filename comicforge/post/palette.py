"""Flat colours: quantise art to palette colours, nearest in CIE Lab (D65), with an optional ordered dither."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image

from comicforge.errors import PostError
from comicforge.spec.settings import colour_problem, hex_rgb

# sRGB (D65) linear RGB to XYZ, IEC 61966-2-1; rows scaled by the D65 white so Lab uses X/Xn, Z/Zn directly
SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
D65_WHITE = np.array([0.95047, 1.0, 1.08883])
RGB_TO_WHITE_SCALED_XYZ = (SRGB_TO_XYZ / D65_WHITE[:, None]).T.astype(np.float32)
LAB_EPSILON = (6 / 29) ** 3
BAYER_2 = np.array([[0, 2], [3, 1]])
PIXELS_PER_CHUNK = 1 << 18


def srgb_to_linear_table() -> np.ndarray:
    """Linear light of each 8-bit sRGB level (the sRGB transfer function), float32[256]."""
    level = np.arange(256, dtype=np.float64) / 255
    linear = np.where(level <= 0.04045, level / 12.92, ((level + 0.055) / 1.055) ** 2.4)
    return linear.astype(np.float32)


SRGB_TO_LINEAR = srgb_to_linear_table()


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of 8-bit sRGB colours, shape (..., 3) uint8 to float32."""
    xyz = SRGB_TO_LINEAR[np.asarray(rgb, dtype=np.uint8)] @ RGB_TO_WHITE_SCALED_XYZ
    f = np.where(xyz > LAB_EPSILON, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lightness = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1).astype(np.float32)


def parse_hex(colour: str, setting: str = "colour") -> tuple[int, int, int]:
    """(r, g, b) of a "#rrggbb" colour; PostError naming `setting` otherwise."""
    problem = colour_problem(colour, setting)
    if problem:
        raise PostError(problem)
    return hex_rgb(colour)


def gather_palette(
    names: Sequence[str], colours: Sequence[str], palettes: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """The RGB colours (uint8, k x 3) of the named palettes followed by `colours`, duplicates removed."""
    picked: list[tuple[int, int, int]] = []
    for name in names:
        if name not in palettes:
            known = ", ".join(sorted(palettes)) or "none are defined"
            raise PostError(f"flats.palette: unknown palette {name!r} (known palettes: {known})")
        picked += [parse_hex(c, f"palettes.{name}[{i}]") for i, c in enumerate(palettes[name])]
    picked += [parse_hex(c, f"flats.colors[{i}]") for i, c in enumerate(colours)]
    if not picked:
        raise PostError("flats: the chosen palettes have no colours")
    return np.array(list(dict.fromkeys(picked)), dtype=np.uint8)


def nearest_colour_indices(rgb: np.ndarray, palette_lab: np.ndarray) -> np.ndarray:
    """Index of the nearest palette colour (Euclidean in Lab, i.e. CIE76 ΔE) for each pixel of rgb (n x 3)."""
    lab = srgb_to_lab(rgb)
    best = np.zeros(len(rgb), dtype=np.uint16)
    best_distance = np.full(len(rgb), np.inf, dtype=np.float32)
    for index, colour in enumerate(palette_lab):
        distance = np.square(lab - colour).sum(axis=1)
        closer = distance < best_distance
        best[closer] = index
        np.minimum(best_distance, distance, out=best_distance)
    return best


def bayer_matrix(size: int = 8) -> np.ndarray:
    """Ordered-dither (Bayer) thresholds in (0, 1), size x size with size a power of two."""
    matrix = np.zeros((1, 1), dtype=np.int64)
    while matrix.shape[0] < size:
        matrix = np.block([[4 * matrix + BAYER_2[i, j] for j in range(2)] for i in range(2)])
    return (matrix + 0.5) / matrix.size


def dither_offsets(height: int, width: int, origin: tuple[int, int], spread: float) -> np.ndarray:
    """Per-pixel ordered-dither offsets in sRGB levels, tiled in page coordinates so panels join up."""
    bayer = bayer_matrix(8)
    rows = (np.arange(height) + origin[1]) % 8
    cols = (np.arange(width) + origin[0]) % 8
    return ((bayer[rows[:, None], cols[None, :]] - 0.5) * spread).astype(np.float32)


def dither_spread(palette: np.ndarray) -> float:
    """Dither amplitude: the median distance (sRGB levels) from each palette colour to its nearest neighbour."""
    if len(palette) < 2:
        return 0.0
    rgb = palette.astype(np.float32)
    distance = np.sqrt(np.square(rgb[:, None, :] - rgb[None, :, :]).sum(axis=2))
    np.fill_diagonal(distance, np.inf)
    return float(np.median(distance.min(axis=1)))


def quantise_to_palette(
    image: Image.Image, palette: np.ndarray, dither: bool = False, origin: tuple[int, int] = (0, 0)
) -> Image.Image:
    """The image with every pixel replaced by its nearest palette colour in Lab (RGB out)."""
    rgb = np.asarray(image.convert("RGB"))
    height, width, _ = rgb.shape
    if dither:
        offsets = dither_offsets(height, width, origin, dither_spread(palette))
        rgb = np.clip(rgb + offsets[..., None], 0, 255).round().astype(np.uint8)
    pixels = rgb.reshape(-1, 3)
    palette_lab = srgb_to_lab(palette)
    indices = np.empty(len(pixels), dtype=np.uint16)
    for start in range(0, len(pixels), PIXELS_PER_CHUNK):
        chunk = slice(start, start + PIXELS_PER_CHUNK)
        indices[chunk] = nearest_colour_indices(pixels[chunk], palette_lab)
    return Image.fromarray(palette[indices].reshape(height, width, 3), mode="RGB")
