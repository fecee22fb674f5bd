"""A pick applied to the stored preview resolve, so the review's rebuild after a pick skips resolving the whole book.

A pick changes no spec of any candidate: only which candidate the panel's edits and finish read. So the jobs of the
book with the pick are those without it, re-wired: the first edit (or the finish) reads the picked candidate, each
edit takes that candidate's request, and the keys downstream are recomputed. tests/review check that this equals a
full resolve of the edited file.
"""

from __future__ import annotations

import hashlib

from comicforge.pipeline.plan import Job, assign_keys
from comicforge.pipeline.run import PREVIEW_STATE, resolve_still_holds
from comicforge.pipeline.store import Store


def repicked(jobs: list[Job], panel_id: str, variant: int) -> list[Job] | None:
    """The jobs with the panel showing candidate `variant`; None when it has no such candidate."""
    by_id = {job.id: job for job in jobs}
    picked = by_id.get(f"generate:{panel_id}#{variant}")
    if picked is None or f"finish:{panel_id}" not in by_id:
        return None
    changed: set[str] = set()
    for job in jobs:
        if job.stage == "refine" and job.id.startswith(f"refine:{panel_id}:"):
            job.spec = {"request": picked.spec, "step": job.spec["step"]}  # a RefineJob's JSON form
            job.deps = [picked.id] if job.id == f"refine:{panel_id}:1" else job.deps
            changed.add(job.id)
        elif job.id == f"finish:{panel_id}":
            job.deps = [next((d for d in job.deps if not d.startswith("generate:")), picked.id)]
            changed.add(job.id)
        elif changed.intersection(job.deps):
            changed.add(job.id)
        else:
            continue
        job.key = ""
    assign_keys(jobs)
    return jobs


def pick_in_stored_preview(store: Store, before: str, after: str, panel_id: str, variant: int) -> bool:
    """Rewrite the stored preview resolve of `before` as that of `after` (the same text with the pick); False when it is not current."""
    cached = store.read_state(PREVIEW_STATE)
    if not resolve_still_holds(cached, hashlib.sha256(before.encode("utf-8")).hexdigest()):
        return False
    jobs = repicked([Job(**j) for j in cached["jobs"]], panel_id, variant)
    if jobs is None:
        return False
    store.write_state(PREVIEW_STATE, {**cached, "digest": hashlib.sha256(after.encode("utf-8")).hexdigest(), "jobs": [j.to_json() for j in jobs]})
    return True


