"""Lettering fonts: the built-in Comic Neue family and the project's own TrueType files."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

DEFAULT_FONT = "comic-neue-bold"
BUILTIN_FONTS = {
    "comic-neue": "ComicNeue-Regular.ttf",
    "comic-neue-bold": "ComicNeue-Bold.ttf",
    "comic-neue-italic": "ComicNeue-Italic.ttf",
    "comic-neue-bold-italic": "ComicNeue-BoldItalic.ttf",
}


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
    except TTFError as error:
        hint = " (PostScript/CFF outlines: convert it to TrueType, e.g. with tools/otf_to_ttf.py)" if "postscript" in str(error).lower() or path.lower().endswith(".otf") else ""
        raise FontError(f"{path}: cannot be used as a lettering font: {error}{hint}") from None
    return name
