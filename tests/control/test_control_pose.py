"""Poses: presets, both OpenPose JSON flavours, placement, and the control image's colours."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from comicforge.control.pose import (
    BODY25_TO_COCO18,
    HAND_EDGES,
    HAND_EDGE_COLOURS,
    JOINT_COLOURS,
    LIMB_COLOURS,
    LIMBS,
    PRESET_NAMES,
    PoseError,
    load_pose_file,
    mirror_pose,
    place_pose,
    pose_head,
    preset_pose,
    render_openpose,
    resolve_pose,
    square_frame,
)
from comicforge.spec.poses import PlacedPose

REQUIRED_PRESETS = (
    "standing", "walking", "running", "sitting", "pointing", "arms-crossed", "fighting-stance",
    "jumping", "kneeling", "looking-back", "waving", "lying",
)  # fmt: skip
UPRIGHT_PRESETS = (
    "standing", "walking", "running", "pointing", "arms-crossed", "fighting-stance", "jumping",
    "looking-back", "waving", "hands-on-hips",
)  # fmt: skip
W, H = 512, 384


def only(points: dict[int, tuple[float, float]]) -> PlacedPose:
    """A body with just the given COCO-18 keypoints present."""
    return PlacedPose(body=tuple(points.get(i) for i in range(18)))


def pixel(image, point: tuple[float, float]) -> tuple[int, int, int]:
    """The image's colour at a normalised point, truncated to pixels as the annotators do."""
    return image.getpixel((int(point[0] * image.width), int(point[1] * image.height)))


# ------------------------------------------------------------------------------------------- rendering


def test_convention_tables_match_the_reference(reference_dir: Path) -> None:
    convention = json.loads((reference_dir / "openpose_convention.json").read_text())
    assert [list(limb) for limb in LIMBS] == convention["controlnet_limbSeq_0based_drawn"]
    assert [list(c) for c in JOINT_COLOURS] == convention["controlnet_colors_rgb"]
    assert [list(edge) for edge in HAND_EDGES] == convention["hand_edges"]


def test_control_image_is_black_rgb_of_the_requested_size() -> None:
    image = render_openpose([], W, H)
    assert image.mode == "RGB" and image.size == (W, H) and not np.asarray(image).any()


def test_nose_joint_centre_is_pure_red_and_neck_rshoulder_middle_is_dimmed_red() -> None:
    image = render_openpose([preset_pose("standing")], W, H)
    body = preset_pose("standing").body
    assert pixel(image, body[0]) == (255, 0, 0)
    neck, shoulder = body[1], body[2]
    assert pixel(image, ((neck[0] + shoulder[0]) / 2, (neck[1] + shoulder[1]) / 2)) == (153, 0, 0)


@pytest.mark.parametrize("limb", range(len(LIMBS)))
def test_each_limb_middle_has_its_dimmed_colour_and_ends_their_joint_colours(limb: int) -> None:
    a, b = LIMBS[limb]
    start, end = (0.2, 0.3), (0.7, 0.6)
    image = render_openpose([only({a: start, b: end})], W, H)
    assert pixel(image, (0.45, 0.45)) == LIMB_COLOURS[limb]
    assert LIMB_COLOURS[limb] == tuple(int(c * 0.6) for c in JOINT_COLOURS[limb])
    assert pixel(image, start) == JOINT_COLOURS[a]
    assert pixel(image, end) == JOINT_COLOURS[b]


def test_limb_is_a_stick_of_half_width_4_pixels() -> None:
    image = np.asarray(render_openpose([only({1: (0.1, 0.5), 2: (0.9, 0.5)})], W, H))
    column = image[:, W // 2, 0]
    assert np.flatnonzero(column).tolist() == list(range(H // 2 - 4, H // 2 + 5))


def test_missing_keypoints_are_not_drawn() -> None:
    image = np.asarray(render_openpose([only({0: (0.5, 0.5)})], W, H))
    assert (image.any(axis=2)).sum() == 49  # just the nose disc: no limb without both ends
    assert tuple(image[H // 2, W // 2]) == (255, 0, 0)


def test_joints_are_drawn_over_limbs() -> None:
    image = render_openpose([only({1: (0.3, 0.5), 2: (0.6, 0.5), 3: (0.6, 0.8)})], W, H)
    assert pixel(image, (0.6, 0.5)) == JOINT_COLOURS[2]


def test_several_figures_in_one_image() -> None:
    left = place_pose(preset_pose("standing"), (0.0, 0.0, 0.5, 1.0), panel_aspect=W / H)
    right = place_pose(preset_pose("standing"), (0.5, 0.0, 0.5, 1.0), panel_aspect=W / H)
    image = render_openpose([left, right], W, H)
    assert pixel(image, left.body[0]) == pixel(image, right.body[0]) == (255, 0, 0)


def test_hands_are_rainbow_bones_with_blue_joints_and_face_white_dots() -> None:
    hand = ((0.3, 0.6), (0.5, 0.3), *[None] * 19)  # wrist and thumb root only: edge 0
    face = tuple((0.1 + 0.01 * i, 0.9) for i in range(70))
    image = render_openpose([PlacedPose(body=(None,) * 18, right_hand=hand, face=face)], W, H)
    assert HAND_EDGE_COLOURS[0] == (255, 0, 0) and HAND_EDGE_COLOURS[1] == (255, 77, 0)
    assert pixel(image, hand[1]) == (0, 0, 255)
    assert pixel(image, ((0.3 + hand[1][0]) / 2, (0.6 + hand[1][1]) / 2)) == (255, 0, 0)
    assert pixel(image, face[10]) == (255, 255, 255)


def test_hand_points_at_pixel_zero_are_skipped() -> None:
    hand = ((0.0, 0.5),) + tuple((0.5, 0.5) for _ in range(20))
    image = np.asarray(render_openpose([PlacedPose(body=(None,) * 18, left_hand=hand)], W, H))
    assert not image[:, :10].any()


def test_rendering_a_busy_panel_is_fast() -> None:
    poses = [place_pose(preset_pose(n), (i / 4, 0, 0.25, 1), panel_aspect=2.0) for i, n in enumerate(PRESET_NAMES[:4])]
    start = time.perf_counter()
    render_openpose(poses, 1024, 512)
    assert time.perf_counter() - start < 1.0


# --------------------------------------------------------------------------------------------- presets


def test_required_presets_ship() -> None:
    assert set(REQUIRED_PRESETS) <= set(PRESET_NAMES) and len(PRESET_NAMES) >= 12


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_is_a_plausible_coco18_figure(name: str) -> None:
    body = preset_pose(name).body
    assert len(body) == 18
    present = [p for p in body if p is not None]
    assert all(0.0 <= c <= 1.0 for p in present for c in p)
    assert all(body[i] is not None for i in range(14)), "nose, neck, arms and legs are all present"
    segments = [(2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (11, 12), (12, 13)]
    lengths = [math.dist(body[a], body[b]) for a, b in segments]
    assert max(lengths) <= 0.25 and min(lengths) >= 0.04, lengths
    assert 0.2 <= math.dist(body[1], body[8]) <= 0.33  # torso
    assert max(p[1] for p in present) > 0.85  # on the ground of its frame


@pytest.mark.parametrize("name", UPRIGHT_PRESETS)
def test_upright_presets_have_head_above_hips_above_ankles(name: str) -> None:
    body = preset_pose(name).body
    hips = (body[8][1] + body[11][1]) / 2
    assert body[0][1] < body[1][1] < hips < min(body[10][1], body[13][1])
    assert 0.8 <= max(body[10][1], body[13][1]) - min(p[1] for p in body if p is not None) <= 0.95


def test_standing_is_about_0_9_tall() -> None:
    body = preset_pose("standing").body
    assert 0.8 <= body[13][1] - body[0][1] <= 0.9


def test_preset_names_are_forgiving() -> None:
    assert preset_pose("Arms Crossed") == preset_pose("arms_crossed") == preset_pose("arms-crossed")


def test_unknown_preset_lists_the_valid_ones() -> None:
    with pytest.raises(PoseError, match=r"unknown pose preset 'dabbing' \(valid: arms-crossed, .*standing"):
        preset_pose("dabbing")


# ----------------------------------------------------------------------------------------- JSON files


def test_reference_example_loads(example_pose_file: Path) -> None:
    (pose,) = load_pose_file(example_pose_file)
    raw = json.loads(example_pose_file.read_text())["people"][0]
    assert len(pose.body) == 18 and pose.body[0] == pytest.approx(tuple(raw["pose_keypoints_2d"][:2]))
    assert all(pose.body[i] is None for i in range(8, 14))  # written as 0,0,0
    assert len(pose.left_hand) == len(pose.right_hand) == 21 and pose.face == ()
    assert pose.left_hand[8] is None and pose.left_hand[0] is not None  # finger parked at (x, -0.002)
    image = render_openpose([pose], 768, 512)
    assert pixel(image, pose.body[0]) == (255, 0, 0)
    assert pixel(image, pose.body[14]) == JOINT_COLOURS[14]


def body25_person(coco: list[float], width: float, height: float) -> list[float]:
    """A CMU BODY_25 triplet list in pixels from normalised COCO-18 triplets, with MidHip and feet added."""
    body25 = [[0.0, 0.0, 0.0] for _ in range(25)]
    for coco_index, body25_index in enumerate(BODY25_TO_COCO18):
        x, y, c = coco[3 * coco_index : 3 * coco_index + 3]
        body25[body25_index] = [x * width, y * height, 0.8] if c > 0 else [0.0, 0.0, 0.0]
    body25[8] = [300.0, 400.0, 0.7]  # MidHip
    for foot in range(19, 25):
        body25[foot] = [100.0 + foot, 500.0, 0.5]
    return [v for triplet in body25 for v in triplet]


def test_body25_pixels_convert_to_the_same_coco18_pose(example_pose_file: Path, write_json) -> None:
    frame = json.loads(example_pose_file.read_text())
    coco = frame["people"][0]["pose_keypoints_2d"]
    cmu = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": body25_person(coco, 768, 512)}]}
    (converted,) = load_pose_file(write_json(cmu), canvas=(768, 512))
    (reference,) = load_pose_file(example_pose_file)
    for got, want in zip(converted.body, reference.body, strict=True):
        assert (got is None and want is None) or got == pytest.approx(want)


def test_body25_index_mapping(write_json) -> None:
    values = [v for i in range(25) for v in (10.0 * i + 10, 5.0 * i + 10, 0.9)]
    (pose,) = load_pose_file(write_json({"people": [{"pose_keypoints_2d": values}]}), canvas=(1000, 1000))
    assert pose.body[7] == pytest.approx((0.08, 0.045))  # LWrist = BODY_25 7
    assert pose.body[8] == pytest.approx((0.10, 0.055))  # RHip = BODY_25 9 (MidHip dropped)
    assert pose.body[17] == pytest.approx((0.19, 0.10))  # LEar = BODY_25 18 (feet dropped)


def test_cmu_coco18_pixels_without_canvas_use_a_square_around_the_extent(write_json) -> None:
    values = [0.0] * 54
    values[0:3] = [200.0, 100.0, 0.9]  # nose
    values[3 * 13 : 3 * 14] = [250.0, 400.0, 0.6]  # left ankle: the largest coordinate
    (pose,) = load_pose_file(write_json({"version": 1.3, "people": [{"pose_keypoints_2d": values}]}))
    side = 400 * 1.05
    assert pose.body[0] == pytest.approx((200 / side, 100 / side))
    assert pose.body[13] == pytest.approx((250 / side, 400 / side))
    assert pose.body[1] is None


def test_sd_webui_pixel_coordinates_are_divided_by_the_canvas(write_json) -> None:
    values = [0.0] * 54
    values[0:3] = [384.0, 128.0, 1.0]
    document = {"canvas_width": 768, "canvas_height": 512, "people": [{"pose_keypoints_2d": values}]}
    (pose,) = load_pose_file(write_json(document))
    assert pose.body[0] == pytest.approx((0.5, 0.25))


def test_a_list_of_frames_and_several_people(write_json) -> None:
    person = {"pose_keypoints_2d": [0.5, 0.5, 1.0] + [0.0] * 51}
    poses = load_pose_file(write_json([{"people": [person, person]}, {"people": [person]}]))
    assert len(poses) == 3


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"people": [{"pose_keypoints_2d": [0.1] * 53}]},
            "people[0]: pose_keypoints_2d has 53 values; expected 54 (COCO-18) or 75 (BODY_25)",
        ),
        ({"people": []}, "no people in the pose file"),
        ({"people": [{"face_keypoints_2d": []}]}, "people[0]: no pose_keypoints_2d"),
        (
            {"people": [{"pose_keypoints_2d": [0.1] * 54, "hand_left_keypoints_2d": [0.1] * 60}]},
            "hand_left_keypoints_2d has 60 values; expected 63 (21 hand points)",
        ),
        ({"people": [{"pose_keypoints_2d": ["a"] * 54}]}, "pose_keypoints_2d must be a list of numbers"),
        ({"canvas_width": 512}, "not an OpenPose file"),
        ("{not json", "not JSON"),
    ],
)
def test_bad_pose_files_say_what_is_wrong(write_json, document, message: str) -> None:
    path = write_json(document)
    with pytest.raises(PoseError) as error:
        load_pose_file(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_missing_pose_file(tmp_path: Path) -> None:
    with pytest.raises(PoseError, match="pose file not found"):
        load_pose_file(tmp_path / "absent.json")


def test_resolve_pose_takes_a_preset_or_a_relative_file(tmp_path: Path) -> None:
    assert resolve_pose("waving", tmp_path) == [preset_pose("waving")]
    (tmp_path / "poses").mkdir()
    document = {"people": [{"pose_keypoints_2d": [0.5, 0.5, 1.0] + [0.0] * 51}]}
    (tmp_path / "poses" / "hero.json").write_text(json.dumps(document))
    (pose,) = resolve_pose("poses/hero.json", tmp_path)
    assert pose.body[0] == (0.5, 0.5)


def test_resolved_files_are_in_a_square_frame_with_true_proportions(example_pose_file: Path) -> None:
    (on_canvas,) = load_pose_file(example_pose_file)
    (framed,) = resolve_pose(example_pose_file.name, example_pose_file.parent)
    pixels_canvas = [(p[0] * 768, p[1] * 512) for p in (on_canvas.body[1], on_canvas.body[2])]
    pixels_framed = [(p[0] * 768, p[1] * 768) for p in (framed.body[1], framed.body[2])]
    assert pixels_framed[0] == pytest.approx((pixels_canvas[0][0], pixels_canvas[0][1] + 256))  # canvas on the ground
    assert math.dist(*pixels_framed) == pytest.approx(math.dist(*pixels_canvas))


def test_square_frame_of_a_tall_canvas_centres_it() -> None:
    pose = only({0: (0.0, 0.25), 1: (1.0, 1.0)})
    framed = square_frame(pose, 0.5)
    assert framed.body[0] == pytest.approx((0.25, 0.25)) and framed.body[1] == pytest.approx((0.75, 1.0))


def test_resolve_pose_errors(tmp_path: Path) -> None:
    with pytest.raises(PoseError, match=r"unknown pose preset 'moonwalk' \(valid: .*waving"):
        resolve_pose("moonwalk", tmp_path)
    with pytest.raises(PoseError, match="pose file not found: .*hero.json"):
        resolve_pose("hero.json", tmp_path)


# ------------------------------------------------------------------------------------------- placement


def test_flip_mirrors_and_swaps_left_and_right() -> None:
    pose = preset_pose("pointing")
    flipped = place_pose(pose, flip=True)
    assert flipped.body[7] == pytest.approx((1 - pose.body[4][0], pose.body[4][1]))  # pointing arm is now the left
    assert flipped.body[4] == pytest.approx((1 - pose.body[7][0], pose.body[7][1]))
    twice = mirror_pose(mirror_pose(pose)).body
    assert all(p == pytest.approx(q) for p, q in zip(twice, pose.body, strict=True))
    image = render_openpose([flipped], 512, 512)
    assert pixel(image, flipped.body[7]) == JOINT_COLOURS[7]  # LWrist colour now on the image's right
    assert flipped.body[7][0] > 0.5


def test_flip_swaps_hands_and_mirrors_the_face() -> None:
    face = tuple((i / 100, 0.5) for i in range(70))
    pose = PlacedPose(body=(None,) * 18, left_hand=((0.2, 0.2),) * 21, right_hand=((0.8, 0.8),) * 21, face=face)
    flipped = mirror_pose(pose)
    assert flipped.left_hand[0] == pytest.approx((0.2, 0.8)) and flipped.right_hand[0] == pytest.approx((0.8, 0.2))
    assert flipped.face[0] == pytest.approx((1 - 0.16, 0.5))  # jaw end 0 ↔ 16
    assert flipped.face[68] == pytest.approx((1 - 0.69, 0.5))  # pupils swap


@pytest.mark.parametrize(
    ("region", "aspect"),
    [((0, 0, 1, 1), 1.0), ((0.5, 0, 0.5, 1), 2.0), ((0.1, 0.2, 0.3, 0.5), 0.7), ((0, 0, 1, 0.4), 1.5)],
)
def test_placement_keeps_true_proportions_and_stands_on_the_region_bottom(region, aspect: float) -> None:
    pose = preset_pose("standing")
    placed = place_pose(pose, region, panel_aspect=aspect)
    width_px, height_px = 1000 * aspect, 1000
    pixels = [(p[0] * width_px, p[1] * height_px) for p in placed.body]
    # ratios of distances in true pixels equal those in the square frame
    assert math.dist(pixels[2], pixels[5]) / math.dist(pixels[1], pixels[13]) == pytest.approx(
        math.dist(pose.body[2], pose.body[5]) / math.dist(pose.body[1], pose.body[13])
    )
    rx, ry, rw, rh = region
    frame_h = min(rh, rw * aspect)
    assert placed.body[13][1] == pytest.approx(ry + rh - frame_h * (1 - pose.body[13][1]))
    assert all(rx - 1e-9 <= p[0] <= rx + rw + 1e-9 and ry - 1e-9 <= p[1] <= ry + rh + 1e-9 for p in placed.body if p)
    neck_x = placed.body[1][0]
    assert neck_x == pytest.approx(rx + rw / 2, abs=1e-9)  # the standing figure's neck is its frame's centre


def test_scale_shrinks_about_the_feet_and_who_is_set() -> None:
    full = place_pose(preset_pose("standing"), who="Mina")
    half = place_pose(preset_pose("standing"), scale=0.5, who="Mina")
    assert half.who == "Mina"
    assert (half.body[13][1] - half.body[0][1]) == pytest.approx((full.body[13][1] - full.body[0][1]) / 2)
    assert 1 - half.body[13][1] == pytest.approx((1 - full.body[13][1]) / 2)


def test_pose_head_prefers_nose_then_eyes_ears_neck() -> None:
    assert pose_head(only({0: (0.5, 0.1), 1: (0.5, 0.2)})) == (0.5, 0.1)
    assert pose_head(only({14: (0.4, 0.1), 15: (0.6, 0.1), 1: (0.5, 0.2)})) == pytest.approx((0.5, 0.1))
    assert pose_head(only({16: (0.4, 0.12), 1: (0.5, 0.2)})) == (0.4, 0.12)
    assert pose_head(only({1: (0.5, 0.2)})) == (0.5, 0.2)
    assert pose_head(only({})) is None
    placed = place_pose(preset_pose("standing"), (0.5, 0, 0.5, 1), panel_aspect=2.0)
    assert pose_head(placed) == placed.body[0]
