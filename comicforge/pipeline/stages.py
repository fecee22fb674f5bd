"""Each stage as a function of its job spec and its inputs' store entries; results go to the store."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, PngImagePlugin

if TYPE_CHECKING:
    from comicforge.pipeline.plan import Job
    from comicforge.pipeline.run import Runner


class BrokenEntry(Exception):
    """A store entry that cannot be read: it is discarded and rebuilt, never trusted."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _input(runner: Runner, job_id: str, name: str) -> Path:
    return runner.entry(job_id) / name


def _open_image(runner: Runner, job_id: str, name: str) -> Image.Image:
    """Open and fully decode an input image; any failure marks the entry broken."""
    path = _input(runner, job_id, name)
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy() if image.mode != "P" else image.convert("RGB")
    except (OSError, SyntaxError, ValueError):
        raise BrokenEntry(runner.jobs[job_id].key) from None


def save_png(image: Image.Image, path: Path, parameters: str | None = None) -> None:
    """Write a PNG, with the A1111 `parameters` text chunk when given."""
    info = None
    if parameters:
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", parameters)
    image.save(path, format="PNG", pnginfo=info, compress_level=6)


def run_generate(runner: Runner, job: Job) -> None:
    """Generate a panel with its engine."""
    request = _request(runner, job)
    image = runner.engine(job.spec["engine"]).generate(request)
    runner.store.put(job.key, lambda folder: save_png(image.convert("RGB"), folder / "panel.png", image.info.get("parameters")))


def _request(runner: Runner, job: Job) -> Any:
    """A job's engine request plus the build's run-time options (memory savers, outside the key)."""
    from comicforge.spec.codec import request_from_json

    request = request_from_json(job.spec)
    if not runner.runtime or job.spec["engine"] != "diffusion":
        return request
    return dataclasses.replace(request, options=request.options + runner.runtime)


def run_refine(runner: Runner, job: Job) -> None:
    """One editing step (img2img, inpaint, outpaint, upscale) on the previous step's image."""
    from comicforge.spec.codec import refine_step_from_json

    previous = _open_image(runner, job.deps[0], "panel.png")
    step = refine_step_from_json(job.spec["step"])
    if step.init is not None:
        with Image.open(step.init.path) as init:
            previous = init.convert("RGB").resize(previous.size, Image.Resampling.LANCZOS)
    image = runner.engine(job.spec["engine"]).refine(_request(runner, job), previous, step)
    runner.store.put(job.key, lambda folder: save_png(image.convert("RGB"), folder / "panel.png", image.info.get("parameters")))


def run_finish(runner: Runner, job: Job) -> None:
    """Resize a generated panel to print size and apply its post chain (screens in page coordinates)."""
    from pydantic import TypeAdapter

    from comicforge.post.chain import PostContext, apply_chain
    from comicforge.post.steps import PostStep

    spec = job.spec
    raw = _open_image(runner, job.deps[0], "panel.png")
    size = tuple(spec["size"])
    image = raw if raw.size == size else raw.resize(size, Image.Resampling.LANCZOS)
    steps = TypeAdapter(list[PostStep]).validate_python(spec["post"])
    origin = tuple(spec["origin"]) if spec["origin"] else (0, 0)
    if steps:
        image = apply_chain(image, steps, PostContext(dpi=spec["dpi"], origin=origin, color=spec["color"], palettes={k: tuple(v) for k, v in spec["palettes"].items()},
                                                 icc_profile=(spec.get("icc_profile") or {}).get("path")))
    runner.store.put(job.key, lambda folder: save_png(image, folder / "panel.png"))


def run_page(runner: Runner, job: Job) -> None:
    """Compose a page's art and its vector overlay; lettering that cannot fit is reported, never clipped."""
    from comicforge.compose.page import compose_art, compose_overlay

    panels = [_input(runner, dep, "panel.png") for dep in job.deps]
    try:
        art = compose_art(job.spec, panels)
    except OSError as error:
        broken = next((d for d, p in zip(job.deps, panels) if str(p) in str(error)), job.deps[0])
        raise BrokenEntry(runner.jobs[broken].key) from None
    overlay, warnings = compose_overlay(job.spec)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)

    def write(folder: Path) -> None:
        save_png(art, folder / "art.png")
        (folder / "overlay.json").write_text(json.dumps({"ops": overlay, "warnings": warnings}))

    runner.store.put(job.key, write)


def _page_inputs(runner: Runner, page_job: str) -> tuple[Path, list[dict[str, Any]]]:
    folder = runner.entry(page_job)
    try:
        return folder / "art.png", json.loads((folder / "overlay.json").read_text())["ops"]
    except (OSError, ValueError, KeyError, TypeError):
        raise BrokenEntry(runner.jobs[page_job].key) from None


def run_png(runner: Runner, job: Job) -> None:
    """A page image (PNG or JPEG): art resampled to the chosen dpi, the overlay rasterised at it."""
    from comicforge.compose.raster import draw_overlay

    spec = job.spec
    _, overlay = _page_inputs(runner, job.deps[0])
    art = _open_image(runner, job.deps[0], "art.png")
    if spec["dpi"] != spec["art_dpi"]:
        size = tuple(round(v * spec["dpi"] / spec["art_dpi"]) for v in art.size)
        art = (art.convert("L") if art.mode == "1" else art).resize(size, Image.Resampling.LANCZOS)
    page = draw_overlay(art, overlay, spec["dpi"], proof=spec.get("proof", False))
    if spec["format"] == "jpeg":
        page = page.convert("L" if page.mode in ("1", "L") else "RGB")
        runner.store.put(job.key, lambda folder: page.save(folder / "page.jpg", format="JPEG", quality=spec["quality"], dpi=(spec["dpi"],) * 2, optimize=True))
    else:
        runner.store.put(job.key, lambda folder: page.save(folder / "page.png", format="PNG", dpi=(spec["dpi"],) * 2))


def _print_pages(runner: Runner, job: Job) -> list[Any]:
    """The selected pages as the PDF writer takes them."""
    from comicforge.compose.pdf import PdfPage

    pages = []
    for dep in job.deps:
        page_spec = runner.jobs[dep].spec
        art, overlay = _page_inputs(runner, dep)
        pages.append(PdfPage(tuple(page_spec["media"]), page_spec["bleed"], art, overlay, page_spec["number"]))
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


def run_pdf(runner: Runner, job: Job) -> None:
    """The reader-order print PDF of the selected pages."""
    from comicforge.compose.pdf import write_pdf

    pages, settings = _print_pages(runner, job), print_settings(job.spec)
    runner.store.put(job.key, lambda folder: write_pdf(pages, folder / "book.pdf", settings))


def run_spreads(runner: Runner, job: Job) -> None:
    """Printer spreads: the pages imposed two up for saddle stitching."""
    from comicforge.compose.pdf import write_spreads

    pages, settings = _print_pages(runner, job), print_settings(job.spec)
    runner.store.put(job.key, lambda folder: write_spreads(pages, folder / "book.pdf", settings))


def run_cbz(runner: Runner, job: Job) -> None:
    """A CBZ of the page images with ComicInfo.xml."""
    from comicforge.compose.cbz import write_cbz

    pages = [next(runner.entry(dep).glob("page.*")) for dep in job.deps]
    runner.store.put(job.key, lambda folder: write_cbz(pages, folder / "book.cbz", job.spec))


STAGES: dict[str, Callable[[Runner, Job], None]] = {
    "generate": run_generate, "refine": run_refine, "finish": run_finish, "page": run_page, "png": run_png, "pdf": run_pdf,
    "spreads": run_spreads, "cbz": run_cbz,
}
