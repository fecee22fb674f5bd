"""What the letterer gets: balloons and sound effects with their fonts resolved."""

from __future__ import annotations

from dataclasses import dataclass

from comicforge.spec.files import FileRef


@dataclass(frozen=True)
class BalloonSpec:
    """A balloon ready for lettering: text, look, fonts, and where it sits and points."""

    text: str
    style: str  # speech | thought | whisper | shout | radio | caption
    who: str | None
    font: FileRef
    bold: FileRef  # face for *bold* emphasis
    italic: FileRef  # face for _italic_ emphasis
    size: float  # points
    min_size: float  # points: the text may shrink to this to fit
    leading: float
    caps: bool
    hyphenate: str | None  # the hyphenation language, or None
    vertical: bool  # top-to-bottom columns, right to left
    link: bool  # join to the previous balloon of the same speaker
    at: tuple[float, float] | None  # centre, fractions of the panel
    tail: tuple[float, float] | None  # tail target, fractions of the panel


@dataclass(frozen=True)
class SfxSpec:
    """A sound effect: display text at a point of the panel, rotated, filled and outlined."""

    text: str
    font: FileRef
    size: float
    angle: float
    at: tuple[float, float]
    fill: str
    outline: str
    outline_width: float
