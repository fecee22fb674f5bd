"""A1111 composable diffusion: `a castle AND a dragon :0.8` → sub-prompts, each with its weight."""

from __future__ import annotations

import re
from dataclasses import dataclass

from comicforge.promptlang.networks import strip_tags
from comicforge.promptlang.schedule import Span, prompt_schedule

_AND = re.compile(r"\bAND\b")
_WEIGHTED = re.compile(r"^((?:\s|.)*?)(?:\s*:\s*([-+]?(?:\d+\.?|\d*\.\d+)))?\s*$")


@dataclass(frozen=True)
class ComposedPart:
    """One `AND` part: the weight its guidance is scaled by, and its schedule of texts."""

    weight: float
    schedule: tuple[Span, ...]


def split_and(prompt: str) -> list[tuple[str, float]]:
    """Split on `AND` (anywhere, as A1111 does) into (text, weight): a part's trailing `:number` is its weight (default 1)."""
    parts = []
    for part in _AND.split(prompt):
        match = _WEIGHTED.match(part)
        text, weight = (match.group(1), match.group(2)) if match else (part, None)
        parts.append((text, float(weight) if weight is not None else 1.0))
    return parts


def prompt_parts(prompt: str, steps: int) -> tuple[ComposedPart, ...]:
    """A positive prompt as the engine conditions on it: tags removed, `AND` parts, each scheduled."""
    return tuple(ComposedPart(weight, tuple(prompt_schedule(text, steps))) for text, weight in split_and(strip_tags(prompt)))


def negative_schedule(negative: str, steps: int) -> tuple[Span, ...]:
    """A negative prompt's schedule (A1111 composes and strips tags only in the positive prompt)."""
    return tuple(prompt_schedule(negative, steps))
