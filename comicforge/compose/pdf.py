"""Print PDF: each page's art embedded losslessly as it was stored, with the overlay as vectors and text."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comicforge.letter.fonts import registered_font_name

Op = dict[str, Any]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_COLOURS = {0: ("/DeviceGray", 1), 2: ("/DeviceRGB", 3)}


@dataclass(frozen=True)
class PdfPage:
    """One page to export: its size and bleed in points, its art PNG and its overlay."""

    media: tuple[float, float]
    bleed: float
    art: Path
    overlay: list[Op]
    gray: bool


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


def _set_colour(canvas: Any, colour: str, gray: bool, stroke: bool) -> None:
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    if gray:
        level = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
        (canvas.setStrokeGray if stroke else canvas.setFillGray)(level)
    else:
        (canvas.setStrokeColorRGB if stroke else canvas.setFillColorRGB)(*rgb)


def draw_ops(canvas: Any, ops: list[Op], height: float, gray: bool) -> None:
    """Draw overlay operations on a reportlab canvas (flipping y to PDF's bottom-left origin)."""
    for op in ops:
        kind = op["op"]
        if kind == "text":
            _set_colour(canvas, op["color"], gray, stroke=False)
            canvas.setFont(registered_font_name(op["font"]), op["size"])
            canvas.drawString(op["x"], height - op["y"], op["text"])
            continue
        fill = op.get("fill")
        stroke = op.get("stroke") or 0
        if fill:
            _set_colour(canvas, fill, gray, stroke=False)
        if stroke:
            _set_colour(canvas, op["color"], gray, stroke=True)
            canvas.setLineWidth(stroke)
            canvas.setDash(op["dash"] if op.get("dash") else [])
        canvas.setLineJoin(1)
        if kind == "rect":
            canvas.rect(op["x"], height - op["y"] - op["h"], op["w"], op["h"], stroke=1 if stroke else 0, fill=1 if fill else 0)
        elif kind == "ellipse":
            canvas.ellipse(op["cx"] - op["rx"], height - op["cy"] - op["ry"], op["cx"] + op["rx"], height - op["cy"] + op["ry"],
                           stroke=1 if stroke else 0, fill=1 if fill else 0)
        else:
            path = canvas.beginPath()
            (x0, y0), *rest = op["points"]
            path.moveTo(x0, height - y0)
            for x, y in rest:
                path.lineTo(x, height - y)
            path.close()
            canvas.drawPath(path, stroke=1 if stroke else 0, fill=1 if fill else 0)


def overlay_pdf(pages: list[PdfPage], info: dict[str, str]) -> bytes:
    """A PDF holding only each page's vector overlay and fonts (reportlab embeds TrueType subsets)."""
    from reportlab.pdfgen.canvas import Canvas

    from comicforge.letter.fonts import BUILTIN_FONTS, DEFAULT_FONT, builtin_font_dir

    buffer = io.BytesIO()
    # reportlab writes an initial font into every page; make it an embedded one, not the base-14 Helvetica
    initial = registered_font_name(str(builtin_font_dir() / BUILTIN_FONTS[DEFAULT_FONT]))
    canvas = Canvas(buffer, pagesize=pages[0].media, invariant=1, pageCompression=1, initialFontName=initial)
    canvas.setTitle(info.get("title", ""))
    canvas.setAuthor(info.get("author", ""))
    canvas.setSubject(info.get("subject", ""))
    canvas.setCreator("comicforge")
    for page in pages:
        canvas.setPageSize(page.media)
        draw_ops(canvas, page.overlay, page.media[1], page.gray)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def art_stream(pdf: Any, png: PngData) -> Any:
    """A PDF image XObject that reuses the PNG's compressed rows (Flate + PNG predictors)."""
    import pikepdf

    return pikepdf.Stream(
        pdf, png.idat,
        Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=png.width, Height=png.height,
        ColorSpace=pikepdf.Name(png.colour_space), BitsPerComponent=png.bit_depth, Filter=pikepdf.Name.FlateDecode,
        DecodeParms=pikepdf.Dictionary(Predictor=15, Colors=png.colours, BitsPerComponent=png.bit_depth, Columns=png.width),
    )


def write_pdf(pages: list[PdfPage], target: Path, info: dict[str, str]) -> None:
    """Write the print PDF: art under overlay on every page; MediaBox = BleedBox = trim + bleed; TrimBox = trim."""
    import pikepdf

    with pikepdf.open(io.BytesIO(overlay_pdf(pages, info))) as pdf:
        for page, spec in zip(pdf.pages, pages):
            width, height = spec.media
            name = pikepdf.Name("/CfArt")
            page.add_resource(art_stream(pdf, read_png(spec.art)), pikepdf.Name.XObject, name, replace_existing=True)
            page.contents_add(pdf.make_stream(f"q {width:.4f} 0 0 {height:.4f} 0 0 cm /CfArt Do Q\n".encode()), prepend=True)
            b = spec.bleed
            page.MediaBox = pikepdf.Array([0, 0, width, height])
            page.BleedBox = pikepdf.Array([0, 0, width, height])
            page.TrimBox = pikepdf.Array([b, b, width - b, height - b])
        pdf.save(target, deterministic_id=True)

