"""Where stages run: the executor seam between the runner (scheduling, verification, the store) and the stages."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from comicforge.errors import ComicforgeError
from comicforge.pipeline.memo import no_memo

if TYPE_CHECKING:
    from comicforge.pipeline.plan import Job
    from comicforge.pipeline.stages import Inputs, Result

class Executor(Protocol):
    """Runs jobs' stages on inputs the runner has verified; the runner stores what comes back, in the order it comes."""

    def execute(self, job: Job, inputs: Inputs) -> Result:
        """Run one job now (a damaged input entry rebuilt before its consumer)."""
        ...

    def submit(self, job: Job, inputs: Inputs) -> None:
        """Queue a job whose inputs are all stored."""
        ...

    def next_result(self) -> tuple[Job, Result | ComicforgeError]:
        """Wait for one submitted job to finish: its result, or the problem it hit."""
        ...

    def activity(self) -> str:
        """What is running now, for the progress line ('' when there is nothing to add)."""
        ...

    def summary(self) -> dict[str, Any]:
        """The executor as `build --json` reports it."""
        ...

    def close(self) -> None: ...


def engine_factory(name: str) -> Any:
    """A new engine of that name (the registry's; heavy imports happen there)."""
    from comicforge.engines.registry import create_engine

    return create_engine(name)


class LocalExecutor:
    """Stages in this process, one at a time in submission order, with engines created on first use and kept resident."""

    def __init__(self, runtime: tuple[tuple[str, str], ...] = (), factory: Callable[[str], Any] = engine_factory,
                 memo: Callable[[str, bytes, Callable[[], bytes]], bytes] = no_memo):
        self.runtime = runtime  # engine options outside the keys (memory savers)
        self.factory = factory
        self.memo = memo  # the store's memo of costly steps inside stages (pipeline/memo.py)
        self.engines: dict[str, Any] = {}
        self.queue: deque[tuple[Job, Inputs]] = deque()

    def execute(self, job: Job, inputs: Inputs) -> Result:
        from comicforge.pipeline.stages import job_spec, stage_table

        return stage_table()[job.stage].run(job_spec(job), inputs, self)

    def submit(self, job: Job, inputs: Inputs) -> None:
        self.queue.append((job, inputs))

    def next_result(self) -> tuple[Job, Result | ComicforgeError]:
        job, inputs = self.queue.popleft()
        try:
            return job, self.execute(job, inputs)
        except ComicforgeError as error:
            return job, error

    def activity(self) -> str:
        return ""

    def summary(self) -> dict[str, Any]:
        return {"kind": "local"}

    def execute_batch(self, jobs: list[Job]) -> list[Result]:
        """Generate jobs of one panel's candidates (no inputs), in one engine call where the engine batches."""
        from comicforge.pipeline.batches import run_generate_batch

        return run_generate_batch(jobs, self)

    def engine(self, name: str) -> Any:
        """The resident engine of that name."""
        if name not in self.engines:
            self.engines[name] = self.factory(name)
        return self.engines[name]

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()
        self.engines.clear()
