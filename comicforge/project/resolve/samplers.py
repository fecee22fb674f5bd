"""The sampler a panel's model family can run: SD3's rectified flow takes only the names with a flow-matching scheduler."""

from __future__ import annotations

from typing import Any

from comicforge.project.load import Loc
from comicforge.project.resolve.resolver import Resolver
from comicforge.project.schema import Panel
from comicforge.spec.samplers import DEFAULT_FLOW_SAMPLER, FLOW_SAMPLER_NAMES


def family_sampler(r: Resolver, panel: Panel, sampler: str, model_info: Any, loc: Loc) -> str:
    """The panel's sampler for its model: on SD3, Euler when none is named, a located error for one without a flow scheduler."""
    if model_info is None or not model_info.is_sd3:
        return sampler
    named = panel.sampler or r.project.defaults.sampler
    if named is None:
        return DEFAULT_FLOW_SAMPLER
    if named not in FLOW_SAMPLER_NAMES:
        where = (*loc, "sampler") if panel.sampler else ("defaults", "sampler")
        r.fail(where, f"sampler {named!r} has no flow-matching scheduler for SD3 models (valid: {', '.join(FLOW_SAMPLER_NAMES)})")
    return named
