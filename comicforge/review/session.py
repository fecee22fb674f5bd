"""A review session: the project rebuilt (previews, page images only) in the background after each save or pick."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comicforge.errors import ComicforgeError
from comicforge.pipeline.picks import pick_in_stored_preview
from comicforge.pipeline.run import BuildOptions, build
from comicforge.pipeline.store import Store, write_atomic
from comicforge.project.edit import with_pick
from comicforge.review.book import BookView, book_view

IGNORED = (".comicforge", "build")  # what builds write: never a reason to rebuild


@dataclass
class Status:
    """What the page shows beside the images: the build's state, its progress, and the last build's errors."""

    generation: int = 0  # counts finished builds, good or not
    state: str = "starting"  # starting | building | ready | failed
    done: int = 0
    total: int = 0
    job: str = ""
    errors: list[str] = field(default_factory=list)  # `comic.yaml:LINE: path: message`
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"generation": self.generation, "state": self.state, "progress": {"done": self.done, "total": self.total, "job": self.job},
                "errors": self.errors, "seconds": round(self.seconds, 3)}


class Session:
    """Owns the project's builds: one background builder, the last good book view, and listeners told of every change."""

    def __init__(self, project_file: Path):
        self.project_file = project_file
        self.store = Store(project_file.parent)
        self.view = BookView({"title": "", "pages": []})
        self.status = Status()
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._edit = threading.Lock()  # one pick written at a time
        self._threads: list[threading.Thread] = []

    # --- lifecycle --------------------------------------------------------------------------------------------------

    def start(self, watch: bool = True) -> None:
        """Build now, then whenever asked or (with `watch`) whenever a file of the project changes."""
        self._wanted.set()
        self._threads = [threading.Thread(target=self._builder, name="review-builder", daemon=True)]
        if watch:
            self._threads.append(threading.Thread(target=self._watcher, name="review-watcher", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wanted.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def rebuild(self) -> None:
        """Ask for a build (several asks while one runs make one more build)."""
        self._wanted.set()

    # --- picks ----------------------------------------------------------------------------------------------------

    def pick(self, panel_id: str, variant: int) -> None:
        """Write `pick: variant` on the panel into comic.yaml (comments and layout kept), then rebuild."""
        with self._edit:
            before = self.project_file.read_bytes().decode("utf-8")
            after = with_pick(before, panel_id, variant)
            write_atomic(self.project_file, after.encode("utf-8"))
            pick_in_stored_preview(self.store, before, after, panel_id, variant)  # the rebuild then resolves nothing
        self.rebuild()

    def candidates(self, panel_id: str) -> int | None:
        """How many candidates the current book shows for a panel; None for a panel it does not have."""
        for page in self.view.book["pages"]:
            for panel in page["panels"]:
                if panel["id"] == panel_id:
                    return len(panel["variants"])
        return None

    # --- threads --------------------------------------------------------------------------------------------------

    def _builder(self) -> None:
        while not self._stop.is_set():
            self._wanted.wait()
            if self._stop.is_set():
                return
            self._wanted.clear()
            self._build_once()

    def _build_once(self) -> None:
        """One preview build of the page images; on errors the last good book stays and the errors are shown."""
        with self._edit:  # a pick being written finishes first (its file and its stored resolve agree)
            started = time.perf_counter()
        self._tell(state="building", done=0, total=0, job="")
        try:
            report = build(self.project_file, BuildOptions(preview=True, exports=("png",), listener=self._progress))
            self.view = book_view(report.meta["title"], [d.job for d in report.decisions])
            self._tell(state="ready", errors=[], generation=self.status.generation + 1, seconds=time.perf_counter() - started)
        except ComicforgeError as error:
            self._tell(state="failed", errors=[str(p) for p in error.problems], generation=self.status.generation + 1,
                       seconds=time.perf_counter() - started)
        except Exception as error:  # a bug: keep serving the last good book, say what happened
            self._tell(state="failed", errors=[f"internal error ({type(error).__name__}: {error})"], generation=self.status.generation + 1,
                       seconds=time.perf_counter() - started)

    def _progress(self, done: int, total: int, job: str) -> None:
        self._tell(done=done, total=total, job=job)

    def _tell(self, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(self.status, name, value)
        event = self.status.to_json()
        for listener in list(self.listeners):
            listener(event)

    def _watcher(self) -> None:
        """Rebuild after any save in the project folder (comic.yaml and the files it names), builds' own output aside."""
        from watchfiles import watch

        root = self.project_file.parent

        def relevant(change: Any, path: str) -> bool:
            parts = Path(path).relative_to(root).parts
            return not parts or parts[0] not in IGNORED

        for _ in watch(root, watch_filter=relevant, stop_event=self._stop, debounce=50, step=20, yield_on_timeout=False, rust_timeout=200):
            self.rebuild()
