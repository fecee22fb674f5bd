"""Fixtures for post-processing tests: flat tones and a small synthetic page."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw


def make_flat_gray(tone_percent: float, size: tuple[int, int] = (512, 512)) -> np.ndarray:
    """An 8-bit gray area of one ink tone (0 % = white paper, 100 % = solid black)."""
    return np.full(size, round(255 * (1 - tone_percent / 100)), dtype=np.uint8)


@pytest.fixture
def flat_gray():
    """Make flat gray areas: flat_gray(tone_percent, size=(512, 512))."""
    return make_flat_gray


@pytest.fixture
def page_art() -> Image.Image:
    """Small gray art: a gradient, an outlined disk, a dark triangle, white paper."""
    image = Image.new("L", (480, 360), 255)
    draw = ImageDraw.Draw(image)
    for column in range(200):
        draw.line((260 + column, 40, 260 + column, 320), fill=int(40 + column))
    draw.ellipse((30, 30, 210, 210), fill=150, outline=0, width=5)
    draw.polygon([(40, 330), (200, 250), (220, 340)], fill=20)
    return image


@pytest.fixture
def colour_art() -> Image.Image:
    """Small RGB art: horizontal and vertical ramps with a saturated red square."""
    y, x = np.mgrid[0:240, 0:320]
    rgb = np.stack([x * 255 // 319, y * 255 // 239, np.full_like(x, 128)], axis=2).astype(np.uint8)
    rgb[60:180, 100:220] = (200, 30, 30)
    return Image.fromarray(rgb, mode="RGB")
