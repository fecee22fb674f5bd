"""The Resolver every part of resolve shares: it collects located problems, fingerprints named files, notes the files read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comicforge.errors import EngineError, Problem
from comicforge.project import kinds
from comicforge.project.load import LoadedProject, Loc
from comicforge.project.schema import Character, Panel, Project
from comicforge.spec.files import FileRef

Fingerprint = Callable[[Path], str]


@dataclass
class PanelReads:
    """What resolving one panel read besides its own node: files (resolved paths) and characters of the bible."""

    files: set[Path] = field(default_factory=set)
    characters: set[str] = field(default_factory=set)


@dataclass
class Resolver:
    """Collects problems while resolving so that one run reports all of them."""

    loaded: LoadedProject
    fingerprint: Fingerprint
    problems: list[Problem] = field(default_factory=list)
    files_read: set[Path] = field(default_factory=set)
    models: dict[str, Any] = field(default_factory=dict)  # checkpoint path → ModelInfo (None if unusable)
    checked_pairs: set[tuple[str, str]] = field(default_factory=set)  # (LoRA or ControlNet file, model) pairs already checked
    kinds: dict[str, str | None] = field(default_factory=dict)  # file → why it is not what it claims to be (None: fine)
    failures: int = 0  # problems found, counting those reported once for many panels
    reading: PanelReads | None = None  # what the panel being resolved reads (for the panel cache)

    @property
    def project(self) -> Project:
        return self.loaded.project

    def fail(self, loc: Loc, message: str) -> None:
        """Record a problem at a path of the project."""
        self.failures += 1
        self.problems.append(self.loaded.problem(loc, message))

    def read(self, *paths: Path) -> None:
        """Note files (resolved paths) that the book, and the panel being resolved, depend on."""
        self.files_read.update(paths)
        if self.reading is not None:
            self.reading.files.update(paths)

    def character(self, name: str) -> Character | None:
        """A character of the bible by name (None: not in it), noted as read by the panel being resolved."""
        if self.reading is not None:
            self.reading.characters.add(name)
        return self.project.characters.get(name)

    def named(self, name: str, loc: Loc, what: str) -> Path | None:
        """A file the project names (relative to the project), noted as read; missing → problem."""
        path = Path(name).expanduser()
        path = path if path.is_absolute() else self.loaded.root / path
        if not path.exists():
            self.fail(loc, f"{what} not found: {name}")
            return None
        if not (path.is_file() or path.is_dir()):  # reading a pipe or a device blocks or never ends
            self.fail(loc, f"{name}: is a pipe, socket or device, not a regular file")
            return None
        self.read(path.resolve())
        return path.resolve()

    def file(self, name: str, loc: Loc, what: str) -> FileRef | None:
        """A file the project names, fingerprinted; missing → problem."""
        path = self.named(name, loc, what)
        return None if path is None else self.reference(path, name, loc)

    def reference(self, path: Path, name: str, loc: Loc) -> FileRef | None:
        """A file (or folder) fingerprinted by content; one that cannot be read → problem."""
        try:
            return FileRef(str(path), self.fingerprint(path))
        except OSError as error:
            where = f" ({error.filename})" if error.filename and str(error.filename) != str(path) else ""
            self.fail(loc, f"{name}: cannot be read: {error.strerror or error}{where}")
            return None

    def is_kind(self, path: Path, name: str, loc: Loc, problem: Callable[[Path], str | None]) -> bool:
        """Whether a file is what it claims to be (each file judged once, see project/kinds.py); else a problem."""
        if str(path) not in self.kinds:
            self.kinds[str(path)] = problem(path)
        message = self.kinds[str(path)]
        if message:
            self.fail(loc, f"{name}: {message}")
        return message is None

    def image(self, name: str, loc: Loc, what: str) -> FileRef | None:
        """A named image that decodes within the book's pixel budget (`format.max_pixels`), fingerprinted."""
        budget = self.project.format.max_pixels
        return self.checked(name, loc, what, lambda path: kinds.image_problem(path, budget))

    def checked(self, name: str, loc: Loc, what: str, problem: Callable[[Path], str | None]) -> FileRef | None:
        """A named file that exists and is what it claims to be, fingerprinted."""
        path = self.named(name, loc, what)
        if path is None or not self.is_kind(path, name, loc, problem):
            return None
        return self.reference(path, name, loc)


def kind_of(r: Resolver, name: str, loc: Loc, what: str, problem: Callable[[Path], str | None]) -> None:
    """Report a named file that is missing or not what it claims to be (it is fingerprinted where it is used)."""
    path = r.named(name, loc, what)
    if path is not None:
        r.is_kind(path, name, loc, problem)


def known(names: Any) -> str:
    return ", ".join(sorted(names)) or "none"


def setting(r: Resolver, panel: Panel, name: str) -> Any:
    """A panel's own setting, else the book default."""
    value = getattr(panel, name)
    return value if value is not None else getattr(r.project.defaults, name)


def engine_message(error: Exception, path: Path, name: str) -> str:
    """An engine error as the author wrote the file name, not the absolute path."""
    return f"{name}: {kinds.without_path(error, path)}"


def fail_once(r: Resolver, loc: Loc, message: str) -> None:
    r.failures += 1
    problem = r.loaded.problem(loc, message)
    if problem not in r.problems:
        r.problems.append(problem)


def check_fits(r: Resolver, ref: FileRef, name: str, model_info: Any, where: Loc, check: Callable[[Path, Any], None]) -> None:
    """Check a LoRA or ControlNet against the base model once per pair; its EngineError becomes a problem naming the file as written."""
    if (ref.path, str(model_info.path)) in r.checked_pairs:
        return
    r.checked_pairs.add((ref.path, str(model_info.path)))
    try:
        check(Path(ref.path), model_info)
    except EngineError as error:
        r.fail(where, engine_message(error, Path(ref.path), name))
