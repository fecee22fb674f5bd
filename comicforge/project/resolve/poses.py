"""Pose figures (presets or OpenPose files) placed in a panel's regions."""

from __future__ import annotations

from comicforge.control import pose as poses
from comicforge.project.load import Loc
from comicforge.project.resolve.resolver import Resolver, known
from comicforge.project.schema import Character, Panel
from comicforge.spec.poses import PlacedPose


def pose_source(r: Resolver, source: str, loc: Loc) -> list[PlacedPose]:
    """Poses from a preset name or an OpenPose JSON file; the file enters the fingerprints."""
    path = r.loaded.root / source
    try:
        found = poses.resolve_pose(source, r.loaded.root)
    except poses.PoseError as error:
        r.fail(loc, str(error).replace(str(path), source))  # as the author wrote the path
        return []
    if path.is_file():
        r.read(path.resolve())
    return found


def panel_poses(r: Resolver, panel: Panel, characters: list[tuple[str, Character]], aspect: float, loc: Loc) -> tuple[PlacedPose, ...]:
    """Figures of the panel placed in their regions: explicit placements, a pose for all, or characters' own."""
    if isinstance(panel.pose, list):
        placed = []
        for i, item in enumerate(panel.pose):
            if item.who is not None and r.character(item.who) is None:
                r.fail((*loc, "pose", i, "who"), f"unknown character {item.who!r} (known: {known(r.project.characters)})")
            elif item.who is not None and item.who not in panel.characters:
                r.fail((*loc, "pose", i, "who"), f"{item.who!r} is not one of the panel's characters ({known(panel.characters)}); "
                       "add it to `characters`")
            for figure in pose_source(r, item.pose, (*loc, "pose", i, "pose")):
                placed.append(poses.place_pose(figure, item.region, flip=item.flip, scale=item.scale, panel_aspect=aspect, who=item.who))
        return tuple(placed)
    count = max(len(characters), 1)
    figures = []
    for i in range(count):
        name, character = characters[i] if characters else (None, None)
        source = panel.pose or (character.pose if character else None)
        if source is None:
            continue
        found = pose_source(r, source, (*loc, "pose") if panel.pose else ("characters", name or "", "pose"))
        region = (i / count, 0.0, 1 / count, 1.0)
        figures += [poses.place_pose(f, region, flip=i % 2 == 1, panel_aspect=aspect, who=name) for f in found[:1]]
    return tuple(figures)
