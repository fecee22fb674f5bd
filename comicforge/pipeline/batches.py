"""Candidates of one panel generated as one batch: generate jobs whose requests differ only in their seed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from comicforge.pipeline.plan import Job
    from comicforge.pipeline.stages import Result, Tools

DEFAULT_BATCH = 4  # `defaults.memory.batch`


def _without_seed(job: Job) -> tuple[str, str, str]:
    from comicforge.pipeline.keys import canonical_json

    return job.stage, job.version, canonical_json({k: v for k, v in job.spec.items() if k != "seed"})


def candidate_batches(order: list[Job], limit: int) -> list[list[Job]]:
    """Jobs in order, consecutive generate jobs of one panel (same spec but the seed) grouped, at most `limit` a group."""
    groups: list[list[Job]] = []
    for job in order:
        last = groups[-1] if groups else []
        if job.stage == "generate" and last and last[0].stage == "generate" and len(last) < limit and _without_seed(last[0]) == _without_seed(job):
            last.append(job)
        else:
            groups.append([job])
    return groups


def batch_limit(runtime: tuple[tuple[str, str], ...]) -> int:
    """The most candidates per batch the book allows (`defaults.memory.batch`)."""
    return int(dict(runtime).get("batch", DEFAULT_BATCH))


def run_generate_batch(jobs: list[Job], tools: Tools) -> list[Result]:
    """Generate a panel's candidates with one engine call where the engine batches (`generate_batch`), else one by one."""
    from comicforge.pipeline.stages import _panel_result, _with_runtime, job_spec

    requests = [_with_runtime(job_spec(job), tools) for job in jobs]
    engine: Any = tools.engine(requests[0].engine)
    images = engine.generate_batch(requests) if hasattr(engine, "generate_batch") else [engine.generate(r) for r in requests]
    return [_panel_result(image) for image in images]
