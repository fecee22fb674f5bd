"""Flats: sRGB to Lab, nearest palette colour, dither in page coordinates, palette errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from comicforge.errors import PostError
from comicforge.post.palette import gather_palette, quantise_to_palette, srgb_to_lab

PALETTES = {"hero": ("#ff0000", "#ffffff", "#000000"), "sky": ("#3366cc",)}


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        ((255, 0, 0), (53.24, 80.09, 67.20)),
        ((0, 0, 255), (32.30, 79.19, -107.86)),
        ((128, 128, 128), (53.59, 0.0, 0.0)),
    ],
)
def test_srgb_to_lab_reference_values(rgb, lab):
    assert srgb_to_lab(np.array(rgb, dtype=np.uint8)) == pytest.approx(lab, abs=0.05)


def test_each_pixel_becomes_the_nearest_palette_colour_in_lab():
    art = np.array([[[250, 10, 10], [240, 240, 240], [20, 20, 30], [60, 100, 200]]], dtype=np.uint8)
    palette = gather_palette(["hero", "sky"], [], PALETTES)
    flats = np.asarray(quantise_to_palette(Image.fromarray(art), palette))
    assert flats.tolist() == [[[255, 0, 0], [255, 255, 255], [0, 0, 0], [51, 102, 204]]]


def test_lab_not_rgb_decides_nearest():
    # a mustard yellow is nearest red by RGB distance, but perceptually (Lab) nearest white
    palette = np.array([[0, 0, 0], [255, 255, 255], [0, 0, 255], [255, 0, 0]], dtype=np.uint8)
    art = np.array([[[208, 171, 0]]], dtype=np.uint8)
    rgb_nearest = int(np.argmin(np.square(palette.astype(int) - art[0, 0].astype(int)).sum(axis=1)))
    flats = np.asarray(quantise_to_palette(Image.fromarray(art), palette))
    assert rgb_nearest == 3
    assert flats[0, 0].tolist() == [255, 255, 255]


def test_output_uses_only_palette_colours_and_dither_mixes_them(colour_art):
    palette = gather_palette([], ["#000000", "#ffffff"], {})
    gray = Image.new("RGB", (64, 64), (110, 110, 110))
    plain = np.asarray(quantise_to_palette(gray, palette))
    dithered = np.asarray(quantise_to_palette(gray, palette, dither=True))
    assert len(np.unique(plain.reshape(-1, 3), axis=0)) == 1
    assert 0.2 < (dithered[..., 0] == 255).mean() < 0.8
    colours = {tuple(c) for c in np.asarray(quantise_to_palette(colour_art, palette, True)).reshape(-1, 3)}
    assert colours <= {(0, 0, 0), (255, 255, 255)}


def test_dither_is_continuous_across_panels(colour_art):
    palette = gather_palette(["hero", "sky"], [], PALETTES)
    whole = np.asarray(quantise_to_palette(colour_art, palette, True, origin=(5, 7)))
    left = quantise_to_palette(colour_art.crop((0, 0, 101, 240)), palette, True, origin=(5, 7))
    right = quantise_to_palette(colour_art.crop((101, 0, 320, 240)), palette, True, origin=(106, 7))
    assert np.array_equal(np.hstack([np.asarray(left), np.asarray(right)]), whole)


def test_unknown_palette_lists_the_known_ones():
    with pytest.raises(PostError, match=r"^flats\.palette: unknown palette 'villain' \(known palettes: hero, sky\)$"):
        gather_palette(["villain"], [], PALETTES)


def test_invalid_colour_in_a_project_palette():
    with pytest.raises(PostError, match=r"^palettes\.bad\[1\]: '#12345' is not a colour"):
        gather_palette(["bad"], [], {"bad": ("#000000", "#12345")})
