"""Print PDF, page images, spreads and CBZ on the demo and a lettering sampler, checked with pikepdf and pypdfium2."""

from __future__ import annotations

import math
import shutil
import zipfile
from pathlib import Path

import pytest

import pdfcheck
from comicforge.pipeline.run import BuildOptions, build
from support import DATA, REPO

HERE = Path(__file__).resolve().parent
XSD = DATA / "ComicInfo.xsd"


def _copy(source: Path, target: Path, edit: tuple[str, str] | None = None) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("build", ".comicforge"))
    if edit:
        text = (target / "comic.yaml").read_text()
        assert edit[0] in text
        (target / "comic.yaml").write_text(text.replace(edit[0], edit[1], 1))
    return target


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    project = _copy(REPO / "projects" / "demo", tmp_path_factory.mktemp("demo") / "demo")
    return build(project, BuildOptions(exports=("pdf", "png", "cbz", "spreads"))).outputs


def test_demo_pdf_passes_the_print_checks(demo: dict):
    pdf = demo["pdf"]
    assert pdfcheck.syntax_problems(pdf) == []
    for boxes in pdfcheck.boxes(pdf):
        assert boxes["MediaBox"] == boxes["BleedBox"] == [0, 0, 495, 751.5]
        assert boxes["TrimBox"] == [9, 9, 486, 742.5]
    fonts = pdfcheck.fonts(pdf)
    assert fonts and all(f.font_file == "/FontFile2" and f.to_unicode for f in fonts)  # TrueType embedded, unicode map
    assert all(f.subset for f in fonts)  # subset tags
    assert {"ComicNeue-Bold", "ComicNeue-BoldItalic"} <= {f.name.split("+")[1] for f in fonts}  # *blue* is emphasis
    text = pdfcheck.text(pdf)
    assert "THE NIGHT MARKET NEVER SLEEPS." in text and "DON'T TOUCH IT, COURIER." in text
    images = pdfcheck.images(pdf)  # the art PNG's data as-is: Flate, 8-bit RGB, no soft mask
    assert len(images) == 3 and all(i.color_space == "/DeviceRGB" and i.bits == 8 and i.filters == ("/FlateDecode",) for i in images)
    info = pdfcheck.info(pdf)
    assert info["Title"] == "The Lantern Thief" and info["Author"] == "comicforge examples"
    assert "CreationDate" not in info  # no date given: none written, so identical inputs give identical bytes


def test_demo_spreads_are_imposed_for_saddle_stitch(demo: dict):
    spreads = demo["spreads"]
    assert pdfcheck.syntax_problems(spreads) == []
    assert pdfcheck.page_count(spreads) == 2  # 3 pages padded to 4, two sheet sides
    for boxes in pdfcheck.boxes(spreads):
        assert boxes["MediaBox"] == [0, 0, 972, 751.5] and boxes["TrimBox"] == [9, 9, 963, 742.5]
    pages = [pdfcheck.page_text(demo["pdf"], i) for i in range(3)]
    assert all(pages) and len(set(pages)) == 3  # each page has its own lettering to recognise it by
    halves = [(pdfcheck.page_text(spreads, sheet, right=486), pdfcheck.page_text(spreads, sheet, left=486)) for sheet in (0, 1)]
    # saddle stitch, 4 pages on one folded sheet: outside [4 | 1] (4 is the padding blank), inside [2 | 3]
    assert halves == [("", pages[0]), (pages[1], pages[2])]


def test_spread_order():
    from comicforge.compose.pdf import spread_order

    assert spread_order(8, rtl=False) == [(7, 0), (1, 6), (5, 2), (3, 4)]
    assert spread_order(3, rtl=True) == [(0, None), (2, 1)]  # the cover is on the left in rtl


def test_comic_info_validates_against_the_schema(demo: dict, tmp_path: Path):
    import xmlschema

    schema = xmlschema.XMLSchema(str(XSD))
    with zipfile.ZipFile(demo["cbz"]) as archive:
        assert archive.namelist() == ["001.png", "002.png", "003.png", "ComicInfo.xml"]
        xml = archive.read("ComicInfo.xml").decode()
    schema.validate(xml)
    info = schema.to_dict(xml)
    assert info["Manga"] == "No" and info["BlackAndWhite"] == "No" and info["LanguageISO"] == "en"
    assert info["PageCount"] == 3 and len(info["Pages"]["Page"]) == 3 and info["Series"] == "Night Market"
    manga = _copy(REPO / "projects" / "manga", tmp_path / "manga", ("reading: rtl\n", "reading: rtl\n  output: {date: 2024-05-01}\n"))
    with zipfile.ZipFile(build(manga, BuildOptions(exports=("cbz",))).outputs["cbz"]) as archive:
        xml = archive.read("ComicInfo.xml").decode()
    schema.validate(xml)
    info = schema.to_dict(xml)
    assert info["Manga"] == "YesAndRightToLeft" and info["BlackAndWhite"] == "Yes" and info["LanguageISO"] == "ja"
    assert (info["Year"], info["Month"], info["Day"]) == (2024, 5, 1)


PRINT = ("font_size: 8}", "font_size: 8, output: {cmyk: true, crop_marks: true, slug: proof 1, date: 2024-05-01, condition: FOGRA39}}")


def test_cmyk_pdf_with_marks_slug_date_and_output_intent(tmp_path: Path):
    import pikepdf

    project = _copy(HERE / "projects" / "lettering", tmp_path / "lettering", PRINT)
    pdf = build(project, BuildOptions(exports=("pdf",))).outputs["pdf"]
    assert pdfcheck.syntax_problems(pdf) == []
    (boxes,) = pdfcheck.boxes(pdf)  # 4 x 5 in trim, 0.125 in bleed, 36 pt round the bleed for marks and slug
    assert boxes["MediaBox"] == [0, 0, 378, 450] and boxes["BleedBox"] == [36, 36, 342, 414] and boxes["TrimBox"] == [45, 45, 333, 405]
    images = pdfcheck.images(pdf)
    assert images and all(i.color_space == "/DeviceCMYK" for i in images)
    assert pdfcheck.info(pdf)["CreationDate"].startswith("D:20240501000000")
    with pikepdf.open(pdf) as document:
        intent = document.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFX" and str(intent.OutputConditionIdentifier) == "FOGRA39"
        content = b"".join(page.Contents.read_bytes() if not isinstance(page.Contents, pikepdf.Array)
                           else b"".join(c.read_bytes() for c in page.Contents) for page in document.pages)
    assert b" k" in content and b" K" in content and b" rg" not in content and b" RG" not in content  # overlay in DeviceCMYK
    text = pdfcheck.text(pdf)
    assert "proof 1" in text and "BLAM" in text and "SIGNAL LOST." in text
    shown = pdfcheck.shown_text(pdf)
    black = [t for t in shown if t.text != "BLAM"]  # balloons, captions and the slug; the SFX is coloured
    assert {"GET BACK", "SIGNAL", "FAR AWAY."} <= {t.text for t in black}
    assert all(t.fill == ("k", (0.0, 0.0, 0.0, 1.0)) for t in black), black  # black text: pure K, no rich black
    assert all(t.fill[0] == "k" and t.stroke[0] == "K" for t in shown)


def test_png_and_pdf_draw_the_same_lettering(tmp_path: Path):
    import numpy as np
    from PIL import Image

    project = _copy(HERE / "projects" / "lettering", tmp_path / "lettering")
    outputs = build(project).outputs
    ours = np.asarray(Image.open(outputs["pages"][0]).convert("L"), dtype=np.int16)
    theirs = pdfcheck.render_gray(outputs["pdf"], dpi=100).astype(np.int16)
    assert ours.shape == theirs.shape
    # each pixel must match some pixel of the PDF's rendering within one pixel (anti-aliasing and hinting differ)
    nearest = np.min([np.abs(ours - np.roll(theirs, (dy, dx), axis=(0, 1))) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    assert (nearest > 96).mean() < 0.003


def test_proof_mode_draws_the_live_area_and_warns_of_overflow(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from PIL import Image

    edit = ('{who: ren, text: "Get back here!"}', '{who: ren, text: "' + "Get back here right now, you thief, or else! " * 6 + '"}')
    project = _copy(HERE / "projects" / "lettering", tmp_path / "lettering", edit)
    plain = build(project).outputs
    assert "warning: page 1, panel p1.2, balloon 1: text does not fit even at the minimum size (6 pt)" in capsys.readouterr().err
    proof = build(project, BuildOptions(proof=True)).outputs
    assert "/proof/" in proof["pdf"] and "/proof/" in proof["pages"][0]
    with Image.open(plain["pages"][0]) as a, Image.open(proof["pages"][0]) as b:
        red = [p for p in b.convert("RGB").get_flattened_data() if p[0] > 200 and p[1] < 60 and p[2] < 60]
        blue = [p for p in b.convert("RGB").get_flattened_data() if p[0] < 40 and p[2] > 200]
        assert red and blue and a.tobytes() != b.tobytes()  # overflow marker and live area only in proof


def test_jpeg_pages_at_a_chosen_dpi(tmp_path: Path):
    from PIL import Image

    project = _copy(HERE / "projects" / "lettering", tmp_path / "lettering", ("font_size: 8}", "font_size: 8, output: {images: jpeg, image_dpi: 50}}"))
    outputs = build(project, BuildOptions(exports=("png", "cbz"))).outputs
    with Image.open(outputs["pages"][0]) as page:
        assert page.format == "JPEG" and page.size == (212, 262)  # 425 x 525 px at 100 dpi, halved
    with zipfile.ZipFile(outputs["cbz"]) as archive:
        assert archive.namelist() == ["001.jpg", "ComicInfo.xml"]


def test_identical_inputs_give_identical_pdf_bytes(tmp_path: Path):
    first = build(_copy(HERE / "projects" / "lettering", tmp_path / "a")).outputs["pdf"]
    second = build(_copy(HERE / "projects" / "lettering", tmp_path / "b")).outputs["pdf"]
    assert Path(first).read_bytes() == Path(second).read_bytes()


SFX = ("{text: BLAM, at: [0.5, 0.75], size: 24, angle: 12}",
       '{text: BLAM, at: [0.5, 0.75], size: 24, angle: -8, fill: "#ffd23f", outline: "#204080", outline_width: 1.5}')


def _rgb(hex_colour: str) -> tuple[float, ...]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


def test_sfx_angle_fill_and_outline_in_pdf_and_png(tmp_path: Path):
    import numpy as np
    from PIL import Image

    outputs = build(_copy(HERE / "projects" / "lettering", tmp_path / "lettering", SFX)).outputs
    outline, fill = (t for t in pdfcheck.shown_text(outputs["pdf"]) if t.text == "BLAM")
    assert (outline.render_mode, fill.render_mode) == (1, 0)  # the outline is stroked first, the fill over it
    assert outline.stroke == ("RG", pytest.approx(_rgb("#204080"), abs=1e-4))
    assert fill.fill == ("rg", pytest.approx(_rgb("#ffd23f"), abs=1e-4))
    assert outline.line_width == pytest.approx(2 * 1.5)  # centred on the glyph edge: half of it shows outside
    a, b, c, d = fill.ctm[:4]  # rotated -8° counter-clockwise (PDF y points up), unscaled
    theta = math.radians(-8)
    assert (a, b, c, d) == pytest.approx((math.cos(theta), math.sin(theta), -math.sin(theta), math.cos(theta)), abs=1e-5)

    page = np.asarray(Image.open(outputs["pages"][0]).convert("RGB")).astype(int)
    yellow = np.abs(page - (255, 210, 63)).max(axis=2) < 40
    blue = np.abs(page - (32, 64, 128)).max(axis=2) < 40
    assert yellow.sum() > 100 and blue.sum() > 50
    rows, cols = np.nonzero(yellow)  # the word's long axis is its baseline: measure its angle on the raster
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(np.vstack([cols, rows])))
    vx, vy = eigenvectors[:, np.argmax(eigenvalues)]
    measured = math.degrees(math.atan2(-vy, vx))  # image y points down
    measured = (measured + 90) % 180 - 90
    assert measured == pytest.approx(-8, abs=2.5)
