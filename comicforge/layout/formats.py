"""Trim sizes of comic and manga books."""

from __future__ import annotations

# width, height in points
TRIM_PRESETS: dict[str, tuple[float, float]] = {
    "us-comic": (6.625 * 72, 10.1875 * 72),
    "manga": (5 * 72, 7.5 * 72),
    "b6": (128 * 72 / 25.4, 182 * 72 / 25.4),
    "b5": (182 * 72 / 25.4, 257 * 72 / 25.4),
    "a5": (148 * 72 / 25.4, 210 * 72 / 25.4),
    "a4": (210 * 72 / 25.4, 297 * 72 / 25.4),
    "letter": (8.5 * 72, 11 * 72),
    "webtoon": (800 * 72 / 96, 1280 * 72 / 96),  # 800 px column at 96 dpi, one screen per page
}
