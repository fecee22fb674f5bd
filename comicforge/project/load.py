"""Read comic.yaml into the validated Project, keeping the line of every value for error messages."""

from __future__ import annotations

import hashlib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from comicforge.errors import Problem, ProjectError
from comicforge.project.files import PROJECT_FILE, find_project_file  # noqa: F401  (re-exported)
from comicforge.project.schema import Project

Loc = tuple[str | int, ...]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class LoadedProject:
    """A validated project with where it came from and where each value sits in the file."""

    project: Project
    file: Path
    lines: dict[Loc, int]
    digest: str

    @property
    def root(self) -> Path:
        return self.file.parent

    def problem(self, loc: Loc, message: str) -> Problem:
        """A problem at a path in the project, located at the nearest line."""
        return Problem(message, self.file.name, line_of(self.lines, loc), format_loc(loc))


def format_loc(loc: Loc) -> str:
    """('pages', 2, 'panels', 0) → 'pages[2].panels[0]'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of the deepest part of `loc` that the file spells out."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _node_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    """Record the 1-based line of every mapping key and sequence item under a YAML node."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*loc, key_node.value)
            lines[child] = key_node.start_mark.line + 1
            _node_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*loc, index), lines)


def parse_yaml(text: str, file: Path) -> tuple[Any, dict[Loc, int]]:
    """YAML text → (data, line map); syntax errors become located problems."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise ProjectError(Problem(f"YAML syntax: {error.problem or error}", file.name, line)) from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _node_lines(node, (), lines)
    return data, lines


def load_project(path: Path | str) -> LoadedProject:
    """Load and validate a project; every problem is reported at once, each with file:line: path."""
    file = find_project_file(path)
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProjectError(Problem(f"not UTF-8 text ({error.reason} at byte {error.start})", file.name)) from None
    data, lines = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ProjectError(Problem("the project file must be a mapping with title, format, defaults, characters, pages", file.name, 1))
    try:
        project = Project.model_validate(data)
    except ValidationError as error:
        raise ProjectError(validation_problems(error, data, lines, file.name)) from None
    return LoadedProject(project, file, lines, hashlib.sha256(raw).hexdigest())


def _data_loc(loc: Loc, data: Any, error_type: str) -> Loc:
    """Keep the parts of a pydantic location that exist in the data (drop union/validator tags)."""
    kept: list[str | int] = []
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(data, dict) and part in data:
            kept.append(part)
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            kept.append(part)
            data = data[part]
        elif last and error_type == "missing" and isinstance(part, str):
            kept.append(part)
    return tuple(kept)


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at a data path."""
    annotation: Any = Project
    for part in loc:
        model = _unwrap_model(annotation, container=False)
        if isinstance(model, type) and issubclass(model, BaseModel) and isinstance(part, str) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
        else:
            annotation = _unwrap_model(annotation, container=True)  # a list index or a mapping key
    model = _unwrap_model(annotation, container=False)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap_model(annotation: Any, container: bool) -> Any:
    """Look through Optional/Union/Annotated (and list/dict when stepping into items) to a model."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap_model(typing.get_args(annotation)[0], container)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _unwrap_model(arg, container)
            if isinstance(found, type) and issubclass(found, BaseModel):
                return found
        return None
    if container and origin in (list, dict, tuple):
        return _unwrap_model(typing.get_args(annotation)[-1], False)
    return annotation


def _message(error: dict[str, Any], loc: Loc) -> str:
    """A pydantic error as a sentence a comic maker understands."""
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        valid = f" (valid: {', '.join(model.model_fields)})" if model else ""
        return f"unknown field {loc[-1]!r}{valid}"
    if kind == "missing":
        return "required field missing"
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    given = error.get("input")
    if kind not in ("model_type", "dict_type") and isinstance(given, (str, int, float)) and not isinstance(given, bool):
        message += f" (got {given!r})"
    return message


def _error_loc(item: dict[str, Any]) -> Loc:
    """Where pydantic says the error is, plus the field a model validator blamed (schema.blame)."""
    loc = tuple(item["loc"])
    field = (item.get("ctx") or {}).get("field") if item["type"] == "field_problem" else None
    return (*loc, field) if field else loc


def _is_type_mismatch(kind: str) -> bool:
    """An error saying the value is not of one union alternative's type (noise when another alternative fits)."""
    return kind.endswith(("_type", "_parsing")) or kind in ("model_attributes_type", "literal_error", "union_tag_invalid")


def _relevant(items: list[tuple[Loc, dict[str, Any]]]) -> list[tuple[Loc, dict[str, Any]]]:
    """Drop union alternatives whose type did not match where another alternative got further (deeper or a range error)."""
    def further(loc: Loc) -> bool:
        return any(other[: len(loc)] == loc and (len(other) > len(loc) or not _is_type_mismatch(item["type"]))
                   for other, item in items)

    return [(loc, item) for loc, item in items if not (_is_type_mismatch(item["type"]) and further(loc))]


def validation_problems(error: ValidationError, data: Any, lines: dict[Loc, int], file: str) -> list[Problem]:
    """One problem per location: union alternatives that all failed are merged into one message."""
    items = [(_data_loc(_error_loc(item), data, item["type"]), item) for item in error.errors(include_url=False)]
    by_loc: dict[Loc, list[str]] = {}
    for loc, item in _relevant(items):
        messages = by_loc.setdefault(loc, [])
        text = _message(item, loc)
        if text not in messages:
            messages.append(text)
    return [Problem(" or ".join(messages), file, line_of(lines, loc), format_loc(loc)) for loc, messages in by_loc.items()]
