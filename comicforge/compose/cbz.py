"""CBZ for comic readers: zero-padded page images and a ComicInfo.xml (schema v2.0, element order as the XSD's)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from PIL import Image

from comicforge.spec.jobs import ExportJob

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry times: identical inputs give identical archives


def _date_parts(date: str | None) -> list[tuple[str, int | None]]:
    """Year, Month, Day from an ISO date (YYYY-MM-DD)."""
    if not date:
        return [("Year", None), ("Month", None), ("Day", None)]
    year, month, day = (int(part) for part in date[:10].split("-"))
    return [("Year", year), ("Month", month), ("Day", day)]


def comic_info(meta: ExportJob, pages: list[Path]) -> bytes:
    """ComicInfo.xml: title, series, number, date, writer, page count, language, colour, manga direction, pages."""
    root = ET.Element("ComicInfo", {"xmlns:xsd": "http://www.w3.org/2001/XMLSchema", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance"})
    fields = [
        ("Title", meta.title), ("Series", meta.series), ("Number", meta.number), *_date_parts(meta.date),
        ("Writer", meta.author), ("PageCount", len(pages)), ("LanguageISO", meta.language),
        ("BlackAndWhite", "No" if meta.color == "color" else "Yes"),
        ("Manga", "YesAndRightToLeft" if meta.reading == "rtl" else "No"),
    ]
    for name, value in fields:
        if value is not None and value != "":
            ET.SubElement(root, name).text = str(value)
    listing = ET.SubElement(root, "Pages")
    for index, path in enumerate(pages):
        with Image.open(path) as image:
            width, height = image.size
        attrs = {"Image": str(index), "ImageSize": str(path.stat().st_size), "ImageWidth": str(width), "ImageHeight": str(height)}
        if index == 0:
            attrs["Type"] = "FrontCover"
        ET.SubElement(listing, "Page", attrs)
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + text


def write_cbz(pages: list[Path], target: Path, meta: ExportJob) -> None:
    """Zip the pages (stored: PNG and JPEG are already compressed) with ComicInfo.xml, in reading order."""
    digits = max(3, len(str(len(pages))))
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for index, path in enumerate(pages, start=1):
            archive.writestr(zipfile.ZipInfo(f"{index:0{digits}d}{path.suffix}", date_time=ZIP_EPOCH), path.read_bytes())
        archive.writestr(zipfile.ZipInfo("ComicInfo.xml", date_time=ZIP_EPOCH), comic_info(meta, pages), compress_type=zipfile.ZIP_DEFLATED)
