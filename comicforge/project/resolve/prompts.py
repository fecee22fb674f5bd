"""Prompt templates rendered in a bounded Jinja2 sandbox, characters' tokens added, style templates applied."""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from comicforge.errors import Problem, ProjectError
from comicforge.project.load import Loc, read_yaml
from comicforge.project.resolve.resolver import Resolver, setting
from comicforge.project.schema import Character, Panel
from comicforge.promptlang.clauses import Clause, join_clauses, split_clauses


class _CharacterVar:
    """A character inside prompt templates: prints as its tokens; .description, .name available."""

    def __init__(self, name: str, character: Character):
        self.name, self.tokens, self.description = name, character.tokens, character.description

    def __str__(self) -> str:
        return self.tokens or self.name


MAX_PROMPT_CHARS = 100_000  # a rendered prompt or style longer than this is a template mistake


class PromptSandbox(SandboxedEnvironment):
    """Jinja2's sandbox, plus limits on `*` and `**` so a prompt cannot exhaust memory or time."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_number(left) and _is_number(right) and _power_bits(left, right) > 1024:
            raise ValueError(f"{left} ** {right} is too large a number")
        if operator == "*" and _sequence_length(left, right) > MAX_PROMPT_CHARS:
            raise ValueError(f"repeating text or a list that many times would exceed {MAX_PROMPT_CHARS} items")
        return super().call_binop(context, operator, left, right)


def _power_bits(base: float, exponent: float) -> float:
    """About how many bits `base ** exponent` needs."""
    return abs(exponent) * math.log2(abs(base)) if abs(base) > 1 else 0.0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sequence_length(left: Any, right: Any) -> float:
    """How long `left * right` would be when one side is a sequence and the other a count (0 otherwise)."""
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
            return len(sequence) * count
    return 0


_SANDBOX = PromptSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=4096)
def _template(source: str) -> Any:
    """A compiled sandboxed template (style templates repeat across panels; a long-lived `review` resolves the book again)."""
    _check_bounded(_SANDBOX.parse(source))
    return _SANDBOX.from_string(source)


def _check_bounded(tree: nodes.Template) -> None:
    """Refuse what could run for hours: macros and call blocks (recursion) and loops inside loops."""
    if next(tree.find_all((nodes.Macro, nodes.CallBlock)), None) is not None:
        raise TemplateError("macros and call blocks are not allowed in prompts")
    for loop in tree.find_all(nodes.For):
        if next(loop.find_all(nodes.For), None) is not None:
            raise TemplateError("loops inside loops are not allowed in prompts")


def _render(r: Resolver, source: str, context: dict[str, Any], loc: Loc) -> str:
    """Render a prompt template in the sandbox; errors name the panel field."""
    if "{" not in source:
        return source
    known = ", ".join(k for k in context if not k.startswith("_"))
    try:
        text = _template(source).render(context).strip()
    except TemplateError as error:
        r.fail(loc, f"prompt template: {error.message} (names available: {known})")
        return source
    except RecursionError:
        r.fail(loc, "prompt template: recursion too deep (a macro that calls itself?)")
        return source
    except Exception as error:  # anything the template's own expressions raise (1/0, 'a' + 1, a filter's arguments) is the author's
        r.fail(loc, f"prompt template: {type(error).__name__}: {error} (names available: {known})")
        return source
    if len(text) > MAX_PROMPT_CHARS:
        r.fail(loc, f"prompt template: renders {len(text)} characters (at most {MAX_PROMPT_CHARS})")
        return source
    return text


def panel_prompts(r: Resolver, panel: Panel, characters: list[tuple[str, Character]], loc: Loc) -> tuple[str, str]:
    """Final prompt and negative: template rendered, tokens of unnamed characters added, style applied."""
    context = _prompt_context(r, panel, characters)
    prompt = _render(r, panel.prompt, context, (*loc, "prompt"))
    named = _referenced_names(panel.prompt)
    _note_characters(r, named)
    missing = [str(context[name]) for name, _ in characters if name not in named and str(context[name]) not in prompt]
    prompt = ", ".join(part for part in [*missing, prompt] if part)
    styled, negative = _styled(r, panel, context, [prompt], loc)
    return styled[0], negative


def region_prompts(r: Resolver, panel: Panel, characters: list[tuple[str, Character]], loc: Loc) -> tuple[str, dict[str, str]]:
    """A panel with several characters: the scene's prompt and each character's region prompt, styled.

    The template is rendered with each character marked; a clause naming one character is that character's (its
    tokens there), a clause naming none or several is the scene's (characters named by name), and a character's
    region prompt is its clauses with the scene's, in order (its tokens first when the template does not name it).
    """
    context = _prompt_context(r, panel, characters)
    marked = {**context, **{name: _MarkedCharacter(name, c, i) for i, (name, c) in enumerate(characters)}}
    marked["characters"] = [marked[name] for name, _ in characters]
    text = _render(r, panel.prompt, marked, (*loc, "prompt"))
    _note_characters(r, _referenced_names(panel.prompt))
    names = [name for name, _ in characters]
    clauses = split_clauses(text)
    owners = [_clause_owner(clause.text, len(names)) for clause in clauses]

    def spelled(clause: Clause, own: int | None) -> Clause:
        for i, name in enumerate(names):
            clause = Clause(clause.text.replace(_mark(i), str(context[name]) if i == own else name), clause.separator)
        return clause

    scene = join_clauses([spelled(c, None) for c, owner in zip(clauses, owners) if owner is None])
    regions = []
    for i, name in enumerate(names):
        own = [spelled(c, owner) for c, owner in zip(clauses, owners) if owner in (None, i)]
        if i not in owners and str(context[name]):
            own.insert(0, Clause(str(context[name]), ","))
        regions.append(join_clauses(own))
    styled, _ = _styled(r, panel, context, [scene, *regions], loc)
    return styled[0], dict(zip(names, styled[1:]))


class _MarkedCharacter(_CharacterVar):
    """A panel character inside a template rendered for regions: prints as a marker found in its clause afterwards."""

    def __init__(self, name: str, character: Character, index: int):
        super().__init__(name, character)
        self.index = index

    def __str__(self) -> str:
        return _mark(self.index)


def _mark(index: int) -> str:
    return f"\ue000{index}\ue001"  # private-use characters: never in an author's prompt


def _clause_owner(text: str, count: int) -> int | None:
    """The one panel character a clause names, else None (the scene's)."""
    named = [i for i in range(count) if _mark(i) in text]
    return named[0] if len(named) == 1 else None


def _prompt_context(r: Resolver, panel: Panel, characters: list[tuple[str, Character]]) -> dict[str, Any]:
    """The names a prompt template sees: every character of the bible, the shot and the panel's characters."""
    context: dict[str, Any] = {name: _CharacterVar(name, c) for name, c in r.project.characters.items()}
    context.update(shot=panel.shot, characters=[context[n] for n, _ in characters])
    return context


def _styled(r: Resolver, panel: Panel, context: dict[str, Any], prompts: list[str], loc: Loc) -> tuple[list[str], str]:
    """Prompts with the panel's style template applied, and the negative with the style's."""
    negative = setting(r, panel, "negative") or ""
    style_name = setting(r, panel, "style")
    if not style_name:
        return prompts, negative
    style = _style(r, style_name, (*loc, "style") if panel.style else ("defaults", "style"))
    if style is None:
        return prompts, negative
    source = style.get("prompt", "{{ prompt }}")
    _note_characters(r, _referenced_names(source))
    styled = [_render(r, source, {**context, "prompt": prompt}, (*loc, "style")) for prompt in prompts]
    return styled, ", ".join(p for p in [negative, style.get("negative", "")] if p)


def _note_characters(r: Resolver, names: frozenset[str]) -> None:
    """Note the names a template uses as characters read (a name that is not one yet may become one)."""
    for name in names:
        r.character(name)


@lru_cache(maxsize=4096)
def _referenced_names(source: str) -> frozenset[str]:
    try:
        return frozenset(meta.find_undeclared_variables(_SANDBOX.parse(source)))
    except TemplateError:
        return frozenset()


def _style_dirs(root: Path) -> list[Path]:
    return [root / "styles", Path(str(resources.files("comicforge") / "templates" / "styles"))]


def style_names(root: Path) -> list[str]:
    """Style templates available to a project (its styles/ folder first, then built-in)."""
    return sorted({p.stem for d in _style_dirs(root) if d.is_dir() for p in d.glob("*.yaml")})


def find_style(name: str, root: Path) -> Path | None:
    """The file of a style template: the project's styles/ folder first, then the built-in ones."""
    for folder in _style_dirs(root):
        path = folder / f"{name}.yaml"
        if path.is_file():
            return path
    return None


def _style(r: Resolver, name: str, where: Loc) -> dict[str, str] | None:
    """A style template {'prompt': '… {{ prompt }} …', 'negative': '…'}; problems are located at the style setting."""
    own = r.loaded.root / "styles"
    if own.is_dir():
        r.read(own.resolve())  # a style added here later shadows a built-in one
    path = find_style(name, r.loaded.root)
    if path is None:
        r.fail(where, f"unknown style {name!r} (valid: {', '.join(style_names(r.loaded.root))})")
        return None
    if path.parent == own:
        r.read(path.resolve())
    try:
        style = read_yaml(path, "style template") or {}
    except ProjectError as error:
        detail = "; ".join(str(Problem(p.message, f"line {p.line}" if p.line else None, None, p.path)) for p in error.problems)
        r.fail(where, f"style {name!r}: {path.name} is not valid YAML ({detail})")
        return None
    if not isinstance(style, dict) or not all(isinstance(style.get(k, ""), str) for k in ("prompt", "negative")):
        r.fail(where, f"style {name!r}: {path.name} must be a mapping with text `prompt` (containing {{{{ prompt }}}}) and `negative`")
        return None
    return style
