"""Where stages run: the executor seam between the runner (scheduling, verification, the store) and the stages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from comicforge.pipeline.plan import Job
    from comicforge.pipeline.stages import Inputs, Result


class Executor(Protocol):
    """Runs one job's stage on inputs the runner has verified; the runner stores what it returns."""

    def execute(self, job: Job, inputs: Inputs) -> Result: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Stages in this process, with engines created on first use and kept resident for the whole build."""

    def __init__(self, runtime: tuple[tuple[str, str], ...] = ()):
        self.runtime = runtime  # engine options outside the keys (memory savers)
        self.engines: dict[str, Any] = {}

    def execute(self, job: Job, inputs: Inputs) -> Result:
        from comicforge.pipeline.stages import job_spec, stage_table

        return stage_table()[job.stage].run(job_spec(job), inputs, self)

    def engine(self, name: str) -> Any:
        """The resident engine of that name."""
        if name not in self.engines:
            from comicforge.engines.registry import create_engine

            self.engines[name] = create_engine(name)
        return self.engines[name]

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()
