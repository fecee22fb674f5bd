"""Error types that carry where in the user's files a problem is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One problem at a place in a user file: `file:line: path: message`."""

    message: str
    file: str | None = None
    line: int | None = None
    path: str = ""

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        at = f"{self.path}: " if self.path else ""
        return f"{where}{at}{self.message}"


class ComicforgeError(Exception):
    """A problem the user can fix; the CLI prints it and exits with status 2."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProjectError(ComicforgeError):
    """The project file or a file it names is invalid."""


class EngineError(ComicforgeError):
    """An engine cannot run with the given files or settings (bad model, LoRA, sampler…)."""


class PostError(ComicforgeError):
    """A post-processing setting is out of range."""


def display_path(path: Path | str, root: Path | None = None) -> str:
    """A path as the user wrote it: relative to `root` when inside it."""
    path = Path(path)
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)
