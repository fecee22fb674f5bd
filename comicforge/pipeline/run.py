"""The build, as a story: find the project, resolve (or reuse the resolved jobs), plan, run, publish."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comicforge.errors import ComicforgeError, Problem
from comicforge.pipeline.batches import batch_limit, candidate_batches
from comicforge.pipeline.executors import Executor, LocalExecutor
from comicforge.pipeline.grouping import generate_order_key
from comicforge.pipeline.keys import Fingerprints, StatCache, stat_signature
from comicforge.pipeline.memo import Memo
from comicforge.pipeline.plan import Decision, Job, book_meta, candidate_of, change_reasons, decide, select_jobs
from comicforge.pipeline.store import Store, copy_atomic, write_atomic

if TYPE_CHECKING:
    from comicforge.pipeline.stages import Inputs, Result

RESOLVED_STATE = "resolved.json"
MEMO_DIR = "memo"
PREVIEW_STATE = "resolved-preview.json"  # the jobs of `build --preview`
OUTPUTS_STATE = "outputs.json"
EXPORTS = ("pdf", "png", "cbz", "spreads", "sheets")
STAGE_ORDER = ("generate", "refine", "finish", "page", "png", "pdf", "spreads", "cbz", "sheets")


@dataclass
class BuildOptions:
    """What to build and where."""

    out: Path | None = None
    pages: set[int] | None = None
    exports: tuple[str, ...] = ("pdf", "png")
    progress: bool = False
    proof: bool = False  # draw the live area and overflow markers; outputs go to build/proof/
    preview: bool = False  # every candidate at `defaults.preview` settings, under their own keys; outputs go to build/preview/
    usage: bool = False  # measure the store's size for the report (walks the store)
    listener: Callable[[int, int, str], None] | None = None  # told (done, total, job label) after each job, e.g. by `review`
    executor: str = "local"  # "local" (this process) or "ray" (generate/refine jobs on a Ray cluster's actors)
    address: str | None = None  # the Ray cluster (else COMICFORGE_RAY_ADDRESS, else a new local one)
    actors: int | None = None  # Ray actors per kind (default: one per GPU, or one per CPU)


@dataclass
class BuildReport:
    """What a build did and where its outputs are."""

    decisions: list[Decision]
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[dict[str, Any]] = field(default_factory=list)  # {"page": N, "message": …}, reused pages' too
    repaired: list[str] = field(default_factory=list)  # ids of jobs whose stored entry was broken and rebuilt
    store: dict[str, int] = field(default_factory=dict)  # {"entries": N, "bytes": N}, when asked for
    meta: dict[str, Any] = field(default_factory=dict)  # the book's facts (title, pages…), for callers such as `review`
    executor: dict[str, Any] = field(default_factory=lambda: {"kind": "local"})  # where jobs ran ({kind, address, actors, retries})
    timings: dict[str, Any] = field(default_factory=dict)  # seconds per phase (resolve, plan, run, publish; export: in run) and stage
    resolve: str = ""  # what resolving redid: `resolve: 1 of 1,200 panels (new or edited)`

    def count(self, stage: str, built: bool) -> int:
        return sum(1 for d in self.decisions if d.job.stage == stage and d.build == built)

    def to_json(self) -> dict[str, Any]:
        return {
            "panels": {"generated": self.count("generate", True), "reused": self.count("generate", False)},
            "pages": {"composed": self.count("page", True), "reused": self.count("page", False)},
            "jobs": {"built": sum(d.build for d in self.decisions), "reused": sum(not d.build for d in self.decisions)},
            "outputs": self.outputs,
            "warnings": self.warnings,
            "repaired": self.repaired,
            **({"store": self.store} if self.store else {}),
            "executor": self.executor,
            "seconds": round(self.seconds, 3),
            "timings": self.timings,
            "resolve": self.resolve,
        }


def _code_signature() -> list[Any]:
    """Modification times of the package's files, so resolved jobs are never reused across code changes."""
    package = Path(__file__).resolve().parents[1]
    return sorted([str(p.relative_to(package)), p.stat().st_mtime_ns] for p in package.rglob("*") if p.suffix in (".py", ".yaml", ".json", ".ttf"))


@dataclass
class Resolved:
    """The book's keyed jobs, its facts for the exporters, and what resolving it redid (`resolve: 1 of 1,200 panels`)."""

    jobs: list[Job]
    meta: dict[str, Any]
    summary: str
    changes: dict[str, str]  # job id → why it differs from an earlier resolve ("prompt changed")


def resolved_jobs(project_file: Path, store: Store, preview: bool = False) -> tuple[list[Job], dict[str, Any]]:
    """The book's jobs and facts (see `resolve_jobs`)."""
    resolved = resolve_jobs(project_file, store, preview)
    return resolved.jobs, resolved.meta


def resolve_jobs(project_file: Path, store: Store, preview: bool = False) -> Resolved:
    """The book's jobs: reused from the last resolve when the project file and every file it read are unchanged, else
    resolved again reusing each panel whose inputs hold (project/resolve/reuse.py)."""
    import hashlib

    digest = hashlib.sha256(project_file.read_bytes()).hexdigest()
    state = PREVIEW_STATE if preview else RESOLVED_STATE
    cached = store.read_state(state)
    if resolve_still_holds(cached, digest):
        jobs = [Job(**j) for j in cached["jobs"]]
        panels = sum(1 for j in jobs if j.stage == "finish")
        summary = f"resolve: 0 of {panels:,} panels (the project file and the files it reads are unchanged)"
        return Resolved(jobs, cached["meta"], summary, cached.get("changes", {}))
    from comicforge.errors import ProjectError

    signature = StatCache()
    last = {job["id"]: job for job in cached.get("jobs", [])}
    panels_state = PREVIEW_PANELS_STATE if preview else PANELS_STATE
    book, jobs, cache = _resolve(project_file, store, last, store.read_state(panels_state), signature, preview)
    changes = change_reasons(jobs, last, cached.get("changes", {}), store.has)
    kept = {"code": _code_signature(), "jobs": [j.to_json() for j in jobs], "changes": changes}
    store.write_state(panels_state, {**cache.to_state(), "code": kept["code"]})  # (names the jobs it keeps by key)
    try:
        book.finish()
    except ProjectError:  # the panels resolved without problems are kept: the fix resolves only the others
        store.write_state(state, kept)
        raise
    meta = book_meta(book.settings, len(book.pages))
    files = signature(sorted(map(str, book.files_read)))
    store.write_state(state, {**kept, "digest": digest, "env": _search_environment(), "files": files, "meta": meta})
    return Resolved(jobs, meta, cache.summary(), changes)


def _search_environment() -> str:
    from comicforge.weights.locate import search_environment

    return search_environment()


def resolve_still_holds(cached: dict[str, Any], digest: str) -> bool:
    """Whether a stored resolve is of this project text, with the same code, model folders and files read."""
    unchanged = cached.get("digest") == digest and cached.get("env") == _search_environment() and cached.get("code") == _code_signature()
    return unchanged and stat_signature(list(cached.get("files", {}))) == cached["files"]


def _resolve(project_file: Path, store: Store, last: dict[str, Any], panels: dict[str, Any], signature: StatCache,
             preview: bool = False) -> tuple[Any, list[Job], Any]:
    """Load, validate and resolve the project into keyed jobs, reusing the panels the last resolve kept (`panels`,
    their jobs by id in `last`) whose inputs hold (the slow path: imports pydantic, jinja2…); the resolve, its jobs
    and its panel cache."""
    from comicforge.pipeline.reuse import reusing_jobs
    from comicforge.project.load import load_project
    from comicforge.project.resolve.book import BookResolve

    loaded = load_project(project_file)
    fingerprints = Fingerprints(store.root / "fingerprints.json")
    book = BookResolve(loaded, fingerprints)
    cache = _panel_cache(panels, signature, book.inputs())
    try:
        jobs = reusing_jobs(book, cache, last, stage_versions(), preview)
    finally:
        fingerprints.save()
    return book, jobs, cache


def _panel_cache(state: dict[str, Any], signature: StatCache, inputs: Any) -> Any:
    """The panels the last resolve kept, unless comicforge's code changed since."""
    from comicforge.project.resolve.reuse import PanelCache

    if not state:
        return PanelCache({}, signature, inputs, fallback="first resolve")
    if state.get("code") != _code_signature():
        return PanelCache({}, signature, inputs, fallback="comicforge's code changed")
    return PanelCache(state, signature, inputs)


PANELS_STATE = "panels.json"  # what each panel of the last resolve was made from and read (project/resolve/reuse.py)
PREVIEW_PANELS_STATE = "panels-preview.json"


def stage_versions() -> Any:
    """Each stage's version."""
    from comicforge.compose.page import VERSION as compose_version
    from comicforge.engines.registry import ENGINE_NAMES, engine_version
    from comicforge.pipeline.plan import Versions
    from comicforge.post.chain import VERSION as post_version

    return Versions({name: engine_version(name) for name in ENGINE_NAMES}, post_version, compose_version, EXPORT_VERSION)


EXPORT_VERSION = "export-2"


@dataclass
class Plan:
    """A build's decisions, the book's facts, and what its resolve redid."""

    decisions: list[Decision]
    meta: dict[str, Any]
    resolve: str  # `resolve: 1 of 1,200 panels (new or edited)`


def plan_build(project_file: Path, store: Store, options: BuildOptions) -> list[Decision]:
    """Which jobs of the requested build to reuse and which to build, with reasons."""
    return make_plan(project_file, store, options).decisions


def make_plan(project_file: Path, store: Store, options: BuildOptions, phases: Phases | None = None) -> Plan:
    """Resolve (or reuse the resolve), then decide for each job of the requested build."""
    phases = phases or Phases()
    resolved = resolve_jobs(project_file, store, options.preview)
    jobs, meta = resolved.jobs, resolved.meta
    phases.done("resolve")
    _check_pages(options.pages, meta["page_count"], project_file)
    chosen = select_jobs(jobs, meta, EXPORT_VERSION, options.exports, options.pages, options.proof)
    stored = {j.key: store.has(j.key) for j in chosen}
    damaged = {key for key, present in stored.items() if not present and store.entry(key).exists()}
    return Plan(decide(chosen, stored.__getitem__, resolved.changes, damaged), meta, resolved.summary)


class Phases:
    """Wall time of a build's phases, each measured from the end of the one before."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def done(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(now - self.last, 3)
        self.last = now


def _check_pages(pages: set[int] | None, count: int, project_file: Path) -> None:
    from comicforge.errors import ComicforgeError, Problem

    if pages and (min(pages) < 1 or max(pages) > count):
        raise ComicforgeError(Problem(f"--pages {min(pages)}-{max(pages)} is outside the book (pages 1-{count})", project_file.name))


def build(project: Path | str, options: BuildOptions | None = None) -> BuildReport:
    """Build a project: every missing job runs, outputs are refreshed in the output folder."""
    from comicforge.project.files import find_project_file

    options = options or BuildOptions()
    started = time.perf_counter()
    project_file = find_project_file(project)
    store = Store(project_file.parent)
    with store.lock():
        store.clean_tmp()
        phases = Phases()
        plan = make_plan(project_file, store, options, phases)
        decisions, meta = plan.decisions, plan.meta
        phases.done("plan")
        runtime = tuple(map(tuple, meta.get("runtime", ())))
        executor = choose_executor(options, runtime, any(d.build for d in decisions), Memo(store.root / MEMO_DIR))
        runner = Runner(store, {d.job.id: d.job for d in decisions}, options.progress, executor, batch_limit(runtime), options.listener)
        out = options.out or project_file.parent / "build"
        try:
            runner.run([d.job for d in decisions if d.build])
            phases.done("run")
            outputs = publish(decisions, out / "preview" if options.preview else out, runner)
            phases.done("publish")
            summary = executor.summary()
        finally:
            executor.close()
        record_build(store, [d.job.key for d in decisions])
        warnings = page_warnings(store, decisions)
        store.save_index()
    for warning in warnings:
        print(f"warning: {warning['message']}", file=sys.stderr)
    if runner.repaired:
        print(f"store: {len(runner.repaired)} damaged entries found and rebuilt", file=sys.stderr)
    stages = {stage: round(seconds, 3) for stage, seconds in runner.stage_seconds.items()}
    timings = {**phases.seconds, "export": round(sum(stages.get(stage, 0.0) for stage in EXPORTS), 3), "stages": stages}
    report = BuildReport(decisions, outputs, time.perf_counter() - started, warnings, runner.repaired, meta=meta, executor=summary,
                         timings=timings, resolve=plan.resolve)
    if options.usage:
        entries, size = store.usage()
        report.store = {"entries": entries, "bytes": size}
    return report


def choose_executor(options: BuildOptions, runtime: tuple[tuple[str, str], ...], work: bool, memo: Memo) -> Executor:
    """In this process, or on Ray when asked for and there is work to do (so a no-op rebuild never imports Ray)."""
    if options.executor == "local":
        return LocalExecutor(runtime, memo=memo)
    from comicforge.pipeline.farm import RayExecutor, ray_missing

    missing = ray_missing()
    if missing:
        raise ComicforgeError(missing)
    if not work:
        return LocalExecutor(runtime, memo=memo)
    return RayExecutor(runtime, options.address or os.environ.get("COMICFORGE_RAY_ADDRESS") or None, options.actors, memo=memo)


def page_warnings(store: Store, decisions: list[Decision]) -> list[dict[str, Any]]:
    """The lettering warnings stored with every page this build uses, built or reused."""
    found = []
    for decision in decisions:
        if decision.job.stage == "page":
            found += [{"page": decision.job.spec["number"], "message": text} for text in store.warnings(decision.job.key)]
    return found


BUILDS_DIR = "builds"
BUILDS_KEPT = 10


def record_build(store: Store, keys: list[str]) -> None:
    """Remember the keys a build used (for `gc --keep`), unless the last build used exactly the same."""
    import hashlib

    text = "\n".join(sorted(set(keys)))
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = store.root / BUILDS_DIR
    records = sorted(folder.glob("*.keys")) if folder.is_dir() else []
    if records and records[-1].stem.endswith(digest):
        return
    write_atomic(folder / f"{time.time_ns():020d}-{digest}.keys", text.encode())
    for old in records[: max(0, len(records) + 1 - BUILDS_KEPT)]:
        old.unlink(missing_ok=True)


def recent_builds(store: Store, count: int) -> list[set[str]]:
    """The key sets of the last `count` builds, newest first."""
    folder = store.root / BUILDS_DIR
    records = sorted(folder.glob("*.keys"), reverse=True)[:count] if folder.is_dir() else []
    return [set(path.read_text().split()) for path in records]


class Runner:
    """Runs jobs through their stages: resolves each job's inputs to verified entries, then stores its result."""

    def __init__(self, store: Store, jobs: dict[str, Job], progress: bool, executor: Executor, batch: int = 1,
                 listener: Callable[[int, int, str], None] | None = None):
        self.store, self.jobs, self.progress, self.executor, self.batch, self.listener = store, jobs, progress, executor, batch, listener
        self.checked: set[str] = set()  # keys verified by content (or written) in this build
        self.repaired: list[str] = []
        self.stage_seconds: dict[str, float] = {}
        self.done = self.total = 0

    def run(self, todo: list[Job]) -> None:
        """Submit each job once the jobs it reads are stored, in stage order (panels sharing model and LoRAs together;
        a panel's candidates first, in batches, where the executor batches); store results as they come."""
        self.total = len(todo)
        order = sorted(todo, key=lambda j: (STAGE_ORDER.index(j.stage), generate_order_key(j.spec) if j.stage == "generate" else ()))
        if self.batch > 1 and hasattr(self.executor, "execute_batch"):
            for group in candidate_batches([j for j in order if j.stage == "generate"], self.batch):
                if len(group) > 1:
                    self.run_batch([job for job in group if job.key not in self.checked])
        building = {j.key for j in order if j.key not in self.checked}  # (batched candidates are stored already)
        blockers = {j.id: {self.jobs[d].key for d in j.deps} & building for j in order}
        waiters: dict[str, list[Job]] = {}
        for job in order:
            for key in blockers[job.id]:
                waiters.setdefault(key, []).append(job)
        submitted: set[str] = set()
        outstanding = sum(self._submit(job, submitted) for job in order if not blockers[job.id])
        while outstanding:
            waited = time.perf_counter()
            job, outcome = self.executor.next_result()
            self._spent(job, waited)
            outstanding -= 1
            self.store_result(job, outcome)
            for waiter in waiters.pop(job.key, []):
                blockers[waiter.id].discard(job.key)
                if not blockers[waiter.id]:
                    outstanding += self._submit(waiter, submitted)

    def run_batch(self, jobs: list[Job]) -> None:
        """Generate a panel's candidates in one batch (they have no inputs) and store each result."""
        try:
            results = self.executor.execute_batch(jobs)  # type: ignore[attr-defined]
        except ComicforgeError as error:
            results = [error] * len(jobs)
        for job, result in zip(jobs, results):
            self.store_result(job, result)

    def _submit(self, job: Job, submitted: set[str]) -> bool:
        """Hand a job to the executor, unless a job of the same key was (its result serves both)."""
        if job.key in submitted or job.key in self.checked:
            return False
        submitted.add(job.key)
        self.executor.submit(job, self.inputs(job))
        return True

    def inputs(self, job: Job) -> Inputs:
        """A job's inputs: its dependencies' verified store folders and typed specs."""
        from comicforge.pipeline import stages

        return stages.Inputs(tuple(self.verified(dep) for dep in job.deps), tuple(stages.job_spec(self.jobs[dep]) for dep in job.deps))

    def run_job(self, job: Job) -> None:
        """Run one job on its verified inputs now and store its result."""
        inputs = self.inputs(job)
        outcome: Result | ComicforgeError
        try:
            waited = time.perf_counter()
            outcome = self.executor.execute(job, inputs)
            self._spent(job, waited)
        except ComicforgeError as error:
            outcome = error
        self.store_result(job, outcome)

    def store_result(self, job: Job, outcome: Result | ComicforgeError) -> None:
        """Publish a job's result under its key; a problem it hit is raised, naming the panel or page."""
        if isinstance(outcome, ComicforgeError):
            raise ComicforgeError([_for_job(problem, job) for problem in outcome.problems]) from None
        writing = time.perf_counter()  # (a stage's files are written here: its result's writer runs inside `put`)
        self.store.discard(job.key)  # a damaged entry of this key would block the publishing rename
        self.store.put(job.key, outcome.write, outcome.warnings)
        self._spent(job, writing)
        self.checked.add(job.key)
        self._tick(job)

    def verified(self, job_id: str) -> Path:
        """A job's store folder, its files checked against their recorded hashes once per build; a broken entry is rebuilt."""
        job = self.jobs[job_id]
        if job.key not in self.checked:
            if not self.store.verify(job.key):
                if self.store.entry(job.key).exists():
                    self.repaired.append(job.id)
                self.total += 1
                self.run_job(job)
            self.checked.add(job.key)
        return self.store.entry(job.key)

    def _spent(self, job: Job, since: float) -> None:
        """Add time spent on a job (waiting for its result, writing its files) to its stage's total (with Ray: the driver's
        wait, not the actor's work)."""
        self.stage_seconds[job.stage] = self.stage_seconds.get(job.stage, 0.0) + time.perf_counter() - since

    def _tick(self, job: Job) -> None:
        self.done += 1
        if self.listener:
            self.listener(self.done, self.total, f"{job.stage} {job.label}")
        if self.progress:
            width = 28
            filled = width * self.done // max(self.total, 1)
            line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {job.stage} {job.label:<20} {self.executor.activity()}"
            print(f"\r{line}\x1b[K", end="", file=sys.stderr, flush=True)  # (a terminal's) erase to the end of the line
            if self.done == self.total:
                print(file=sys.stderr)


def _for_job(problem: Problem, job: Job) -> Problem:
    """Name the panel or page a run-time problem belongs to, unless the message already does."""
    if job.stage in ("generate", "refine", "finish"):
        where = f"panel {job.spec.get('panel_id') or job.label.split()[0]}"
    elif job.stage == "page":
        where = job.label
    else:
        return problem
    if problem.path or problem.message.startswith(where):
        return problem
    return dataclasses.replace(problem, message=f"{where}: {problem.message}")


def _slug(title: str) -> str:
    """A file name from a title: accents folded ('Tōrō' → 'toro'), other characters to dashes."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", folded).strip("-").lower() or "book"


def publish(decisions: list[Decision], out: Path, runner: Runner) -> dict[str, Any]:
    """Refresh the human-facing files in the output folder from verified store entries (copy only what changed)."""
    store, folder = runner.store, str(out.resolve())  # paths as text: a thousand-page book publishes thousands
    manifest = store.read_state(OUTPUTS_STATE).get("files", {})
    outputs: dict[str, Any] = {"panels": {}, "variants": {}, "pages": []}
    picked = {dep for d in decisions if d.job.stage in ("refine", "finish") for dep in d.job.deps}
    changed = False
    for decision in decisions:
        job = decision.job
        for name, target, kind in _targets(job, folder, job.id in picked):
            record = manifest.get(target)
            if not (record and record[0] == job.key and _same_stat(target, record[1])):
                copy_atomic(runner.verified(job.id) / name, Path(target))
                manifest[target] = [job.key, _stat(target)]
                changed = True
            _note_output(outputs, job, target, kind)
    if changed:
        store.write_state(OUTPUTS_STATE, {"files": manifest})
    return outputs


def _targets(job: Job, out: str, picked: bool) -> list[tuple[str, str, str]]:
    """(file in the store entry, path in the output folder, what it is) for each published file of a job."""
    if job.stage == "generate":
        panel, index = candidate_of(job)
        candidate = [] if index is None else [("panel.png", os.path.join(out, "variants", f"{panel}-{index}.png"), "variant")]
        return candidate + ([("panel.png", os.path.join(out, "panels", f"{panel}.png"), "panel")] if index is None or picked else [])
    out = os.path.join(out, "proof") if job.spec.get("proof") else out
    if job.stage == "png":
        suffix = "jpg" if job.spec.get("format") == "jpeg" else "png"
        return [(f"page.{suffix}", os.path.join(out, "pages", f"page-{job.spec['page']:03d}.{suffix}"), "page")]
    if job.stage in ("pdf", "cbz", "spreads", "sheets"):
        suffix = "" if ":" not in job.id else "-pages-" + job.id.split(":")[1]
        name, ending = {"spreads": ("book.pdf", "-spreads.pdf"), "sheets": ("sheets.pdf", "-sheets.pdf")}.get(job.stage, (f"book.{job.stage}", f".{job.stage}"))
        return [(name, os.path.join(out, f"{_slug(job.spec['title'])}{suffix}{ending}"), job.stage)]
    return []


def _note_output(outputs: dict[str, Any], job: Job, target: str, kind: str) -> None:
    if kind == "variant":
        outputs["variants"].setdefault(candidate_of(job)[0], []).append(target)
    elif kind == "panel":
        outputs["panels"][candidate_of(job)[0]] = target
    elif kind == "page":
        outputs["pages"].append(target)
    else:
        outputs[kind] = target


def _stat(path: str) -> list[int]:
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]


def _same_stat(path: str, recorded: list[int]) -> bool:
    try:
        return _stat(path) == recorded
    except OSError:
        return False


