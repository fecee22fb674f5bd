"""A panel's edits as refine steps: init images, masks at the panel's aspect, outpaint canvases, upscale models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from comicforge.project import kinds
from comicforge.project.load import Loc
from comicforge.project.resolve.resolver import Resolver
from comicforge.project.schema import Panel
from comicforge.spec.files import FileRef
from comicforge.spec.requests import Edit, GenerateRequest, Img2Img, Inpaint, Outpaint, Upscale

MAX_CANVAS_PIXELS = 89_478_485  # Pillow's Image.MAX_IMAGE_PIXELS: larger images warn as decompression bombs


def panel_edits(r: Resolver, panel: Panel, request: GenerateRequest, box: tuple[int, int, int, int], loc: Loc) -> tuple[Edit, ...]:
    """The panel's editing steps as engine refine steps (files fingerprinted, sizes computed)."""
    steps: list[Edit] = []
    width, height = box[2] - box[0], box[3] - box[1]
    for i, edit in enumerate(panel.edits):
        where = (*loc, "edits", i)
        common = {"prompt": edit.prompt, "seed": edit.seed, "control": edit.control}
        if edit.op == "img2img":
            init = r.image(edit.init, (*where, "init"), "init image") if edit.init else None
            steps.append(Img2Img(strength=edit.strength, init=init, **common))
        elif edit.op == "inpaint":
            mask = _mask(r, edit.mask, width / max(height, 1), (*where, "mask")) if edit.mask else None
            steps.append(Inpaint(strength=edit.strength, mask=mask, rects=tuple(tuple(x) for x in edit.rects), **common))
        elif edit.op == "outpaint":
            step = _outpaint_step(edit, request, width / max(height, 1), common)
            _check_canvas(r, step, request, where)
            steps.append(step)
        else:
            model = r.checked(edit.model, (*where, "model"), "upscale model", _upscale_problem) if edit.model else None
            steps.append(Upscale(strength=edit.strength, width=width, height=height, model=model, **common))
    return tuple(steps)


def _check_canvas(r: Resolver, step: Outpaint, request: GenerateRequest, where: Loc) -> None:
    """An outpaint canvas must stay an image Pillow opens without a decompression-bomb warning."""
    left, top, right, bottom = step.extend
    width, height = round(request.width * (1 + left + right)), round(request.height * (1 + top + bottom))
    if width * height > MAX_CANVAS_PIXELS:
        r.fail(where, f"outpaint would make a {width} x {height} px canvas from {request.width} x {request.height}, "
                      f"more than {MAX_CANVAS_PIXELS / 1e6:.0f} megapixels; extend less")


def _outpaint_step(edit: Any, request: GenerateRequest, aspect: float, common: dict[str, Any]) -> Outpaint:
    """Extend fractions: to the panel's aspect (`fit`), else as written."""
    if not edit.fit:
        return Outpaint(extend=(edit.left, edit.top, edit.right, edit.bottom), **common)
    current = request.width / request.height
    side = (aspect / current - 1) / 2 if aspect >= current else (current / aspect - 1) / 2
    extend = (side, 0.0, side, 0.0) if aspect >= current else (0.0, side, 0.0, side)
    width = round(request.width * (1 + extend[0] + extend[2]) / 8) * 8
    height = round(request.height * (1 + extend[1] + extend[3]) / 8) * 8
    return Outpaint(extend=extend, width=width, height=height, **common)


def _upscale_problem(path: Path) -> str | None:
    return kinds.weights_problem(path, "upscale model")


def _mask(r: Resolver, name: str, aspect: float, loc: Loc) -> FileRef | None:
    """An inpaint mask, which must share the panel's aspect (it is scaled, never cropped)."""
    from comicforge.readers import image_size

    ref = r.image(name, loc, "mask image")
    if ref is None:
        return None
    width, height = image_size(Path(ref.path), "mask")
    if abs((width / height) / aspect - 1) > 0.02:
        r.fail(loc, f"{name}: mask is {width}x{height} (aspect {width / height:.3f}) but the panel's aspect is {aspect:.3f}; "
                    "draw the mask at the panel's proportions")
        return None
    return ref
