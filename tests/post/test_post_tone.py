"""Tone tables (levels, curves, screentone) and XDoG ink."""

from __future__ import annotations

import numpy as np
import pytest

from comicforge.post.color import curve_table, levels_table
from comicforge.post.ink import XdogParams, adjust_line_weight, ink_lines
from comicforge.post.screentone import ToneSheet, screentone_table


def test_levels_stretch_and_gamma():
    table = levels_table(50, 200, 1.0)
    assert (table[50], table[125], table[200], table[0], table[255]) == (0, 128, 255, 0, 255)
    assert levels_table(0, 255, 2.0)[64] > 64  # gamma above 1 lightens midtones


def test_curve_passes_through_points_and_is_monotone():
    table = curve_table([(0, 20), (128, 100), (255, 250)])
    assert (table[0], table[128], table[255]) == (20, 100, 250)
    assert np.all(np.diff(table.astype(int)) >= 0)


def test_screentone_levels_snap_and_cut_off():
    table = screentone_table(ToneSheet(levels=(10, 30, 60), black=80, white=5))
    tone = lambda gray: round(100 - int(table[gray]) * 100 / 255)  # noqa: E731
    assert tone(255) == 0 and tone(250) == 0  # paper
    assert tone(round(255 * 0.78)) == 30  # 22 % snaps to 30 %
    assert tone(round(255 * 0.5)) == 60  # 50 % snaps to 60 %
    assert tone(round(255 * 0.1)) == 100 and tone(0) == 100  # line art


def test_gradient_tone_follows_art_within_level_range():
    table = screentone_table(ToneSheet(levels=(10, 60), gradient=True))
    tones = 100 - table.astype(float) * 100 / 255
    mid = tones[round(255 * 0.65):round(255 * 0.85)]
    assert len(np.unique(mid)) > 20  # continuous, not snapped
    assert tones[round(255 * 0.5)] == pytest.approx(50, abs=0.5)
    assert tones[round(255 * 0.35)] == pytest.approx(60, abs=0.5)  # clamped to the top level


@pytest.fixture
def square_art() -> np.ndarray:
    """A mid-gray square on white paper."""
    gray = np.full((120, 120), 255, dtype=np.uint8)
    gray[30:90, 30:90] = 128
    return gray


def test_xdog_inks_edges_not_flat_areas(square_art):
    lines = ink_lines(square_art, XdogParams(sigma=2.0))
    assert lines[25:35, 40:80].any() and lines[40:80, 25:35].any()
    assert not lines[45:75, 45:75].any()
    assert not lines[:15].any()


def test_line_weight_thickens_and_thins(square_art):
    lines = ink_lines(square_art, XdogParams(sigma=2.0))
    thick = adjust_line_weight(lines, 2.0)
    thin = adjust_line_weight(lines, -1.0)
    assert thick.sum() > lines.sum() > thin.sum()
    assert (thick | lines).sum() == thick.sum() and (thin & ~lines).sum() == 0
