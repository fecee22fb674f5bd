"""The control images a panel's ControlNets and T2I-Adapters are given, one per control type, at the generation size.

- `openpose`: the panel's placed poses drawn in the OpenPose convention.
- `lineart`: from the control's `source` image. A *sketch* (mostly paper: at least `SKETCH_PAPER_SHARE` of its
  pixels at least `PAPER_LUMINANCE` bright, transparency counted as paper) is inverted to white lines on black;
  anything darker (a photo, a painted reference) has its lines extracted by XDoG first. Either way the lines are
  fitted inside the panel and padded with black, and a result without lines is an error naming the file.
- `softedge`, `scribble`: derived from those lines (`control.lineart`); `sketch` (T2I-Adapter) is the lines.
- `depth`, `normal`: the panel's depth or normal map fitted inside the panel (`control.maps`).

Pure (reads only the source files); used by the engines and by `comicforge control`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps

from comicforge.control.lineart import (
    LineartError,
    check_has_lines,
    grey_on_white,
    load_sketch,
    scribble_strokes,
    sketch_to_control,
    soft_edges,
    xdog_lines,
)
from comicforge.control.maps import FLAT_NORMAL, MapError, depth_control, normal_control
from comicforge.control.pose import render_openpose
from comicforge.errors import EngineError
from comicforge.spec.requests import CONTROL_INPUTS, ControlInput, GenerateRequest

PAPER_LUMINANCE = 0.8  # a pixel at least this bright (0..1) is paper
SKETCH_PAPER_SHARE = 0.6  # an image with at least this share of paper is a sketch, else a reference to extract

# The panel input each control type is drawn from: its poses, its `lineart:` sketch, its `depth:` or `normal:` map.
CONTROL_KINDS = tuple(CONTROL_INPUTS)

Renderer = Callable[[GenerateRequest, ControlInput], Image.Image]


def control_images(request: GenerateRequest) -> dict[str, Image.Image]:
    """Control kind → RGB control image at (request.width, request.height), in the order of `request.controls`."""
    images: dict[str, Image.Image] = {}
    for control in request.controls:
        if control.kind not in images:
            images[control.kind] = control_image(request, control)
    return images


def control_image(request: GenerateRequest, control: ControlInput) -> Image.Image:
    """One control input's image; EngineError naming the panel (and file) when it cannot be made."""
    renderer = RENDERERS.get(control.kind)
    if renderer is None:
        raise EngineError(f"panel {request.panel_id}: unknown control kind {control.kind!r} (valid: {', '.join(CONTROL_KINDS)})")
    if control.kind != "openpose" and control.source is None:
        raise EngineError(f"panel {request.panel_id}: a {control.kind} control needs its {CONTROL_INPUTS[control.kind]} "
                          "image (a sketch, reference, depth or normal map)")
    try:
        return renderer(request, control)
    except (LineartError, MapError) as error:
        raise EngineError(f"panel {request.panel_id}: {error}") from None


def outpaint_control_image(request: GenerateRequest, control: ControlInput, frame: tuple[int, int, int, int]) -> Image.Image:
    """An outpaint canvas's control image: the panel's own, drawn at the panel's size and pasted where the panel sits
    (`frame`: left, top, width, height in canvas pixels), so it stays on the pixels it steered; the new area reads as
    nothing there (black: no line, far; the flat normal). Poses are drawn on the whole canvas (the request's placements
    are reframed onto the panel's pixels), so a figure may reach into the new area."""
    if control.kind == "openpose":
        return control_image(request, control)
    left, top, width, height = frame
    panel = control_image(dataclasses.replace(request, width=width, height=height), control)
    canvas = Image.new("RGB", (request.width, request.height), FLAT_NORMAL if control.kind == "normal" else (0, 0, 0))
    canvas.paste(panel, (left, top))
    return canvas


def _openpose(request: GenerateRequest, control: ControlInput) -> Image.Image:
    if not request.poses:
        raise EngineError(f"panel {request.panel_id}: an openpose control needs a pose (the panel has none)")
    return render_openpose(request.poses, request.width, request.height)


def _from_lines(derive: Callable[[Image.Image], Image.Image] | None) -> Renderer:
    """A renderer of the sketch's lines, or of a control derived from them."""
    def render(request: GenerateRequest, control: ControlInput) -> Image.Image:
        assert control.source is not None
        lines = lineart_control(Path(control.source.path), request.width, request.height)
        return lines if derive is None else derive(lines)

    return render


def _from_map(read: Callable[[Path, int, int], Image.Image]) -> Renderer:
    """A renderer of a depth or normal map file."""
    def render(request: GenerateRequest, control: ControlInput) -> Image.Image:
        assert control.source is not None
        return read(Path(control.source.path), request.width, request.height)

    return render


RENDERERS: dict[str, Renderer] = {
    "openpose": _openpose,
    "lineart": _from_lines(None),
    "sketch": _from_lines(None),
    "softedge": _from_lines(soft_edges),
    "scribble": _from_lines(scribble_strokes),
    "depth": _from_map(depth_control),
    "normal": _from_map(normal_control),
}


def lineart_control(path: Path, width: int, height: int) -> Image.Image:
    """White-on-black lines from a sketch or reference file, fitted to width×height; LineartError if none."""
    source = load_sketch(path)
    if is_sketch(source):
        control = sketch_to_control(source, width, height)
    else:
        control = reference_lines(source, width, height)
    return check_has_lines(control, str(path))


def is_sketch(image: Image.Image) -> bool:
    """True for drawn lines on paper (mostly white), False for a photo or painting (see module docstring)."""
    return float((grey_on_white(image) >= PAPER_LUMINANCE).mean()) >= SKETCH_PAPER_SHARE


def reference_lines(image: Image.Image, width: int, height: int) -> Image.Image:
    """XDoG lines of a reference image scaled to fit width×height (so line width is in panel pixels), black-padded."""
    fit = min(width / image.width, height / image.height)
    fitted = image.resize((max(1, round(image.width * fit)), max(1, round(image.height * fit))), Image.Resampling.LANCZOS)
    lines_as_sketch = ImageOps.invert(xdog_lines(fitted))
    return sketch_to_control(lines_as_sketch, width, height)
