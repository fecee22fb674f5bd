"""A panel's control images: OpenPose from its poses, lineart from a sketch (inverted) or a reference (XDoG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from comicforge.control.images import control_images, is_sketch
from comicforge.control.pose import preset_pose
from comicforge.spec.files import FileRef
from comicforge.spec.requests import ControlInput, GenerateRequest
from comicforge.errors import EngineError

NECK_RGB = (255, 85, 0)  # COCO-18 joint 1 (neck) in the OpenPose palette


def panel(*controls: ControlInput, poses=()) -> GenerateRequest:
    return GenerateRequest("p1.1", "a hero", "", 1, 96, 64, poses=tuple(poses), controls=controls)


def lineart(path: Path) -> ControlInput:
    return ControlInput("lineart", None, source=FileRef(str(path), "fp"))


def save(image: Image.Image, path: Path) -> Path:
    image.save(path)
    return path


def test_openpose_image_has_the_joint_colours_at_the_keypoints() -> None:
    pose = preset_pose("standing")
    images = control_images(panel(ControlInput("openpose", None), poses=[pose]))
    image = images["openpose"]
    assert list(images) == ["openpose"] and image.size == (96, 64) and image.mode == "RGB"
    x, y = pose.body[1]
    assert image.getpixel((int(x * 96), int(y * 64))) == NECK_RGB  # joints at truncated pixel positions
    assert image.getpixel((0, 0)) == (0, 0, 0)


def test_sketch_is_inverted_and_fitted(tmp_path: Path) -> None:
    sketch = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(sketch).line([(30, 100), (270, 100)], fill="black", width=8)
    image = control_images(panel(lineart(save(sketch, tmp_path / "sketch.png"))))["lineart"]
    pixels = np.asarray(image)
    assert image.size == (96, 64)
    assert pixels[32, 48].tolist() == [255, 255, 255]  # the stroke, white
    assert pixels[5, 48].tolist() == [0, 0, 0]  # the paper, black


def test_reference_photo_goes_through_xdog(tmp_path: Path) -> None:
    photo = Image.new("RGB", (192, 128), (60, 70, 90))
    ImageDraw.Draw(photo).ellipse([50, 20, 140, 110], fill=(210, 190, 170))
    assert not is_sketch(photo)
    pixels = np.asarray(control_images(panel(lineart(save(photo, tmp_path / "ref.png"))))["lineart"].convert("L"))
    assert pixels.max() == 255 and 0.005 < (pixels >= 128).mean() < 0.5  # outline only, not the filled disc
    assert pixels[32, 48] < 128  # the disc's flat middle is no line


def test_both_kinds_at_once_keep_request_order(tmp_path: Path) -> None:
    sketch = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(sketch).rectangle([10, 10, 50, 50], outline=0, width=3)
    request = panel(lineart(save(sketch, tmp_path / "s.png")), ControlInput("openpose", None), poses=[preset_pose("waving")])
    assert list(control_images(request)) == ["lineart", "openpose"]


def test_blank_sketch_is_refused_naming_panel_and_file(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (64, 64), "white"), tmp_path / "blank.png")
    with pytest.raises(EngineError, match=r"panel p1\.1: .*blank\.png: no lines"):
        control_images(panel(lineart(path)))


def test_unreadable_sketch_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    with pytest.raises(EngineError, match=r"broken\.png: not an image in a format we read"):
        control_images(panel(lineart(path)))


def test_openpose_without_pose_and_unknown_kind_are_refused() -> None:
    with pytest.raises(EngineError, match="needs a pose"):
        control_images(panel(ControlInput("openpose", None)))
    with pytest.raises(EngineError, match="unknown control kind 'canny'"):
        control_images(panel(ControlInput("canny", None)))
