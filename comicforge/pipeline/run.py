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
from comicforge.pipeline.keys import Fingerprints, stat_signature
from comicforge.pipeline.plan import Decision, Job, decide, select_jobs
from comicforge.pipeline.store import Store, copy_atomic

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


@dataclass
class BuildReport:
    """What a build did and where its outputs are."""

    decisions: list[Decision]
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, stage: str, built: bool) -> int:
        return sum(1 for d in self.decisions if d.job.stage == stage and d.build == built)

    def to_json(self) -> dict[str, Any]:
        return {
            "panels": {"generated": self.count("generate", True), "reused": self.count("generate", False)},
            "pages": {"composed": self.count("page", True), "reused": self.count("page", False)},
            "jobs": {"built": sum(d.build for d in self.decisions), "reused": sum(not d.build for d in self.decisions)},
            "outputs": self.outputs,
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
    if cached.get("digest") == digest and cached.get("env") == env and cached.get("code") == code:
        if stat_signature(list(cached.get("files", {}))) == cached["files"]:
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
    previous: dict[str, Any] = {}
    if not all(store.has(j.key) for j in chosen):
        previous = store.read_state(JOBS_STATE).get("jobs", {})
    return decide(chosen, store.has, previous), meta


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
        runner = Runner(store, {d.job.id: d.job for d in decisions}, options.progress, tuple(map(tuple, meta.get("runtime", ()))))
        try:
            runner.run([d.job for d in decisions if d.build])
        finally:
            runner.close()
            if any(d.build for d in decisions):
                _remember_jobs(store, [d.job for d in decisions])
        outputs = publish(store, decisions, options.out or project_file.parent / "build", project_file.parent)
    return BuildReport(decisions, outputs, time.perf_counter() - started)


def _remember_jobs(store: Store, jobs: list[Job]) -> None:
    """Keep each job's spec so a later plan can say what changed."""
    known = store.read_state(JOBS_STATE).get("jobs", {})
    known.update({j.id: {"spec": j.spec, "version": j.version, "key": j.key} for j in jobs})
    store.write_state(JOBS_STATE, {"jobs": known})


class Runner:
    """Runs jobs through their stages; engines stay resident for the whole build."""

    def __init__(self, store: Store, jobs: dict[str, Job], progress: bool, runtime: tuple[tuple[str, str], ...] = ()):
        self.store, self.jobs, self.progress = store, jobs, progress
        self.runtime = runtime  # engine options outside the keys (memory savers)
        self.engines: dict[str, Any] = {}
        self.done = 0

    def run(self, todo: list[Job]) -> None:
        """Run jobs stage by stage; panels sharing model and LoRAs run together."""
        self.total = len(todo)
        order = sorted(todo, key=lambda j: (STAGE_ORDER.index(j.stage), _model_group(j) if j.stage == "generate" else ""))
        for job in order:
            if not self.store.has(job.key):
                self.run_job(job)
            self._tick(job)

    def run_job(self, job: Job, retry: bool = True) -> None:
        """Run one job; an unreadable input entry is discarded, rebuilt, and the job retried once."""
        from comicforge.pipeline import stages

        try:
            stages.STAGES[job.stage](self, job)
        except ComicforgeError as error:
            raise ComicforgeError([_for_job(problem, job) for problem in error.problems]) from None
        except stages.BrokenEntry as broken:
            if not retry:
                raise
            self.store.discard(broken.key)
            dep = next(j for j in self.jobs.values() if j.key == broken.key)
            self.run_job(dep, retry=False)
            self.run_job(job, retry=False)

    def entry(self, job_id: str) -> Path:
        """The store folder of a job's result (built first if missing)."""
        job = self.jobs[job_id]
        if not self.store.has(job.key):
            self.run_job(job)
        return self.store.entry(job.key)

    def engine(self, name: str) -> Any:
        if name not in self.engines:
            from comicforge.engines.registry import create_engine

            self.engines[name] = create_engine(name)
        return self.engines[name]

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()

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


def _model_group(job: Job) -> str:
    spec = job.spec
    model = (spec.get("model") or {}).get("fingerprint", "")
    loras = ",".join(sorted(f"{l['file']['fingerprint']}@{l['weight']}" for l in spec.get("loras", [])))
    return f"{spec.get('engine')}|{model}|{loras}"


def _slug(title: str) -> str:
    """A file name from a title: accents folded ('Tōrō' → 'toro'), other characters to dashes."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", folded).strip("-").lower() or "book"


def publish(store: Store, decisions: list[Decision], out: Path, root: Path) -> dict[str, Any]:
    """Refresh the human-facing files in the output folder from the store (copy only what changed)."""
    manifest = store.read_state(OUTPUTS_STATE).get("files", {})
    outputs: dict[str, Any] = {"panels": {}, "pages": []}
    for decision in decisions:
        job = decision.job
        targets = _targets(job, out)
        for name, target in targets:
            source = store.entry(job.key) / name
            record = manifest.get(str(target))
            if not (record and record[0] == job.key and _same_stat(target, record[1])):
                copy_atomic(source, target)
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
        outputs["panels"][job.label] = str(target.resolve())
    elif job.stage == "png":
        outputs["pages"].append(str(target.resolve()))
    else:
        outputs[job.stage] = str(target.resolve())


def _stat(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _same_stat(path: Path, recorded: list[int]) -> bool:
    try:
        return _stat(path) == recorded
    except OSError:
        return False


