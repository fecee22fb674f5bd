"""Each stage as a pure function of its job and its inputs (verified store folders), returning what to store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image, PngImagePlugin

if TYPE_CHECKING:
    from comicforge.pipeline.plan import Job


@dataclass(frozen=True)
class Inputs:
    """A job's inputs, resolved by the runner: the verified store folder and the job of each dependency, in order."""

    folders: tuple[Path, ...]
    jobs: tuple[Job, ...]

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


def run_generate(job: Job, inputs: Inputs, tools: Tools) -> Result:
    """Generate a panel with its engine."""
    return _panel_result(tools.engine(job.spec["engine"]).generate(_request(job, tools)))


def _request(job: Job, tools: Tools) -> Any:
    """A job's engine request plus the build's run-time options (memory savers, outside the key)."""
    from comicforge.spec.codec import request_from_json

    request = request_from_json(job.spec)
    if not tools.runtime or job.spec["engine"] != "diffusion":
        return request
    return dataclasses.replace(request, options=request.options + tools.runtime)


def run_refine(job: Job, inputs: Inputs, tools: Tools) -> Result:
    """One editing step (img2img, inpaint, outpaint, upscale) on the previous step's image."""
    from comicforge.spec.codec import refine_step_from_json

    previous = inputs.image(0, "panel.png")
    step = refine_step_from_json(job.spec["step"])
    if step.init is not None:
        with Image.open(step.init.path) as init:
            previous = init.convert("RGB").resize(previous.size, Image.Resampling.LANCZOS)
    return _panel_result(tools.engine(job.spec["engine"]).refine(_request(job, tools), previous, step))


def run_finish(job: Job, inputs: Inputs, tools: Tools) -> Result:
    """Resize a generated panel to print size and apply its post chain (screens in page coordinates)."""
    from comicforge.post.chain import PostContext, apply_chain
    from comicforge.post.steps import parse_chain

    spec = job.spec
    raw = inputs.image(0, "panel.png")
    size = tuple(spec["size"])
    image = raw if raw.size == size else raw.resize(size, Image.Resampling.LANCZOS)
    origin = tuple(spec["origin"]) if spec["origin"] else (0, 0)  # (0, 0) only for chains that read no position
    context = PostContext(dpi=spec["dpi"], origin=origin, color=spec["color"], palettes={k: tuple(v) for k, v in spec["palettes"].items()},
                          icc_profile=(spec.get("icc_profile") or {}).get("path"))
    image = apply_chain(image, parse_chain(spec["post"]), context)  # an empty chain too: one path to the book's mode
    return Result(lambda folder: save_png(image, folder / "panel.png"))


def run_page(job: Job, inputs: Inputs, tools: Tools) -> Result:
    """Compose a page's art and its vector overlay; lettering that cannot fit is a warning kept with the page."""
    from comicforge.compose.page import compose_art, compose_overlay

    art = compose_art(job.spec, [inputs.file(index, "panel.png") for index in range(len(job.deps))])
    overlay, warnings = compose_overlay(job.spec)

    def write(folder: Path) -> None:
        save_png(art, folder / "art.png")
        (folder / "overlay.json").write_text(json.dumps({"ops": overlay, "warnings": warnings}))

    return Result(write, tuple(warnings))


def run_png(job: Job, inputs: Inputs, tools: Tools) -> Result:
    """A page image (PNG or JPEG): art resampled to the chosen dpi, the overlay rasterised at it."""
    from comicforge.compose.raster import draw_overlay

    spec = job.spec
    _, overlay = inputs.page(0)
    art = inputs.image(0, "art.png")
    if spec["dpi"] != spec["art_dpi"]:
        size = tuple(round(v * spec["dpi"] / spec["art_dpi"]) for v in art.size)
        art = (art.convert("L") if art.mode == "1" else art).resize(size, Image.Resampling.LANCZOS)
    page = draw_overlay(art, overlay, spec["dpi"], proof=spec.get("proof", False))
    if spec["format"] == "jpeg":
        page = page.convert("L" if page.mode in ("1", "L") else "RGB")
        return Result(lambda folder: page.save(folder / "page.jpg", format="JPEG", quality=spec["quality"], dpi=(spec["dpi"],) * 2, optimize=True))
    return Result(lambda folder: page.save(folder / "page.png", format="PNG", dpi=(spec["dpi"],) * 2))


def _print_pages(inputs: Inputs) -> list[Any]:
    """The selected pages as the PDF writer takes them."""
    from comicforge.compose.pdf import PdfPage

    pages = []
    for index, page_job in enumerate(inputs.jobs):
        art, overlay = inputs.page(index)
        pages.append(PdfPage(tuple(page_job.spec["media"]), page_job.spec["bleed"], art, overlay, page_job.spec["number"]))
    return pages


def print_settings(spec: dict[str, Any]) -> Any:
    """PDF settings from an export job's spec: colour space, marks, proof, metadata, output intent."""
    from comicforge.compose.pdf import PrintSettings

    output = spec.get("output", {})
    space = "gray" if spec["color"] != "color" else ("cmyk" if output.get("cmyk") else "rgb")
    date = spec.get("date")
    return PrintSettings(
        space=space, crop_marks=output.get("crop_marks", False), slug=output.get("slug"), proof=spec.get("proof", False),
        title=spec["title"], author=spec.get("author") or "", subject=spec.get("series") or "",
        date=f"D:{date.replace('-', '')}000000Z" if date else None, condition=output.get("condition"), rtl=spec["reading"] == "rtl",
        icc_profile=(spec.get("icc_profile") or {}).get("path"),
    )


def run_pdf(job: Job, inputs: Inputs, tools: Tools) -> Result:
    """The reader-order print PDF of the selected pages."""
    from comicforge.compose.pdf import write_pdf

    pages, settings = _print_pages(inputs), print_settings(job.spec)
    return Result(lambda folder: write_pdf(pages, folder / "book.pdf", settings))


def run_spreads(job: Job, inputs: Inputs, tools: Tools) -> Result:
    """Printer spreads: the pages imposed two up for saddle stitching."""
    from comicforge.compose.pdf import write_spreads

    pages, settings = _print_pages(inputs), print_settings(job.spec)
    return Result(lambda folder: write_spreads(pages, folder / "book.pdf", settings))


def run_cbz(job: Job, inputs: Inputs, tools: Tools) -> Result:
    """A CBZ of the page images with ComicInfo.xml."""
    from comicforge.compose.cbz import write_cbz

    pages = [next(p for p in folder.glob("page.*")) for folder in inputs.folders]
    return Result(lambda folder: write_cbz(pages, folder / "book.cbz", job.spec))


def run_sheets(job: Job, inputs: Inputs, tools: Tools) -> Result:
    """Contact sheets: every panel's candidates of each page, labelled by index and seed."""
    from comicforge.compose.sheets import Candidate, SheetPage, SheetPanel, write_contact_sheets

    images = iter(inputs.file(index, "panel.png") for index in range(len(job.deps)))
    pages = [SheetPage(page["number"], tuple(
        SheetPanel(panel["id"], panel["pick"], tuple(Candidate(c["index"], c["seed"], next(images)) for c in panel["candidates"]))
        for panel in page["panels"])) for page in job.spec["pages"]]
    return Result(lambda folder: write_contact_sheets(job.spec["title"], pages, folder / "sheets.pdf"))


Stage = Callable[["Job", Inputs, Tools], Result]
STAGES: dict[str, Stage] = {
    "generate": run_generate, "refine": run_refine, "finish": run_finish, "page": run_page, "png": run_png, "pdf": run_pdf,
    "spreads": run_spreads, "cbz": run_cbz, "sheets": run_sheets,
}
