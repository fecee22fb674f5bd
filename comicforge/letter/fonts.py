"""Lettering fonts: the built-in Comic Neue family and the project's own TrueType files."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

DEFAULT_FONT = "comic-neue-bold"
SFX_FONT = "comic-neue-bold-italic"
BUILTIN_FONTS = {
    "comic-neue": "ComicNeue-Regular.ttf",
    "comic-neue-bold": "ComicNeue-Bold.ttf",
    "comic-neue-italic": "ComicNeue-Italic.ttf",
    "comic-neue-bold-italic": "ComicNeue-BoldItalic.ttf",
}
# emphasis faces of each built-in: lettering is already bold, so *bold* emphasis is bold italic (a comics convention)
BUILTIN_EMPHASIS = {
    "comic-neue": ("comic-neue-bold", "comic-neue-italic"),
    "comic-neue-bold": ("comic-neue-bold-italic", "comic-neue-italic"),
    "comic-neue-italic": ("comic-neue-bold-italic", "comic-neue-italic"),
    "comic-neue-bold-italic": ("comic-neue-bold-italic", "comic-neue-bold-italic"),
}
# a project font `Name-Regular.ttf` finds its emphasis faces beside it by these suffixes
STYLE_SUFFIXES = ("-Regular", "-Bold", "-Italic", "-BoldItalic", "Regular", "")


def builtin_font_dir() -> Path:
    """Where the package keeps its fonts."""
    return Path(str(resources.files("comicforge") / "data" / "fonts"))


def find_font(name: str, root: Path) -> Path | None:
    """A built-in font name or a font file path (relative to the project); None if absent."""
    if name in BUILTIN_FONTS:
        return builtin_font_dir() / BUILTIN_FONTS[name]
    path = Path(name).expanduser()
    path = path if path.is_absolute() else root / path
    return path if path.is_file() else None


def emphasis_candidates(path: Path) -> tuple[Path, Path]:
    """Where a project font's bold and italic faces would be: `Name-Bold.ttf` and `Name-Italic.ttf` beside it."""
    stem = path.stem
    for suffix in STYLE_SUFFIXES:
        if suffix and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return path.with_name(f"{stem}-Bold{path.suffix}"), path.with_name(f"{stem}-Italic{path.suffix}")


def emphasis_fonts(name: str, root: Path) -> tuple[Path, Path]:
    """The (bold, italic) faces for `*bold*` and `_italic_`: the built-in family, sibling files, else the font itself."""
    if name in BUILTIN_EMPHASIS:
        bold_name, italic_name = BUILTIN_EMPHASIS[name]
        return builtin_font_dir() / BUILTIN_FONTS[bold_name], builtin_font_dir() / BUILTIN_FONTS[italic_name]
    path = find_font(name, root)
    assert path is not None
    bold, italic = emphasis_candidates(path)
    return (bold if bold.is_file() else path), (italic if italic.is_file() else path)


class FontError(ValueError):
    """A font file that cannot be used for lettering."""


@lru_cache(maxsize=32)
def registered_font_name(path: str) -> str:
    """Register a TrueType file with reportlab once; CFF-outline fonts are refused clearly."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    name = "cf-" + Path(path).stem
    try:
        pdfmetrics.registerFont(TTFont(name, path))
    except (TTFError, OSError) as error:
        postscript = "postscript" in str(error).lower() or path.lower().endswith(".otf")
        hint = " (PostScript/CFF outlines: convert it to TrueType, e.g. with fontTools' otf2ttf)" if postscript else ""
        raise FontError(f"cannot be used as a lettering font: {error}{hint}") from None
    return name


@lru_cache(maxsize=32)
def font_charmap(path: str) -> frozenset[int]:
    """The code points a font has glyphs for."""
    from reportlab.pdfbase import pdfmetrics

    return frozenset(pdfmetrics.getFont(registered_font_name(path)).face.charToGlyph)


def missing_glyphs(path: str, text: str) -> list[str]:
    """Characters of the text (spaces aside) the font cannot draw, in order of appearance."""
    charmap = font_charmap(path)
    missing: list[str] = []
    for char in text:
        if not char.isspace() and ord(char) not in charmap and char not in missing:
            missing.append(char)
    return missing
