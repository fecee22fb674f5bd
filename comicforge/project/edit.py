"""Edits written back into comic.yaml, keeping the author's comments, order, quoting and spacing.

The edit is located with PyYAML's composer (its C parser: node marks give each key's line and column) and applied
as one line of text, so nothing else in the file changes. Where one line cannot say it (a panel written as a flow
mapping), ruamel.yaml's round-trip dump writes the file, which keeps comments and order.
"""

from __future__ import annotations

import io
import re
from typing import Any

import yaml

from comicforge.errors import Problem, ProjectError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def with_pick(text: str, panel_id: str, variant: int) -> str:
    """The project text with `pick: variant` on that panel (after its `variants:` when it has one)."""
    node = _panel_node(yaml.compose(text, Loader=_Loader), panel_id)
    edited = None if node.flow_style else _line_edit(text.splitlines(keepends=True), node, variant)
    if edited is not None and _pick_of(_panel_node(yaml.compose(edited, Loader=_Loader), panel_id)) == str(variant):
        return edited
    return _round_trip_pick(text, panel_id, variant)


def _line_edit(lines: list[str], node: yaml.MappingNode, variant: int) -> str | None:
    """Replace the value of an existing `pick:`, or insert a `pick:` line in a block-style panel; None where neither fits."""
    entries = [(key.value, key, value) for key, value in node.value]
    keys = [name for name, _, _ in entries]
    if "pick" in keys:
        value = entries[keys.index("pick")][2]
        row, column = value.start_mark.line, value.start_mark.column
        line = lines[row]
        replaced, count = re.subn(r"^\d+", str(variant), line[column:], count=1)
        return "".join([*lines[:row], line[:column] + replaced, *lines[row + 1:]]) if count else None
    at = keys.index("variants") if "variants" in keys else 0
    _, key, value = entries[at]
    row, column = key.start_mark.line, key.start_mark.column
    if value.end_mark.line != row or (isinstance(value, yaml.CollectionNode) and not value.flow_style):
        if at + 1 == len(entries):
            return None
        row = entries[at + 1][1].start_mark.line - 1  # before the next key: the anchor's value spans lines
    ending = "" if lines[row].endswith("\n") else "\n"
    return "".join([*lines[:row + 1], ending, " " * column + f"pick: {variant}\n", *lines[row + 1:]])


def _round_trip_pick(text: str, panel_id: str, variant: int) -> str:
    """Set the pick through ruamel.yaml's round trip (comments and order kept; spacing as our templates write it)."""
    from ruamel.yaml import YAML

    round_trip = YAML()
    round_trip.preserve_quotes = True
    round_trip.width = 4096  # never re-wrap the author's long lines
    round_trip.indent(mapping=2, sequence=4, offset=2)  # the layout of comicforge's templates and examples
    data = round_trip.load(text)
    panel = _panel_of(data, panel_id)
    if "pick" not in panel and "variants" in panel:
        panel.insert(list(panel).index("variants") + 1, "pick", variant)
    else:
        panel["pick"] = variant
    out = io.StringIO()
    round_trip.dump(data, out)
    return out.getvalue()


def _pick_of(node: yaml.MappingNode) -> str | None:
    """The panel's `pick` as written (composed, not constructed: the check stays cheap on a long book)."""
    return next((value.value for key, value in node.value if key.value == "pick" and isinstance(value, yaml.ScalarNode)), None)


def _panels(pages: Any) -> Any:
    """(panel id, panel) in book order: its own `id`, else p<page>.<n>; `pages` as loaded or as composed nodes."""
    for number, page in enumerate(pages, start=1):
        for index, (panel, own_id) in enumerate(page, start=1):
            yield own_id or f"p{number}.{index}", panel


def _panel_of(data: Any, panel_id: str) -> Any:
    pages = data.get("pages") if isinstance(data, dict) else None
    listed = [[(p, p.get("id") if isinstance(p, dict) else None) for p in ((page or {}).get("panels") or [])] for page in pages or []]
    return _found(_panels(listed), panel_id)


def _panel_node(root: Any, panel_id: str) -> Any:
    def child(node: Any, name: str) -> Any:
        return next((v for k, v in node.value if k.value == name), None) if isinstance(node, yaml.MappingNode) else None

    pages = child(root, "pages")
    listed = []
    for page in pages.value if isinstance(pages, yaml.SequenceNode) else []:
        panels = child(page, "panels")
        listed.append([(p, getattr(child(p, "id"), "value", None)) for p in (panels.value if isinstance(panels, yaml.SequenceNode) else [])
                       if isinstance(p, yaml.MappingNode)])
    return _found(_panels(listed), panel_id)


def _found(panels: Any, panel_id: str) -> Any:
    for found_id, panel in panels:
        if found_id == panel_id:
            return panel
    raise ProjectError(Problem(f"no panel {panel_id!r} in the project", "comic.yaml"))
