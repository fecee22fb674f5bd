"""Japanese lettering with a real CJK font: kinsoku line breaks, balanced columns, vertical forms, tate-chu-yoko."""

from __future__ import annotations

import pytest
from support import DATA

from comicforge.letter.balloons import fit_balloon
from comicforge.letter.breaks import NO_END, NO_START, break_points
from comicforge.letter.fonts import vertical_font_name
from comicforge.letter.shaping import nominal_glyph, shape
from comicforge.letter.text import Faces, block_runs, fit_text
from comicforge.letter.vertical import ACROSS, ROTATED, UPRIGHT, column_length, column_runs, vertical_pieces
from comicforge.spec.files import FileRef
from comicforge.spec.lettering import BalloonSpec

FONT = str(DATA / "fonts" / "CfTestGothic-Regular.ttf")
FACES = Faces(FONT, FONT, FONT)
SAMPLE = "「見つけたぞ！お前がランタンを持っているんだろう？」"  # the line of the issue
TEXTS = [SAMPLE, "ちょっと待って…本当に？　そんなの、ありえない。", "（小さい）ゃゅょっ、ーー「東京」『夜』……！！"]


def _spec(text: str, **extra) -> BalloonSpec:
    font = FileRef(FONT, "")
    fields = {"text": text, "style": "speech", "who": "kenji", "font": font, "bold": font, "italic": font, "size": 9.0,
              "min_size": 6.0, "leading": 1.2, "caps": False, "hyphenate": None, "vertical": True, "link": True, "at": None, "tail": None}
    return BalloonSpec(**{**fields, **extra})


@pytest.mark.parametrize("vertical", [True, False])
@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("limit", [20.0, 30.0, 45.0, 70.0])
def test_no_column_starts_or_ends_with_a_forbidden_character(text: str, limit: float, vertical: bool):
    block = fit_text(text, FACES, 9, limit, caps=False, vertical=vertical)
    lines = [line.text for line in block.lines]
    assert len(lines) > 1 and "".join(lines).replace(" ", "") == text.replace("　", "")
    for line in lines:
        assert line[0] not in NO_START, (line, lines)
        assert line[-1] not in NO_END, (line, lines)


def test_break_points_follow_kinsoku_in_japanese_and_chinese():
    assert break_points("ぞ！お") == [2]  # ！ stays with the character before it (pushed out together)
    assert break_points("「見」") == []  # an opening bracket holds on to what follows, a closing one to what precedes
    assert break_points("待って") == [2]  # small kana never begin a column: 待っ stays whole
    assert break_points("あ……い") == [3]  # two leaders are never split
    assert break_points("我们走吧，好吗？") == [1, 2, 3, 5, 6]  # Chinese: between ideographs, not before ，？
    assert break_points("OKだ2026年") == [2, 3, 7]  # Latin words and numbers stay whole


def test_the_issues_line_wraps_into_balanced_columns_right_to_left():
    room = (0.0, 0.0, 180.0, 240.0)  # a manga panel's balloon room, in points
    block, _, _, overflow = fit_balloon(_spec(SAMPLE), room)
    assert not overflow and block.size >= 7 and block.vertical
    columns = [line.extent for line in block.lines]
    assert len(columns) >= 2 and max(columns) - min(columns) <= 3 * block.size  # balanced, no ragged single tail
    assert all(extent <= 240 * 0.62 for extent in columns)
    runs = block_runs(block, 90, 120)
    middles = []
    for column in block.lines:  # each column's glyphs share one x; the first column is the rightmost
        first = next(run for run in runs if run.text == column.text[0])
        middles.append(first.x)
    assert middles == sorted(middles, reverse=True)
    assert "".join(run.text for run in runs) == SAMPLE  # drawn in reading order


def _vert_substitutions() -> dict[str, str]:
    """The font's GSUB `vert` single substitutions, read with fontTools: glyph name → vertical form's name."""
    from fontTools.ttLib import TTFont

    font = TTFont(FONT)
    gsub = font["GSUB"].table
    mapping: dict[str, str] = {}
    for record in gsub.FeatureList.FeatureRecord:
        if record.FeatureTag in ("vert", "vrt2"):
            for index in record.Feature.LookupListIndex:
                for table in gsub.LookupList.Lookup[index].SubTable:
                    mapping.update(getattr(table, "mapping", {}))
    return mapping


def test_vertical_forms_are_the_fonts_gsub_substitutions():
    from fontTools.ttLib import TTFont

    font = TTFont(FONT)
    cmap, order = font.getBestCmap(), font.getGlyphOrder()
    vert = _vert_substitutions()
    for char in "ー。、「」～っゃ（）…":
        expected = order.index(vert[cmap[ord(char)]])
        (glyph,) = shape(char, FONT, vertical=True)
        assert glyph.gid == expected != nominal_glyph(char, FONT), char
        assert glyph.advance == pytest.approx(1.0)
    assert shape("見", FONT, vertical=True)[0].gid == nominal_glyph("見", FONT)  # ideographs stay as they are
    from reportlab.pdfbase import pdfmetrics

    face = pdfmetrics.getFont(vertical_font_name(FONT, "ー")).face  # what the PDF embeds for the column's ー
    assert face.charToGlyph[ord("ー")] == order.index(vert[cmap[ord("ー")]])


def test_tate_chu_yoko_and_rotated_latin():
    assert vertical_pieces("12時まで!?") == [(ACROSS, "12"), (UPRIGHT, "時まで"), (ACROSS, "!?")]
    assert vertical_pieces("2026年OK") == [(ROTATED, "2026"), (UPRIGHT, "年"), (ROTATED, "OK")]
    text = "12時まで!?本当OK"
    assert column_length(text, FONT, 10) == pytest.approx(10 * (1 + 3 + 1 + 2) + _width("OK", 10))  # 12 and !? one em each
    runs = {run.text: run for run in column_runs(((text, FONT),), 100.0, 0.0, 10)}
    twelve = runs["12"]
    assert twelve.angle == 0 and twelve.x + _width("12", 10) / 2 == pytest.approx(100.0)  # across the column, centred
    assert runs["時"].y - twelve.y == pytest.approx(10, abs=1.5)  # tate-chu-yoko takes one em
    assert runs["!?"].angle == 0 and runs["!?"].x + _width("!?", 10) / 2 == pytest.approx(100.0)
    assert runs["OK"].angle == -90  # Latin turned a quarter clockwise, reading down the column
    assert runs["時"].forms == "vert"  # upright glyphs come from the font's vertical forms


def _width(text: str, size: float) -> float:
    from comicforge.letter.fonts import text_width

    return text_width(text, FONT, size)
