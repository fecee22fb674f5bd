"""Panel farms on a real Ray cluster started here (this machine, 2 CPUs): same bytes as a local build, jobs routed to the
actor that holds their model, a killed actor's jobs run again elsewhere, a worker's different model file refused."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from support import REPO, TESTS, descendants, listening_sockets, run_cli, socket_inodes

from comicforge.cli import main
from comicforge.errors import ComicforgeError
from comicforge.pipeline.farm import ModelFinder, ModelHint, choose
from comicforge.pipeline.run import BuildOptions, build
from comicforge.pipeline.store import Store

ray = pytest.importorskip("ray")
WORKER_MODEL = "worker-differs.safetensors"  # in the workers' COMICFORGE_MODELS, with other bytes than the driver's


@pytest.fixture(autouse=True)
def _node_cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray workers this module's CLI builds start keep their fingerprint cache in the test's folder, not the home folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local Ray cluster for this module; its workers see their own COMICFORGE_MODELS folder (returned)."""
    worker_models = tmp_path_factory.mktemp("worker-models")
    worker_cache = tmp_path_factory.mktemp("worker-cache")  # the nodes' fingerprint caches stay out of the home folder
    (worker_models / WORKER_MODEL).write_bytes(b"the worker's copy, not the driver's")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"COMICFORGE_MODELS": str(worker_models), "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(worker_cache)}})
    yield worker_models
    ray.shutdown()


def _digests(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*")) if p.is_file()}


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("build", ".comicforge"))
    return target


def _farm(project: Path, out: Path, exports: tuple[str, ...] = ("pdf", "png", "cbz")) -> dict:
    return build(project, BuildOptions(out=out, exports=exports, executor="ray")).to_json()


def test_a_farm_build_of_the_demo_is_byte_identical_to_a_local_build(cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    local = _copy(REPO / "projects" / "demo", tmp_path / "local")
    farm = _copy(REPO / "projects" / "demo", tmp_path / "farm")
    build(local, BuildOptions(out=tmp_path / "local-out", exports=("pdf", "png", "cbz")))
    report = _farm(farm, tmp_path / "farm-out")
    assert _digests(tmp_path / "farm-out") == _digests(tmp_path / "local-out")
    executor = report["executor"]
    assert executor["kind"] == "ray" and executor["retries"] == 0
    assert len(executor["actors"]) == 2 and sum(a["jobs"] for a in executor["actors"]) == report["panels"]["generated"] == 11
    assert all(a["loads"] == {"draft": 1} for a in executor["actors"] if a["jobs"])  # the draft engine made once per actor
    assert executor["actors"][0]["node"] == f"{socket.gethostname()} ({ray.util.get_node_ip_address()})"
    again = _farm(farm, tmp_path / "farm-out")
    assert again["jobs"]["built"] == 0 and again["executor"] == {"kind": "local"}  # a no-op rebuild starts no actors


def test_the_cluster_a_build_starts_listens_on_127_0_0_1_only(cluster: Path):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc to list listening sockets")
    ray.get(ray.remote(lambda: None).remote())  # a worker process up, beside the GCS and the raylet
    ours = set().union(*(socket_inodes(pid) for pid in descendants(os.getpid())))
    listening = {inode: where for inode, where in listening_sockets().items() if inode in ours}
    assert listening, "found none of the cluster's listening sockets"
    assert {address for _, address in listening.values()} == {"127.0.0.1"}, listening
    assert ray.util.get_node_ip_address() == "127.0.0.1"


def _killer(project: Path, killed: list[str]) -> threading.Thread:
    """A thread that kills one of the build's actors as soon as the first panel is stored (the others still running)."""

    def kill() -> None:
        objects = project / ".comicforge" / "objects"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (objects.is_dir() and any(objects.glob("*/*"))):
            time.sleep(0.01)
        for actor in ray.util.list_named_actors(all_namespaces=True):
            if actor["name"].startswith("comicforge-cpu-0-"):
                ray.kill(ray.get_actor(actor["name"], namespace=actor["namespace"]))
                killed.append(actor["name"])
                return

    return threading.Thread(target=kill, daemon=True)


def _slow_small(target: Path) -> Path:
    """The small test book with 2048² draft panels (about half a second each): the farm is busy when the kill comes."""
    project = _copy(TESTS / "projects" / "small", target)
    data = yaml.safe_load((project / "comic.yaml").read_text())
    data["defaults"] = {"size": [2048, 2048]}
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return project


def test_a_killed_actors_jobs_run_again_on_another_and_the_pages_are_the_same(cluster: Path, tmp_path: Path):
    local, farm = _slow_small(tmp_path / "local"), _slow_small(tmp_path / "farm")
    build(local, BuildOptions(out=tmp_path / "local-out"))
    killed: list[str] = []
    killer = _killer(farm, killed)
    killer.start()
    report = _farm(farm, tmp_path / "farm-out", exports=("pdf", "png"))
    killer.join()
    assert killed, "the build ended before an actor could be killed"
    executor = report["executor"]
    assert 1 <= executor["retries"] <= 2  # the jobs sent ahead to the killed actor (at most DEPTH)
    assert killed[0] not in [a["name"] for a in executor["actors"]]  # replaced by a new actor
    assert _digests(tmp_path / "farm-out") == _digests(tmp_path / "local-out")
    store = Store(farm)
    assert all(store.verify(key) for key in list(store.keys()))


def test_a_worker_whose_model_file_differs_fails_the_job_naming_the_node_and_the_file(cluster: Path, tmp_path: Path,
                                                                                     capsys: pytest.CaptureFixture[str]):
    pytest.importorskip("diffusers")
    sys.path.insert(0, str(TESTS / "engines" / "diffusion"))
    import diffusion_tiny as tiny

    model = tiny.save(tiny.sd1_state(), tmp_path / "driver-models" / WORKER_MODEL)
    project = tmp_path / "book"
    project.mkdir()
    book = {"title": "Farm", "format": {"trim": "manga", "dpi": 36, "margins": "0.3in"},
            "defaults": {"engine": "diffusion", "model": str(model), "steps": 1, "size": [64, 64]},
            "pages": [{"layout": "grid-1x1", "panels": [{"prompt": "a roof"}]}]}
    (project / "comic.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    assert main(["build", str(project), "--executor", "ray"]) == 2
    error = capsys.readouterr().err
    assert f"error: panel p1.1: node {socket.gethostname()} (" in error
    assert f"model file {WORKER_MODEL} differs from the build's" in error and str(cluster / WORKER_MODEL) in error
    assert not (project / "build").exists()


@pytest.mark.slow  # 5 s alone, 30 s on busy cores: each actor imports torch and diffusers
def test_jobs_go_to_the_actor_that_holds_their_model(cluster: Path, tmp_path: Path):
    """Two checkpoints, panels alternating between them, two actors: each actor loads one model, once."""
    pytest.importorskip("diffusers")
    sys.path.insert(0, str(TESTS / "engines" / "diffusion"))
    import diffusion_tiny as tiny

    models = [tiny.save(tiny.sd1_state(seed), tmp_path / f"model-{seed}.safetensors") for seed in (0, 1)]
    panels = [{"prompt": f"panel {n}", "model": str(models[n % 2]), "seed": n} for n in range(6)]
    book = {"title": "Affinity", "format": {"trim": "manga", "dpi": 36, "margins": "0.3in"},
            "defaults": {"engine": "diffusion", "steps": 1, "size": [64, 64]},
            "pages": [{"layout": "grid-2x3", "panels": panels}]}
    project = tmp_path / "book"
    project.mkdir()
    (project / "comic.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    report = _farm(project, tmp_path / "out")
    actors = report["executor"]["actors"]
    assert sum(a["jobs"] for a in actors) == 6
    loads = [count for actor in actors for count in actor["loads"].values()]
    assert loads == [1, 1]  # one model per actor, loaded once: never switched back and forth
    assert {next(iter(a["loads"])).split()[1] for a in actors} == {f"sha256:{hashlib.sha256(m.read_bytes()).hexdigest()}" for m in models}


def test_an_actor_takes_its_own_set_then_a_free_one_then_steals_from_a_long_queue():
    from collections import deque

    from comicforge.pipeline.farm import Slot

    a, b, c = ("diffusion", "a", ()), ("diffusion", "b", ()), ("diffusion", "c", ("lora",))
    queues = {a: deque(["a1"]), b: deque(["b1", "b2"]), c: deque(["c1", "c2", "c3"])}
    assert choose(queues, Slot(None, "s", "gpu", group=b), held={a}) == "b1"  # its own set
    assert choose(queues, Slot(None, "s", "gpu"), held={a}) == "b2"  # a set nobody holds
    assert choose(queues, Slot(None, "s", "gpu"), held={a, c}) == "c1"  # the largest, 3 queued > DEPTH
    assert choose(queues, Slot(None, "s", "gpu"), held={a, c}) is None  # 2 left: its holder takes them
    assert choose({a: deque()}, Slot(None, "s", "gpu"), held=set()) is None


def test_a_worker_finds_models_by_name_in_its_own_models_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from comicforge.pipeline.keys import Fingerprints

    driver, worker = tmp_path / "driver", tmp_path / "worker"
    (driver / "sd").mkdir(parents=True)
    (worker / "sd").mkdir(parents=True)
    (driver / "sd" / "m.safetensors").write_bytes(b"weights")
    (worker / "sd" / "m.safetensors").write_bytes(b"weights")
    fingerprint = Fingerprints(tmp_path / "f.json")(driver / "sd" / "m.safetensors")
    monkeypatch.setenv("COMICFORGE_MODELS", str(worker))
    finder = ModelFinder(tmp_path, "node-b")
    assert finder.locate(ModelHint("/nowhere/sd/m.safetensors", fingerprint, "sd/m.safetensors")) == str(worker / "sd" / "m.safetensors")
    with pytest.raises(ComicforgeError, match=r"node node-b: model file x.safetensors not found \(looked in .*worker/x.safetensors, /nowhere/x"):
        finder.locate(ModelHint("/nowhere/x.safetensors", fingerprint, None))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_farm_errors_exit_2_with_the_fix(small_project: Path):
    unreachable = run_cli("build", str(small_project), "--executor", "ray", "--address", f"127.0.0.1:{_free_port()}", check=False)
    assert unreachable.returncode == 2 and "error: cannot reach the Ray cluster at 127.0.0.1:" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
    stray = run_cli("build", str(small_project), "--address", "127.0.0.1:6379", check=False)
    assert stray.returncode == 2 and "error: --address and --actors are for --executor ray" in stray.stderr
    assert not (small_project / "build").exists()


def test_without_ray_the_farm_is_an_exit_2_error_naming_the_install_command(small_project: Path):
    hide_ray = "import sys; sys.modules['ray'] = None; from comicforge.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", hide_ray, "build", str(small_project), "--executor", "ray"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr == "error: --executor ray needs Ray, which is not installed: pip install 'comicforge-studio[ray]'\n"


def test_a_no_op_rebuild_with_the_farm_never_imports_ray(small_project: Path):
    run_cli("build", str(small_project))
    probe = ("import sys; from comicforge.cli import main; code = main(sys.argv[1:]); "
             "sys.exit(code or ('ray' in sys.modules and 'ray was imported'))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", probe, "build", str(small_project), "--executor", "ray", "--address", "10.255.255.1:6379"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "panels: 0 generated, 7 reused" in result.stdout


@pytest.mark.slow  # about 20 s: the build starts (and stops) its own local Ray
def test_ctrl_c_of_a_farm_build_keeps_what_is_stored_and_the_next_build_reuses_it(tmp_path: Path):
    project = _slow_small(tmp_path / "book")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    driver = subprocess.Popen([sys.executable, "-m", "comicforge", "build", str(project), "--executor", "ray"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    objects = project / ".comicforge" / "objects"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and driver.poll() is None and not (objects.is_dir() and any(objects.glob("*/*"))):
        time.sleep(0.01)
    driver.send_signal(signal.SIGINT)
    _, stderr = driver.communicate(timeout=120)
    assert driver.returncode == 130 and "interrupted" in stderr, stderr
    assert run_cli("store", "verify", str(project)).stdout.endswith(" checked, 0 broken\n")
    report = build(project)
    assert 1 <= report.to_json()["panels"]["reused"] < 7
