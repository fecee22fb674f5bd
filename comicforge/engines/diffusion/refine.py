"""Image preparation for refine steps, in pixels (no torch): starting image, checked masks, outpaint canvases (and
the control inputs that extend with them), padding to the latent grid, and the optional ESRGAN-family pre-upscale
through spandrel.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from comicforge.control.masks import repaint_mask
from comicforge.control.pose import reframed
from comicforge.errors import EngineError
from comicforge.readers import FileProblem, open_image
from comicforge.spec.files import FileRef
from comicforge.spec.requests import Edit, GenerateRequest, Img2Img, Inpaint, Outpaint, Upscale

LATENT_GRID = 8  # the VAE's downscale factor: pipelines take sizes in multiples of it
ASPECT_TOLERANCE = 0.02  # a mask whose aspect differs by more than this share from the image's is refused


@dataclass(frozen=True)
class EditInput:
    """What a refine step hands the diffusion pipeline: the image, the repaint mask (None: all) and the strength."""

    image: Image.Image
    mask: Image.Image | None
    strength: float


def edit_for_step(image: Image.Image, step: Edit) -> EditInput:
    """What the pipeline repaints for a step: the whole image (img2img, upscale), a mask, or an outpaint canvas."""
    match step:
        case Img2Img():
            return EditInput(image, None, step.strength)
        case Upscale():
            size = (step.width or image.width, step.height or image.height)
            return EditInput(upscale_source(image, size, step.model), None, step.strength)
        case Inpaint():
            return EditInput(image, checked_mask(step, image.size), step.strength)
        case Outpaint():
            return outpaint_canvas(image, step.extend)


def denoising_steps(edit: EditInput, steps: int) -> int:
    """How many sampler steps the edit runs (diffusers' img2img rule); 0 means the image stays as it is."""
    if edit.mask is not None and edit.mask.getbbox() is None:
        return 0
    return min(int(steps * edit.strength), steps)


def read_image(ref: FileRef, what: str) -> Image.Image:
    """An RGB image from a step's file; EngineError naming the file if it cannot be read."""
    try:
        return open_image(Path(ref.path), what).convert("RGB")
    except FileProblem as problem:
        raise EngineError(str(problem)) from None


def checked_mask(step: Inpaint, size: tuple[int, int]) -> Image.Image:
    """The inpaint mask at `size` (white = repaint); a mask file of another aspect is refused, naming it."""
    if step.mask is not None:
        drawn = read_image(step.mask, "inpaint mask")
        if abs((drawn.width / drawn.height) / (size[0] / size[1]) - 1) > ASPECT_TOLERANCE:
            raise EngineError(f"{step.mask.path}: inpaint mask is {drawn.width}x{drawn.height}, not the panel's aspect "
                              f"({size[0]}x{size[1]}); draw it over the panel image")
    return repaint_mask(step, size)


def outpaint_canvas(image: Image.Image, extend: tuple[float, float, float, float]) -> EditInput:
    """The image on a canvas grown by (left, top, right, bottom) fractions, new area edge-filled and masked for repaint.

    Strength is 1: the new area has nothing to keep (the edge fill only seeds its colours).
    """
    pad = outpaint_pads(image.size, extend)
    pixels = np.pad(np.asarray(image), ((pad[1], pad[3]), (pad[0], pad[2]), (0, 0)), mode="edge")
    mask = Image.new("L", (pixels.shape[1], pixels.shape[0]), 255)
    mask.paste(0, (pad[0], pad[1], pad[0] + image.width, pad[1] + image.height))
    return EditInput(Image.fromarray(pixels, "RGB"), mask, 1.0)


def outpaint_pads(size: tuple[int, int], extend: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """Pixels added (left, top, right, bottom) to an image of `size` by extend fractions."""
    left, top, right, bottom = (max(0.0, float(f)) for f in extend)
    if not any((left, top, right, bottom)):
        raise EngineError("outpaint needs `extend` on at least one side (fractions of the panel)")
    return round(size[0] * left), round(size[1] * top), round(size[0] * right), round(size[1] * bottom)


def outpaint_frame(size: tuple[int, int], extend: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """Where an image of `size` sits on its outpaint canvas: (left, top, width, height) in canvas pixels."""
    pad = outpaint_pads(size, extend)
    return pad[0], pad[1], size[0], size[1]


def outpainted_request(request: GenerateRequest, extend: tuple[float, float, float, float], size: tuple[int, int]) -> GenerateRequest:
    """The request for an outpaint canvas grown from an image of `size`: its figures stay on the pixels they were
    drawn at (the OpenPose image extends with the canvas; the sketch and maps are extended by
    `control.images.outpaint_control_image`)."""
    pad = outpaint_pads(size, extend)
    width, height = size[0] + pad[0] + pad[2], size[1] + pad[1] + pad[3]
    frame = (pad[0] / width, pad[1] / height, size[0] / width, size[1] / height)
    return dataclasses.replace(request, poses=tuple(reframed(pose, frame) for pose in request.poses))


def grown_to(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A control image grown (black, right and bottom) to the latent grid an edit is padded to."""
    if image.size == size:
        return image
    canvas = Image.new(image.mode, size, 0)
    canvas.paste(image, (0, 0))
    return canvas


def padded_to_grid(edit: EditInput) -> EditInput:
    """Grow the image to multiples of LATENT_GRID by repeating its edges (the growth is repainted, then cropped)."""
    width, height = (-(-n // LATENT_GRID) * LATENT_GRID for n in edit.image.size)
    if (width, height) == edit.image.size:
        return edit
    extra = ((0, height - edit.image.height), (0, width - edit.image.width), (0, 0))
    image = Image.fromarray(np.pad(np.asarray(edit.image), extra, mode="edge"), "RGB")
    mask = None
    if edit.mask is not None:
        mask = Image.new("L", (width, height), 255)
        mask.paste(edit.mask, (0, 0))
    return EditInput(image, mask, edit.strength)


def kept_outside_mask(original: Image.Image, result: Image.Image, mask: Image.Image | None) -> Image.Image:
    """The repainted result inside the mask, the original's exact pixels outside it."""
    if mask is None:
        return result
    return Image.composite(result, original, mask)


def upscale_source(image: Image.Image, size: tuple[int, int], model: FileRef | None) -> Image.Image:
    """The image at `size`: through an ESRGAN-family model first when one is given (spandrel), then Lanczos."""
    if model is not None:
        image = model_upscaled(image, Path(model.path))
    return image.resize(size, Image.Resampling.LANCZOS) if image.size != size else image


def model_upscaled(image: Image.Image, path: Path) -> Image.Image:
    """Run an upscaler model file (ESRGAN, SwinIR, …) through spandrel, which is optional."""
    try:
        import spandrel
        import torch
    except ImportError:
        raise EngineError(f"{path}: upscaler models need the optional package spandrel (pip install spandrel); "
                          "without a model file, upscale uses Lanczos and the img2img pass") from None
    try:
        descriptor = spandrel.ModelLoader().load_from_file(str(path)).eval()
    except Exception as error:  # spandrel raises its own types for unknown architectures
        raise EngineError(f"{path}: not an upscaler model spandrel can load ({error})") from error
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        out = descriptor(pixels)[0].clamp(0, 1).permute(1, 2, 0).numpy()
    return Image.fromarray(np.rint(out * 255).astype(np.uint8), "RGB")

