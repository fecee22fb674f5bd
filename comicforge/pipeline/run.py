"""The build, as a story: find the project, resolve (or reuse the resolved jobs), plan, run, publish."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comicforge.errors import ComicforgeError, Problem
from comicforge.pipeline.executors import Executor, LocalExecutor
from comicforge.pipeline.grouping import generate_order_key
from comicforge.pipeline.keys import Fingerprints, stat_signature
from comicforge.pipeline.plan import Decision, Job, decide, select_jobs
from comicforge.pipeline.store import Store, copy_atomic, write_atomic

RESOLVED_STATE = "resolved.json"
JOBS_STATE = "jobs.json"
OUTPUTS_STATE = "outputs.json"
EXPORTS = ("pdf", "png", "cbz", "spreads")
STAGE_ORDER = ("generate", "refine", "finish", "page", "png", "pdf", "spreads", "cbz")


@dataclass
class BuildOptions:
    """What to build and where."""

    out: Path | None = None
    pages: set[int] | None = None
    exports: tuple[str, ...] = ("pdf", "png")
    progress: bool = False
    proof: bool = False  # draw the live area and overflow markers; outputs go to build/proof/
    usage: bool = False  # measure the store's size for the report (walks the store)


@dataclass
class BuildReport:
    """What a build did and where its outputs are."""

    decisions: list[Decision]
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[dict[str, Any]] = field(default_factory=list)  # {"page": N, "message": …}, reused pages' too
    repaired: list[str] = field(default_factory=list)  # ids of jobs whose stored entry was broken and rebuilt
    store: dict[str, int] = field(default_factory=dict)  # {"entries": N, "bytes": N}, when asked for

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
            "seconds": round(self.seconds, 3),
        }


def _code_signature() -> list[Any]:
    """Modification times of the package's files, so resolved jobs are never reused across code changes."""
    package = Path(__file__).resolve().parents[1]
    return sorted([str(p.relative_to(package)), p.stat().st_mtime_ns] for p in package.rglob("*") if p.suffix in (".py", ".yaml", ".json", ".ttf"))


def resolved_jobs(project_file: Path, store: Store) -> tuple[list[Job], dict[str, Any]]:
    """The book's jobs: reused from the last resolve when the project file and every file it read are unchanged."""
    import hashlib

    digest = hashlib.sha256(project_file.read_bytes()).hexdigest()
    cached = store.read_state(RESOLVED_STATE)
    env = os.environ.get("COMICFORGE_MODELS", "")
    code = _code_signature()
    unchanged = cached.get("digest") == digest and cached.get("env") == env and cached.get("code") == code
    if unchanged and stat_signature(list(cached.get("files", {}))) == cached["files"]:
        return [Job(**j) for j in cached["jobs"]], cached["meta"]
    jobs, meta, files = _resolve(project_file, store)
    store.write_state(RESOLVED_STATE, {
        "digest": digest, "env": env, "code": code, "files": stat_signature(sorted(map(str, files))),
        "jobs": [j.to_json() for j in jobs], "meta": meta,
    })
    return jobs, meta


def _resolve(project_file: Path, store: Store) -> tuple[list[Job], dict[str, Any], set[Path]]:
    """Load, validate and resolve the project into keyed jobs (the slow path: imports pydantic, jinja2…)."""
    from comicforge.pipeline.plan import assign_keys, book_meta, page_jobs
    from comicforge.project.load import load_project
    from comicforge.project.resolve import resolve_book

    loaded = load_project(project_file)
    fingerprints = Fingerprints(store.root / "fingerprints.json")
    book, files = resolve_book(loaded, fingerprints)
    fingerprints.save()
    jobs = page_jobs(book, stage_versions(book))
    assign_keys(jobs)
    return jobs, book_meta(book), files


def stage_versions(book: Any) -> Any:
    """Each stage's version (engines only for those the book uses)."""
    from comicforge.compose.page import VERSION as compose_version
    from comicforge.engines.registry import engine_version
    from comicforge.pipeline.plan import Versions
    from comicforge.post.chain import VERSION as post_version

    engines = {name: engine_version(name) for name in {p.engine for p in book.panels}}
    return Versions(engines, post_version, compose_version, EXPORT_VERSION)


EXPORT_VERSION = "export-2"


def plan_build(project_file: Path, store: Store, options: BuildOptions) -> list[Decision]:
    """Which jobs of the requested build to reuse and which to build, with reasons."""
    return _plan(project_file, store, options)[0]


def _plan(project_file: Path, store: Store, options: BuildOptions) -> tuple[list[Decision], dict[str, Any]]:
    jobs, meta = resolved_jobs(project_file, store)
    _check_pages(options.pages, meta["page_count"], project_file)
    chosen = select_jobs(jobs, meta, EXPORT_VERSION, options.exports, options.pages, options.proof)
    stored = {j.key: store.has(j.key) for j in chosen}
    previous: dict[str, Any] = {}
    if not all(stored.values()):
        previous = store.read_state(JOBS_STATE).get("jobs", {})
    damaged = {key for key, present in stored.items() if not present and store.entry(key).exists()}
    return decide(chosen, stored.__getitem__, previous, damaged), meta


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
        decisions, meta = _plan(project_file, store, options)
        executor = LocalExecutor(tuple(map(tuple, meta.get("runtime", ()))))
        runner = Runner(store, {d.job.id: d.job for d in decisions}, options.progress, executor)
        try:
            runner.run([d.job for d in decisions if d.build])
            outputs = publish(decisions, options.out or project_file.parent / "build", runner)
        finally:
            executor.close()
            if any(d.build for d in decisions) or runner.repaired:
                _remember_jobs(store, [d.job for d in decisions])
        record_build(store, [d.job.key for d in decisions])
        warnings = page_warnings(store, decisions)
        store.save_index()
    for warning in warnings:
        print(f"warning: {warning['message']}", file=sys.stderr)
    if runner.repaired:
        print(f"store: {len(runner.repaired)} damaged entries found and rebuilt", file=sys.stderr)
    report = BuildReport(decisions, outputs, time.perf_counter() - started, warnings, runner.repaired)
    if options.usage:
        entries, size = store.usage()
        report.store = {"entries": entries, "bytes": size}
    return report


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


def _remember_jobs(store: Store, jobs: list[Job]) -> None:
    """Keep each job's spec so a later plan can say what changed."""
    known = store.read_state(JOBS_STATE).get("jobs", {})
    known.update({j.id: {"spec": j.spec, "version": j.version, "key": j.key} for j in jobs})
    store.write_state(JOBS_STATE, {"jobs": known})


class Runner:
    """Runs jobs through their stages: resolves each job's inputs to verified entries, then stores its result."""

    def __init__(self, store: Store, jobs: dict[str, Job], progress: bool, executor: Executor):
        self.store, self.jobs, self.progress, self.executor = store, jobs, progress, executor
        self.checked: set[str] = set()  # keys verified by content (or written) in this build
        self.repaired: list[str] = []
        self.done = self.total = 0

    def run(self, todo: list[Job]) -> None:
        """Run jobs stage by stage; panels sharing model and LoRAs run together."""
        self.total = len(todo)
        order = sorted(todo, key=lambda j: (STAGE_ORDER.index(j.stage), generate_order_key(j.spec) if j.stage == "generate" else ()))
        for job in order:
            if job.key not in self.checked:
                self.run_job(job)

    def run_job(self, job: Job) -> None:
        """Run one job on its verified inputs and store its result."""
        from comicforge.pipeline import stages

        inputs = stages.Inputs(tuple(self.verified(dep) for dep in job.deps), tuple(stages.job_spec(self.jobs[dep]) for dep in job.deps))
        try:
            result = self.executor.execute(job, inputs)
        except ComicforgeError as error:
            raise ComicforgeError([_for_job(problem, job) for problem in error.problems]) from None
        self.store.discard(job.key)  # a damaged entry of this key would block the publishing rename
        self.store.put(job.key, result.write, result.warnings)
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

    def _tick(self, job: Job) -> None:
        self.done += 1
        if self.progress:
            width = 28
            filled = width * self.done // max(self.total, 1)
            print(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {job.stage} {job.label:<20}", end="", file=sys.stderr, flush=True)
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
    store, out = runner.store, out.resolve()
    manifest = store.read_state(OUTPUTS_STATE).get("files", {})
    outputs: dict[str, Any] = {"panels": {}, "pages": []}
    for decision in decisions:
        job = decision.job
        for name, target in _targets(job, out):
            record = manifest.get(str(target))
            if not (record and record[0] == job.key and _same_stat(target, record[1])):
                copy_atomic(runner.verified(job.id) / name, target)
                manifest[str(target)] = [job.key, _stat(target)]
            _note_output(outputs, job, target)
    store.write_state(OUTPUTS_STATE, {"files": manifest})
    return outputs


def _targets(job: Job, out: Path) -> list[tuple[str, Path]]:
    """(file in the store entry, path in the output folder) for each published file of a job."""
    if job.stage == "generate":
        return [("panel.png", out / "panels" / f"{job.label}.png")]
    out = out / "proof" if job.spec.get("proof") else out
    if job.stage == "png":
        suffix = "jpg" if job.spec.get("format") == "jpeg" else "png"
        return [(f"page.{suffix}", out / "pages" / f"page-{job.spec['page']:03d}.{suffix}")]
    if job.stage in ("pdf", "cbz", "spreads"):
        suffix = "" if ":" not in job.id else "-pages-" + job.id.split(":")[1]
        name, kind = ("book.pdf", "-spreads.pdf") if job.stage == "spreads" else (f"book.{job.stage}", f".{job.stage}")
        return [(name, out / f"{_slug(job.spec['title'])}{suffix}{kind}")]
    return []


def _note_output(outputs: dict[str, Any], job: Job, target: Path) -> None:
    if job.stage == "generate":
        outputs["panels"][job.label] = str(target)
    elif job.stage == "png":
        outputs["pages"].append(str(target))
    else:
        outputs[job.stage] = str(target)


def _stat(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _same_stat(path: Path, recorded: list[int]) -> bool:
    try:
        return _stat(path) == recorded
    except OSError:
        return False


