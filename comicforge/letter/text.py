"""Fitting lettering: emphasis, balanced line breaks (hyphenated, or between CJK characters where kinsoku allows)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby, pairwise

from comicforge.letter.breaks import break_points
from comicforge.letter.fonts import text_width
from comicforge.letter.vertical import PlacedRun, column_length, column_runs

LEADING = 1.2  # line height as a multiple of the point size
TARGET_ASPECT = 1.8  # text blocks in balloons read best a little wider than tall
ELLIPSE_ASPECTS = (0.5, 0.6, 0.7, 0.8)  # ry / rx tried when wrapping an ellipse round a block (balloons are wide)
COLUMN_ASPECTS = (0.8, 1.0, 1.25, 1.5, 1.8)  # ... and round vertical columns (balloons are tall)
EMPHASIS = re.compile(r"\*([^*\n]+)\*|_([^_\n]+)_")
Segment = tuple[str, str]  # text, face: "regular" | "bold" | "italic"
Word = tuple[Segment, ...]


@dataclass(frozen=True)
class Faces:
    """The font files of one lettering voice: the regular face and its emphasis faces."""

    regular: str
    bold: str
    italic: str

    def path(self, face: str) -> str:
        return {"regular": self.regular, "bold": self.bold, "italic": self.italic}[face]


@dataclass(frozen=True)
class Line:
    """A line (or a vertical column) of lettering: runs of (text, font file) and its extent in points."""

    runs: tuple[tuple[str, str], ...]
    extent: float

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.runs)


@dataclass(frozen=True)
class TextBlock:
    """Lines of lettering at a size, in points; vertical blocks hold columns read right to left."""

    lines: tuple[Line, ...]
    size: float
    leading: float = LEADING
    vertical: bool = False

    @property
    def width(self) -> float:
        if self.vertical:
            return self.size * self.leading * len(self.lines)
        return max((line.extent for line in self.lines), default=0.0)

    @property
    def height(self) -> float:
        if self.vertical:
            return max((line.extent for line in self.lines), default=0.0)
        return self.size * self.leading * len(self.lines)


def parse_emphasis(text: str) -> list[list[Word]]:
    """Paragraphs of words, each word a run of (text, face) segments: `*bold*`, `_italic_`."""
    paragraphs = []
    for paragraph in text.split("\n"):
        segments: list[Segment] = []
        at = 0
        for match in EMPHASIS.finditer(paragraph):
            segments.append((paragraph[at : match.start()], "regular"))
            segments.append((match.group(1), "bold") if match.group(1) else (match.group(2), "italic"))
            at = match.end()
        segments.append((paragraph[at:], "regular"))
        paragraphs.append(_words(segments))
    return paragraphs


def _words(segments: list[Segment]) -> list[Word]:
    """Split segments at whitespace; a word may span faces ('*blue*.' is one word)."""
    words: list[list[Segment]] = [[]]
    for text, face in segments:
        for i, piece in enumerate(re.split(r"\s+", text)):
            if i > 0 and words[-1]:
                words.append([])
            if piece:
                words[-1].append((piece, face))
    return [tuple(w) for w in words if w]


def plain(text: str) -> str:
    """The text without emphasis markers (what is drawn)."""
    return EMPHASIS.sub(lambda m: m.group(1) or m.group(2), text)


@lru_cache(maxsize=8)
def _hyphenator(language: str):  # type: ignore[no-untyped-def]
    import pyphen

    return pyphen.Pyphen(lang=language if language in pyphen.LANGUAGES else "en_US", left=3, right=3)


def hyphen_splits(word: Word, language: str) -> list[tuple[Word, Word]]:
    """Ways to break a one-face word at its hyphenation points: (head with '-', tail), longest head first."""
    if len(word) != 1 or not word[0][0].isalpha():
        return []
    text, face = word[0]
    positions = _hyphenator(language).positions(text.lower())
    return [(((text[:p] + "-", face),), ((text[p:], face),)) for p in reversed(positions)]


@dataclass(frozen=True)
class Piece:
    """A unit the line breaker keeps whole: a word, or the characters of a CJK word between two break points."""

    word: Word
    spaced: bool = True  # a space separates it from the piece before on the same line


def pieces_of(words: list[Word]) -> list[Piece]:
    """A paragraph's words cut at their CJK break points (kinsoku respected); the cut-off parts join unspaced."""
    pieces: list[Piece] = []
    for word in words:
        chars = [(char, face) for text, face in word for char in text]
        cuts = [0, *break_points("".join(char for char, _ in chars)), len(chars)]
        for n, (a, b) in enumerate(pairwise(cuts)):
            segments = [(face, "".join(char for char, _ in group)) for face, group in groupby(chars[a:b], lambda c: c[1])]
            pieces.append(Piece(tuple((text, face) for face, text in segments), spaced=n == 0))
    return pieces


Measure = Callable[[Word], float]


Splits = list[tuple[Word, Word]]


def wrap_words(pieces: list[Piece], measure: Measure, space: float, limit: float, splits: Callable[[Word], Splits]) -> list[list[Piece]]:
    """Greedy wrap at a limit; a word that overflows is hyphenated when `splits` offers a head that fits.

    The tail of a broken word breaks again only at the whole word's hyphenation points.
    """
    lines: list[list[Piece]] = []
    extent = 0.0
    queue: list[tuple[Piece, Splits | None]] = [(piece, None) for piece in pieces]
    while queue:
        piece, known = queue.pop(0)
        width = measure(piece.word)
        gap = space if piece.spaced else 0.0
        if lines and extent + gap + width <= limit:
            lines[-1].append(piece)
            extent += gap + width
            continue
        options = known if known is not None else splits(piece.word)
        room = limit - extent - gap if lines else limit
        head = _head_within(options, room, measure) if width > room else None
        if head and lines and extent > 0:
            lines[-1].append(Piece(head[0], piece.spaced))
        elif not head and width > limit:  # too long even for a line of its own: break it at the start of one
            head = _head_within(options, limit, measure)
            if head:
                lines.append([Piece(head[0])])
        elif head:
            lines.append([Piece(head[0])])
        if head:
            queue.insert(0, (Piece(head[1], False), _tail_splits(options, head[1])))
            extent = limit
            continue
        lines.append([piece])
        extent = width
    return lines


def _head_within(options: Splits, room: float, measure: Measure) -> tuple[Word, Word] | None:
    """The longest hyphenated head that fits in `room`, with its tail."""
    return next(((h, t) for h, t in options if measure(h) <= room), None)


def _tail_splits(options: Splits, tail: Word) -> Splits:
    """The splits of a one-face word's tail: the word's own later hyphenation points."""
    text, face = tail[0]
    return [(((text[: len(text) - len(rest[0][0])] + "-", face),), rest) for _, rest in options if len(rest[0][0]) < len(text)]


def _line(pieces: list[Piece], faces: Faces, size: float, vertical: bool) -> Line:
    """Join pieces into runs of one font each (spaces take the preceding face)."""
    runs: list[list[str]] = []
    for i, piece in enumerate(pieces):
        for j, (text, face) in enumerate(piece.word):
            text = (" " if i and j == 0 and piece.spaced else "") + text
            path = faces.path(face)
            if runs and runs[-1][1] == path:
                runs[-1][0] += text
            else:
                runs.append([text, path])
    frozen = tuple((text, path) for text, path in runs)
    measure = column_length if vertical else text_width
    return Line(frozen, sum(measure(t, p, size) for t, p in frozen))


def ellipse_around(block: TextBlock, pad: float) -> tuple[float, float]:
    """Radii of the smallest ellipse (over a few aspects) that holds every line's corners plus padding."""
    best = (math.inf, 0.0, 0.0)
    corners = _corners(block)
    for aspect in COLUMN_ASPECTS if block.vertical else ELLIPSE_ASPECTS:
        rx = max(math.hypot(x + pad, (y + pad) / aspect) for x, y in corners)
        if rx * rx * aspect < best[0]:
            best = (rx * rx * aspect, rx, rx * aspect)
    return best[1], best[2]


def _corners(block: TextBlock) -> list[tuple[float, float]]:
    """Half-width and farthest half-height of each line (horizontal) or column (vertical), block centred."""
    step = block.size * block.leading
    count = len(block.lines)
    far = [max(abs(i - count / 2), abs(i + 1 - count / 2)) * step for i in range(count)]
    if block.vertical:
        return [(across, line.extent / 2) for across, line in zip(far, block.lines)]
    return [(line.extent / 2, across) for across, line in zip(far, block.lines)]


def box_around(block: TextBlock, pad: float) -> tuple[float, float]:
    """Half-width and half-height of a caption box round a block."""
    return block.width / 2 + pad, block.height / 2 + pad


def fit_text(text: str, faces: Faces, size: float, max_width: float, *, caps: bool = True, box: bool = False,
             hyphenate: bool = False, language: str = "en", vertical: bool = False, leading: float = LEADING) -> TextBlock:
    """Break text into the lines (or vertical columns) whose enclosing balloon is smallest: balanced, not ragged."""
    paragraphs = [pieces_of(words) for words in parse_emphasis(text.upper() if caps else text)]
    extent = column_length if vertical else text_width
    measure: Measure = lambda word: sum(extent(t, faces.path(f), size) for t, f in word)  # noqa: E731
    space = text_width(" ", faces.regular, size)
    splits = (lambda word: hyphen_splits(word, language)) if hyphenate else (lambda word: [])

    def block_at(limit: float) -> TextBlock:
        rows = [row for pieces in paragraphs for row in (wrap_words(pieces, measure, space, limit, splits) or [[]])]
        return TextBlock(tuple(_line(row, faces, size, vertical) for row in rows), size, leading, vertical)

    total = sum(measure(p.word) + (space if p.spaced else 0.0) for pieces in paragraphs for p in pieces)
    ideal = math.sqrt(max(total, 1.0) * size * leading * (1 / TARGET_ASPECT if vertical else TARGET_ASPECT))
    best: tuple[float, TextBlock] | None = None
    for limit in sorted({min(max_width, ideal * f) for f in (0.6, 0.75, 0.9, 1.0, 1.15, 1.3, 1.6)}):
        for block in (block_at(limit), block_at(balanced_limit(block_at, limit))):
            rx, ry = box_around(block, size * 0.4) if box else ellipse_around(block, size * 0.3)
            score = rx * ry * (1 + 0.04 * sum(text.endswith("-") for line in block.lines for text, _ in line.runs[-1:]))
            if best is None or score < best[0] - 1e-9:
                best = (score, block)
    assert best is not None
    return best[1]


def balanced_limit(block_at: Callable[[float], TextBlock], limit: float, steps: int = 8) -> float:
    """The shortest limit that breaks into no more lines than `limit` does: every line about as long as the others."""
    start = block_at(limit)
    count, widest = len(start.lines), _widest(start)
    low, high = 0.0, limit
    for _ in range(steps):
        middle = (low + high) / 2
        block = block_at(middle)  # as few lines and none wider (a word too long to break would overflow)
        low, high = (low, middle) if len(block.lines) <= count and _widest(block) <= widest + 1e-9 else (middle, high)
    return high


def _widest(block: TextBlock) -> float:
    return max((line.extent for line in block.lines), default=0.0)


def block_runs(block: TextBlock, cx: float, cy: float) -> list[PlacedRun]:
    """Each run's baseline start (x, y), text and font file, the block centred on (cx, cy); columns right to left."""
    step = block.size * block.leading
    if block.vertical:
        top = cy - block.height / 2  # columns hang from one top line
        return [run for i, column in enumerate(block.lines)
                for run in column_runs(column.runs, cx + block.width / 2 - (i + 0.5) * step, top, block.size)]
    top = cy - block.height / 2 + (step - block.size) / 2 + block.size * 0.8  # baseline about 0.8 em below the line top
    runs = []
    for i, line in enumerate(block.lines):
        x = cx - line.extent / 2
        for text, font in line.runs:
            runs.append(PlacedRun(x, top + i * step, text, font))
            x += text_width(text, font, block.size)
    return runs
