"""The built-in storyboard engine: deterministic panels from poses, palettes, shot and label; no weights."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from comicforge.control.masks import repaint_mask
from comicforge.spec.poses import PlacedPose, Point
from comicforge.spec.requests import Edit, GenerateRequest, Img2Img, Outpaint, Upscale, step_request
from comicforge.spec.settings import hex_rgb

VERSION = "draft-1"
DEFAULT_FIGURE_COLOURS = ("#3b6ea5", "#c0504d", "#6a9b4e", "#8064a2", "#d08b2c")
SHOT_ZOOM = {"extreme-close-up": 4.0, "close-up": 2.4, "medium": 1.5, "wide": 1.0, "establishing": 0.55, "insert": 3.0}
HORIZON = {"extreme-close-up": 0.9, "close-up": 0.8, "medium": 0.7, "wide": 0.62, "establishing": 0.55, "insert": 0.85}
# limbs drawn as capsules, back to front: (from, to) COCO-18 indices
DEPTH_SHADE, DEPTH_HAZE = 0.45, 0.35  # depth-map toning: darkening of the nearest, fading of the farthest
PAPER = 245.0  # the tone far surfaces fade toward
FIGURE_LIMBS = ((1, 8), (1, 11), (8, 9), (9, 10), (11, 12), (12, 13), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7), (1, 0))


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


@lru_cache(maxsize=8)
def _label_font(size: int) -> ImageFont.FreeTypeFont:
    from comicforge.letter.fonts import BUILTIN_FONTS, DEFAULT_FONT, builtin_font_dir

    return ImageFont.truetype(str(builtin_font_dir() / BUILTIN_FONTS[DEFAULT_FONT]), size)


def _rng(request: GenerateRequest) -> np.random.Generator:
    """Randomness from the seed and the prompt only, so the same spec gives the same bytes."""
    digest = hashlib.sha256(f"{request.seed}\0{request.prompt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _backdrop(request: GenerateRequest, rng: np.random.Generator) -> Image.Image:
    """Sky-to-ground gradient with a horizon set by the shot, tinted by the first character's palette."""
    width, height = request.width, request.height
    tint = hex_rgb(request.characters[0].palette[-1]) if request.characters and request.characters[0].palette else (200, 200, 200)
    sky = _mix((236, 240, 245), tint, 0.15)
    ground = _mix((205, 200, 190), tint, 0.25)
    horizon = HORIZON.get(request.shot, 0.65) + rng.uniform(-0.04, 0.04)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    above = np.clip(rows / max(horizon, 1e-3), 0, 1)
    colours = np.where(rows < horizon, (1 - 0.25 * above) * np.array(sky) + 0.25 * above * np.array(ground), np.array(ground))
    image = np.broadcast_to(colours[:, None, :], (height, width, 3)).astype(np.uint8)
    canvas = Image.fromarray(np.ascontiguousarray(image), "RGB")
    _scenery(ImageDraw.Draw(canvas), request, rng, horizon)
    return canvas


def _scenery(draw: ImageDraw.ImageDraw, request: GenerateRequest, rng: np.random.Generator, horizon: float) -> None:
    """A few seeded silhouettes on the horizon so panels are told apart at a glance."""
    width, height = request.width, request.height
    base = horizon * height
    scale = 1.0 / SHOT_ZOOM.get(request.shot, 1.5)
    for _ in range(int(rng.integers(2, 6))):
        w = rng.uniform(0.08, 0.22) * width * scale * 2
        h = rng.uniform(0.1, 0.35) * height * scale
        x = rng.uniform(-0.1, 1.0) * width
        shade = int(rng.integers(150, 190))
        draw.rectangle([x, base - h, x + w, base], fill=(shade, shade + 4, shade + 10))
    draw.line([(0, base), (width, base)], fill=(120, 120, 125), width=max(1, width // 400))


def _zoom(pose: PlacedPose, shot: str) -> PlacedPose:
    """Frame a figure for the shot: close shots enlarge around the head, wide ones shrink to the feet line."""
    zoom = SHOT_ZOOM.get(shot, 1.5) / 1.5
    points = [p for p in pose.body if p is not None]
    if not points or zoom == 1.0:
        return pose
    head = pose.body[0] or pose.body[1] or points[0]
    # close shots keep the head in place and let the body grow out of frame; wide shots keep the feet line
    cx, cy = (head[0], head[1]) if zoom > 1.0 else (head[0], max(p[1] for p in points))

    def move(p: Point) -> Point:
        return None if p is None else (cx + (p[0] - cx) * zoom, cy + (p[1] - cy) * zoom)

    return PlacedPose(tuple(move(p) for p in pose.body), pose.who)


def _figure(draw: ImageDraw.ImageDraw, pose: PlacedPose, colour: tuple[int, int, int], size: tuple[int, int], zoom: float) -> None:
    """A mannequin: capsule limbs, a head disc, in the character's colour with a dark outline."""
    width, height = size
    pixel = [None if p is None else (p[0] * width, p[1] * height) for p in pose.body]
    thickness = max(3, round(min(width, height) * 0.035 * zoom))
    outline = _mix(colour, (20, 20, 30), 0.7)
    for stroke, tone in ((thickness + max(2, thickness // 4), outline), (thickness, colour)):
        for a, b in FIGURE_LIMBS:
            if pixel[a] and pixel[b]:
                draw.line([pixel[a], pixel[b]], fill=tone, width=stroke, joint="curve")
                for end in (pixel[a], pixel[b]):
                    r = stroke / 2
                    draw.ellipse([end[0] - r, end[1] - r, end[0] + r, end[1] + r], fill=tone)
    head = pixel[0] or pixel[1]
    if head:
        radius = thickness * 1.6
        draw.ellipse([head[0] - radius, head[1] - radius, head[0] + radius, head[1] + radius],
                     fill=_mix(colour, (255, 236, 220), 0.55), outline=outline, width=max(2, thickness // 4))


def _regions(draw: ImageDraw.ImageDraw, request: GenerateRequest) -> None:
    """Each character's region (several characters in the panel) as a dashed frame in its palette colour."""
    from comicforge.control.regions import region_colour

    width, height = request.width, request.height
    line = max(2, min(width, height) // 160)
    dash = line * 4
    for index, region in enumerate(request.regions):
        x, y, w, h = region.box
        x0, y0 = round(x * width) + line // 2, round(y * height) + line // 2
        x1, y1 = round((x + w) * width) - 1 - line // 2, round((y + h) * height) - 1 - line // 2
        colour = region_colour(request, index)
        for start in range(x0, x1, 2 * dash):
            for row in (y0, y1):
                draw.line([(start, row), (min(start + dash, x1), row)], fill=colour, width=line)
        for start in range(y0, y1, 2 * dash):
            for column in (x0, x1):
                draw.line([(column, start), (column, min(start + dash, y1))], fill=colour, width=line)


def _sketch(canvas: Image.Image, request: GenerateRequest) -> None:
    """The artist's lineart sketch inked over the backdrop, fitted as the lineart ControlNet sees it."""
    from PIL import ImageChops, ImageOps

    from comicforge.control.images import lineart_control

    for control in request.controls:
        if control.kind == "lineart" and control.source is not None:
            lines = lineart_control(Path(control.source.path), canvas.width, canvas.height).convert("L")
            canvas.paste(ImageChops.multiply(canvas, ImageOps.invert(lines).convert("RGB")))


def _depth_shading(canvas: Image.Image, request: GenerateRequest) -> Image.Image:
    """Tone the panel by its depth map (fitted as the depth ControlNet sees it), as a value sketch would:
    near surfaces, figures included, darken by up to DEPTH_SHADE, far ones fade toward the paper by DEPTH_HAZE."""
    from comicforge.control.maps import depth_control

    for control in request.controls:
        if control.kind == "depth" and control.source is not None:
            near = np.asarray(depth_control(Path(control.source.path), canvas.width, canvas.height).convert("L"), dtype=np.float32)[..., None] / 255.0
            pixels = np.asarray(canvas, dtype=np.float32) * (1.0 - DEPTH_SHADE * near)
            pixels += (PAPER - pixels) * (DEPTH_HAZE * (1.0 - near))
            return Image.fromarray(np.rint(np.clip(pixels, 0, 255)).astype(np.uint8), "RGB")
    return canvas


def _label(draw: ImageDraw.ImageDraw, request: GenerateRequest) -> None:
    """Panel id and label in a corner box, for reading the storyboard."""
    text = f"{request.panel_id}  {request.label}".strip()
    size = max(10, min(request.width, request.height) // 22)
    font = _label_font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = size // 3
    x, y = pad, request.height - (bottom - top) - 3 * pad
    draw.rectangle([x - pad // 2, y - pad // 2, x + right - left + pad, y + bottom + pad], fill=(255, 255, 255), outline=(60, 60, 60))
    draw.text((x, y), text, fill=(30, 30, 30), font=font)


class DraftEngine:
    """Storyboard renderer: the same request as the diffusion engine, drawn deterministically."""

    name = "draft"
    version = VERSION

    def generate(self, request: GenerateRequest) -> Image.Image:
        """Render one storyboard panel at the request's size."""
        rng = _rng(request)
        canvas = _backdrop(request, rng)
        _sketch(canvas, request)
        draw = ImageDraw.Draw(canvas)
        zoom = SHOT_ZOOM.get(request.shot, 1.5) / 1.5
        colours = {c.name: hex_rgb(c.palette[0]) for c in request.characters if c.palette}
        _regions(draw, request)
        for index, pose in enumerate(request.poses):
            default = hex_rgb(DEFAULT_FIGURE_COLOURS[index % len(DEFAULT_FIGURE_COLOURS)])
            colour = colours.get(pose.who or "", default)
            _figure(draw, _zoom(pose, request.shot), colour, canvas.size, zoom)
        canvas = _depth_shading(canvas, request)
        _label(ImageDraw.Draw(canvas), request)
        canvas.info["parameters"] = (
            f"{request.prompt}\nNegative prompt: {request.negative}\n"
            f"Steps: 0, Sampler: draft, Seed: {request.seed}, Size: {request.width}x{request.height}, Model: comicforge-draft"
        )
        return canvas

    def refine(self, request: GenerateRequest, image: Image.Image, step: Edit) -> Image.Image:
        """Storyboard editing: blend a fresh draft in (img2img), repaint a mask, extend the canvas, or resize."""
        image = image.convert("RGB")
        if isinstance(step, Upscale):
            size = (step.width or image.width, step.height or image.height)
            return image.resize(size, Image.Resampling.LANCZOS)
        if isinstance(step, Outpaint):
            return _outpaint(self, request, image, step)
        redraw = self.generate(step_request(request, step, image.size))
        if isinstance(step, Img2Img):
            return Image.blend(image, redraw, step.strength)
        mask = repaint_mask(step, image.size)
        return Image.composite(Image.blend(image, redraw, step.strength), image, mask)

    def close(self) -> None:
        """Nothing resident."""


def _outpaint(engine: DraftEngine, request: GenerateRequest, image: Image.Image, step: Outpaint) -> Image.Image:
    """Extend the canvas by fractions of its size; the old pixels stay exactly where they were."""
    left, top, right, bottom = step.extend
    width = round(image.width * (1 + left + right))
    height = round(image.height * (1 + top + bottom))
    canvas = engine.generate(step_request(request, step, (width, height)))
    canvas.paste(image, (round(image.width * left), round(image.height * top)))
    if step.width and step.height:
        canvas = canvas.resize((step.width, step.height), Image.Resampling.LANCZOS)
    return canvas
