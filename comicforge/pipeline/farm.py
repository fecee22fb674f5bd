"""Panel farms: generate and refine jobs on Ray actors that keep engines resident; the store stays on the driver.

Each job travels as a `Parcel`: its spec's JSON form, its inputs' store files and the files its spec names (control
sources, init images, masks, reference images) as bytes, the latter put into Ray's object store once per content
fingerprint. Model files never travel: each worker finds them itself (`COMICFORGE_MODELS`, else the same path) and
checks their fingerprints. What a job makes comes back as bytes; the runner publishes it like a local result.
Everything else (finish, page, exports) runs in this process, beside the farm. Ray is imported only here, and only
when a build with `--executor ray` has work to do.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comicforge.errors import ComicforgeError, Problem
from comicforge.pipeline.executors import LocalExecutor, engine_factory
from comicforge.pipeline.grouping import generate_order_key
from comicforge.pipeline.memo import no_memo

if TYPE_CHECKING:
    from comicforge.pipeline.plan import Job
    from comicforge.pipeline.stages import Inputs, Result
    from comicforge.spec.files import FileRef

REMOTE_STAGES = ("generate", "refine")  # the GPU work; the rest is cheap next to it and reads page-sized inputs
INSTALL = "pip install 'comicforge-studio[ray]'"
MAX_RETRIES = 3  # a job whose actor dies is run again elsewhere, at most this many times
CONNECT_TIMEOUT = 10.0  # seconds to wait for a cluster's port to answer
CLOSE_TIMEOUT = 2.0  # seconds actors get to release their engines and files before they are killed
DEPTH = 2  # jobs sent ahead to each actor, so it never waits for the driver between two panels
# Ray reads this when it is imported: "0" makes a cluster started here take 127.0.0.1 as its node address, so its
# servers (GCS, raylet, workers) listen on the loopback interface only instead of on every interface.
LOOPBACK_ONLY = ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

Group = tuple[str, str, tuple[str, ...]]  # engine, model fingerprint, LoRA fingerprints: what an actor keeps loaded


def ray_missing() -> Problem | None:
    """The problem of asking for the Ray executor without Ray installed (looked up, not imported)."""
    import importlib.util

    if importlib.util.find_spec("ray") is not None:
        return None
    return Problem(f"--executor ray needs Ray, which is not installed: {INSTALL}")


# --- what travels with a job --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelHint:
    """A model file a job reads: the driver's path and fingerprint, and its name relative to a models folder."""

    path: str
    fingerprint: str
    relative: str | None  # under one of the driver's COMICFORGE_MODELS folders (or its Hugging Face cache)


@dataclass(frozen=True)
class ShippedFile:
    """A small input file the spec names, travelling as bytes (a Ray object reference, put once per content)."""

    path: str
    fingerprint: str
    data: Any  # ray.ObjectRef to the bytes


@dataclass(frozen=True)
class Parcel:
    """Everything a worker needs to run one job without the driver's disk."""

    job: Job
    inputs: tuple[dict[str, bytes], ...]  # each dependency's store files (a refine step's previous image)
    input_specs: tuple[Any, ...]
    files: tuple[ShippedFile, ...]
    models: tuple[ModelHint, ...]
    group: Group


@dataclass(frozen=True)
class Returned:
    """What a worker sends back: the job's files as bytes and warnings, or the problems it hit; and who ran it."""

    files: dict[str, bytes]
    warnings: tuple[str, ...]
    problems: tuple[Problem, ...]
    node: str
    loads: dict[str, int]  # how often this actor has switched to each model/LoRA set


def affinity(job: Job) -> Group:
    """The engine, model and LoRA set a generate or refine job needs resident."""
    engine, (model, loras, _) = generate_order_key(job.spec["request"] if job.stage == "refine" else job.spec)
    return engine, model, loras


def file_refs(value: Any) -> Iterator[dict[str, Any]]:
    """Every FileRef in a spec's JSON form."""
    if isinstance(value, dict):
        if set(value) == {"path", "fingerprint"}:
            yield value
            return
        for item in value.values():
            yield from file_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from file_refs(item)


def with_paths(value: Any, paths: dict[tuple[str, str], str]) -> Any:
    """A spec's JSON form with each FileRef's path replaced by where that file is here."""
    if isinstance(value, dict):
        if set(value) == {"path", "fingerprint"}:
            return {**value, "path": paths.get((value["path"], value["fingerprint"]), value["path"])}
        return {name: with_paths(item, paths) for name, item in value.items()}
    if isinstance(value, list):
        return [with_paths(item, paths) for item in value]
    return value


def model_files(spec: Any) -> list[FileRef]:
    """The weight files a generate or refine job reads: found on each worker, never shipped."""
    from comicforge.spec.jobs import RefineJob
    from comicforge.spec.requests import Upscale

    request, step = (spec.request, spec.step) if isinstance(spec, RefineJob) else (spec, None)
    refs = [request.model, request.ip_adapter, *(a.file for a in request.loras), *request.embeddings, *(c.model for c in request.controls)]
    if isinstance(step, Upscale):
        refs.append(step.model)
    return [ref for ref in refs if ref is not None]


def model_hint(ref: FileRef) -> ModelHint:
    """Where a worker may look for a model: its name under the driver's models folder or Hugging Face cache."""
    from comicforge.weights.locate import hf_cache_dir, model_dirs

    path = Path(ref.path)
    for folder in [*model_dirs(), hf_cache_dir()]:
        if path.is_relative_to(folder.resolve()):
            return ModelHint(ref.path, ref.fingerprint, path.relative_to(folder.resolve()).as_posix())
    return ModelHint(ref.path, ref.fingerprint, None)


def folder_files(folder: Path) -> dict[str, bytes]:
    """A store entry's files as bytes (its manifest stays behind)."""
    from comicforge.pipeline.store import MANIFEST

    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}


def write_files(files: dict[str, bytes], folder: Path) -> None:
    """Write returned files into a folder (the store's private one, before it is sealed and published)."""
    for name, data in files.items():
        (folder / name).write_bytes(data)


# --- the worker side ----------------------------------------------------------------------------------------------


def node_cache() -> Path:
    """This node's comicforge cache folder (`$XDG_CACHE_HOME/comicforge`, else `~/.cache/comicforge`)."""
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "comicforge"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class ModelFinder:
    """Finds a job's model files on this node and checks them against the job's fingerprints (hashed once per actor)."""

    def __init__(self, cache: Path, node: str):
        from comicforge.pipeline.keys import Fingerprints

        self.node = node
        self.fingerprints = Fingerprints(cache / "fingerprints.json")  # kept across builds: a file is hashed once per node
        self.found: dict[tuple[str, str], str] = {}

    def candidates(self, hint: ModelHint) -> list[Path]:
        """Where to look, in order: this node's COMICFORGE_MODELS (by relative name, then file name), its Hugging
        Face cache, then the driver's own path."""
        from comicforge.weights.locate import hf_cache_dir, model_dirs

        name = Path(hint.path).name
        places = [folder / part for folder in model_dirs() for part in dict.fromkeys(filter(None, (hint.relative, name)))]
        if hint.relative and hint.relative.startswith("models--"):
            places.append(hf_cache_dir() / hint.relative)
        return [*places, Path(hint.path)]

    def locate(self, hint: ModelHint) -> str:
        """This node's copy of a model file (the first place that has one, as on a PATH), checked against the job's
        fingerprint; a problem naming the node and the file when it is missing or different."""
        if (hint.path, hint.fingerprint) in self.found:
            return self.found[(hint.path, hint.fingerprint)]
        places = self.candidates(hint)
        name = Path(hint.path).name
        place = next((p for p in places if p.exists()), None)
        if place is None:
            raise ComicforgeError(f"node {self.node}: model file {name} not found (looked in {', '.join(map(str, places))}); put it in that "
                                  "node's COMICFORGE_MODELS or at the same path as on the driver")
        fingerprint = self.fingerprints(place)
        self.fingerprints.save()
        if fingerprint != hint.fingerprint:
            raise ComicforgeError(f"node {self.node}: model file {name} differs from the build's: {place} is {fingerprint[:19]}…, the driver's "
                                  f"{hint.path} is {hint.fingerprint[:19]}…; give every node the same file")
        self.found[(hint.path, hint.fingerprint)] = str(place)
        return str(place)


class PanelWorker:
    """A Ray actor's state: resident engines (a LocalExecutor of its own), located models, shipped files, load counts."""

    def __init__(self, runtime: tuple[tuple[str, str], ...], factory: Callable[[str], Any] = engine_factory):
        import socket

        import ray

        self.node = f"{socket.gethostname()} ({ray.util.get_node_ip_address()})"
        self.scratch = Path(tempfile.mkdtemp(prefix="comicforge-worker-"))
        self.local = LocalExecutor(runtime, factory)
        self.models = ModelFinder(node_cache(), self.node)
        self.group: Group | None = None
        self.loads: Counter[str] = Counter()
        self.shipped: dict[str, str] = {}  # a shipped file's path on the driver → its copy here

    def pid(self) -> int:
        return os.getpid()

    def run(self, parcel: Parcel) -> Returned:
        """Run one job: its files placed here, its engine version checked, its outputs returned as bytes."""
        try:
            job, inputs = self.unpack(parcel)
            self.check_version(job)
            if parcel.group != self.group:
                self.group = parcel.group
                self.loads[" ".join([parcel.group[0], parcel.group[1], *parcel.group[2]]).strip()] += 1
            result = self.local.execute(job, inputs)
            out = self.scratch / "out"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            result.write(out)
            return Returned(folder_files(out), result.warnings, (), self.node, dict(self.loads))
        except ComicforgeError as error:
            problems = tuple(self.as_on_driver(problem) for problem in error.problems)
            return Returned({}, (), problems, self.node, dict(self.loads))

    def as_on_driver(self, problem: Problem) -> Problem:
        """A problem naming the driver's paths of the shipped files rather than this actor's copies."""
        message = problem.message
        for driver_path, here in self.shipped.items():
            message = message.replace(here, driver_path)
        return dataclasses.replace(problem, message=message)

    def close(self) -> None:
        """Release the engines and this actor's copies of the build's files."""
        self.local.close()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def unpack(self, parcel: Parcel) -> tuple[Job, Inputs]:
        """The job with its spec's paths pointing at files on this node, and its inputs in scratch folders."""
        import ray

        from comicforge.pipeline.stages import Inputs

        paths = {(m.path, m.fingerprint): self.models.locate(m) for m in parcel.models}
        for shipped in parcel.files:
            folder = self.scratch / "files" / re.sub(r"\W", "_", shipped.fingerprint)[:80]
            target = folder / Path(shipped.path).name
            if not target.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                target.write_bytes(ray.get(shipped.data))
            paths[(shipped.path, shipped.fingerprint)] = self.shipped[shipped.path] = str(target)
        folders = []
        for index, files in enumerate(parcel.inputs):
            folder = self.scratch / "inputs" / str(index)
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            write_files(files, folder)
            folders.append(folder)
        job = dataclasses.replace(parcel.job, spec=with_paths(parcel.job.spec, paths))
        return job, Inputs(tuple(folders), parcel.input_specs)

    def check_version(self, job: Job) -> None:
        """Same engine version here as on the driver (it is in every key), else the job would store other bytes."""
        from comicforge.engines.registry import engine_version

        engine = affinity(job)[0]
        if engine_version(engine) != job.version:
            raise ComicforgeError(f"node {self.node}: its comicforge has {engine} engine version {engine_version(engine)}, this build's "
                                  f"is {job.version}: install the same comicforge on every node")


# --- the driver side ----------------------------------------------------------------------------------------------


@dataclass
class Pending:
    """A remote job waiting for an actor."""

    job: Job
    parcel: Parcel
    retries: int = 0


@dataclass
class Slot:
    """One actor as the driver sees it: what it holds, what it runs, what it did."""

    handle: Any
    name: str
    kind: str  # "gpu" or "cpu"
    group: Group | None = None
    running: list[Any] = field(default_factory=list)  # object refs of the jobs sent to it
    jobs: int = 0
    node: str = ""
    loads: dict[str, int] = field(default_factory=dict)


def choose(queues: dict[Group, deque[Pending]], slot: Slot, held: set[Group]) -> Pending | None:
    """The next job for an actor: one of the set it holds; else of a set no other actor holds; else of the largest
    set, when its holders have more queued than they take at once (one load here beats waiting); else none."""
    groups = [g for g, queue in queues.items() if queue]
    if slot.group in groups:
        return queues[slot.group].popleft()
    free = [g for g in groups if g not in held]
    if free:
        return queues[free[0]].popleft()
    largest = max(groups, key=lambda g: len(queues[g]), default=None)
    if largest is not None and len(queues[largest]) > DEPTH:
        return queues[largest].popleft()
    return None


class RayExecutor:
    """Generate and refine jobs on Ray actors (one per GPU, or CPU actors), routed by model and LoRA set; the rest here."""

    def __init__(self, runtime: tuple[tuple[str, str], ...], address: str | None, actors: int | None = None,
                 factory: Callable[[str], Any] = engine_factory, memo: Callable[[str, bytes, Callable[[], bytes]], bytes] = no_memo):
        self.ray, self.owns_connection = _connect(address)
        self.address = address or "local"
        self.runtime, self.factory, self.actors = runtime, factory, actors
        self.local = LocalExecutor(runtime, memo=memo)
        self.token = secrets.token_hex(3)
        self.slots: dict[str, list[Slot]] = {}  # by kind, created when the first job of that kind comes
        self.queues: dict[str, dict[Group, deque[Pending]]] = {}
        self.flying: dict[Any, tuple[Pending, Slot]] = {}
        self.blobs: dict[str, Any] = {}  # fingerprint → object ref of a shipped file's bytes
        self.returned: list[tuple[Job, Result | ComicforgeError]] = []  # remote results that came while `execute` waited
        self.retries = 0
        self.started = 0

    # --- the Executor protocol ----------------------------------------------------------------------------------

    def execute(self, job: Job, inputs: Inputs) -> Result:
        """One job now: through the farm when it is remote work (the jobs already sent keep running)."""
        if job.stage not in REMOTE_STAGES:
            return self.local.execute(job, inputs)
        self.submit(job, inputs)
        parked = []
        while True:
            done, outcome = self._next_remote()
            if done is job:
                break
            parked.append((done, outcome))
        self.returned.extend(parked)
        if isinstance(outcome, ComicforgeError):
            raise outcome
        return outcome

    def submit(self, job: Job, inputs: Inputs) -> None:
        if job.stage not in REMOTE_STAGES:
            self.local.submit(job, inputs)
            return
        parcel = self._pack(job, inputs)
        kind = self._kind(parcel.group[0])
        self.queues.setdefault(kind, {}).setdefault(parcel.group, deque()).append(Pending(job, parcel))  # sent when results are awaited

    def next_result(self) -> tuple[Job, Result | ComicforgeError]:
        if self.returned:
            return self.returned.pop(0)
        while self.flying or self._queued():
            done = self._wait(0 if self.local.queue else None)
            if done is not None:
                return done
            if self.local.queue:
                return self.local.next_result()
        return self.local.next_result()

    def activity(self) -> str:
        busy = [f"{s.name}:{len(s.running)}" for slots in self.slots.values() for s in slots if s.running]
        return f"· {len(self.flying)} running, {self._queued()} queued · " + " ".join(busy)

    def summary(self) -> dict[str, Any]:
        actors = [{"name": s.name, "kind": s.kind, "node": s.node, "jobs": s.jobs, "loads": s.loads} for slots in self.slots.values() for s in slots]
        return {"kind": "ray", "address": self.address, "actors": actors, "retries": self.retries}

    def close(self) -> None:
        """Stop the actors (outstanding work is dropped: nothing of it was stored) and leave the cluster."""
        handles = [slot.handle for slots in self.slots.values() for slot in slots]
        if handles:
            self.ray.wait([handle.close.remote() for handle in handles], num_returns=len(handles), timeout=CLOSE_TIMEOUT)
        for handle in handles:
            self.ray.kill(handle)
        self.local.close()
        if self.owns_connection:
            self.ray.shutdown()

    # --- phases -------------------------------------------------------------------------------------------------

    def _pack(self, job: Job, inputs: Inputs) -> Parcel:
        """A job's parcel: model hints for its weight files, every other file it names shipped (once per content)."""
        from comicforge.pipeline.stages import job_spec

        models = {(m.path, m.fingerprint) for m in model_files(job_spec(job))}
        files, hints = [], []
        for ref in {(r["path"], r["fingerprint"]): r for r in file_refs(job.spec)}:
            path, fingerprint = ref
            if ref in models:
                from comicforge.spec.files import FileRef

                hints.append(model_hint(FileRef(path, fingerprint)))
            elif Path(path).is_file():
                if fingerprint not in self.blobs:
                    self.blobs[fingerprint] = self.ray.put(Path(path).read_bytes())
                files.append(ShippedFile(path, fingerprint, self.blobs[fingerprint]))
        return Parcel(job, tuple(folder_files(f) for f in inputs.folders), inputs.specs, tuple(files), tuple(hints), affinity(job))

    def _kind(self, engine: str) -> str:
        """Which actors run an engine's jobs: GPU actors for diffusion when the cluster has GPUs, else CPU actors."""
        if engine == "diffusion" and self.ray.cluster_resources().get("GPU", 0) >= 1:
            return "gpu"
        return "cpu"

    def _pool(self, kind: str) -> list[Slot]:
        """The actors of a kind, started on first use: one per GPU, or one per CPU (or --actors, within the cluster)."""
        if kind not in self.slots:
            capacity = int(self.ray.cluster_resources().get("GPU" if kind == "gpu" else "CPU", 1))
            self.slots[kind] = [self._start(kind) for _ in range(max(1, min(self.actors or capacity, capacity)))]
        return self.slots[kind]

    def _start(self, kind: str) -> Slot:
        """A new actor of a kind (GPU actors take one GPU each; CPU actors one CPU)."""
        name = f"comicforge-{kind}-{self.started}-{self.token}"
        self.started += 1
        resources = {"num_gpus": 1, "num_cpus": 0} if kind == "gpu" else {"num_cpus": 1}
        actor = self.ray.remote(PanelWorker).options(name=name, max_restarts=0, max_task_retries=0, **resources)
        return Slot(actor.remote(self.runtime, self.factory), name, kind)

    def _queued(self) -> int:
        return sum(len(queue) for groups in self.queues.values() for queue in groups.values())

    def _dispatch(self) -> None:
        """Send queued jobs to actors with room, each preferring the model and LoRA set it holds."""
        for kind, queues in self.queues.items():
            slots = self._pool(kind)
            for slot in slots:
                held = {s.group for s in slots if s is not slot and s.group is not None}
                while len(slot.running) < DEPTH:
                    pending = choose(queues, slot, held)
                    if pending is None:
                        break
                    ref = slot.handle.run.remote(pending.parcel)
                    slot.group = pending.parcel.group
                    slot.running.append(ref)
                    self.flying[ref] = (pending, slot)

    def _wait(self, timeout: float | None) -> tuple[Job, Result | ComicforgeError] | None:
        """The next remote job done within the timeout (None when none, or when it was lost and sent again)."""
        self._dispatch()
        if not self.flying:
            return None
        done, _ = self.ray.wait(list(self.flying), num_returns=1, timeout=timeout)
        return self._collect(done[0]) if done else None

    def _next_remote(self) -> tuple[Job, Result | ComicforgeError]:
        while True:
            done = self._wait(None)
            if done is not None:
                return done

    def _collect(self, ref: Any) -> tuple[Job, Result | ComicforgeError] | None:
        """A finished job's result; a job whose actor died is sent again (to a new actor), at most MAX_RETRIES times."""
        from comicforge.pipeline.stages import Result

        pending, slot = self.flying.pop(ref)
        slot.running.remove(ref)
        try:
            returned: Returned = self.ray.get(ref)
        except _lost_errors() as error:
            return self._lost(pending, slot, error)
        slot.jobs, slot.node, slot.loads = slot.jobs + 1, returned.node, returned.loads
        if returned.problems:
            return pending.job, ComicforgeError(list(returned.problems))
        return pending.job, Result(partial(write_files, returned.files), returned.warnings)

    def _lost(self, pending: Pending, slot: Slot, error: Exception) -> tuple[Job, ComicforgeError] | None:
        """Replace a dead actor; queue its job again at the front of its set, or give up after MAX_RETRIES."""
        slots = self.slots[slot.kind]
        if slot in slots:
            self.ray.kill(slot.handle)
            slots[slots.index(slot)] = self._start(slot.kind)
        if pending.retries >= MAX_RETRIES:
            reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
            return pending.job, ComicforgeError(f"the actors running it died {MAX_RETRIES + 1} times (last: {reason})")
        self.retries += 1
        pending.retries += 1
        self.queues[slot.kind][pending.parcel.group].appendleft(pending)
        return None


def _lost_errors() -> tuple[type[Exception], ...]:
    """Ray's errors for work lost with its worker, actor or node (a job error is returned, never raised)."""
    from ray import exceptions

    return (exceptions.RayActorError, exceptions.WorkerCrashedError, exceptions.ObjectLostError, exceptions.NodeDiedError,
            exceptions.LocalRayletDiedError)


def _connect(address: str | None) -> tuple[Any, bool]:
    """The ray module connected to the cluster at `address` (else a new local one), and whether this build connected it.

    A program that called `ray.init` itself keeps its connection: the build uses it and leaves it open."""
    missing = ray_missing()
    if missing:
        raise ComicforgeError(missing)
    if not address:
        loopback_only()
    import ray

    if ray.is_initialized():
        return ray, False
    if address:
        _check_reachable(address)
    where = {"address": address} if address else {"address": "local", "include_dashboard": False}
    try:
        ray.init(**where, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ComicforgeError(f"cannot reach the Ray cluster at {address}: {str(error).strip().splitlines()[0][:300]} "
                              "(start one with `ray start --head`, or give its address: --address HOST:PORT)") from None
    return ray, True


def loopback_only() -> None:
    """Make a local cluster this process starts listen on 127.0.0.1 only (no effect once Ray is imported)."""
    if "ray" not in sys.modules:
        os.environ.setdefault(*LOOPBACK_ONLY)


def _check_reachable(address: str) -> None:
    """A cluster address that answers on its port (Ray itself retries an unreachable one for minutes)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        if address == "auto":
            return  # Ray's own lookup of the cluster started on this machine
        raise ComicforgeError(f"not a Ray cluster address: {address!r} (HOST:PORT, e.g. 10.0.0.5:6379, or ray://HOST:10001)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise ComicforgeError(f"cannot reach the Ray cluster at {address}: {error.strerror or error} (is `ray start --head` running "
                              "there, and is the port open?)") from None
