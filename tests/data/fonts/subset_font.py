"""Rebuild CfTestGothic-Regular.ttf: IPAGothic (Debian fonts-ipafont-gothic 00303) subset to what the tests letter.

    python tests/data/fonts/subset_font.py /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf

The IPA Font License (article 3.1) lets a derived font be redistributed under the same licence with a name that
differs from the original's, so the names are changed and the copyright notice is kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

RANGES = ((0x20, 0x7F), (0x3000, 0x3040), (0x3041, 0x3097), (0x30A1, 0x3100), (0xFF01, 0xFF5F))
EXTRA = "…‥—–‐‼⁇⁈⁉“”‘’·待君僕俺彼女明見前持私日本語東京夜灯籠月空学校屋上風中国人大小何時今行来出入手口目耳山川田"
KEEP_NAMES = {0, 7, 13, 14}  # copyright, trademark, licence text and URL stay as the original has them
TARGET = Path(__file__).with_name("CfTestGothic-Regular.ttf")


def subset_font(source: Path, target: Path = TARGET) -> None:
    """Keep the glyphs of the ranges and extra characters, their vertical forms (GSUB vert/vrt2) and vmtx."""
    text = "".join(chr(c) for low, high in RANGES for c in range(low, high)) + EXTRA
    options = subset.Options()
    options.layout_features = ["vert", "vrt2", "ccmp", "kern"]
    options.name_IDs, options.name_languages = ["*"], ["*"]
    options.notdef_outline, options.hinting = True, False
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    for record in font["name"].names:
        if record.nameID not in KEEP_NAMES:
            record.string = record.toUnicode().replace("IPAゴシック", "CfTestゴシック").replace("IPA", "CfTest")
    font.save(target)


if __name__ == "__main__":
    subset_font(Path(sys.argv[1]))
