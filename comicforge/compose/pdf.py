"""Print PDF: each page's art embedded losslessly, the overlay as vectors and text, boxes, marks, metadata, intent."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comicforge.letter.fonts import registered_font_name, vertical_font_name
from comicforge.spec.settings import hex_rgb

Op = dict[str, Any]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_COLOURS = {0: ("/DeviceGray", 1), 2: ("/DeviceRGB", 3)}
MARK_LENGTH = 18.0  # crop mark length in points
MARK_OFFSET = 6.0  # gap between the bleed edge and a crop mark
MARGIN = 36.0  # room round the bleed for crop marks and the slug line
MARK_WIDTH = 0.25
SLUG_SIZE = 6.0


@dataclass(frozen=True)
class PdfPage:
    """One page to export: its size (trim + bleed) and bleed in points, its art PNG and its overlay."""

    media: tuple[float, float]
    bleed: float
    art: Path
    overlay: list[Op]
    number: int = 0


@dataclass(frozen=True)
class PrintSettings:
    """How the PDF is written: colour space of the overlay (and art), marks, proof, metadata, output intent."""

    space: str = "rgb"  # rgb | gray | cmyk
    crop_marks: bool = False
    slug: str | None = None
    proof: bool = False
    title: str = ""
    author: str = ""
    subject: str = ""
    date: str | None = None  # PDF date string, D:YYYYMMDDHHmmSSZ; None writes no dates
    condition: str | None = None  # registered printing condition of a PDF/X-style output intent
    icc_profile: str | None = None  # output ICC profile for converting RGB art to CMYK (else grey-component replacement)
    rtl: bool = False

    @property
    def margin(self) -> float:
        """Extra room round the bleed box (crop marks and slug only)."""
        return MARGIN if self.crop_marks or self.slug else 0.0


@dataclass(frozen=True)
class PngData:
    """The pieces of a PNG that a PDF image stream can reuse without recompressing."""

    width: int
    height: int
    bit_depth: int
    colour_space: str
    colours: int
    idat: bytes


def read_png(path: Path) -> PngData:
    """Parse a non-interlaced gray or RGB PNG into its header fields and zlib stream."""
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"{path}: not a PNG")
    at, idat, header = 8, [], None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        at += 12 + length
    if header is None or header[6] != 0 or header[3] not in PNG_COLOURS:
        raise ValueError(f"{path}: page art must be a non-interlaced gray or RGB PNG")
    space, colours = PNG_COLOURS[header[3]]
    return PngData(header[0], header[1], header[2], space, colours, b"".join(idat))


def rgb_to_cmyk(r: float, g: float, b: float) -> tuple[float, float, float, float]:
    """Naive conversion with full grey-component replacement: black stays pure K (no rich-black text)."""
    import numpy as np

    from comicforge.post.color import grey_component_replacement

    c, m, y, k = (float(value) for value in grey_component_replacement(np.array([r, g, b], dtype=np.float64)))
    return c, m, y, k


def _set_colour(canvas: Any, colour: str, space: str, stroke: bool) -> None:
    """Set a fill or stroke colour in the PDF's colour space (DeviceRGB, DeviceGray or DeviceCMYK)."""
    rgb = [value / 255 for value in hex_rgb(colour)]
    if space == "gray":
        (canvas.setStrokeGray if stroke else canvas.setFillGray)(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
    elif space == "cmyk":
        (canvas.setStrokeColorCMYK if stroke else canvas.setFillColorCMYK)(*rgb_to_cmyk(*rgb))
    else:
        (canvas.setStrokeColorRGB if stroke else canvas.setFillColorRGB)(*rgb)


def _draw_path(canvas: Any, op: Op, height: float, space: str) -> None:
    path = canvas.beginPath()
    for command in op["d"]:
        kind, values = command[0], command[1:]
        if kind == "M":
            path.moveTo(values[0], height - values[1])
        elif kind == "L":
            path.lineTo(values[0], height - values[1])
        elif kind == "C":
            path.curveTo(values[0], height - values[1], values[2], height - values[3], values[4], height - values[5])
        else:
            path.close()
    fill, stroke = op.get("fill"), op.get("stroke") or 0
    if fill:
        _set_colour(canvas, fill, space, stroke=False)
    if stroke:
        _set_colour(canvas, op["color"], space, stroke=True)
        canvas.setLineWidth(stroke)
        canvas.setDash(op["dash"] if op.get("dash") else [])
    canvas.setLineJoin(1)
    canvas.drawPath(path, stroke=1 if stroke else 0, fill=1 if fill else 0)


def _draw_text(canvas: Any, op: Op, height: float, space: str) -> None:
    """Text at a baseline start; display text rotates about it, its outline stroked outward under the fill."""
    font = vertical_font_name(op["font"], op["text"]) if op.get("forms") == "vert" else registered_font_name(op["font"])
    if not op.get("angle") and not op.get("outline"):
        _set_colour(canvas, op["color"], space, stroke=False)
        canvas.setFont(font, op["size"])
        canvas.drawString(op["x"], height - op["y"], op["text"])
        return
    canvas.saveState()
    canvas.translate(op["x"], height - op["y"])
    canvas.rotate(op.get("angle", 0.0))
    text = canvas.beginText(0, 0)
    text.setFont(font, op["size"])
    if op.get("outline"):
        _set_colour(canvas, op["outline_color"], space, stroke=True)
        canvas.setLineWidth(2 * op["outline"])  # a stroke straddles the glyph edge: twice the width reaches out by one
        canvas.setLineJoin(1)
        text.setTextRenderMode(1)
        text.textOut(op["text"])
        text.setTextOrigin(0, 0)
    _set_colour(canvas, op["color"], space, stroke=False)
    text.setTextRenderMode(0)
    text.textOut(op["text"])
    canvas.drawText(text)
    canvas.restoreState()


def draw_ops(canvas: Any, ops: list[Op], height: float, space: str, proof: bool = False) -> None:
    """Draw overlay operations on a reportlab canvas (flipping y to PDF's bottom-left origin); proof marks on request."""
    for op in ops:
        if op.get("proof") and not proof:
            continue
        if op["op"] == "text":
            _draw_text(canvas, op, height, space)
        else:
            _draw_path(canvas, op, height, space)


def draw_marks(canvas: Any, page: PdfPage, settings: PrintSettings) -> None:
    """Crop marks at the trim corners, outside the bleed, in registration colour; the slug line below."""
    m, b = settings.margin, page.bleed
    width, height = page.media
    if settings.space == "cmyk":
        canvas.setStrokeColorCMYK(1, 1, 1, 1)  # registration: on every plate
    else:
        canvas.setStrokeGray(0)
    canvas.setLineWidth(MARK_WIDTH)
    canvas.setDash([])
    if settings.crop_marks:
        for x, out_x in ((m + b, -1), (m + width - b, 1)):
            for y, out_y in ((m + b, -1), (m + height - b, 1)):
                near = b + MARK_OFFSET
                canvas.line(x + out_x * near, y, x + out_x * (near + MARK_LENGTH), y)
                canvas.line(x, y + out_y * near, x, y + out_y * (near + MARK_LENGTH))
    if settings.slug is not None:
        _set_colour(canvas, "#000000", settings.space, stroke=False)
        canvas.setFont(_slug_font(), SLUG_SIZE)
        parts = [settings.title, f"page {page.number}", settings.slug]
        canvas.drawString(m + b, m / 3, _ascii("  |  ".join(p for p in parts if p)))


def _ascii(text: str) -> str:
    """Slug text folded to ASCII (the slug font is Latin only): 'Tōrō' → 'Toro'."""
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _slug_font() -> str:
    from comicforge.letter.fonts import BUILTIN_FONTS, builtin_font_dir

    return registered_font_name(str(builtin_font_dir() / BUILTIN_FONTS["comic-neue"]))


def overlay_pdf(pages: list[PdfPage], settings: PrintSettings) -> bytes:
    """A PDF holding only each page's vector overlay, marks and fonts (reportlab embeds TrueType subsets)."""
    from reportlab.pdfgen.canvas import Canvas

    from comicforge.letter.fonts import BUILTIN_FONTS, DEFAULT_FONT, builtin_font_dir

    buffer = io.BytesIO()
    # reportlab writes an initial font into every page; make it an embedded one, not the base-14 Helvetica
    initial = registered_font_name(str(builtin_font_dir() / BUILTIN_FONTS[DEFAULT_FONT]))
    m = settings.margin
    canvas = Canvas(buffer, pagesize=pages[0].media, invariant=1, pageCompression=1, initialFontName=initial)
    canvas.setTitle(settings.title)
    canvas.setAuthor(settings.author)
    canvas.setSubject(settings.subject)
    canvas.setCreator("comicforge")
    for page in pages:
        canvas.setPageSize((page.media[0] + 2 * m, page.media[1] + 2 * m))
        if m:
            draw_marks(canvas, page, settings)
            canvas.translate(m, m)
        draw_ops(canvas, page.overlay, page.media[1], settings.space, settings.proof)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def art_stream(pdf: Any, png: PngData) -> Any:
    """A PDF image XObject that reuses the PNG's compressed rows (Flate + PNG predictors)."""
    import pikepdf

    return pikepdf.Stream(
        pdf, png.idat,
        Subtype=pikepdf.Name.Image, Width=png.width, Height=png.height,
        ColorSpace=pikepdf.Name(png.colour_space), BitsPerComponent=png.bit_depth, Filter=pikepdf.Name.FlateDecode,
        DecodeParms=pikepdf.Dictionary(Predictor=15, Colors=png.colours, BitsPerComponent=png.bit_depth, Columns=png.width),
    )


def cmyk_art_stream(pdf: Any, path: Path, icc_profile: str | None = None) -> Any:
    """RGB art converted to DeviceCMYK (the post stage's conversion) and deflated; the one export that recompresses."""
    import pikepdf
    from PIL import Image

    from comicforge.post.color import to_cmyk

    with Image.open(path) as image:
        cmyk = to_cmyk(image.convert("RGB"), icc_profile)
    return pikepdf.Stream(
        pdf, zlib.compress(cmyk.tobytes(), 6),
        Subtype=pikepdf.Name.Image, Width=cmyk.width, Height=cmyk.height,
        ColorSpace=pikepdf.Name.DeviceCMYK, BitsPerComponent=8, Filter=pikepdf.Name.FlateDecode,
    )


def _num(value: float) -> str:
    """A PDF number, as short as exact (to 1/10000 pt)."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _image(pdf: Any, art: Path, settings: PrintSettings) -> Any:
    png = read_png(art)
    if settings.space == "cmyk" and png.colours == 3:
        return cmyk_art_stream(pdf, art, settings.icc_profile)
    return art_stream(pdf, png)


def _set_boxes(page: Any, spec: PdfPage, margin: float) -> None:
    """MediaBox holds marks and slug; BleedBox = trim + bleed; TrimBox = the trimmed page."""
    import pikepdf

    width, height = spec.media
    b, m = spec.bleed, margin
    for default in ("/Trans", "/Rotate"):  # reportlab's empty transition and zero rotation say nothing
        if default in page.obj and not page.obj[default]:
            del page.obj[default]
    page.MediaBox = pikepdf.Array([0, 0, width + 2 * m, height + 2 * m])
    if m:  # without marks the BleedBox is the MediaBox, its default (an explicit copy would only add bytes)
        page.BleedBox = pikepdf.Array([m, m, m + width, m + height])
    page.TrimBox = pikepdf.Array([m + b, m + b, m + width - b, m + height - b])


def _document_info(pdf: Any, settings: PrintSettings) -> None:
    """Dates only when given (identical inputs give identical bytes); PDF/X-style intent; reading direction."""
    import pikepdf

    info = pdf.docinfo
    for key in ("/CreationDate", "/ModDate"):
        if settings.date:
            info[key] = settings.date
        elif key in info:
            del info[key]
    info["/Producer"] = "comicforge (reportlab, pikepdf)"
    info["/Trapped"] = pikepdf.Name("/False")
    if settings.condition and settings.space in ("gray", "cmyk"):
        info["/GTS_PDFXVersion"] = "PDF/X-1a:2001"
        pdf.Root.OutputIntents = pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFX, OutputConditionIdentifier=settings.condition,
            OutputCondition=settings.condition, RegistryName="http://www.color.org", Info=settings.condition,
        ))])
    if settings.rtl:
        pdf.Root.ViewerPreferences = pikepdf.Dictionary(Direction=pikepdf.Name.R2L)
        pdf.Root.PageLayout = pikepdf.Name.TwoPageRight


def overlay_inputs(pages: list[PdfPage], settings: PrintSettings) -> bytes:
    """Everything `overlay_pdf`'s bytes are made from, as one text to digest: the pages' sizes and overlays, the
    settings, the contents of the fonts they name, the writer's code and reportlab's version."""
    import json

    import reportlab

    from comicforge.weights.digest import file_sha256

    fonts = sorted({op["font"] for page in pages for op in page.overlay if "font" in op})
    facts = {
        "pages": [[page.media, page.bleed, page.number, page.overlay] for page in pages], "settings": settings.__dict__,
        "fonts": {font: file_sha256(Path(font)) for font in fonts}, "code": file_sha256(Path(__file__)), "reportlab": reportlab.Version,
    }
    return json.dumps(facts, sort_keys=True, default=str).encode()


def book_pdf(pages: list[PdfPage], settings: PrintSettings, overlay: bytes | None = None) -> Any:
    """The print PDF as an open pikepdf document: art under overlay on every page, boxes, metadata (`overlay`: the
    `overlay_pdf` of these pages and settings, when it is at hand)."""
    import pikepdf

    pdf = pikepdf.open(io.BytesIO(overlay if overlay is not None else overlay_pdf(pages, settings)))
    m = settings.margin
    for page, spec in zip(pdf.pages, pages):
        width, height = spec.media
        art = pdf.make_stream(f"q {_num(width)} 0 0 {_num(height)} {_num(m)} {_num(m)} cm /Im0 Do Q\n".encode())
        if m or any(settings.proof or not op.get("proof") for op in spec.overlay):
            page.contents_add(art, prepend=True)
        else:  # nothing drawn over the art: drop reportlab's empty text setup and its font (smaller files)
            page.Contents, page.Resources = art, pikepdf.Dictionary()
        page.add_resource(_image(pdf, spec.art, settings), pikepdf.Name.XObject, pikepdf.Name("/Im0"), replace_existing=True)
        _set_boxes(page, spec, m)
    _document_info(pdf, settings)
    return pdf


def write_pdf(pages: list[PdfPage], target: Path, settings: PrintSettings, overlay: bytes | None = None) -> None:
    """Write the reader-order print PDF."""
    with book_pdf(pages, settings, overlay) as pdf:
        pdf.save(target, deterministic_id=True, compress_streams=False)  # reportlab's streams are compressed; art is


def spread_order(count: int, rtl: bool) -> list[tuple[int | None, int | None]]:
    """Saddle-stitch imposition: (left, right) page indexes per sheet side, blanks (None) pad to a multiple of 4."""
    total = -(-count // 4) * 4
    sides = []
    for i in range(total // 2):
        outer, inner = total - 1 - i, i
        pair = (outer, inner) if i % 2 == 0 else (inner, outer)
        if rtl:
            pair = (pair[1], pair[0])
        sides.append(tuple(p if p < count else None for p in pair))
    return sides  # type: ignore[return-value]


def write_spreads(pages: list[PdfPage], target: Path, settings: PrintSettings) -> None:
    """Printer spreads: pages imposed two up for saddle stitching, each clipped at the spine fold, bleed outside."""
    import pikepdf

    plain = PrintSettings(**{**settings.__dict__, "crop_marks": False, "slug": None})
    with book_pdf(pages, plain) as book, pikepdf.new() as out:
        width, height = pages[0].media
        b = pages[0].bleed
        trim = width - 2 * b
        forms = [out.copy_foreign(page.as_form_xobject()) for page in book.pages]
        for left, right in spread_order(len(pages), settings.rtl):
            out.add_blank_page(page_size=(2 * trim + 2 * b, height))
            sheet = out.pages[-1]
            drawing = []
            for slot, index in enumerate((left, right)):
                if index is None:
                    continue
                name = sheet.add_resource(forms[index], pikepdf.Name.XObject, prefix="Pg")
                clip_x = 0 if slot == 0 else b + trim
                shift = 0 if slot == 0 else trim
                drawing.append(f"q {clip_x:.4f} 0 {b + trim:.4f} {height:.4f} re W n 1 0 0 1 {shift:.4f} 0 cm {name} Do Q")
            sheet.Contents = out.make_stream("\n".join(drawing).encode())
            sheet.BleedBox = pikepdf.Array([0, 0, 2 * trim + 2 * b, height])
            sheet.TrimBox = pikepdf.Array([b, b, b + 2 * trim, height - b])
        out.docinfo.update(dict(book.docinfo.items()))
        out.save(target, deterministic_id=True)
