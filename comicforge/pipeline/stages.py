"""Each stage as a pure function of its typed job spec and its inputs (verified store folders), returning what to store."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image, PngImagePlugin

from comicforge.readers import open_image

if TYPE_CHECKING:
    from comicforge.pipeline.plan import Job
    from comicforge.spec.jobs import ExportJob, ImageJob, PageJob, RefineJob, SheetsJob
    from comicforge.spec.post import FinishJob
    from comicforge.spec.requests import GenerateRequest


@dataclass(frozen=True)
class Inputs:
    """A job's inputs, resolved by the runner: the verified store folder and the typed spec of each dependency, in order."""

    folders: tuple[Path, ...]
    specs: tuple[Any, ...]

    def file(self, index: int, name: str) -> Path:
        return self.folders[index] / name

    def image(self, index: int, name: str) -> Image.Image:
        """An input image, fully decoded (palette images as RGB)."""
        with Image.open(self.file(index, name)) as image:
            image.load()
            return image.copy() if image.mode != "P" else image.convert("RGB")

    def page(self, index: int) -> tuple[Path, list[dict[str, Any]]]:
        """A composed page's art file and overlay operations."""
        return self.file(index, "art.png"), json.loads(self.file(index, "overlay.json").read_text())["ops"]


@dataclass(frozen=True)
class Result:
    """What a stage made: a writer of its files into the entry folder, and warnings kept with the entry."""

    write: Callable[[Path], None]
    warnings: tuple[str, ...] = ()


class Tools(Protocol):
    """What generation stages get from the build: resident engines and run-time options (outside every key)."""

    runtime: tuple[tuple[str, str], ...]

    def engine(self, name: str) -> Any: ...

    def memo(self, kind: str, inputs: bytes, make: Callable[[], bytes]) -> bytes:
        """`make()`, or what it returned before for these inputs (pipeline/memo.py)."""
        ...


def save_png(image: Image.Image, path: Path, parameters: str | None = None) -> None:
    """Write a PNG, with the A1111 `parameters` text chunk when given."""
    info = None
    if parameters:
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", parameters)
    image.save(path, format="PNG", pnginfo=info, compress_level=6)


def _panel_result(image: Image.Image) -> Result:
    """A panel image to store as panel.png (keeping the engine's A1111 parameters text)."""
    return Result(lambda folder: save_png(image.convert("RGB"), folder / "panel.png", image.info.get("parameters")))


def run_generate(request: GenerateRequest, inputs: Inputs, tools: Tools) -> Result:
    """Generate a panel with its engine."""
    return _panel_result(tools.engine(request.engine).generate(_with_runtime(request, tools)))


def _with_runtime(request: GenerateRequest, tools: Tools) -> GenerateRequest:
    """A request plus the build's run-time options (memory savers, outside the key)."""
    if not tools.runtime or request.engine != "diffusion":
        return request
    return dataclasses.replace(request, options=request.options + tools.runtime)


def run_refine(job: RefineJob, inputs: Inputs, tools: Tools) -> Result:
    """One editing step (img2img, inpaint, outpaint, upscale) on the previous step's image."""
    from comicforge.spec.requests import Img2Img

    previous = inputs.image(0, "panel.png")
    if isinstance(job.step, Img2Img) and job.step.init is not None:
        init = open_image(Path(job.step.init.path), "init image")
        previous = init.convert("RGB").resize(previous.size, Image.Resampling.LANCZOS)
    engine = tools.engine(job.request.engine)
    return _panel_result(engine.refine(_with_runtime(job.request, tools), previous, job.step))


def run_finish(job: FinishJob, inputs: Inputs, tools: Tools) -> Result:
    """Resize a generated panel to print size and apply its post chain (screens in page coordinates)."""
    from comicforge.post.chain import PostContext, apply_chain

    raw = inputs.image(0, "panel.png")
    image = raw if raw.size == job.size else raw.resize(job.size, Image.Resampling.LANCZOS)
    context = PostContext(dpi=job.dpi, origin=job.origin or (0, 0), color=job.color, palettes=dict(job.palettes),  # (0, 0): chains that read no position
                          icc_profile=job.icc_profile.path if job.icc_profile else None)
    image = apply_chain(image, job.post, context)  # an empty chain too: one path to the book's mode
    return Result(lambda folder: save_png(image, folder / "panel.png"))


def run_page(job: PageJob, inputs: Inputs, tools: Tools) -> Result:
    """Compose a page's art and its vector overlay; lettering that cannot fit is a warning kept with the page."""
    from comicforge.compose.page import compose_art, compose_overlay

    art = compose_art(job, [inputs.file(index, "panel.png") for index in range(len(job.panels))])
    overlay, warnings = compose_overlay(job)

    def write(folder: Path) -> None:
        save_png(art, folder / "art.png")
        (folder / "overlay.json").write_text(json.dumps({"ops": overlay, "warnings": warnings}))

    return Result(write, tuple(warnings))


def run_png(job: ImageJob, inputs: Inputs, tools: Tools) -> Result:
    """A page image (PNG or JPEG): art resampled to the chosen dpi, the overlay rasterised at it."""
    from comicforge.compose.raster import draw_overlay

    _, overlay = inputs.page(0)
    art = inputs.image(0, "art.png")
    if job.dpi != job.art_dpi:
        size = (round(art.width * job.dpi / job.art_dpi), round(art.height * job.dpi / job.art_dpi))
        art = (art.convert("L") if art.mode == "1" else art).resize(size, Image.Resampling.LANCZOS)
    page = draw_overlay(art, overlay, job.dpi, proof=job.proof)
    if job.format == "jpeg":
        page = page.convert("L" if page.mode in ("1", "L") else "RGB")
        return Result(lambda folder: page.save(folder / "page.jpg", format="JPEG", quality=job.quality, dpi=(job.dpi,) * 2, optimize=True))
    return Result(lambda folder: page.save(folder / "page.png", format="PNG", dpi=(job.dpi,) * 2))


def _print_pages(inputs: Inputs) -> list[Any]:
    """The selected pages as the PDF writer takes them."""
    from comicforge.compose.pdf import PdfPage

    pages = []
    for index, page in enumerate(inputs.specs):
        art, overlay = inputs.page(index)
        pages.append(PdfPage(page.media, page.bleed, art, overlay, page.number))
    return pages


def print_settings(job: ExportJob) -> Any:
    """PDF settings from an export job: colour space, marks, proof, metadata, output intent."""
    from comicforge.compose.pdf import PrintSettings

    output = job.output
    space = "gray" if job.color != "color" else ("cmyk" if output.cmyk else "rgb")
    return PrintSettings(
        space=space, crop_marks=output.crop_marks, slug=output.slug, proof=job.proof,
        title=job.title, author=job.author or "", subject=job.series or "",
        date=f"D:{job.date.replace('-', '')}000000Z" if job.date else None, condition=output.condition, rtl=job.reading == "rtl",
        icc_profile=job.icc_profile.path if job.icc_profile else None,
    )


def run_pdf(job: ExportJob, inputs: Inputs, tools: Tools) -> Result:
    """The reader-order print PDF of the selected pages."""
    from comicforge.compose.pdf import overlay_inputs, overlay_pdf, write_pdf

    pages, settings = _print_pages(inputs), print_settings(job)

    def write(folder: Path) -> None:  # the overlay (reportlab: most of the time) is made again only when it changed
        overlay = tools.memo("overlay", overlay_inputs(pages, settings), lambda: overlay_pdf(pages, settings))
        write_pdf(pages, folder / "book.pdf", settings, overlay)

    return Result(write)


def run_spreads(job: ExportJob, inputs: Inputs, tools: Tools) -> Result:
    """Printer spreads: the pages imposed two up for saddle stitching."""
    from comicforge.compose.pdf import write_spreads

    pages, settings = _print_pages(inputs), print_settings(job)
    return Result(lambda folder: write_spreads(pages, folder / "book.pdf", settings))


def run_cbz(job: ExportJob, inputs: Inputs, tools: Tools) -> Result:
    """A CBZ of the page images with ComicInfo.xml."""
    from comicforge.compose.cbz import write_cbz

    pages = [next(p for p in folder.glob("page.*")) for folder in inputs.folders]
    return Result(lambda folder: write_cbz(pages, folder / "book.cbz", job))


def run_sheets(job: SheetsJob, inputs: Inputs, tools: Tools) -> Result:
    """Contact sheets: every panel's candidates of each page, labelled by index and seed."""
    from comicforge.compose.sheets import write_contact_sheets

    images = [inputs.file(index, "panel.png") for index in range(len(inputs.folders))]
    return Result(lambda folder: write_contact_sheets(job, images, folder / "sheets.pdf"))


@dataclass(frozen=True)
class Stage:
    """A stage: the type its jobs' specs decode to, and the function that runs one."""

    spec: type
    run: Callable[[Any, Inputs, Tools], Result]


@functools.cache
def stage_table() -> dict[str, Stage]:
    """Every stage by name (the spec types, and pydantic with them, are imported on the first job that runs)."""
    from comicforge.spec.jobs import ExportJob, ImageJob, PageJob, RefineJob, SheetsJob
    from comicforge.spec.post import FinishJob
    from comicforge.spec.requests import GenerateRequest

    return {
        "generate": Stage(GenerateRequest, run_generate), "refine": Stage(RefineJob, run_refine),
        "finish": Stage(FinishJob, run_finish), "page": Stage(PageJob, run_page), "png": Stage(ImageJob, run_png),
        "pdf": Stage(ExportJob, run_pdf), "spreads": Stage(ExportJob, run_spreads), "cbz": Stage(ExportJob, run_cbz),
        "sheets": Stage(SheetsJob, run_sheets),
    }


def job_spec(job: Job) -> Any:
    """A job's typed spec, decoded from its JSON form by the codec."""
    from comicforge.spec.codec import decode

    return decode(stage_table()[job.stage].spec, job.spec)
