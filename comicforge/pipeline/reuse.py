"""The book's jobs from a resolve that reuses every panel whose inputs hold: its jobs as the last resolve made them
(no spec decoded, no key recomputed) and its page entry; only the other panels are resolved."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from comicforge.pipeline.plan import Job, Versions, assign_keys, page_and_image_jobs, page_panel, panel_jobs

if TYPE_CHECKING:
    from comicforge.project.resolve.book import BookResolve, PanelSlot
    from comicforge.project.resolve.reuse import PanelCache

Stored = dict[str, dict[str, Any]]  # the last resolve's jobs (JSON) by id


def reusing_jobs(book: BookResolve, cache: PanelCache, last: Stored, versions: Versions, preview: bool) -> list[Job]:
    """Every job of the book in dependency order, keyed (the problems found wait in `book.finish()`)."""
    jobs: list[Job] = []
    for page in book.pages:
        rows: list[dict[str, Any]] = []
        for slot in page.slots:
            own, row = _panel_jobs(book, cache, last, slot, page.frame, versions, preview)
            jobs += own
            rows.append(row)
        jobs += page_and_image_jobs(page.frame, rows, book.settings.output, versions)
    assign_keys(jobs)
    return jobs


def _panel_jobs(book: BookResolve, cache: PanelCache, last: Stored, slot: PanelSlot, frame: Any, versions: Versions,
                preview: bool) -> tuple[list[Job], dict[str, Any]]:
    """A panel's keyed jobs and its page entry: the last resolve's when they hold, else made (and kept when the panel has no problems)."""
    key = cache.key(slot.page, slot.index, slot.rect, book.node(slot))
    found = cache.get(key, lambda stored: _still_stored(stored, last))
    if found is not None:
        stored, files = found
        book.reuse(files)
        return [Job(**last[job_id]) for job_id in stored["jobs"]], stored["page"]
    spec, reads = book.panel_reads(slot)
    jobs = panel_jobs(spec, frame, versions, preview)
    assign_keys(jobs)
    row = page_panel(spec)
    if reads is not None:
        cache.put(key, {"jobs": {job.id: job.key for job in jobs}, "page": row}, reads)
    return jobs, row


def _still_stored(stored: Any, last: Stored) -> bool:
    """Whether the last resolve holds the panel's jobs under the keys it had (a pick re-wires them: see picks.py)."""
    try:
        return all(last[job_id]["key"] == key for job_id, key in stored["jobs"].items())
    except (KeyError, TypeError, AttributeError):
        return False
