"""Specs to and from their JSON form (as stored in job specs and handed to engines)."""

from __future__ import annotations

from typing import Any

from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.poses import PlacedPose, Point
from comicforge.spec.requests import CharacterLook, ControlInput, GenerateRequest, RefineStep


def _file(value: dict[str, Any] | None) -> FileRef | None:
    return FileRef(**value) if value else None


def _points(values: Any) -> tuple[Point, ...]:
    return tuple(None if p is None else (float(p[0]), float(p[1])) for p in values or ())


def request_from_json(data: dict[str, Any]) -> GenerateRequest:
    """Rebuild a request from its JSON form (as stored in job specs)."""
    fields = {k: v for k, v in data.items() if k in GenerateRequest.__dataclass_fields__}
    fields["model"] = _file(fields.get("model"))
    fields["loras"] = tuple(AdapterRef(FileRef(**a["file"]), a["weight"]) for a in fields.get("loras", ()))
    fields["embeddings"] = tuple(FileRef(**e) for e in fields.get("embeddings", ()))
    fields["characters"] = tuple(CharacterLook(c["name"], tuple(c["palette"])) for c in fields.get("characters", ()))
    fields["poses"] = tuple(
        PlacedPose(_points(p["body"]), p.get("who"), _points(p.get("left_hand")), _points(p.get("right_hand")), _points(p.get("face")))
        for p in fields.get("poses", ())
    )
    fields["controls"] = tuple(
        ControlInput(c["kind"], _file(c.get("model")), c["weight"], c["start"], c["end"], _file(c.get("source")))
        for c in fields.get("controls", ())
    )
    fields["references"] = tuple(AdapterRef(FileRef(**a["file"]), a["weight"]) for a in fields.get("references", ()))
    fields["ip_adapter"] = _file(fields.get("ip_adapter"))
    fields["options"] = tuple(tuple(o) for o in fields.get("options", ()))
    return GenerateRequest(**fields)


def refine_step_from_json(data: dict[str, Any]) -> RefineStep:
    """Rebuild a refine step from its JSON form."""
    fields = {k: v for k, v in data.items() if k in RefineStep.__dataclass_fields__}
    for name in ("init", "mask", "model"):
        fields[name] = _file(fields.get(name))
    fields["rects"] = tuple(tuple(r) for r in fields.get("rects", ()))
    fields["extend"] = tuple(fields.get("extend", (0.0, 0.0, 0.0, 0.0)))
    return RefineStep(**fields)
