"""Specs to and from their JSON form, through one pydantic TypeAdapter per spec type (built on first use).

The JSON form is the one job keys hash (dataclasses as objects, tuples as arrays); decoding validates it and
rebuilds the frozen values, so no spec type needs a hand-written decoder. pydantic is imported only when a spec
is first encoded or decoded, never on the no-op rebuild path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import TypeAdapter

T = TypeVar("T")
_ADAPTERS: dict[Any, Any] = {}  # spec type → its TypeAdapter


def _adapter(kind: type[T]) -> TypeAdapter[T]:
    """The TypeAdapter of one spec type, built on first use (pydantic imported here, once)."""
    if kind not in _ADAPTERS:
        from pydantic import TypeAdapter

        _ADAPTERS[kind] = TypeAdapter(kind)
    adapter: TypeAdapter[T] = _ADAPTERS[kind]
    return adapter


def decode(kind: type[T], data: Any) -> T:
    """A spec value of `kind` from its JSON form; fields it does not have are ignored."""
    return _adapter(kind).validate_python(data)


def encode(value: Any) -> Any:
    """A spec value's JSON form: dicts, lists and scalars."""
    return _adapter(type(value)).dump_python(value, mode="json")
