"""A panel's candidates: how many, which one is picked, and the cheaper request `build --preview` renders."""

from __future__ import annotations

import dataclasses

from comicforge.project.load import Loc
from comicforge.project.resolve.controls import size_grid
from comicforge.project.resolve.resolver import Resolver, setting
from comicforge.project.schema import Panel
from comicforge.spec.requests import GenerateRequest
from comicforge.spec.samplers import SAMPLER_NAMES


def panel_variants(r: Resolver, panel: Panel, loc: Loc) -> tuple[int, int | None]:
    """(number of candidates, picked index or None); a pick beyond the candidates is a located problem."""
    count = setting(r, panel, "variants") or 1
    if panel.pick is not None and panel.pick >= count:
        r.fail((*loc, "pick"), f"pick {panel.pick} is not a candidate: the panel has {count} (variants: {count}), so pick must be 0 to {count - 1}")
        return count, None
    return count, panel.pick


def preview_request(r: Resolver, request: GenerateRequest) -> GenerateRequest | None:
    """The request at `defaults.preview` settings (fewer steps, a fraction of the size); None when it is the same."""
    preview = r.project.defaults.preview
    if preview.sampler is not None and preview.sampler not in SAMPLER_NAMES:
        r.fail(("defaults", "preview", "sampler"), f"unknown sampler {preview.sampler!r} (valid: {', '.join(SAMPLER_NAMES)})")
    grid = size_grid(request.controls)
    changed = dataclasses.replace(
        request, sampler=preview.sampler or request.sampler, steps=preview.steps or request.steps,
        cfg=request.cfg if preview.cfg is None else preview.cfg,
        width=_scaled(request.width, preview.scale, grid), height=_scaled(request.height, preview.scale, grid),
    )
    return None if changed == request else changed


def _scaled(side: int, scale: float, grid: int) -> int:
    """A generation side scaled, kept a multiple of `grid` px and at least 64 (or the side itself when smaller)."""
    return max(min(side, 64), round(side * scale / grid) * grid)
