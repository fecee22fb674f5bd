"""The one hex-colour parser (post/settings.py) and the one grey-component replacement (post/color.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from comicforge.compose.pdf import rgb_to_cmyk
from comicforge.post.color import grey_component_replacement, rgb_to_cmyk_gcr
from comicforge.spec.settings import colour_problem, hex_rgb


def test_hex_rgb_reads_both_cases_of_a_checked_colour():
    assert colour_problem("#FFa500", "fill") is None
    assert hex_rgb("#FFa500") == (255, 165, 0)
    assert hex_rgb("#000000") == (0, 0, 0)


@pytest.mark.parametrize(("rgb", "cmyk"), [
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0)),  # black is pure K
    ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0, 0.0)),
    ((1.0, 0.0, 0.0), (0.0, 1.0, 1.0, 0.0)),
    ((0.5, 0.5, 0.5), (0.0, 0.0, 0.0, 0.5)),  # grey has no colour ink at full replacement
])
def test_full_grey_component_replacement(rgb, cmyk):
    assert tuple(grey_component_replacement(np.array(rgb))) == pytest.approx(cmyk)
    assert rgb_to_cmyk(*rgb) == pytest.approx(cmyk)


def test_partial_replacement_leaves_colour_ink_under_black():
    c, m, y, k = grey_component_replacement(np.array([0.5, 0.5, 0.5]), gcr=0.5)
    assert k == pytest.approx(0.25) and c == m == y == pytest.approx(0.25 / 0.75)


def test_images_and_vector_colours_convert_alike():
    image = Image.new("RGB", (1, 1), (51, 102, 204))
    pixel = np.asarray(rgb_to_cmyk_gcr(image))[0, 0]
    vector = rgb_to_cmyk(51 / 255, 102 / 255, 204 / 255)
    assert tuple(pixel) == tuple(round(v * 255) for v in vector)
