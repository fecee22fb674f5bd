"""A panel's post chain (its own, else the book's plus its characters'), checked against the book, and its palettes."""

from __future__ import annotations

from typing import Any

from comicforge.project.load import Loc
from comicforge.project.resolve.resolver import Resolver
from comicforge.project.schema import Character, Panel
from comicforge.spec.post import PostStep


def character_palette(r: Resolver, character: Character) -> tuple[str, ...]:
    if isinstance(character.palette, str):
        return tuple(r.project.palettes.get(character.palette, ()))
    return tuple(character.palette or ())


def post_chain(r: Resolver, panel: Panel, characters: list[tuple[str, Character]], loc: Loc) -> tuple[PostStep, ...]:
    """The panel's own chain, else the book's default chain followed by its characters' steps."""
    if panel.post is not None:
        steps = [(step, (*loc, "post", i)) for i, step in enumerate(panel.post)]
    else:
        steps = [(step, ("defaults", "post", i)) for i, step in enumerate(r.project.defaults.post or [])]
        for name, character in characters:
            steps += [(step, ("characters", name, "post", i)) for i, step in enumerate(character.post or [])]
    palettes = dict(chain_palettes(r, characters))
    for step, where in steps:
        _check_post_step(r, step, palettes, where)
    return tuple(step for step, _ in steps)


def _check_post_step(r: Resolver, step: Any, palettes: dict[str, tuple[str, ...]], where: Loc) -> None:
    """What a step can only know from the book: screens fine enough for its dpi, palettes it can find."""
    from comicforge.errors import PostError
    from comicforge.post.halftone import check_screen
    from comicforge.post.palette import gather_palette
    from comicforge.spec.post import FlatsStep, HalftoneStep, ScreentoneStep

    try:
        if isinstance(step, (HalftoneStep, ScreentoneStep)):
            check_screen(r.project.format.dpi, step.lpi, step.angle, step.shape, step.op)
        elif isinstance(step, FlatsStep):
            gather_palette(step.palette, step.colors, palettes)
    except PostError as error:
        if not any(problem.path == r.loaded.problem(where, "").path for problem in r.problems):
            r.fail(where, str(error))  # a book-wide step is reported for its first panel only


def chain_palettes(r: Resolver, characters: list[tuple[str, Character]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The book's named palettes plus each of the panel's characters' palette under the character's name."""
    named = {name: tuple(colours) for name, colours in r.project.palettes.items()}
    named.update({name: character_palette(r, c) for name, c in characters if c.palette})
    return tuple(sorted(named.items()))
