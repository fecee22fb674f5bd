"""Read comic.yaml into the validated Project, keeping the line of every value for error messages.

YAML is read under limits before anything is validated, so that no file can make `check` slow or large: the
file's size, the values the parser streams and their nesting (counted before any node is built), then the
values once aliases are expanded (a "billion laughs" alias bomb is a few lines long), recursive aliases, and
numbers and dates Python cannot hold. Each limit is generous for real books (see the constants).
"""

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
from comicforge.readers import MIB, FileProblem, read_bytes

Loc = tuple[str | int, ...]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_PROJECT_BYTES = 8 * MIB  # a 500-page book is about 0.4 MB
MAX_STYLE_BYTES = 1 * MIB
MAX_VALUES = 250_000  # YAML nodes (keys count) with aliases expanded; a 500-page book has about 35,000
MAX_DEPTH = 64  # the schema nests 8 deep
MAX_NUMBER_DIGITS = 100
_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)
_CONSTRUCTED_TAGS = {"tag:yaml.org,2002:int": "number", "tag:yaml.org,2002:float": "number", "tag:yaml.org,2002:timestamp": "date"}


@dataclass(frozen=True)
class LoadedProject:
    """A validated project with where it came from and where each value sits in the file."""

    project: Project
    file: Path
    lines: dict[Loc, int]
    digest: str
    data: dict[str, Any]  # the file as YAML read it (what the panel cache digests)

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


def _line(node: yaml.Node | yaml.Event) -> int:
    return node.start_mark.line + 1


def _check_written(text: str, file: Path) -> bool:
    """Count the values and the nesting the parser streams, before any node is built: a huge or deep file stops early.

    Returns whether the text has aliases (only then can the built document be larger than what was written)."""
    values = depth = 0
    aliases = False
    for event in yaml.parse(text, Loader=_Loader):
        values += isinstance(event, _NODE_EVENTS)
        aliases = aliases or isinstance(event, yaml.AliasEvent)
        depth += isinstance(event, yaml.CollectionStartEvent) - isinstance(event, yaml.CollectionEndEvent)
        if values > MAX_VALUES:
            raise ProjectError(Problem(f"more than {MAX_VALUES:,} values in one file (a 500-page book has about 35,000)", file.name, _line(event)))
        if depth > MAX_DEPTH:
            raise ProjectError(Problem(f"nested more than {MAX_DEPTH} deep (a project nests at most 8)", file.name, _line(event)))
    return aliases


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _expanded(root: yaml.Node, file: Path) -> dict[int, tuple[int, int]]:
    """(values, depth) of every node with its aliases expanded, computed once per node: aliases share nodes."""
    measured: dict[int, tuple[int, int]] = {}
    expanding: set[int] = set()  # the nodes being measured: the ancestors of the one on top of the stack
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            parts = [measured[id(child)] for child in _children(node)]
            measured[id(node)] = (1 + sum(v for v, _ in parts), 1 + max((d for _, d in parts), default=0))
            expanding.discard(id(node))
        elif id(node) in expanding:
            raise ProjectError(Problem("an alias refers to a value that contains it (a recursive YAML structure)", file.name, _line(node)))
        elif id(node) not in measured:
            expanding.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_children(node)))
    return measured


def _parts(node: yaml.Node) -> list[tuple[str | int, yaml.Node]]:
    """A collection's values with the key or index that leads to each."""
    if isinstance(node, yaml.MappingNode):
        return [(key.value, value) for key, value in node.value]
    return list(enumerate(node.value)) if isinstance(node, yaml.SequenceNode) else []


def _check_expanded(root: yaml.Node, file: Path) -> None:
    """Refuse a document whose aliases expand past the limits, at the first value that explodes (an alias bomb)."""
    measured = _expanded(root, file)
    if measured[id(root)][0] <= MAX_VALUES and measured[id(root)][1] <= MAX_DEPTH:
        return
    loc: Loc = ()
    node = root
    while True:  # descend to the first value over a limit none of whose parts is over it alone
        over = [(part, child) for part, child in _parts(node) if measured[id(child)][0] > MAX_VALUES or len(loc) + measured[id(child)][1] > MAX_DEPTH]
        if not over:
            break
        part, node = over[0]
        loc = (*loc, part)
    values = measured[id(node)][0]
    if values > MAX_VALUES:
        message = f"aliases expand this to {values:,} values, more than the {MAX_VALUES:,} a file may hold (a YAML alias bomb?)"
    else:
        message = f"aliases nest this more than {MAX_DEPTH} deep"
    raise ProjectError(Problem(message, file.name, _line(node), format_loc(loc)))


def _check_scalars(root: yaml.Node, loader: Any, file: Path) -> None:
    """Numbers and dates Python cannot hold (a 20,000-digit integer, the 13th month) are located problems."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(_children(node))
        kind = _CONSTRUCTED_TAGS.get(node.tag) if isinstance(node, yaml.ScalarNode) else None
        if kind is None:
            continue
        if kind == "number" and len(node.value) > MAX_NUMBER_DIGITS:
            raise ProjectError(Problem(f"a number {len(node.value):,} characters long (at most {MAX_NUMBER_DIGITS})", file.name, _line(node)))
        try:
            loader.construct_object(node)
        except (ValueError, OverflowError) as error:
            raise ProjectError(Problem(f"not a valid {kind}: {node.value[:40]!r} ({error})", file.name, _line(node))) from None


def parse_yaml(text: str, file: Path) -> tuple[Any, dict[Loc, int]]:
    """YAML text → (data, line map) under the limits above; syntax errors and exceeded limits become located problems."""
    loader = _Loader(text)
    try:
        aliased = _check_written(text, file)
        node = loader.get_single_node()
        if node is None:
            return None, {}
        if aliased:
            _check_expanded(node, file)
        _check_scalars(node, loader, file)
        lines: dict[Loc, int] = {}
        _node_lines(node, (), lines)
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise ProjectError(Problem(f"YAML syntax: {error.problem or error}", file.name, line)) from None
    except yaml.YAMLError as error:
        raise ProjectError(Problem(f"YAML: {error}", file.name)) from None
    finally:
        loader.dispose()


def _text(path: Path, what: str, max_bytes: int) -> tuple[bytes, str]:
    """A YAML file's bytes and UTF-8 text, within its size cap."""
    try:
        raw = read_bytes(path, what, max_bytes)
    except FileProblem as problem:
        raise ProjectError(Problem(problem.reason, path.name)) from None
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProjectError(Problem(f"not UTF-8 text ({error.reason} at byte {error.start})", path.name)) from None


def read_yaml(path: Path, what: str, max_bytes: int = MAX_STYLE_BYTES) -> Any:
    """A YAML file other than the project (a style template) under the same limits; problems are located in it."""
    return parse_yaml(_text(path, what, max_bytes)[1], path)[0]


def load_project(path: Path | str) -> LoadedProject:
    """Load and validate a project; every problem is reported at once, each with file:line: path."""
    file = find_project_file(path)
    raw, text = _text(file, "project file", MAX_PROJECT_BYTES)
    data, lines = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ProjectError(Problem("the project file must be a mapping with title, format, defaults, characters, pages", file.name, 1))
    try:
        project = Project.model_validate(data)
    except ValidationError as error:
        raise ProjectError(validation_problems(error, data, lines, file.name)) from None
    return LoadedProject(project, file, lines, hashlib.sha256(raw).hexdigest(), data)


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
