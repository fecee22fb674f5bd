"""Store upkeep: verify every entry (and drop broken ones), collect entries the book no longer reaches."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from comicforge.pipeline.run import EXPORT_VERSION, EXPORTS, PREVIEW_STATE, recent_builds, resolved_jobs
from comicforge.pipeline.store import Store


@dataclass
class VerifyReport:
    """What `store verify` found: entries checked and the broken ones (dropped with --repair)."""

    checked: int = 0
    broken: list[str] = field(default_factory=list)
    repaired: bool = False


def verify_store(project_file: Path, repair: bool = False) -> VerifyReport:
    """Check every entry's files against their recorded sizes and hashes; with `repair`, drop the broken ones."""
    store = Store(project_file.parent)
    report = VerifyReport(repaired=repair)
    with store.lock(wait_message=None):
        for key in sorted(store.keys()):
            report.checked += 1
            if not store.verify(key):
                report.broken.append(key)
                if repair:
                    store.discard(key)
        store.save_index()
    return report


@dataclass
class CollectReport:
    """What `gc` freed (or would free) and what it kept."""

    freed_entries: int = 0
    freed_bytes: int = 0
    kept_entries: int = 0
    kept_bytes: int = 0
    dry_run: bool = False


def current_keys(project_file: Path, store: Store) -> set[str]:
    """The keys of every job the current book can build: all pages, every export, and its previews once previewed."""
    from comicforge.pipeline.plan import select_jobs

    reached: set[str] = set()
    for preview in (False, True) if store.read_state(PREVIEW_STATE) else (False,):
        jobs, meta = resolved_jobs(project_file, store, preview)
        chosen = select_jobs(jobs, meta, EXPORT_VERSION, EXPORTS, None, False)
        reached |= {job.key for job in jobs} | {job.key for job in chosen}
    return reached


def collect_garbage(project_file: Path, keep: int = 1, dry_run: bool = False) -> CollectReport:
    """Delete entries neither the current book nor the last `keep` builds reach; refused while a build runs."""
    store = Store(project_file.parent)
    report = CollectReport(dry_run=dry_run)
    with store.lock(wait_message=None):
        reached = current_keys(project_file, store)
        for keys in recent_builds(store, keep):
            reached |= keys
        for key in sorted(store.keys()):
            size = store.entry_size(key)
            if key in reached:
                report.kept_entries, report.kept_bytes = report.kept_entries + 1, report.kept_bytes + size
                continue
            report.freed_entries, report.freed_bytes = report.freed_entries + 1, report.freed_bytes + size
            if not dry_run:
                store.discard(key)
        if not dry_run:
            store.clean_tmp()
            store.save_index()
    return report


def human_size(size: int) -> str:
    """Bytes as a short human figure: 1.2 MB."""
    if size < 1000:
        return f"{size} B"
    exponent = min(4, (len(str(size)) - 1) // 3)  # 1: kB, 2: MB, 3: GB, 4: TB
    return f"{size / 1000 ** exponent:.1f} {('kB', 'MB', 'GB', 'TB')[exponent - 1]}"
