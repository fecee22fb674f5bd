"""Contact sheets: one PDF page per book page, every panel's candidates side by side, labelled by index and seed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from comicforge.letter.fonts import BUILTIN_FONTS, DEFAULT_FONT, builtin_font_dir, registered_font_name
from comicforge.spec.jobs import SheetPage, SheetsJob

SHEET = (842.0, 595.0)  # A4 landscape, points
MARGIN, GAP, CAPTION = 28.0, 8.0, 11.0  # points


def write_contact_sheets(job: SheetsJob, images: list[Path], target: Path) -> None:
    """A reproducible PDF (reportlab, invariant mode): a row per panel, the picked candidate framed; `images` are the
    candidates' files in row order."""
    from reportlab.pdfgen.canvas import Canvas

    font = registered_font_name(str(builtin_font_dir() / BUILTIN_FONTS[DEFAULT_FONT]))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=SHEET, invariant=1, pageCompression=1, initialFontName=font)
    canvas.setTitle(f"{job.title}: contact sheets")
    canvas.setCreator("comicforge")
    files = iter(images)
    for page in job.pages:
        _draw_sheet(canvas, font, job.title, page, files)
        canvas.showPage()
    canvas.save()
    target.write_bytes(buffer.getvalue())


def _draw_sheet(canvas: Any, font: str, title: str, page: SheetPage, files: Iterator[Path]) -> None:
    """One book page: its title line, then each panel's row of candidates scaled to fit the sheet."""
    from reportlab.lib.utils import ImageReader

    width, height = SHEET
    canvas.setFont(font, 12)
    canvas.drawString(MARGIN, height - MARGIN, f"{title} — page {page.number}")
    rows = max(len(page.panels), 1)
    row_height = (height - 2 * MARGIN - 18 - GAP * (rows - 1)) / rows
    top = height - MARGIN - 18
    for panel in page.panels:
        count = max(len(panel.candidates), 1)
        cell = min((width - 2 * MARGIN - 70 - GAP * (count - 1)) / count, 220.0)
        canvas.setFont(font, 9)
        canvas.drawString(MARGIN, top - 12, panel.id)
        for n, candidate in enumerate(panel.candidates):
            picked = candidate.index == panel.pick and count > 1
            reader = ImageReader(str(next(files)))
            image_w, image_h = reader.getSize()
            scale = min(cell / image_w, (row_height - CAPTION) / image_h)
            w, h = image_w * scale, image_h * scale
            x, y = MARGIN + 70 + n * (cell + GAP), top - h
            canvas.drawImage(reader, x, y, w, h)
            if picked:
                canvas.setLineWidth(2)
                canvas.rect(x - 2, y - 2, w + 4, h + 4)
            canvas.setFont(font, 8)
            canvas.drawString(x, y - 9, f"#{candidate.index}  seed {candidate.seed}" + ("  (pick)" if picked else ""))
        top -= row_height + GAP
