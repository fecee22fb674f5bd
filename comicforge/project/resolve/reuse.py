"""Resolved panels kept between builds, like a compiler's depfiles: each is stored under a digest of its own YAML node,
its place on the page and the book-wide settings, and reused while the characters and files it read are unchanged.
What is stored for a panel is the caller's (pipeline/reuse.py keeps its jobs)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from comicforge.layout.panels import Rect
from comicforge.project.resolve.resolver import PanelReads
from comicforge.spec.files import FileRef

CACHE_VERSION = "panels-1"
BOOK_PARTS = ("pages", "characters")  # the parts of the file a panel depends on only in part
FileSignature = Callable[[list[str]], dict[str, Any]]  # paths → their sizes and mtimes (None when missing)


def digest(value: Any) -> str:
    """A digest of a JSON-able value (YAML's dates as text)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class BookInputs:
    """What every panel is made from besides its own node: the book's settings (by section) and where files are found."""

    sections: dict[str, str]  # "defaults", "format", …, "folder", "search paths", "icc profile" → digest
    characters: dict[str, str]  # character name → digest of its node
    digest: str  # of the sections


def book_inputs(data: dict[str, Any], root: Path, search: str, icc_profile: FileRef | None) -> BookInputs:
    """The book-wide inputs of a loaded project file."""
    sections = {name: digest(value) for name, value in data.items() if name not in BOOK_PARTS}
    sections.update({"folder": digest(str(root)), "search paths": digest(search), "icc profile": digest(astuple(icc_profile) if icc_profile else None)})
    characters = {name: digest(node) for name, node in (data.get("characters") or {}).items()}
    return BookInputs(sections, characters, digest(sections))


@dataclass
class PanelCache:
    """The panels an earlier resolve kept, the ones this resolve keeps, and why each other panel was resolved."""

    state: dict[str, Any]  # the stored cache (as `to_state()` wrote it; anything else counts as empty)
    signature: FileSignature
    inputs: BookInputs
    fallback: str = "new or edited"  # why a panel with no stored entry is resolved
    kept: dict[str, Any] = field(default_factory=dict)  # entries of this book, reused or new
    reasons: Counter[str] = field(default_factory=Counter)  # why panels were resolved
    reused: int = 0

    def __post_init__(self) -> None:
        self.book_change = self._book_change()  # once: it is every missing panel's reason when a section changed

    @property
    def entries(self) -> dict[str, Any]:
        known = self.state.get("panels") if self.state.get("version") == CACHE_VERSION else None
        return known if isinstance(known, dict) else {}

    def key(self, page: int, index: int, rect: Rect, node: Any) -> str:
        """The digest of what a panel's spec is made from, before anything is read."""
        return digest([self.inputs.digest, page, index, astuple(rect), node])

    def get(self, key: str, usable: Callable[[Any], bool] = lambda stored: True) -> tuple[Any, list[str]] | None:
        """What was stored for the panel and the files it read, when its node, characters and files are as they were
        and the caller can still use it; else None (the reason noted)."""
        entry = self.entries.get(key)
        reason = self._stale(entry) if entry is not None else self.book_change or self.fallback
        if reason is None and entry is not None and not usable(entry["stored"]):
            reason = "stored jobs changed"
        if reason is not None or entry is None:
            self.reasons[reason or self.fallback] += 1
            return None
        self.kept[key] = entry
        self.reused += 1
        return entry["stored"], list(entry["files"])

    def put(self, key: str, stored: Any, reads: PanelReads) -> None:
        """Keep what a panel resolved without problems gave (JSON), with what it read."""
        characters = {name: self.inputs.characters.get(name) for name in sorted(reads.characters)}
        files = self.signature(sorted(map(str, reads.files)))
        self.kept[key] = {"stored": stored, "characters": characters, "files": files}

    def to_state(self) -> dict[str, Any]:
        """What the next resolve starts from: this book's panels only."""
        return {"version": CACHE_VERSION, "sections": self.inputs.sections, "panels": self.kept}

    def summary(self) -> str:
        """`resolve: 1 of 1,200 panels (new or edited)`."""
        resolved = sum(self.reasons.values())
        why = ", ".join(f"{count:,} {reason}" if len(self.reasons) > 1 else reason for reason, count in self.reasons.most_common())
        return f"resolve: {resolved:,} of {resolved + self.reused:,} panels" + (f" ({why})" if why else "")

    def _stale(self, entry: Any) -> str | None:
        """Why a stored panel no longer holds (None: it does)."""
        if not isinstance(entry, dict) or "stored" not in entry or not all(isinstance(entry.get(k), dict) for k in ("characters", "files")):
            return "cache entry unreadable"
        changed = sorted(name for name, was in entry["characters"].items() if self.inputs.characters.get(name) != was)
        if changed:
            return f"character {', '.join(changed)} changed"
        now = self.signature(list(entry["files"]))
        moved = [path for path, was in entry["files"].items() if now.get(path) != was]
        return f"{Path(moved[0]).name} changed" if moved else None

    def _book_change(self) -> str | None:
        """Which book-wide sections changed since the stored resolve ("defaults changed"), when one did."""
        before = self.state.get("sections") if self.state.get("version") == CACHE_VERSION else None
        if not isinstance(before, dict) or not before:
            return None
        changed = sorted(name for name in set(before) | set(self.inputs.sections) if before.get(name) != self.inputs.sections.get(name))
        return f"{', '.join(changed)} changed" if changed else None
