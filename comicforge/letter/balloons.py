"""Balloon lettering: text fitted to each shape, placed in reading order inside the live area, tails to the speaker."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from comicforge.letter.shapes import OUTER, TAIL_HALF_WIDTH, Point, link_points, tail_points, thought_bubbles
from comicforge.letter.text import Faces, TextBlock, box_around, ellipse_around, fit_text
from comicforge.spec.lettering import BalloonSpec

Box = tuple[float, float, float, float]  # x, y, w, h in page points
INSET = 3.0  # balloons keep this far (points) inside the panel and the live area
FACE_RADIUS = 0.09  # a head's radius as a fraction of the panel's shorter side
SIZE_STEP = 0.5  # points: how text shrinks toward the minimum size when a balloon does not fit
GRID = 11  # candidate centres per axis when placing a balloon
BALLOON_GAP = 4.0  # points kept between two balloons of a panel


@dataclass(frozen=True)
class PlacedBalloon:
    """A lettered balloon in page points: the ellipse (or box) holding its text, and what points to the speaker."""

    style: str
    cx: float
    cy: float
    rx: float
    ry: float
    block: TextBlock
    tail: tuple[Point, ...] | None = None
    bubbles: tuple[tuple[float, float, float], ...] = ()
    link: tuple[Point, ...] | None = None  # band to the previous balloon of the same speaker
    overflow: bool = False  # the text did not fit even at the minimum size
    covers: tuple[str, ...] = ()  # what of the figures it hides ("mira's face") where the panel had no room clear of them
    collides: tuple[int, ...] = ()  # the earlier balloons of the panel it overlaps (1-based)

    @property
    def outer(self) -> Box:
        """The box the whole outline occupies."""
        scale = OUTER.get(self.style, 1.0)
        return self.cx - self.rx * scale, self.cy - self.ry * scale, 2 * self.rx * scale, 2 * self.ry * scale


def faces_of(spec: BalloonSpec) -> Faces:
    """The font files of a balloon spec."""
    return Faces(spec.font.path, spec.bold.path, spec.italic.path)


def room_for(panel: Box, live: Box) -> Box:
    """Where balloons may sit: the panel within the live area, inset."""
    x0, y0 = max(panel[0], live[0]) + INSET, max(panel[1], live[1]) + INSET
    x1 = min(panel[0] + panel[2], live[0] + live[2]) - INSET
    y1 = min(panel[1] + panel[3], live[1] + live[3]) - INSET
    return x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0)


def fit_balloon(spec: BalloonSpec, room: Box) -> tuple[TextBlock, float, float, bool]:
    """The largest text size (down to the minimum) whose balloon fits the room: block, radii, overflow."""
    style, vertical, size = spec.style, spec.vertical, spec.size
    scale = OUTER.get(style, 1.0)
    while True:
        limit = (room[3] if vertical else room[2]) * (0.8 if style == "caption" else 0.62) / scale
        block = fit_text(spec.text, faces_of(spec), size, limit, caps=spec.caps, box=style == "caption",
                         hyphenate=bool(spec.hyphenate), language=spec.hyphenate or "en", vertical=vertical, leading=spec.leading)
        rx, ry = box_around(block, size * 0.4) if style == "caption" else ellipse_around(block, size * 0.3)
        fits = 2 * rx * scale <= room[2] and 2 * ry * scale <= room[3]
        if fits or size - SIZE_STEP < spec.min_size - 1e-9:
            return block, rx, ry, not fits
        size -= SIZE_STEP


@dataclass(frozen=True)
class Figure:
    """A figure drawn in the panel, in page points: whose it is, its head, and the box round its body."""

    who: str | None
    head: Point
    body: Box | None = None


def place_balloons(balloons: Sequence[BalloonSpec], panel: Box, live: Box, figures: Sequence[Figure], rtl: bool) -> list[PlacedBalloon]:
    """Fit and place a panel's balloons in reading order, clear of each other and of the figures; tails to speakers."""
    room = room_for(panel, live)
    heads = {figure.who: figure.head for figure in figures if figure.who}
    faces = [(figure.who, _face_box(figure.head, panel)) for figure in figures]
    bodies = [(figure.who, figure.body) for figure in figures if figure.body is not None]
    placed: list[PlacedBalloon] = []
    for index, spec in enumerate(balloons):
        previous = placed[-1] if placed else None
        speaker = heads.get(spec.who or "")
        keep_off = Obstacles([p.outer for p in placed], [box for _, box in faces], [box for _, box in bodies])
        block, rx, ry, overflow, (cx, cy) = _fit_and_spot(spec, room, panel, keep_off, previous, speaker, rtl)
        linked = _links_to_previous(balloons, index)
        balloon = PlacedBalloon(spec.style, cx, cy, rx, ry, block, overflow=overflow)
        balloon = _point_at_speaker(balloon, spec, panel, heads, previous if linked else None)
        placed.append(replace(balloon, covers=_covered(balloon.outer, faces, bodies), collides=_collisions(balloon.outer, placed)))
    return placed


def _fit_and_spot(spec: BalloonSpec, room: Box, panel: Box, keep_off: Obstacles, previous: PlacedBalloon | None, speaker: Point | None,
                  rtl: bool) -> tuple[TextBlock, float, float, bool, Point]:
    """The balloon's text and centre: pinned with `at:`, else the best spot, the text shrunk (to the minimum) to clear the rest."""
    scale = OUTER.get(spec.style, 1.0)
    block, rx, ry, overflow = fit_balloon(spec, room)
    if spec.at:
        return block, rx, ry, overflow, _clamp(panel[0] + spec.at[0] * panel[2], panel[1] + spec.at[1] * panel[3], rx * scale, ry * scale, room)
    first = (block, rx, ry, overflow, _best_spot(rx * scale, ry * scale, room, keep_off, previous, speaker, rtl))
    size = block.size
    while not overflow and keep_off.cost(_box_at(first[4], rx * scale, ry * scale)) > 0 and size - SIZE_STEP >= spec.min_size - 1e-9:
        size -= SIZE_STEP
        block, rx, ry, overflow = fit_balloon(replace(spec, size=size), room)
        spot = _best_spot(rx * scale, ry * scale, room, keep_off, previous, speaker, rtl)
        if keep_off.cost(_box_at(spot, rx * scale, ry * scale)) == 0:
            return block, rx, ry, overflow, spot
    return first


def _box_at(centre: Point, ox: float, oy: float) -> Box:
    return centre[0] - ox, centre[1] - oy, 2 * ox, 2 * oy


@dataclass(frozen=True)
class Obstacles:
    """What a balloon keeps clear of, most important first: placed balloons, faces, then bodies."""

    balloons: list[Box]
    faces: list[Box]
    bodies: list[Box]

    def cost(self, box: Box) -> float:
        """Overlap, as fractions of the balloon's box: another balloon is all but forbidden, a face worse than a body."""
        area = box[2] * box[3]
        near = _grown(box, BALLOON_GAP)
        return (60 * sum(_overlap(near, other) for other in self.balloons) + 10 * sum(_overlap(box, face) for face in self.faces)
                + 3 * sum(_overlap(box, body) for body in self.bodies)) / area


def _grown(box: Box, margin: float) -> Box:
    return box[0] - margin, box[1] - margin, box[2] + 2 * margin, box[3] + 2 * margin


def _covered(box: Box, faces: list[tuple[str | None, Box]], bodies: list[tuple[str | None, Box]]) -> tuple[str, ...]:
    """What of the figures a placed balloon hides: 'WHO's face' for any overlap, 'WHO's body' past a quarter of it."""
    covered = [f"{who or 'a figure'}'s face" for who, face in faces if _overlap(box, face) > 0]
    covered += [f"{who or 'a figure'}'s body" for who, body in bodies if _overlap(box, body) > 0.25 * body[2] * body[3]]
    return tuple(covered)


def _collisions(box: Box, placed: list[PlacedBalloon]) -> tuple[int, ...]:
    """The (1-based) balloons placed before that this one overlaps."""
    return tuple(n for n, other in enumerate(placed, start=1) if _overlap(box, other.outer) > 0)


def _links_to_previous(balloons: Sequence[BalloonSpec], index: int) -> bool:
    """Consecutive balloons of one speaker are joined (unless the second says link: false)."""
    if index == 0 or balloons[index].style == "caption":
        return False
    this, before = balloons[index], balloons[index - 1]
    thinking = "thought" in (this.style, before.style) and this.style != before.style  # a thought trails bubbles instead
    return bool(this.link and this.who and this.who == before.who and not this.tail and not thinking)


def _face_box(head: Point, panel: Box) -> Box:
    radius = FACE_RADIUS * min(panel[2], panel[3])
    return head[0] - radius, head[1] - radius, 2 * radius, 2 * radius


def _clamp(cx: float, cy: float, ox: float, oy: float, room: Box) -> tuple[float, float]:
    """Keep a balloon's outline inside the room (centred where it cannot fit)."""
    x, y, w, h = room
    cx = min(max(cx, x + ox), x + w - ox) if 2 * ox <= w else x + w / 2
    cy = min(max(cy, y + oy), y + h - oy) if 2 * oy <= h else y + h / 2
    return cx, cy


def _overlap(a: Box, b: Box) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def _crosses(a: Point, b: Point, box: Box) -> bool:
    """Whether the segment a→b passes through a box (sampled: tails are short and boxes are not thin)."""
    return any(box[0] < a[0] + (b[0] - a[0]) * t < box[0] + box[2] and box[1] < a[1] + (b[1] - a[1]) * t < box[1] + box[3]
               for t in (i / 12 for i in range(1, 12)))


def _best_spot(ox: float, oy: float, room: Box, keep_off: Obstacles, previous: PlacedBalloon | None, speaker: Point | None, rtl: bool) -> tuple[float, float]:
    """The candidate centre that covers least, reads after the previous balloon, sits high and early, tail clear."""
    x, y, w, h = room
    best: tuple[float, float, float] | None = None
    for row in range(GRID):
        for col in range(GRID):
            cx, cy = _clamp(x + ox + (w - 2 * ox) * col / (GRID - 1), y + oy + (h - 2 * oy) * row / (GRID - 1), ox, oy, room)
            along = (x + w - cx) / w if rtl else (cx - x) / w  # 0 at the reading start side
            cost = 8 * keep_off.cost((cx - ox, cy - oy, 2 * ox, 2 * oy)) + 1.2 * (cy - y) / h + 0.3 * along
            if previous is not None:
                cost += 4 * _reads_before(cx, cy, oy, previous, rtl)
            if speaker is not None:
                cost += 0.8 * abs(cx - speaker[0]) / w + 2 * sum(_crosses((cx, cy), speaker, other) for other in keep_off.balloons)
            if best is None or cost < best[0] - 1e-9:
                best = (cost, cx, cy)
    assert best is not None
    return best[1], best[2]


def _reads_before(cx: float, cy: float, oy: float, previous: PlacedBalloon, rtl: bool) -> float:
    """1 when a balloon at (cx, cy) would be read before the previous one (higher, or level but earlier), else 0."""
    if cy < previous.cy - oy * 0.5:
        return 1.0
    level = abs(cy - previous.cy) < oy
    earlier = cx > previous.cx if rtl else cx < previous.cx
    return 1.0 if level and earlier else 0.0


def _point_at_speaker(balloon: PlacedBalloon, spec: BalloonSpec, panel: Box, heads: dict[str, Point], linked: PlacedBalloon | None) -> PlacedBalloon:
    """Add the tail (or thought bubbles, or the link to the previous balloon) aimed at the speaker's head or anchor."""
    if linked is not None:
        half = min(balloon.ry, linked.ry) * 0.35
        return replace(balloon, link=tuple(link_points((linked.cx, linked.cy, linked.rx, linked.ry), (balloon.cx, balloon.cy, balloon.rx, balloon.ry), half)))
    target = _tail_target(spec, panel, heads, balloon)
    if target is None:
        return balloon
    if balloon.style == "thought":
        return replace(balloon, bubbles=tuple(thought_bubbles(balloon.cx, balloon.cy, balloon.rx, balloon.ry, target, balloon.block.size)))
    tip = _tip(balloon, target, panel, aimed_at_head=not spec.tail)
    if tip is None:
        return balloon
    half = TAIL_HALF_WIDTH * balloon.block.size
    return replace(balloon, tail=tuple(tail_points(balloon.cx, balloon.cy, balloon.rx, balloon.ry, tip, half)))


def _tail_target(spec: BalloonSpec, panel: Box, heads: dict[str, Point], balloon: PlacedBalloon) -> Point | None:
    """The author's anchor, else the speaker's head (page points), else below the balloon (an off-pose speaker)."""
    x, y, w, h = panel
    if spec.style == "caption":
        return None
    if spec.tail:
        return x + spec.tail[0] * w, y + spec.tail[1] * h
    if spec.who in heads:
        return heads[spec.who]
    return balloon.cx - balloon.rx * 0.3, min(balloon.cy + balloon.ry * 2.2, y + h - INSET)


def _tip(balloon: PlacedBalloon, target: Point, panel: Box, aimed_at_head: bool) -> Point | None:
    """Where the tail ends: short of a head (so it does not cover the face), at an anchor exactly."""
    cx, cy = balloon.cx, balloon.cy
    dx, dy = target[0] - cx, target[1] - cy
    distance = math.hypot(dx, dy)
    edge = 1 / max(math.hypot(dx / balloon.rx, dy / balloon.ry), 1e-9) * distance  # centre to the ellipse edge
    if distance - edge < 2:
        return None
    if not aimed_at_head:
        return target
    face = FACE_RADIUS * min(panel[2], panel[3])
    reach = max(distance - face * 1.3, edge + balloon.block.size * 1.2)
    reach = min(reach, distance, edge + max(balloon.ry * 2.5, balloon.block.size * 3))
    if distance - face > edge + 1:
        reach = min(reach, distance - face)  # short of the face, wherever there is room for a tail outside it
    return cx + dx / distance * reach, cy + dy / distance * reach
