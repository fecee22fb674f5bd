"""Balloons and sound effects: fonts chosen and checked to load, every glyph present, vertical Japanese by default."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from comicforge.letter.fonts import BUILTIN_FONTS, DEFAULT_FONT, SFX_FONT, emphasis_candidates, emphasis_fonts, find_font
from comicforge.project.load import Loc
from comicforge.project.resolve.resolver import Resolver, fail_once, known
from comicforge.project.schema import Balloon, Panel, Project
from comicforge.spec.files import FileRef
from comicforge.spec.lettering import BalloonSpec, SfxSpec


def panel_balloons(r: Resolver, panel: Panel, loc: Loc) -> tuple[BalloonSpec, ...]:
    return tuple(filter(None, (_balloon(r, b, (*loc, "balloons", i)) for i, b in enumerate(panel.balloons))))


def _balloon(r: Resolver, balloon: Balloon, loc: Loc) -> BalloonSpec | None:
    fmt = r.project.format
    character = None
    if balloon.who is not None:
        character = r.character(balloon.who)
        if character is None:
            r.fail((*loc, "who"), f"unknown speaker {balloon.who!r} (known: {known(r.project.characters)})")
            return None
    voice = character.voice if character else None
    font_name, font_loc = _font_choice(balloon, voice, fmt.font, loc)
    faces = _faces(r, font_name, font_loc)
    if faces is None:
        return None
    style = balloon.style or ("caption" if balloon.caption else (voice.style if voice else "speech"))
    caps = next(c for c in (balloon.caps, voice.caps if voice else None, fmt.caps) if c is not None)
    _check_glyphs(r, balloon.text.upper() if caps else balloon.text, faces, (*loc, "text"))
    size = balloon.size or (voice.size if voice and voice.size else None) or fmt.font_size
    vertical = balloon.vertical if balloon.vertical is not None else _vertical_by_default(r.project, balloon.text)
    return BalloonSpec(
        balloon.text, style, balloon.who, *faces, size, min(fmt.min_font_size, size), fmt.leading, caps,
        r.project.language if fmt.hyphenate else None, vertical, balloon.link, balloon.at, balloon.tail,
    )


def _font_choice(balloon: Balloon, voice: Any, book_font: str | None, loc: Loc) -> tuple[str, Loc]:
    """The balloon's font, else its speaker's voice font, else the book's, else the default; with where it was named."""
    if balloon.font:
        return balloon.font, (*loc, "font")
    if voice is not None and voice.font:
        return voice.font, ("characters", balloon.who, "voice", "font")
    if book_font:
        return book_font, ("format", "font")
    return DEFAULT_FONT, loc


def _vertical_by_default(project: Project, text: str) -> bool:
    """Japanese text in a right-to-left book is lettered top to bottom (captions too)."""
    return project.language == "ja" and project.format.reading == "rtl" and any(_is_cjk(c) for c in text)


def _is_cjk(char: str) -> bool:
    return 0x3000 <= ord(char) <= 0x9FFF or 0xF900 <= ord(char) <= 0xFAFF or 0xFF00 <= ord(char) <= 0xFFEF


def _faces(r: Resolver, name: str, loc: Loc) -> tuple[FileRef, FileRef, FileRef] | None:
    """The regular, bold and italic faces of a lettering font, each readable as TrueType."""
    regular = _font(r, name, loc)
    if regular is None:
        return None
    if name not in BUILTIN_FONTS:  # a face added beside a project font later must be noticed by the fast path
        r.read(*(path.resolve() for path in emphasis_candidates(Path(regular.path))))
    bold, italic = (_font(r, str(path), loc) for path in emphasis_fonts(name, r.loaded.root))
    return (regular, bold or regular, italic or regular)


def _check_glyphs(r: Resolver, text: str, faces: tuple[FileRef, FileRef, FileRef], loc: Loc) -> None:
    """Every character must have a glyph in the face that draws it (emphasis in its own face)."""
    from comicforge.letter.text import parse_emphasis

    by_face = {"regular": faces[0], "bold": faces[1], "italic": faces[2]}
    wanted: dict[str, str] = {}
    for paragraph in parse_emphasis(text):
        for word in paragraph:
            for piece, face in word:
                wanted[face] = wanted.get(face, "") + piece
    for face, chars in wanted.items():
        _report_missing(r, by_face[face].path, chars, loc)


def _report_missing(r: Resolver, font: str, text: str, loc: Loc) -> None:
    from comicforge.letter.fonts import missing_glyphs

    missing = missing_glyphs(font, text)
    if missing:
        names = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing)
        r.fail(loc, f"font {Path(font).name} has no glyph for {names}")


def _font(r: Resolver, name: str, loc: Loc) -> FileRef | None:
    """A font file, fingerprinted and checked to load as TrueType (problems reported once)."""
    from comicforge.letter.fonts import FontError, registered_font_name

    path = find_font(name, r.loaded.root)
    if path is None:
        fail_once(r, loc, f"font not found: {name} (a .ttf path relative to the project, or a built-in font)")
        return None
    try:
        registered_font_name(str(path.resolve()))
    except FontError as error:
        fail_once(r, loc, f"font {name}: {error}")
        return None
    if not str(path).startswith(str(Path(str(resources.files("comicforge"))))):
        r.read(path.resolve())
    return FileRef(str(path.resolve()), r.fingerprint(path.resolve()))


def panel_sfx(r: Resolver, panel: Panel, loc: Loc) -> tuple[SfxSpec, ...]:
    """Sound effects with their font checked (glyphs included)."""
    specs = []
    for i, sfx in enumerate(panel.sfx):
        where = (*loc, "sfx", i)
        font = _font(r, sfx.font or SFX_FONT, (*where, "font") if sfx.font else where)
        if font is None:
            continue
        _report_missing(r, font.path, sfx.text, (*where, "text"))
        specs.append(SfxSpec(sfx.text, font, sfx.size, sfx.angle, sfx.at, sfx.fill, sfx.outline, sfx.outline_width))
    return tuple(specs)
