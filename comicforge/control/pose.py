"""Poses: presets and OpenPose JSON files → keypoints placed in a panel → the OpenPose control image.

The drawing convention is ControlNet v1.1 / controlnet_aux's (`tests/data/openpose_convention.md` and `.json` in the repository):
17 limbs as filled ellipses of half-width 4 px in 0.6-dimmed colours, then 18 joints as radius-4 discs in
full colour; hands as thickness-2 lines with blue joints, face as white radius-3 dots. Sizes stay fixed in
pixels at any canvas size, as in the annotators, because that is what the models were trained on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from comicforge.control.raster import ellipse_polygon, fill_circle, fill_convex_polygon, thick_line
from comicforge.readers import FileProblem, parse_json, read_json
from comicforge.spec.poses import PlacedPose, Point

Region = tuple[float, float, float, float]

COCO18_NAMES = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "RHip",
    "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
)  # fmt: skip
JOINT_COLOURS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)  # fmt: skip
# The 17 drawn limbs (0-based COCO-18 pairs); limb i is coloured JOINT_COLOURS[i] × 0.6.
LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
    (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)  # fmt: skip
LIMB_COLOURS = tuple(tuple(int(c * 0.6) for c in colour) for colour in JOINT_COLOURS[: len(LIMBS)])
HAND_EDGES = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10),
    (10, 11), (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
)  # fmt: skip
STICK_WIDTH = 4
JOINT_RADIUS = 4
HAND_LINE_THICKNESS = 2
HAND_POINT_COLOUR = (0, 0, 255)
FACE_POINT_RADIUS = 3
FACE_POINT_COLOUR = (255, 255, 255)

# BODY_25 indices kept for COCO-18 (drops MidHip 8 and the feet 19..24).
BODY25_TO_COCO18 = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
# Left/right partners: COCO-18 body, and the 70-point face (iBUG-68 + 2 pupils).
BODY_MIRROR = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)
FACE_MIRROR = (
    *range(16, -1, -1), 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 27, 28, 29, 30, 35, 34, 33, 32, 31,
    45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40, 54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,
    64, 63, 62, 61, 60, 67, 66, 65, 69, 68,
)  # fmt: skip

POINT_COUNTS = {  # points a person's list may hold
    "pose_keypoints_2d": (18, 25),
    "hand_left_keypoints_2d": (21,),
    "hand_right_keypoints_2d": (21,),
    "face_keypoints_2d": (70,),
}
NORMALISED_LIMIT = 2.0  # coordinates all below this are fractions of the canvas (points may lie off it)
BOUNDS_MARGIN = 1.05  # a pixel file without canvas size is read in a square 5 % larger than its extent
MAX_PEOPLE = 100  # figures in one pose file, over all its frames (a crowd scene has a few dozen)


class PoseError(ValueError):
    """A pose source that cannot be used: bad file, wrong keypoint count, unknown preset."""


# ---------------------------------------------------------------------------------------------- presets


def _preset_dir() -> Traversable:
    """The package folder holding the preset JSON files."""
    return resources.files("comicforge").joinpath("data").joinpath("poses")


PRESET_NAMES: tuple[str, ...] = tuple(
    sorted(entry.name.removesuffix(".json") for entry in _preset_dir().iterdir() if entry.name.endswith(".json"))
)


@cache
def preset_pose(name: str) -> PlacedPose:
    """A shipped pose by name ('arms crossed' and 'arms_crossed' also work), in its own square frame."""
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key not in PRESET_NAMES:
        raise PoseError(f"unknown pose preset {name!r} (valid: {', '.join(PRESET_NAMES)})")
    text = _preset_dir().joinpath(f"{key}.json").read_text(encoding="utf-8")
    return poses_from_json(parse_json(text, f"preset {key!r}", "pose preset"), f"preset {key!r}")[0]


# ------------------------------------------------------------------------------------------ JSON files


def load_pose_file(path: Path, canvas: tuple[int, int] | None = None, *, square: bool = False) -> list[PlacedPose]:
    """Every person in an OpenPose JSON file (sd-webui or CMU flavour), normalised to the file's canvas.

    `canvas` (width, height) is used for pixel coordinates when the file does not state its size;
    without either, pixels are normalised by the square from (0, 0) 5 % larger than the points' extent.
    With `square`, poses are re-expressed in a square frame like the presets' (see `square_frame`).
    """
    try:
        document = read_json(Path(path), "pose file")
    except FileProblem as problem:
        raise PoseError(f"{path}: {problem.reason}") from None
    return poses_from_json(document, str(path), canvas, square=square)


def poses_from_json(
    document: Any, source: str, canvas: tuple[int, int] | None = None, *, square: bool = False
) -> list[PlacedPose]:
    """Parse a decoded OpenPose document: one frame `{"people": [...]}` or a list of frames."""
    frames = document if isinstance(document, list) else [document]
    if len(frames) > MAX_PEOPLE:
        raise PoseError(f"{source}: {len(frames)} frames; a pose file may hold at most {MAX_PEOPLE}")
    poses: list[PlacedPose] = []
    for frame in frames:
        if not isinstance(frame, dict) or not isinstance(frame.get("people"), list):
            raise PoseError(f"{source}: not an OpenPose file (expected an object with a 'people' list)")
        if len(poses) + len(frame["people"]) > MAX_PEOPLE:
            raise PoseError(f"{source}: more than {MAX_PEOPLE} people (this frame has {len(frame['people'])}); "
                            f"a pose file may hold at most {MAX_PEOPLE}, each drawn as one figure")
        size, found = _frame_poses(frame, source, canvas)
        poses.extend(square_frame(pose, size[0] / size[1]) if square else pose for pose in found)
    if not poses:
        raise PoseError(f"{source}: no people in the pose file")
    return poses


def square_frame(pose: PlacedPose, aspect: float) -> PlacedPose:
    """Re-express a pose normalised to a canvas of `aspect` (w/h) in the square on its longer side.

    The canvas sits centred across and on the bottom of the square, so feet stay on the frame's ground
    and `place_pose` keeps the figure's true proportions, exactly as for a preset.
    """
    if aspect >= 1:
        return _map_points(pose, lambda x, y: (x, 1.0 - (1.0 - y) / aspect))
    return _map_points(pose, lambda x, y: (0.5 + (x - 0.5) * aspect, y))


def _frame_poses(frame: dict, source: str, canvas: tuple[int, int] | None) -> tuple[np.ndarray, list[PlacedPose]]:
    """A frame's canvas size (width, height) and its people, normalised to that canvas."""
    people = [_person_parts(person, f"{source}: people[{i}]") for i, person in enumerate(frame["people"])]
    present = [xyc[xyc[:, 2] > 0, :2] for parts in people for xyc in parts.values()]
    extent = np.concatenate([np.zeros((1, 2)), *present]).max(axis=0)
    normalised = bool(np.all(extent <= NORMALISED_LIMIT))
    size = _canvas_size(frame, canvas, extent, normalised, source)
    return size, [_placed(parts, np.ones(2) if normalised else size) for parts in people]


def _person_parts(person: Any, where: str) -> dict[str, np.ndarray]:
    """A person's keypoint lists as (N, 3) arrays, BODY_25 reduced to COCO-18; absent parts left out."""
    if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
        raise PoseError(f"{where}: no pose_keypoints_2d")
    parts = {}
    for key, counts in POINT_COUNTS.items():
        values = person.get(key)
        if not values:
            continue
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) for v in values):
            raise PoseError(f"{where}: {key} must be a list of numbers")
        if not all(math.isfinite(v) for v in values):
            raise PoseError(f"{where}: {key} holds a number that is not finite (NaN or infinity)")
        if len(values) not in [3 * n for n in counts]:
            names = {18: " (COCO-18)", 25: " (BODY_25)", 21: " (21 hand points)", 70: " (70 face points)"}
            expected = " or ".join(f"{3 * n}{names[n]}" for n in counts)
            raise PoseError(f"{where}: {key} has {len(values)} values; expected {expected}")
        xyc = np.asarray(values, dtype=np.float64).reshape(-1, 3)
        parts[key] = xyc[list(BODY25_TO_COCO18)] if len(xyc) == 25 else xyc
    return parts


def _canvas_size(
    frame: dict, canvas: tuple[int, int] | None, extent: np.ndarray, normalised: bool, source: str
) -> np.ndarray:
    """The frame's (width, height): stated, given, or (for pixels) a square around the extent; 1×1 if unknown."""
    stated = (frame.get("canvas_width"), frame.get("canvas_height"))
    for size in (stated, canvas):
        if size is not None and all(isinstance(s, (int, float)) and math.isfinite(s) and s > 0 for s in size):
            return np.asarray(size, dtype=np.float64)
    if normalised:
        return np.ones(2)
    side = float(extent.max()) * BOUNDS_MARGIN
    if side <= 0:
        raise PoseError(f"{source}: pixel coordinates without a canvas size")
    return np.array([side, side])


def _placed(parts: dict[str, np.ndarray], scale: np.ndarray) -> PlacedPose:
    """One PlacedPose from a person's (N, 3) arrays."""

    def points(key: str, drop_off_canvas: bool = False) -> tuple[Point, ...]:
        if key not in parts:
            return ()
        xy = parts[key][:, :2] / scale
        present = parts[key][:, 2] > 0
        if drop_off_canvas:
            # Editors park undetected fingers and face points at (≤0, ≤0); the annotators skip them too.
            present &= (xy[:, 0] > 0) & (xy[:, 1] > 0)
        return tuple((float(x), float(y)) if ok else None for (x, y), ok in zip(xy, present))

    return PlacedPose(
        body=points("pose_keypoints_2d"),
        left_hand=points("hand_left_keypoints_2d", True),
        right_hand=points("hand_right_keypoints_2d", True),
        face=points("face_keypoints_2d", True),
    )


def resolve_pose(source: str, base_dir: Path) -> list[PlacedPose]:
    """A panel's `pose:` value, a preset name or a JSON file relative to `base_dir`, as square-frame poses."""
    path = Path(base_dir) / source
    if path.exists() and not path.is_dir():  # a pipe or device too: the reader refuses it by name
        return load_pose_file(path, square=True)
    try:
        return [preset_pose(source)]
    except PoseError:
        if path.suffix.lower() == ".json":
            raise PoseError(f"pose file not found: {source}") from None
        raise


# ------------------------------------------------------------------------------------------- placement


def place_pose(
    pose: PlacedPose,
    region: Region = (0.0, 0.0, 1.0, 1.0),
    *,
    flip: bool = False,
    scale: float = 1.0,
    panel_aspect: float = 1.0,
    who: str | None = None,
    pose_aspect: float = 1.0,
) -> PlacedPose:
    """Fit a pose's frame (aspect `pose_aspect`, square for presets) into a panel region, bottom-centred.

    The frame is scaled uniformly (in true panel proportions, `panel_aspect` = width / height) to fit the
    region, times `scale`, with its bottom on the region's bottom, centred across it; `flip` mirrors the
    figure and swaps its left and right keypoints so limb colours stay anatomically correct.
    """
    if flip:
        pose = mirror_pose(pose)
    rx, ry, rw, rh = region
    # Frame height in panel-height units, fitted inside the region measured in the same units.
    frame_h = min(rh, rw * panel_aspect / pose_aspect) * scale
    frame_w = frame_h * pose_aspect / panel_aspect  # in panel-width units
    left, top = rx + (rw - frame_w) / 2, ry + rh - frame_h
    placed = _map_points(pose, lambda x, y: (left + x * frame_w, top + y * frame_h))
    return placed if who is None else replace(placed, who=who)


def reframed(pose: PlacedPose, frame: Region) -> PlacedPose:
    """The pose in a larger picture in which its own picture is the rectangle `frame` (x, y, w, h fractions)."""
    x0, y0, width, height = frame
    return _map_points(pose, lambda x, y: (x0 + x * width, y0 + y * height))


def _map_points(pose: PlacedPose, move: Callable[[float, float], tuple[float, float]]) -> PlacedPose:
    """The pose with every present keypoint (body, hands, face) moved by `move(x, y)`."""

    def each(points: tuple[Point, ...]) -> tuple[Point, ...]:
        return tuple(None if p is None else move(p[0], p[1]) for p in points)

    parts = {"body": pose.body, "left_hand": pose.left_hand, "right_hand": pose.right_hand, "face": pose.face}
    return replace(pose, **{name: each(points) for name, points in parts.items()})


def mirror_pose(pose: PlacedPose) -> PlacedPose:
    """The pose mirrored in its frame (x → 1 − x), left and right keypoints swapped."""

    mirrored = _map_points(pose, lambda x, y: (1.0 - x, y))

    def swap(points: tuple[Point, ...], partners: Sequence[int]) -> tuple[Point, ...]:
        return tuple(points[j] for j in partners) if len(points) == len(partners) else points

    return replace(
        mirrored,
        body=swap(mirrored.body, BODY_MIRROR),
        left_hand=mirrored.right_hand,
        right_hand=mirrored.left_hand,
        face=swap(mirrored.face, FACE_MIRROR),
    )


def pose_head(pose: PlacedPose) -> tuple[float, float] | None:
    """Where the head is (nose, else the eyes' or ears' midpoint, else the neck), for aiming balloon tails."""
    body = pose.body
    for group in ((0,), (14, 15), (16, 17), (1,)):
        points = [body[i] for i in group if i < len(body) and body[i] is not None]
        if points:
            return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    return None


def pose_body(pose: PlacedPose) -> tuple[float, float, float, float] | None:
    """The box (x0, y0, x1, y1) round the body below the head: neck, shoulders, arms, hips and legs (balloons keep off it)."""
    points = [p for p in pose.body[1:14] if p is not None]
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


# ------------------------------------------------------------------------------------------- rendering


def render_openpose(poses: Sequence[PlacedPose], width: int, height: int) -> Image.Image:
    """The OpenPose control image (RGB, black ground) of placed poses, pixel-exact to controlnet_aux."""
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    for pose in poses:  # controlnet_aux order: per person body, left hand, right hand, face
        draw_body(canvas, pose.body)
        draw_hand(canvas, pose.left_hand)
        draw_hand(canvas, pose.right_hand)
        draw_face(canvas, pose.face)
    return Image.fromarray(canvas, "RGB")


def draw_body(canvas: np.ndarray, body: Sequence[Point]) -> None:
    """Limbs as dimmed filled ellipses, then joints as full-colour discs (controlnet_aux `draw_bodypose`)."""
    height, width = canvas.shape[:2]
    for (a, b), colour in zip(LIMBS, LIMB_COLOURS):
        if a >= len(body) or b >= len(body) or body[a] is None or body[b] is None:
            continue
        (x0, y0), (x1, y1) = (body[a][0] * width, body[a][1] * height), (body[b][0] * width, body[b][1] * height)
        length = math.hypot(x0 - x1, y0 - y1)
        angle = int(math.degrees(math.atan2(y0 - y1, x0 - x1)))
        centre = (int((x0 + x1) / 2), int((y0 + y1) / 2))
        fill_convex_polygon(canvas, ellipse_polygon(centre, (int(length / 2), STICK_WIDTH), angle), colour)
    for point, colour in zip(body, JOINT_COLOURS):
        if point is not None:
            fill_circle(canvas, (int(point[0] * width), int(point[1] * height)), JOINT_RADIUS, colour)


def draw_hand(canvas: np.ndarray, hand: Sequence[Point]) -> None:
    """Hand bones in rainbow hues (thickness 2), then blue joints; points at pixel 0 are skipped."""
    pixels = _visible_pixels(canvas, hand)
    for (a, b), colour in zip(HAND_EDGES, HAND_EDGE_COLOURS):
        if a < len(pixels) and b < len(pixels) and pixels[a] is not None and pixels[b] is not None:
            thick_line(canvas, pixels[a], pixels[b], colour, HAND_LINE_THICKNESS)
    for pixel in pixels:
        if pixel is not None:
            fill_circle(canvas, pixel, JOINT_RADIUS, HAND_POINT_COLOUR)


def draw_face(canvas: np.ndarray, face: Sequence[Point]) -> None:
    """Face landmarks as white discs of radius 3."""
    for pixel in _visible_pixels(canvas, face):
        if pixel is not None:
            fill_circle(canvas, pixel, FACE_POINT_RADIUS, FACE_POINT_COLOUR)


def _visible_pixels(canvas: np.ndarray, points: Sequence[Point]) -> list[tuple[int, int] | None]:
    """Truncated pixel positions; None for absent points and, as the annotators' `> eps` test does, x or y ≤ 0."""
    height, width = canvas.shape[:2]
    pixels = [None if p is None else (int(p[0] * width), int(p[1] * height)) for p in points]
    return [p if p is not None and p[0] > 0 and p[1] > 0 else None for p in pixels]


def _hand_edge_colours() -> tuple[tuple[int, int, int], ...]:
    """matplotlib `hsv_to_rgb([i / 20, 1, 1]) * 255`, rounded as cv2 converts a float colour."""
    colours = []
    for i in range(len(HAND_EDGES)):
        h6 = (i / float(len(HAND_EDGES))) * 6.0
        sector, f = int(h6), h6 - int(h6)
        q, t = 1.0 - f, 1.0 - (1.0 - f)
        rgb = [(1.0, t, 0.0), (q, 1.0, 0.0), (0.0, 1.0, t), (0.0, q, 1.0), (t, 0.0, 1.0), (1.0, 0.0, q)][sector % 6]
        colours.append(tuple(int(np.rint(c * 255)) for c in rgb))
    return tuple(colours)


HAND_EDGE_COLOURS = _hand_edge_colours()
