"""Colour and tone: grayscale, levels and curves as 256-entry tables, RGB to CMYK (ICC profile or simple GCR)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from comicforge.errors import PostError

RENDERING_INTENTS = {
    "perceptual": ImageCms.Intent.PERCEPTUAL,
    "relative": ImageCms.Intent.RELATIVE_COLORIMETRIC,
    "saturation": ImageCms.Intent.SATURATION,
    "absolute": ImageCms.Intent.ABSOLUTE_COLORIMETRIC,
}
TONE_MODES = ("L", "RGB")  # modes levels and curves apply to


def grayscale(image: Image.Image) -> Image.Image:
    """The image as 8-bit gray (ITU-R 601 luma); transparency is flattened onto white paper."""
    if image.mode == "L":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.point(lambda value: value / 257).convert("L")
    if image.mode == "F":
        return image.point(lambda value: value * 255).convert("L")  # float images are 0..1
    return flatten(image).convert("L")


def flatten(image: Image.Image) -> Image.Image:
    """The image as RGB or L (whichever keeps it), transparency composited onto white paper."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return grayscale(image)
    return image.convert("RGB")


def levels_table(black: float, white: float, gamma: float) -> np.ndarray:
    """Levels as a 256-entry table: black..white stretched to 0..255, then the midtone gamma."""
    level = np.clip((np.arange(256) - black) / (white - black), 0.0, 1.0)
    return np.rint(255 * level ** (1.0 / gamma)).astype(np.uint8)


def curve_table(points: Sequence[tuple[float, float]]) -> np.ndarray:
    """A tone curve through (input, output) points as a 256-entry table; monotone cubic, flat outside."""
    from scipy.interpolate import PchipInterpolator  # slow to import; only curves need it

    inputs, outputs = zip(*points)
    curve = PchipInterpolator(inputs, outputs, extrapolate=False)
    levels = np.clip(np.arange(256, dtype=np.float64), inputs[0], inputs[-1])
    return np.rint(np.clip(curve(levels), 0, 255)).astype(np.uint8)


def apply_tone_table(image: Image.Image, table: np.ndarray, setting: str) -> Image.Image:
    """Map every channel of a gray or RGB image through a 256-entry table."""
    if image.mode not in TONE_MODES:
        raise PostError(
            f"{setting}: works on gray or RGB art, not a {describe_mode(image.mode)} image "
            "(put it before halftone, screentone and cmyk)"
        )
    return image.point(list(table) * len(image.getbands()))


def describe_mode(mode: str) -> str:
    """A user's word for a Pillow image mode."""
    return {"1": "1-bit", "L": "gray", "RGB": "RGB", "CMYK": "CMYK"}.get(mode, mode)


def rgb_to_cmyk_gcr(image: Image.Image, gcr: float = 1.0) -> Image.Image:
    """Simple RGB to CMYK without a profile: K = gcr * (1 - max(r, g, b)), C = (1 - r - K) / (1 - K), …

    This is the naive device conversion (no dot gain, no ink limit); give the book an ICC profile for press.
    """
    cmyk = grey_component_replacement(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0, gcr)
    return Image.fromarray(np.rint(cmyk * 255).astype(np.uint8), mode="CMYK")


def grey_component_replacement(rgb: np.ndarray, gcr: float = 1.0) -> np.ndarray:
    """CMYK (..., 4) of RGB (..., 3) in 0..1 without a profile: K = gcr * (1 - max(r, g, b)), C = (1 - r - K) / (1 - K), …"""
    ink = 1.0 - rgb  # c, m, y before black generation
    black = gcr * ink.min(axis=-1, keepdims=True)
    colour = (ink - black) / np.maximum(1.0 - black, 1e-6)
    return np.concatenate([colour, black], axis=-1)


def rgb_to_cmyk_icc(image: Image.Image, profile: str | Path, intent: str = "perceptual") -> Image.Image:
    """RGB (assumed sRGB) to CMYK through an output ICC profile, with Little CMS via Pillow's ImageCms."""
    transform = cmyk_transform(str(profile), intent)
    converted = ImageCms.applyTransform(image.convert("RGB"), transform)
    assert converted is not None  # None only when converting in place
    return converted


@lru_cache(maxsize=8)
def cmyk_transform(profile: str, intent: str) -> ImageCms.ImageCmsTransform:
    """The sRGB to CMYK transform of one output profile, built once."""
    path = Path(profile)
    if not path.is_file():
        raise PostError(f"icc_profile: {profile}: no such ICC profile file")
    try:
        output = ImageCms.getOpenProfile(str(path))
    except (ImageCms.PyCMSError, OSError) as error:
        raise PostError(f"icc_profile: {profile}: not an ICC profile ({error})") from error
    if output.profile.xcolor_space.strip() != "CMYK":
        raise PostError(
            f"icc_profile: {profile}: is a {output.profile.xcolor_space.strip()} profile "
            "(must be a CMYK output profile)"
        )
    srgb = ImageCms.createProfile("sRGB")
    return ImageCms.buildTransform(srgb, output, "RGB", "CMYK", renderingIntent=RENDERING_INTENTS[intent])


def to_cmyk(image: Image.Image, profile: str | None, intent: str = "perceptual", gcr: float = 1.0) -> Image.Image:
    """CMYK through `profile` when given, else the simple GCR conversion; 1-bit art becomes K only."""
    if image.mode == "CMYK":
        return image
    if image.mode == "1":
        black = np.where(np.asarray(image), 0, 255).astype(np.uint8)
        zeros = np.zeros_like(black)
        return Image.fromarray(np.stack([zeros, zeros, zeros, black], axis=2), mode="CMYK")
    if profile:
        return rgb_to_cmyk_icc(flatten(image), profile, intent)
    return rgb_to_cmyk_gcr(flatten(image), gcr)
