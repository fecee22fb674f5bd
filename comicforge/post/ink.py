"""Ink: line art by XDoG (Winnemöller, Kyprianidis, Olsen 2012), line weight by morphology, pure black over art."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from comicforge.post.color import grayscale


@dataclass(frozen=True)
class XdogParams:
    """XDoG settings in pixels: sigma and k of the Gaussians, sharpening p, cut-off epsilon and softness phi."""

    sigma: float
    k: float = 1.6
    sharpen: float = 20.0
    epsilon: float = 0.1
    phi: float = 20.0


def xdog_response(gray: np.ndarray, params: XdogParams) -> np.ndarray:
    """Soft XDoG tone in [0, 1] (0 = ink) of a gray image with values 0..255 (eq. 6-7 of the paper)."""
    from scipy import ndimage  # slow to import: only inking needs it (a resolve reads this module's neighbours)

    tone = gray.astype(np.float32) / 255.0
    narrow = ndimage.gaussian_filter(tone, params.sigma, mode="nearest")
    wide = ndimage.gaussian_filter(tone, params.sigma * params.k, mode="nearest")
    sharpened = (1 + params.sharpen) * narrow - params.sharpen * wide
    below = sharpened < params.epsilon
    sharpened[below] = 1 + np.tanh(params.phi * (sharpened[below] - params.epsilon))
    sharpened[~below] = 1.0
    return sharpened


def disk(radius: int) -> np.ndarray:
    """A disk-shaped structuring element of the given pixel radius."""
    offsets = np.arange(-radius, radius + 1)
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius * radius + radius  # rounder small disks


def adjust_line_weight(lines: np.ndarray, pixels: float) -> np.ndarray:
    """Thicken (pixels > 0, dilation) or thin (pixels < 0, erosion) an ink mask by a disk of that radius."""
    radius = round(abs(pixels))
    if radius == 0:
        return lines
    from scipy import ndimage

    if pixels > 0:
        return ndimage.binary_dilation(lines, structure=disk(radius))
    return ndimage.binary_erosion(lines, structure=disk(radius), border_value=1)


def ink_lines(gray: np.ndarray, params: XdogParams, threshold: float = 0.5, weight_px: float = 0.0) -> np.ndarray:
    """Ink mask (True = black line) of a gray image: XDoG, thresholded, then line weight adjusted."""
    lines = xdog_response(gray, params) < threshold
    return adjust_line_weight(lines, weight_px)


def ink_over(image: Image.Image, lines: np.ndarray) -> Image.Image:
    """The image with pure black wherever `lines` is set (K only for CMYK, 0 for 1-bit, gray and RGB)."""
    if image.mode == "1":
        paper = np.asarray(image) & ~lines
        return Image.fromarray(paper)
    art = np.array(image)
    if image.mode == "CMYK":
        art[lines] = (0, 0, 0, 255)
    else:
        art[lines] = 0
    return Image.fromarray(art, mode=image.mode)


def line_source(image: Image.Image) -> np.ndarray:
    """The gray values lines are found in."""
    return np.asarray(grayscale(image))
