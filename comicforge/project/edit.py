"""Edits written back into comic.yaml: located with a round-trip YAML parser (ruamel.yaml), applied as one line of text.

Only the edited line changes, so the author's comments, order, quoting and spacing all stay. Where one line cannot
say it (a panel written as a flow mapping), ruamel.yaml's round-trip dump writes the file, keeping comments and order.
"""

from __future__ import annotations

import io
import re
from typing import Any

from comicforge.errors import Problem, ProjectError


def with_pick(text: str, panel_id: str, variant: int) -> str:
    """The project text with `pick: variant` on that panel (after its `variants:` when it has one)."""
    data = _round_trip().load(text)
    panel = _panel(data, panel_id)
    edited = _line_edit(text.splitlines(keepends=True), panel, variant)
    if edited is not None and _panel(_round_trip().load(edited), panel_id).get("pick") == variant:
        return edited
    if "pick" not in panel and "variants" in panel:
        panel.insert(list(panel).index("variants") + 1, "pick", variant)
    else:
        panel["pick"] = variant
    out = io.StringIO()
    yaml = _round_trip()
    yaml.indent(mapping=2, sequence=4, offset=2)  # the layout of comicforge's templates and examples
    yaml.dump(data, out)
    return out.getvalue()


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments, order and quoting kept
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the author's long lines
    return yaml


def _line_edit(lines: list[str], panel: Any, variant: int) -> str | None:
    """Replace the value of an existing `pick:`, or insert a `pick:` line in a block-style panel; None where neither fits."""
    if panel.fa.flow_style():
        return None
    if "pick" in panel:
        row, column = panel.lc.value("pick")
        line = lines[row]
        replaced = re.sub(r"^\d+", str(variant), line[column:], count=1)
        return "".join([*lines[:row], line[:column] + replaced, *lines[row + 1:]]) if replaced != line[column:] else None
    keys = list(panel)
    anchor = "variants" if "variants" in keys else keys[0]
    row, column = panel.lc.key(anchor)
    following = keys[keys.index(anchor) + 1] if keys.index(anchor) + 1 < len(keys) else None
    if panel.lc.value(anchor)[0] != row or (following is not None and panel.lc.key(following)[0] != row + 1):
        if following is None:
            return None
        row = panel.lc.key(following)[0] - 1  # before the next key: the anchor's value spans lines
    newline = "\n" if lines[row].endswith("\n") else ""
    return "".join([*lines[:row + 1], *([] if newline else ["\n"]), " " * column + f"pick: {variant}\n", *lines[row + 1:]])


def _panel(data: Any, panel_id: str) -> Any:
    """The panel mapping with that id (its own `id`, else p<page>.<n>)."""
    pages = data.get("pages") if isinstance(data, dict) else None
    for number, page in enumerate(pages or [], start=1):
        for index, panel in enumerate((page or {}).get("panels") or [], start=1):
            if isinstance(panel, dict) and (panel.get("id") or f"p{number}.{index}") == panel_id:
                return panel
    raise ProjectError(Problem(f"no panel {panel_id!r} in the project", "comic.yaml"))
