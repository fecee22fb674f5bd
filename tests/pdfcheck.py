"""PDF checks for the tests, with libraries from wheels: pikepdf (qpdf's library) and pypdfium2 (Chrome's engine).

Each helper answers what a command-line tool used to: `syntax_problems` is `qpdf --check`, `boxes` and `info` are
`pdfinfo -box`, `fonts` is `pdffonts`, `images` is `pdfimages -list`, `text` is `pdftotext`, `text_in_drawing_order`
is `pdftotext -raw`, `render_gray` is `pdftoppm -gray`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pikepdf

BOXES = ("MediaBox", "CropBox", "BleedBox", "TrimBox", "ArtBox")
SUBSET_TAG = re.compile(r"^[A-Z]{6}\+")  # ISO 32000-1 9.6.4: a subset font's name starts with six capitals and '+'


def syntax_problems(pdf: str | Path) -> list[str]:
    """Every warning and error `qpdf --check` reports (every stream decoded, every content stream parsed)."""
    with pikepdf.open(pdf) as document:
        return document.check_pdf_syntax()


def page_count(pdf: str | Path) -> int:
    with pikepdf.open(pdf) as document:
        return len(document.pages)


def info(pdf: str | Path) -> dict[str, str]:
    """The document information dictionary, keys without the slash (`Title`, `CreationDate`, …)."""
    with pikepdf.open(pdf) as document:
        return {str(key)[1:]: str(value) for key, value in document.docinfo.items()}


def _inherited(page: pikepdf.Dictionary, key: str) -> pikepdf.Object | None:
    while page is not None:
        if key in page:
            return page[key]
        page = page.get("/Parent")
    return None


def boxes(pdf: str | Path) -> list[dict[str, list[float]]]:
    """Each page's effective boxes in points, with the defaults of ISO 32000-1 14.11.2 (as `pdfinfo -box` prints).

    MediaBox and CropBox are inheritable, CropBox defaults to MediaBox, the other three to CropBox.
    """
    result = []
    with pikepdf.open(pdf) as document:
        for page in document.pages:
            media = [float(v) for v in _inherited(page.obj, "/MediaBox")]
            crop = _inherited(page.obj, "/CropBox")
            crop = [float(v) for v in crop] if crop is not None else media
            found = {"MediaBox": media, "CropBox": crop}
            for name in BOXES[2:]:
                box = page.obj.get(f"/{name}")
                found[name] = [float(v) for v in box] if box is not None else crop
            result.append(found)
    return result


@dataclass(frozen=True)
class Font:
    """One font resource, as a row of `pdffonts`."""

    name: str  # BaseFont without the slash, e.g. AAAAAA+ComicNeue-Bold
    subtype: str  # /TrueType, /Type0, …
    font_file: str | None  # the descriptor's embedded program: /FontFile2 (TrueType), /FontFile3, /FontFile, or None
    embedded: bool
    subset: bool
    to_unicode: bool


@dataclass(frozen=True)
class Image:
    """One image drawn on a page, as a row of `pdfimages -list` (a soft mask is its own row)."""

    page: int  # 1-based
    kind: str  # "image" or "smask"
    width: int
    height: int
    color_space: str  # /DeviceRGB, /DeviceGray, /DeviceCMYK, or the family of an array (/ICCBased, /Indexed…)
    bits: int
    filters: tuple[str, ...]


def _descriptor(font: pikepdf.Dictionary) -> pikepdf.Dictionary | None:
    if font.get("/Subtype") == "/Type0":
        font = font.DescendantFonts[0]
    return font.get("/FontDescriptor")


def _font(font: pikepdf.Dictionary) -> Font:
    name = str(font.get("/BaseFont", "/"))[1:]
    descriptor = _descriptor(font)
    files = [key for key in ("/FontFile2", "/FontFile3", "/FontFile") if descriptor is not None and key in descriptor]
    return Font(name=name, subtype=str(font.get("/Subtype")), font_file=files[0] if files else None,
                embedded=bool(files), subset=bool(SUBSET_TAG.match(name)), to_unicode="/ToUnicode" in font)


def _resource_owners(document: pikepdf.Pdf):
    """(page number, resources dictionary) of every page and, depth first, every form XObject it uses."""
    seen: set[tuple[int, int]] = set()

    def walk(number: int, resources: pikepdf.Dictionary | None):
        if resources is None:
            return
        yield number, resources
        for xobject in resources.get("/XObject", {}).values():
            if xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen:
                seen.add(xobject.objgen)
                yield from walk(number, xobject.get("/Resources"))

    for number, page in enumerate(document.pages, start=1):
        yield from walk(number, _inherited(page.obj, "/Resources"))


def fonts(pdf: str | Path) -> list[Font]:
    """Every distinct font the pages (and their forms) use."""
    found: dict[tuple[int, int], Font] = {}
    with pikepdf.open(pdf) as document:
        for _, resources in _resource_owners(document):
            for font in resources.get("/Font", {}).values():
                found.setdefault(font.objgen, _font(font))
    return list(found.values())


def _image(page: int, kind: str, stream: pikepdf.Object) -> Image:
    space = stream.get("/ColorSpace")
    filters = stream.get("/Filter")
    filters = () if filters is None else tuple(str(f) for f in filters) if isinstance(filters, pikepdf.Array) else (str(filters),)
    return Image(page=page, kind=kind, width=int(stream.Width), height=int(stream.Height),
                 color_space=str(space[0] if isinstance(space, pikepdf.Array) else space),
                 bits=int(stream.get("/BitsPerComponent", 1)), filters=filters)


def _drawn(number: int, owner: pikepdf.Object, resources: pikepdf.Dictionary | None, depth: int = 0) -> list[Image]:
    """The images an owner's content stream draws with `Do`, descending into form XObjects."""
    drawn: list[Image] = []
    xobjects = resources.get("/XObject", {}) if resources is not None else {}
    for operands, operator in pikepdf.parse_content_stream(owner, "Do"):
        xobject = xobjects.get(operands[0])
        if xobject is None:
            continue
        if xobject.get("/Subtype") == "/Image":
            drawn.append(_image(number, "image", xobject))
            if xobject.get("/SMask") is not None:
                drawn.append(_image(number, "smask", xobject.SMask))
        elif xobject.get("/Subtype") == "/Form" and depth < 16:
            drawn.extend(_drawn(number, xobject, xobject.get("/Resources", resources), depth + 1))
    return drawn


def images(pdf: str | Path) -> list[Image]:
    """Every image drawn, page by page, in content-stream order."""
    with pikepdf.open(pdf) as document:
        return [image for number, page in enumerate(document.pages, start=1)
                for image in _drawn(number, page, _inherited(page.obj, "/Resources"))]


def text(pdf: str | Path) -> str:
    """The text of every page, whitespace collapsed to single spaces (line breaks inside balloons vanish)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        pages = []
        for page in document:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
    finally:
        document.close()
    return " ".join(" ".join(pages).split())


def _unicode_map(font: pikepdf.Dictionary) -> dict[int, str]:
    """A simple font's codes to text, from its ToUnicode CMap (bfchar and bfrange entries)."""
    cmap = font.ToUnicode.read_bytes().decode("latin1") if "/ToUnicode" in font else ""
    mapping: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, text in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(text).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for low, high, start in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = chr(int(start, 16) + offset)
    return mapping


def text_in_drawing_order(pdf: str | Path) -> str:
    """The text of every page in the order its content streams draw it (`pdftotext -raw`), without spaces."""
    drawn = []
    with pikepdf.open(pdf) as document:
        for page in document.pages:
            fonts = _inherited(page.obj, "/Resources").get("/Font", {})
            maps = {str(name): _unicode_map(font) for name, font in fonts.items()}
            current: dict[int, str] = {}
            for operands, operator in pikepdf.parse_content_stream(page, "Tf Tj TJ"):
                if str(operator) == "Tf":
                    current = maps.get(str(operands[0]), {})
                elif str(operator) in ("Tj", "TJ"):
                    strings = operands[0] if str(operator) == "TJ" else [operands[0]]
                    for item in strings:
                        if isinstance(item, pikepdf.String):
                            drawn.append("".join(current.get(code, "\ufffd") for code in bytes(item)))
    return "".join(drawn).replace(" ", "")


def page_text(pdf: str | Path, page: int, left: float | None = None, right: float | None = None) -> str:
    """The text of one page (0-based), or of the part between x = left and x = right points, whitespace collapsed."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        textpage = document[page].get_textpage()
        found = textpage.get_text_bounded(left=left, right=right)
        textpage.close()
    finally:
        document.close()
    return " ".join(found.split())


@dataclass(frozen=True)
class ShownText:
    """One text-showing operator with the graphics state it draws in."""

    text: str
    fill: tuple[str, tuple[float, ...]]  # colour operator (g, rg or k) and its operands
    stroke: tuple[str, tuple[float, ...]]  # G, RG or K and its operands
    line_width: float
    render_mode: int  # Tr: 0 fill, 1 stroke, 2 both
    ctm: tuple[float, ...]  # the `cm` matrices multiplied together (a, b, c, d, e, f)


FILL_OPERATORS, STROKE_OPERATORS = {"g", "rg", "k"}, {"G", "RG", "K"}


def _concat(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    """`n cm` applied inside `m` (ISO 32000-1 8.3.4: the new CTM is n × m)."""
    a, b, c, d, e, f = n
    return (a * m[0] + b * m[2], a * m[1] + b * m[3], c * m[0] + d * m[2], c * m[1] + d * m[3],
            e * m[0] + f * m[2] + m[4], e * m[1] + f * m[3] + m[5])


def shown_text(pdf: str | Path, page: int = 0) -> list[ShownText]:
    """Every Tj/TJ of a page's content stream (not descending into forms) with its colours, width and CTM."""
    state = {"fill": ("g", (0.0,)), "stroke": ("G", (0.0,)), "width": 1.0, "mode": 0, "ctm": (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)}
    saved: list[dict] = []
    shown: list[ShownText] = []
    with pikepdf.open(pdf) as document:
        for operands, operator in pikepdf.parse_content_stream(document.pages[page]):
            op = str(operator)
            if op == "q":
                saved.append(dict(state))
            elif op == "Q":
                state = saved.pop()
            elif op in FILL_OPERATORS:
                state["fill"] = (op, tuple(float(v) for v in operands))
            elif op in STROKE_OPERATORS:
                state["stroke"] = (op, tuple(float(v) for v in operands))
            elif op == "w":
                state["width"] = float(operands[0])
            elif op == "Tr":
                state["mode"] = int(operands[0])
            elif op == "cm":
                state["ctm"] = _concat(state["ctm"], tuple(float(v) for v in operands))
            elif op in ("Tj", "TJ"):
                parts = operands[0] if op == "TJ" else [operands[0]]
                text = "".join(str(p) for p in parts if isinstance(p, pikepdf.String))
                shown.append(ShownText(text, state["fill"], state["stroke"], state["width"], state["mode"], state["ctm"]))
    return shown


def render_gray(pdf: str | Path, dpi: float, page: int = 0) -> np.ndarray:
    """One page rendered to 8-bit gray at `dpi` (anti-aliased, as a viewer shows it)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        bitmap = document[page].render(scale=dpi / 72, grayscale=True)
        return np.asarray(bitmap.to_pil().convert("L"))
    finally:
        document.close()
