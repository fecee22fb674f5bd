"""Balloon shapes and tail geometry, text fitting, emphasis, hyphenation, vertical text, placement order."""

from __future__ import annotations

import math

import pytest

from comicforge.letter.balloons import Figure, fit_balloon, place_balloons
from comicforge.letter.fonts import BUILTIN_FONTS, builtin_font_dir, missing_glyphs, text_width
from comicforge.letter.shapes import OUTER, burst_path, cloud_path, ellipse_path, jagged_path, tail_points
from comicforge.letter.text import Faces, fit_text
from comicforge.spec.files import FileRef
from comicforge.spec.lettering import BalloonSpec

FONT = {name: str(builtin_font_dir() / file) for name, file in BUILTIN_FONTS.items()}
FACES = Faces(FONT["comic-neue-bold"], FONT["comic-neue-bold-italic"], FONT["comic-neue-italic"])


def _points(path):
    return [(c[-2], c[-1]) for c in path if c[0] != "Z"]


def _radius(point, cx=50.0, cy=40.0, rx=30.0, ry=20.0):
    return math.hypot((point[0] - cx) / rx, (point[1] - cy) / ry)


def test_ellipse_is_four_curves_on_the_ellipse():
    path = ellipse_path(50, 40, 30, 20)
    assert [c[0] for c in path] == ["M", "C", "C", "C", "C", "Z"]
    assert all(_radius(p) == pytest.approx(1.0) for p in _points(path))


@pytest.mark.parametrize("make, style", [(burst_path, "shout"), (jagged_path, "radio"), (cloud_path, "thought")])
def test_shapes_stay_within_their_outer_reach_and_outside_the_text_ellipse(make, style):
    radii = [_radius(p) for p in _points(make(50, 40, 30, 20))]
    assert min(radii) >= 1.0 and max(radii) <= OUTER[style] + 1e-6
    if style != "thought":  # spikes and teeth alternate with valleys on the ellipse
        assert max(radii) > 1.05


def test_tail_runs_from_inside_the_ellipse_to_the_tip():
    base_a, tip, base_b = tail_points(50, 40, 30, 20, (90, 120), 4.0)
    assert tip == (90, 120)
    assert _radius(base_a) < 1 and _radius(base_b) < 1
    assert math.dist(base_a, base_b) == pytest.approx(8.0)


def test_text_fits_balanced_and_in_caps():
    block = fit_text("The night market never sleeps. Neither do its thieves.", FACES, 9, max_width=150)
    assert all(line.extent <= 150 for line in block.lines)
    assert block.lines[0].text.startswith("THE NIGHT")
    widths = [line.extent for line in block.lines]
    assert len(widths) >= 3 and min(widths) > 0.4 * max(widths)  # no ragged one-word tails
    assert fit_text("Hi there", FACES, 9, 150, caps=False).lines[0].text == "Hi there"


def test_emphasis_uses_the_emphasis_faces():
    block = fit_text("It is *blue* and _quiet_.", FACES, 9, max_width=400)
    runs = [run for line in block.lines for run in line.runs]
    assert ("BLUE", FACES.bold) in [(t.strip(), f) for t, f in runs]
    assert ("QUIET", FACES.italic) in [(t.strip(), f) for t, f in runs]
    assert "*" not in "".join(t for t, _ in runs) and "_" not in "".join(t for t, _ in runs)


def _word_breaks(lines: list[str]) -> dict[str, list[int]]:
    """Each hyphenated word of the lettered lines → the offsets where it was broken."""
    breaks: dict[str, list[int]] = {}
    carried, offsets = "", []
    for line in lines:
        words = line.split(" ")
        for i, word in enumerate(words):
            whole = (carried + word) if i == 0 else word
            if i == len(words) - 1 and word.endswith("-"):
                carried, offsets = whole[:-1], (offsets if i == 0 else []) + [len(whole) - 1]
            elif i == 0 and offsets:
                breaks[whole], carried, offsets = offsets, "", []
    return breaks


@pytest.mark.parametrize("text", ["Incomprehensibilities", "The uncharacteristically incomprehensible ventriloquist"])
def test_hyphenation_breaks_only_at_the_dictionarys_points_and_keeps_to_the_width(text):
    import pyphen

    narrow = text_width("INCOMPREHENSIBILITIES", FACES.regular, 9) * 0.6
    plain = fit_text(text, FACES, 9, narrow)
    hyphenated = fit_text(text, FACES, 9, narrow, hyphenate=True)
    assert any(line.extent > narrow for line in plain.lines)  # without hyphenation the long words overflow
    assert all(line.extent <= narrow for line in hyphenated.lines), [(line.text, line.extent) for line in hyphenated.lines]
    lines = [line.text for line in hyphenated.lines]
    assert " ".join(lines).replace("- ", "") == text.upper()
    breaks = _word_breaks(lines)
    assert breaks, lines
    dictionary = pyphen.Pyphen(lang="en")  # the book's language, straight from pyphen's dictionary
    for word, offsets in breaks.items():
        assert set(offsets) <= set(dictionary.positions(word.lower())), (word, offsets, dictionary.inserted(word.lower()))


def test_vertical_text_is_columns_within_the_limit():
    block = fit_text("Found you at last", FACES, 10, max_width=50, vertical=True)
    assert block.vertical and len(block.lines) >= 3
    assert all(line.extent <= 50 for line in block.lines)
    assert block.width == pytest.approx(10 * 1.2 * len(block.lines))


def _balloon(text, who="mira", style="speech", **extra):
    font = FileRef(FONT["comic-neue-bold"], "")
    fields = {"text": text, "style": style, "who": who, "font": font, "bold": font, "italic": font, "size": 9.0,
              "min_size": 6.0, "leading": 1.2, "caps": True, "hyphenate": None, "vertical": False, "link": True,
              "at": None, "tail": None}
    return BalloonSpec(**{**fields, **extra})


PANEL = (100.0, 100.0, 300.0, 200.0)


def _figures(heads, bodies=None):
    """Figures of PANEL from heads (and body boxes x0, y0, x1, y1) in panel fractions."""
    x, y, w, h = PANEL
    bodies = bodies or {}
    return [Figure(who, (x + hx * w, y + hy * h), (x + bodies[who][0] * w, y + bodies[who][1] * h, (bodies[who][2] - bodies[who][0]) * w,
                                                     (bodies[who][3] - bodies[who][1]) * h) if who in bodies else None)
            for who, (hx, hy) in heads.items()]


@pytest.mark.parametrize("rtl", [False, True])
def test_balloons_follow_reading_order_inside_the_live_area(rtl):
    specs = [_balloon("First we talk.", who="mira"), _balloon("Then I answer.", who="ren")]
    live = (120.0, 90.0, 400.0, 400.0)  # the panel's left edge is outside the live area
    heads = {"mira": (0.7, 0.7), "ren": (0.3, 0.7)} if rtl else {"mira": (0.3, 0.7), "ren": (0.7, 0.7)}  # as drawn
    first, second = place_balloons(specs, PANEL, live, _figures(heads), rtl)
    assert (second.cx < first.cx) if rtl else (second.cx > first.cx)
    assert abs(second.cy - first.cy) < first.ry or second.cy > first.cy
    for balloon in (first, second):
        x, y, w, h = balloon.outer
        assert x >= 120 and y >= 100 and x + w <= 400 and y + h <= 300


@pytest.mark.parametrize("head", [(0.5, 0.2), (0.15, 0.8), (0.85, 0.75), (0.5, 0.9)])
def test_balloons_avoid_the_speakers_face_and_aim_the_tail_at_it(head):
    from comicforge.letter.balloons import FACE_RADIUS

    (balloon,) = place_balloons([_balloon("Hello there!")], PANEL, PANEL, _figures({"mira": head}), False)
    hx, hy = PANEL[0] + head[0] * PANEL[2], PANEL[1] + head[1] * PANEL[3]
    x, y, w, h = balloon.outer
    assert not (x < hx < x + w and y < hy < y + h)  # the balloon is not over the face
    base_a, tip, base_b = balloon.tail
    to_head, to_tip = (hx - balloon.cx, hy - balloon.cy), (tip[0] - balloon.cx, tip[1] - balloon.cy)
    cross = to_head[0] * to_tip[1] - to_head[1] * to_tip[0]
    assert abs(cross) <= 1e-6 * math.hypot(*to_head) * math.hypot(*to_tip)  # the tip lies on the line to the head…
    assert to_head[0] * to_tip[0] + to_head[1] * to_tip[1] > 0  # …on the head's side
    assert _radius(tip, balloon.cx, balloon.cy, balloon.rx, balloon.ry) > 1  # outside the balloon
    assert math.dist(tip, (hx, hy)) >= FACE_RADIUS * min(PANEL[2], PANEL[3])  # stopping short of the face
    assert _radius(base_a, balloon.cx, balloon.cy, balloon.rx, balloon.ry) < 1  # rooted inside the balloon
    assert _radius(base_b, balloon.cx, balloon.cy, balloon.rx, balloon.ry) < 1


def test_anchor_tail_and_linked_balloons():
    specs = [_balloon("One."), _balloon("Two.", tail=None), _balloon("Radio!", who=None, style="radio", tail=(0.9, 0.9))]
    first, second, third = place_balloons(specs, PANEL, PANEL, [], False)
    assert first.tail is not None and second.tail is None and second.link is not None
    assert third.tail[1] == pytest.approx((PANEL[0] + 0.9 * PANEL[2], PANEL[1] + 0.9 * PANEL[3]))


def test_text_shrinks_to_fit_then_overflows():
    room = (0.0, 0.0, 60.0, 40.0)
    block, _, _, overflow = fit_balloon(_balloon("Short."), room)
    assert not overflow and block.size == 9.0
    block, _, _, overflow = fit_balloon(_balloon("A long speech that cannot possibly fit in such a tiny panel at all."), room)
    assert overflow and block.size == 6.0


def test_missing_glyphs_are_named():
    assert missing_glyphs(FONT["comic-neue"], "Hello 夜!") == ["夜"]


def _overlap(a, b):
    return max(min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]), 0) * max(min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]), 0)


@pytest.mark.parametrize("rtl", [False, True])
def test_three_balloons_two_figures_read_in_order_clear_of_each_other_and_the_figures(rtl):
    panel = (0.0, 0.0, 320.0, 240.0)
    left, right = ("ren", "mira") if rtl else ("mira", "ren")  # the first speaker stands where reading starts
    figures = [Figure(left, (90.0, 120.0), (60.0, 135.0, 60.0, 100.0)), Figure(right, (230.0, 120.0), (200.0, 135.0, 60.0, 100.0))]
    specs = [_balloon("Did you see that light?", who="mira"), _balloon("I did.", who="ren"), _balloon("Then we follow it.", who="mira", link=False)]
    placed = place_balloons(specs, panel, panel, figures, rtl)
    for i, a in enumerate(placed):
        assert not a.covers and not a.collides
        for figure in figures:
            assert _overlap(a.outer, figure.body) == 0
        for b in placed[i + 1:]:
            assert _overlap(a.outer, b.outer) == 0
    first, second, third = placed
    assert first.cy - first.ry < second.cy  # the second is not above the first
    assert (second.cx < first.cx) if rtl else (second.cx > first.cx)  # ... and later along the reading direction
    assert third.cy > min(first.cy, second.cy)  # the third reads after both
    assert all(balloon.tail is not None for balloon in placed)


def test_a_panel_too_small_to_keep_clear_says_what_it_covers():
    panel = (0.0, 0.0, 90.0, 70.0)
    figures = [Figure("mira", (45.0, 20.0), (25.0, 28.0, 40.0, 40.0))]
    (balloon,) = place_balloons([_balloon("This panel is far too small for all of this.", who="mira")], panel, panel, figures, False)
    assert balloon.covers and "mira's" in balloon.covers[0]
