"""Figures placed in a panel: COCO-18 body keypoints (+ hands and face) in panel fractions."""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[float, float] | None  # normalised (x, y) in the panel, 0..1; None = keypoint absent


@dataclass(frozen=True)
class PlacedPose:
    """One figure in a panel: COCO-18 body keypoints (+ optional hands/face) in panel coordinates."""

    body: tuple[Point, ...]  # 18 entries, COCO-18 order
    who: str | None = None
    left_hand: tuple[Point, ...] = ()
    right_hand: tuple[Point, ...] = ()
    face: tuple[Point, ...] = ()
