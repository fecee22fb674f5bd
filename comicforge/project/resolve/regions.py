"""Where each character of a panel with several acts: its region, and the prompt, LoRAs and references it steers it with."""

from __future__ import annotations

from typing import Any

from comicforge.project.load import Loc
from comicforge.project.resolve.generation import character_adapters, prompt_loras, reference_images, with_prompt_loras
from comicforge.project.resolve.resolver import Resolver, known
from comicforge.project.schema import Character, Panel
from comicforge.spec.files import AdapterRef
from comicforge.spec.poses import PlacedPose
from comicforge.spec.requests import Region

Box = tuple[float, float, float, float]  # [x, y, w, h], panel fractions
FIGURE_MARGIN = 0.08  # panel fractions added around a figure's keypoints (its head and hands reach past them)


def region_boxes(r: Resolver, panel: Panel, characters: list[tuple[str, Character]], placed: tuple[PlacedPose, ...], loc: Loc) -> dict[str, Box]:
    """Each panel character's region: `regions:`, else its placement's `region`, else its figure's bounds, else side by side."""
    names = [name for name, _ in characters]
    for name in panel.regions:
        if name not in names:
            r.fail((*loc, "regions", name), f"{name!r} is not one of the panel's characters ({known(names)})")
    placements = _placement_regions(panel)
    boxes = {}
    for i, name in enumerate(names):
        figures = [pose for pose in placed if pose.who == name]
        if name in panel.regions:
            boxes[name] = tuple(panel.regions[name])
        elif name in placements:
            boxes[name] = placements[name]
        elif figures:
            boxes[name] = _figure_bounds(figures)
        else:
            boxes[name] = (i / len(names), 0.0, 1 / len(names), 1.0)
    return boxes  # type: ignore[return-value]


def _placement_regions(panel: Panel) -> dict[str, Box]:
    """The regions the author gave pose placements (`region:` written), merged per character."""
    found: dict[str, Box] = {}
    for item in panel.pose if isinstance(panel.pose, list) else []:
        if item.who is not None and "region" in item.model_fields_set:
            found[item.who] = _union(found[item.who], item.region) if item.who in found else tuple(item.region)  # type: ignore[assignment]
    return found


def _figure_bounds(figures: list[PlacedPose]) -> Box:
    """The box around figures' keypoints, with a margin, inside the panel."""
    points = [p for pose in figures for p in (*pose.body, *pose.left_hand, *pose.right_hand, *pose.face) if p is not None]
    if not points:
        return (0.0, 0.0, 1.0, 1.0)
    x0 = max(0.0, min(p[0] for p in points) - FIGURE_MARGIN)
    y0 = max(0.0, min(p[1] for p in points) - FIGURE_MARGIN)
    x1 = min(1.0, max(p[0] for p in points) + FIGURE_MARGIN)
    y1 = min(1.0, max(p[1] for p in points) + FIGURE_MARGIN)
    return (x0, y0, max(x1 - x0, 0.01), max(y1 - y0, 0.01))


def _union(a: Box, b: Box) -> Box:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    return (x0, y0, max(a[0] + a[2], b[0] + b[2]) - x0, max(a[1] + a[3], b[1] + b[3]) - y0)


def panel_regions(r: Resolver, panel_id: str, characters: list[tuple[str, Character]], boxes: dict[str, Box], prompts: dict[str, str],
                  scene_loras: tuple[AdapterRef, ...], engine: str, model_info: Any, loc: Loc) -> tuple[Region, ...]:
    """One region per character: its box, its prompt, its LoRAs (with its clauses' tags) and embeddings, its references."""
    scene_files = {ref.file.path for ref in scene_loras}
    regions = []
    for name, character in characters:
        loras, embeddings = character_adapters(r, [(name, character)], model_info)
        tagged = tuple(ref for ref in prompt_loras(r, prompts[name], panel_id, model_info, (*loc, "prompt")) if ref.file.path not in scene_files)
        regions.append(Region(name, boxes[name], prompts[name], with_prompt_loras(loras, tagged), embeddings,
                              reference_images(r, [(name, character)], engine)))
    _check_one_family(r, regions, loc)
    return tuple(regions)


def _check_one_family(r: Resolver, regions: list[Region], loc: Loc) -> None:
    """Characters sharing a panel share a model: their LoRAs must be for one family (SD 1.x, SD 2.x, SDXL, SD3)."""
    from pathlib import Path

    from comicforge.weights.lora import lora_family

    first: tuple[str, str, str] | None = None  # (family, character, file)
    for index, region in enumerate(regions):
        for ref in region.loras:
            family = lora_family(Path(ref.file.path))
            if family is None:
                continue
            if first is None:
                first = (family, region.who, Path(ref.file.path).name)
            elif not _same_family(first[0], family):
                r.fail((*loc, "characters", index), f"{region.who}'s LoRA {Path(ref.file.path).name} is for {family} but "
                       f"{first[1]}'s {first[2]} is for {first[0]}: characters in one panel share one model, so their LoRAs must be for one family")
                return


def _same_family(a: str, b: str) -> bool:
    """Families match; "SD 1.x/2.x" (a LoRA without cross-attention layers) matches either of those."""
    return a == b or ("SD 1.x/2.x" in (a, b) and {a, b} <= {"SD 1.x/2.x", "SD 1.x", "SD 2.x"})


def check_plain_regions(r: Resolver, regions: tuple[Region, ...], negative: str, steps: int, loc: Loc) -> None:
    """Regional prompts are conditioned once for all steps: no `AND` parts or prompt editing in them (diffusion)."""
    from comicforge.promptlang.compose import negative_schedule, prompt_parts

    for region in regions:
        parts = prompt_parts(region.prompt, steps)
        if len(parts) != 1 or parts[0].weight != 1.0 or len(parts[0].schedule) != 1:
            r.fail((*loc, "prompt"), f"{region.who}'s region prompt {region.prompt!r}: a panel with several characters takes no "
                   "AND parts, prompt weights after AND or prompt editing ([a:b:N], [a|b]); weights (word:1.2) and BREAK are fine")
            return
    if len(negative_schedule(negative, steps)) != 1:
        r.fail((*loc, "negative"), "a panel with several characters takes no prompt editing in its negative prompt")
