"""Jobs of a book with their keys, and which to reuse or build, with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from comicforge.pipeline.keys import canonical_json, job_key, plain
from comicforge.spec.codec import encode

if TYPE_CHECKING:
    from comicforge.spec.jobs import OutputSettings


@dataclass
class Job:
    """One unit of work: its stage, its spec's JSON form (the codec's; what the key hashes), inputs, and derived key."""

    id: str  # "generate:p1.2", "finish:p1.2", "page:1", "png:1", "pdf"
    stage: str
    label: str  # what a user calls it: "p1.2", "page 1", "PDF"
    version: str
    spec: dict[str, Any]
    deps: list[str] = field(default_factory=list)
    key: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "stage": self.stage, "label": self.label, "version": self.version,
                "spec": self.spec, "deps": self.deps, "key": self.key}


@dataclass(frozen=True)
class Decision:
    """Reuse or build a job, and why."""

    job: Job
    build: bool
    reason: str


@dataclass(frozen=True)
class Versions:
    """Per-stage versions that enter every key of their stage."""

    engines: dict[str, str]
    post: str
    compose: str
    export: str


def page_jobs(book: Any, versions: Versions, preview: bool = False) -> list[Job]:
    """Every per-panel and per-page job of a resolved book, in dependency order (keys not yet assigned); `preview`: at
    preview settings. (pipeline/reuse.py makes the same jobs reusing stored panels.)"""
    jobs: list[Job] = []
    for page in book.pages:
        for panel in page.panels:
            jobs += panel_jobs(panel, page, versions, preview)
        jobs += page_and_image_jobs(page, [page_panel(p) for p in page.panels], book.output, versions)
    return jobs


def page_and_image_jobs(frame: Any, panels: list[dict[str, Any]], output: OutputSettings, versions: Versions) -> list[Job]:
    """A page's compose job (its panels as `page_panel` gives them) and its image job."""
    return [_page_job(frame, panels, versions), _image_job(frame, output, versions)]


def _image_job(page: Any, output: OutputSettings, versions: Versions) -> Job:
    """A page image (PNG or JPEG) at the chosen resolution."""
    from comicforge.spec.jobs import ImageJob

    spec = ImageJob(page.number, page.dpi, output.image_dpi or page.dpi, output.images, output.jpeg_quality)
    return Job(f"png:{page.number}", "png", f"page {page.number} image", versions.export, encode(spec), [f"page:{page.number}"])


def book_meta(book: Any, page_count: int) -> dict[str, Any]:
    """Book-wide facts the exporters write (title, credits, reading direction, colour): an `ExportJob`'s JSON form less
    its pages, date and proof flag (kept in the resolved state, so the fast path keys exports without pydantic)."""
    return {
        "title": book.title, "author": book.author, "series": book.series, "number": book.number,
        "language": book.language, "reading": book.reading, "color": book.color, "page_count": page_count,
        "output": encode(book.output), "runtime": [list(o) for o in book.runtime], "icc_profile": plain(book.icc_profile),
    }


def publication_date(meta: dict[str, Any]) -> str | None:
    """The book's date (YYYY-MM-DD): the project's, else SOURCE_DATE_EPOCH's (reproducible builds), else none."""
    import os
    import time

    date: str | None = meta.get("output", {}).get("date")
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not date and epoch.isdigit():
        date = time.strftime("%Y-%m-%d", time.gmtime(int(epoch)))
    return date


def _proof_image(job: Job) -> Job:
    """A page image job with proof marks (a separate key and output)."""
    return Job(job.id, job.stage, job.label, job.version, {**job.spec, "proof": True}, job.deps)


def select_jobs(jobs: list[Job], meta: dict[str, Any], export_version: str, exports: tuple[str, ...], pages: set[int] | None,
                proof: bool = False) -> list[Job]:
    """The jobs a build needs: the chosen pages (and their panels) plus the chosen exports, keyed."""
    if proof:
        jobs = [_proof_image(j) if j.stage == "png" else j for j in jobs]
    numbers = sorted(n for n in range(1, meta["page_count"] + 1) if pages is None or n in pages)
    wanted_pages = {f"page:{n}" for n in numbers}
    chosen: list[Job] = []
    needed: set[str] = set()
    for job in reversed(jobs):
        keep = job.id in wanted_pages or job.id in needed or (job.stage == "png" and "png" in exports and job.deps[0] in wanted_pages)
        if keep:
            chosen.append(job)
            needed.update(job.deps)
    chosen = _with_candidates(jobs, chosen)
    whole = len(numbers) == meta["page_count"]
    if "sheets" in exports:
        chosen.append(_sheets_job(chosen, numbers, meta, export_version, whole))
    for stage in ("pdf", "spreads", "cbz"):
        if stage in exports:
            job_id = stage if whole else f"{stage}:{numbers[0]}-{numbers[-1]}"
            deps = [f"png:{n}" for n in numbers] if stage == "cbz" else [f"page:{n}" for n in numbers]
            if stage == "cbz" and "png" not in exports:
                chosen += [j for j in jobs if j.stage == "png" and j.deps[0] in wanted_pages]
            book = {k: v for k, v in meta.items() if k != "runtime"}  # run-time engine options never enter keys
            spec = {**book, "pages": numbers, "date": publication_date(meta), "proof": proof}
            chosen.append(Job(job_id, stage, stage.upper(), export_version, spec, deps))
    assign_keys(chosen)
    return chosen


def _sheets_job(chosen: list[Job], numbers: list[int], meta: dict[str, Any], export_version: str, whole: bool) -> Job:
    """Contact sheets of the chosen pages: each panel's candidates (those this build makes) with index, seed and pick."""
    panels_of = {j.spec["number"]: [dep.partition(":")[2] for dep in j.deps] for j in chosen if j.stage == "page"}
    shown = {dep for j in chosen if j.stage in ("refine", "finish") for dep in j.deps}
    candidates: dict[str, list[Job]] = {}
    for job in chosen:
        if job.stage == "generate":
            candidates.setdefault(candidate_of(job)[0], []).append(job)
    deps: list[str] = []
    pages = []
    for number in numbers:
        panels = []
        for panel in panels_of[number]:
            own = candidates.get(panel, [])
            deps += [j.id for j in own]
            pick = next((candidate_of(j)[1] or 0 for j in own if j.id in shown), 0)
            panels.append({"id": panel, "pick": pick, "candidates": [{"index": candidate_of(j)[1] or 0, "seed": j.spec["seed"]} for j in own]})
        pages.append({"number": number, "panels": panels})
    job_id = "sheets" if whole else f"sheets:{numbers[0]}-{numbers[-1]}"
    return Job(job_id, "sheets", "contact sheets", export_version, {"title": meta["title"], "pages": pages}, deps)


def _with_candidates(jobs: list[Job], chosen: list[Job]) -> list[Job]:
    """The chosen jobs in build order, plus the candidates no page uses of the panels chosen (they are looked at, not composed)."""
    panels = {j.label for j in chosen if j.stage == "finish"}
    ids = {j.id for j in chosen}
    return [j for j in jobs if j.id in ids or (j.stage == "generate" and candidate_of(j)[0] in panels)]


def candidate_of(job: Job) -> tuple[str, int | None]:
    """(panel id, candidate index) of a generate job; the index is None for a panel of one candidate."""
    panel, _, index = job.label.partition("#")
    return panel, int(index) if index else None


def _generate_jobs(panel: Any, versions: Versions, preview: bool) -> tuple[list[Job], Any, str]:
    """One cached generate job per candidate (`generate:p1.2#k` when there are several); the picked one's request and id."""
    jobs: list[Job] = []
    picked: tuple[Any, str] = (panel.request, "")
    for index, request in panel.candidates(preview):
        label = panel.id if panel.variants == 1 else f"{panel.id}#{index}"
        jobs.append(Job(f"generate:{label}", "generate", label, versions.engines[panel.engine], encode(request)))
        if index == panel.shown:
            picked = (request, jobs[-1].id)
    return jobs, *picked


def panel_jobs(panel: Any, page: Any, versions: Versions, preview: bool = False) -> list[Job]:
    """A panel's generate jobs (one per candidate), its edit steps and its finish, on a page of `page`'s dpi and colour."""
    from comicforge.post.chain import chain_reads
    from comicforge.spec.jobs import RefineJob
    from comicforge.spec.post import FinishJob

    version = versions.engines[panel.engine]
    generates, request, last = _generate_jobs(panel, versions, preview)
    refines: list[Job] = []
    for n, step in enumerate(panel.edits, start=1):
        refines.append(Job(f"refine:{panel.id}:{n}", "refine", f"{panel.id} {step.op} #{n}", version,
                           encode(RefineJob(request, step)), [last]))
        last = refines[-1].id
    reads = chain_reads(panel.post, page.color)  # each page fact enters the key only when a step reads it
    finish = FinishJob(
        panel.print_size, page.dpi, page.color, panel.post, panel.box[:2] if "origin" in reads else None,
        panel.icc_profile if "icc_profile" in reads else None, panel.palettes if "palettes" in reads else (),
    )
    return [*generates, *refines, Job(f"finish:{panel.id}", "finish", panel.id, versions.post, encode(finish), [last])]


def _page_job(frame: Any, panels: list[dict[str, Any]], versions: Versions) -> Job:
    from comicforge.spec.jobs import PageJob

    spec = PageJob(
        frame.number, (round(frame.media[0], 4), round(frame.media[1], 4)), round(frame.bleed, 4), frame.live, frame.dpi,
        frame.pixels, frame.color, frame.reading, frame.border, (),
    )
    deps = [f"finish:{p['id']}" for p in panels]
    return Job(f"page:{frame.number}", "page", f"page {frame.number}", versions.compose, {**encode(spec), "panels": panels}, deps)


def page_panel(panel: Any) -> dict[str, Any]:
    """A panel as its page's compose job holds it (JSON): place, lettering and the heads of its figures."""
    from comicforge.spec.jobs import PagePanel

    heads = tuple(_head(pose) for pose in panel.request.poses)
    row: dict[str, Any] = encode(PagePanel(panel.id, panel.rect.rounded(), panel.box, panel.balloons, panel.sfx, heads))
    return row


def _head(pose: Any) -> Any:
    from comicforge.control.pose import pose_body, pose_head
    from comicforge.spec.jobs import Head

    head, body = pose_head(pose), pose_body(pose)
    if head is None:
        return None
    box = (round(body[0], 4), round(body[1], 4), round(body[2], 4), round(body[3], 4)) if body else None
    return Head(round(head[0], 4), round(head[1], 4), pose.who, box)


def assign_keys(jobs: list[Job]) -> None:
    """Fill in keys in dependency order (a job's key covers its inputs' keys)."""
    keys: dict[str, str] = {}
    for job in jobs:
        if not job.key:
            job.key = job_key(job.stage, job.version, job.spec, [keys[d] for d in job.deps])
        keys[job.id] = job.key


def decide(jobs: list[Job], has_key: Callable[[str], bool], changes: dict[str, str], damaged: Collection[str] = ()) -> list[Decision]:
    """For each job: reuse when its key is stored intact, else build, with the reason (`changes`: versus the last resolve)."""
    decisions: list[Decision] = []
    changed: set[str] = set()
    for job in jobs:
        if has_key(job.key):
            decisions.append(Decision(job, False, "up to date"))
            continue
        changed.add(job.id)
        reason = "damaged in the store" if job.key in damaged else changes.get(job.id) or _input_reason(job, changed)
        decisions.append(Decision(job, True, reason))
    return decisions


_FIELD_NAMES = {"request": "settings", "post": "post chain", "balloons": "balloons", "panels": "panels", "step": "edit step"}


def change_reasons(jobs: list[Job], last: dict[str, dict[str, Any]], carried: dict[str, str], built: Callable[[str], bool]) -> dict[str, str]:
    """Why each job differs from the last resolve's (`last`, by id): new, its stage version, which settings; a job
    whose key did not change keeps the reason it had (`carried`) until it is `built`."""
    found: dict[str, str] = {}
    for job in jobs:
        before = last.get(job.id)
        if before is None:
            reason: str | None = "new"
        elif before.get("key") != job.key:
            reason = spec_change(job, before)
        else:
            reason = carried.get(job.id) if job.id in carried and not built(job.key) else None
        if reason:
            found[job.id] = reason
    return found


def spec_change(job: Job, before: dict[str, Any]) -> str | None:
    """Which of a job's settings changed since `before` (its JSON then); None when only its inputs did."""
    if before.get("version") != job.version:
        return f"{job.stage} stage version changed"
    old, new = before.get("spec", {}), json.loads(canonical_json(job.spec))  # tuples → lists, as stored
    fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if job.stage == "page" and "panels" in fields:
        fields = _page_panel_changes(old.get("panels", []), new.get("panels", []))
    return ", ".join(_FIELD_NAMES.get(f, f) for f in fields) + " changed" if fields else None


def _input_reason(job: Job, rebuilt: set[str]) -> str:
    """A job with its settings unchanged runs because an input is rebuilt, or because it is missing from the store."""
    inputs = [d for d in job.deps if d in rebuilt]
    if inputs:
        return "input changed: " + ", ".join(_dep_label(d) for d in inputs[:4]) + (" …" if len(inputs) > 4 else "")
    return "missing from the store"


def _page_panel_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """What changed among a page's panels: layout, lettering, panel list."""
    if [p["id"] for p in old] != [p["id"] for p in new]:
        return ["panel list"]
    found = set()
    for a, b in zip(old, new):
        for name in ("rect", "balloons", "sfx", "heads"):
            if a.get(name) != b.get(name):
                found.add({"rect": "layout", "balloons": "lettering", "sfx": "lettering", "heads": "poses"}[name])
    return sorted(found)


def _dep_label(job_id: str) -> str:
    stage, _, name = job_id.partition(":")
    labels = {"generate": f"panel {name.replace('#', ' candidate ')}", "refine": f"panel {name.replace(':', ' step ')}",
              "finish": f"panel {name}", "page": f"page {name}"}
    return labels.get(stage, job_id)
