"""Lineart control images: the artist's sketch (black on white) or XDoG lines from a reference image.

Lineart ControlNets expect white lines on black; artists draw black on white, so sketches are inverted.
A sketch is fitted inside the generation size and padded with black (no lines), so nothing drawn is cut.

Two controls are derived from those lines, with no annotator weights:
- `soft_edges`: the lines widened by one pixel and blurred (σ = 1/256 of the short side, 2 px at 512), peak
  rescaled to white. HED and PiDiNet maps are soft boundaries of a *photo* (every contour, shading edge and
  texture, 3 to 6 px of falloff at 512); from a sketch only the drawn strokes exist, so ours is the same kind of
  soft, wide, thresholdless edge but only where the artist drew, never invented edges.
- `scribble_strokes`: the lines thresholded and dilated into binary strokes 1/96 of the short side thick (5 px
  at 512), like the thick synthetic scribbles ControlNet v1.1's scribble model was trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from comicforge.control.maps import fit_inside
from comicforge.post.ink import XdogParams, xdog_response
from comicforge.readers import FileProblem, open_image

LINE_THRESHOLD = 128  # a control pixel at or above this counts as line
MIN_LINE_FRACTION = 1e-4  # fewer line pixels than this share of the image = blank
SOFT_EDGE_SIGMA = 1 / 256  # soft-edge blur, as a share of the control image's short side
SCRIBBLE_WIDTH = 1 / 96  # scribble stroke thickness, as a share of the short side


class LineartError(ValueError):
    """A sketch that cannot be read, or a lineart control image without lines."""


def load_sketch(path: Path) -> Image.Image:
    """Read a sketch file fully through the limited reader, naming the file if it is missing or cannot be read."""
    try:
        return open_image(path, "sketch")
    except FileProblem as problem:
        raise LineartError(f"{path}: {problem.reason}") from None


def grey_on_white(image: Image.Image) -> np.ndarray:
    """Luminance in 0..1 as float32, with transparency composited over white paper."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def sketch_to_control(sketch: Image.Image, width: int, height: int) -> Image.Image:
    """A black-on-white sketch → white-on-black RGB control image, fitted inside width×height, black-padded."""
    lines = Image.fromarray(np.rint((1.0 - grey_on_white(sketch)) * 255).astype(np.uint8), "L")
    return fit_inside(lines, width, height, 0).convert("RGB")


def soft_edges(lines: Image.Image) -> Image.Image:
    """White-on-black lines → a soft-edge control image: widened, Gaussian-blurred, peak at white (see module)."""
    grey = lines.convert("L").filter(ImageFilter.MaxFilter(3))
    blurred = np.asarray(grey.filter(ImageFilter.GaussianBlur(max(1.0, min(grey.size) * SOFT_EDGE_SIGMA))), dtype=np.float64)
    peak = max(float(blurred.max()), 1.0)
    return Image.fromarray(np.rint(np.clip(blurred * (255.0 / peak), 0, 255)).astype(np.uint8), "L").convert("RGB")


def scribble_strokes(lines: Image.Image) -> Image.Image:
    """White-on-black lines → binary scribble strokes about 1/96 of the short side thick (see module)."""
    binary = lines.convert("L").point(lambda v: 255 if v >= LINE_THRESHOLD else 0)
    width = max(3, round(min(binary.size) * SCRIBBLE_WIDTH)) | 1  # MaxFilter takes odd sizes
    return binary.filter(ImageFilter.MaxFilter(width)).convert("RGB")


def xdog_lines(
    image: Image.Image,
    *,
    sigma: float = 0.8,
    k: float = 1.6,
    p: float = 20.0,
    phi: float = 10.0,
    eps: float = 0.1,
) -> Image.Image:
    """White-on-black lines ("L") by XDoG (Winnemöller et al. 2012), sharing post/ink's XDoG response.

    D = (1 + p)·G_σ − p·G_kσ sharpens the luminance; where D < ε the paper darkens as 1 + tanh(φ(D − ε)).
    Flat areas keep D = their tone, so with a small ε only edges (and near-black areas) become lines.
    """
    params = XdogParams(sigma=sigma, k=k, sharpen=p, epsilon=eps, phi=phi)
    paper = xdog_response(grey_on_white(image) * 255.0, params)
    return Image.fromarray(np.rint((1.0 - paper) * 255).astype(np.uint8), "L")


def check_has_lines(control: Image.Image, name: str = "control image") -> Image.Image:
    """Return the control image unchanged, or raise LineartError if thresholding leaves no lines."""
    lines = np.asarray(control.convert("L")) >= LINE_THRESHOLD
    if lines.sum() < max(1, MIN_LINE_FRACTION * lines.size):
        raise LineartError(f"{name}: no lines found (the image is blank after thresholding)")
    return control
