"""A store that heals: entries carry their files' sizes and hashes, any number of broken entries are rebuilt."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from comicforge.pipeline.run import BuildOptions, build
from comicforge.pipeline.store import MANIFEST, Store
from support import REPO, run_cli


def _outputs(project: Path) -> dict[str, str]:
    """Digest of every published output file, by path inside build/."""
    folder = project / "build"
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _edit_every_balloon(project: Path) -> None:
    path = project / "comic.yaml"
    lines = path.read_text().splitlines(keepends=True)
    edited = [line.replace("text: ", "text: Well, ", 1) if "text: " in line and "sfx" not in line else line for line in lines]
    assert edited != lines
    path.write_text("".join(edited))


def _flip_middle(path: Path, count: int = 64) -> None:
    """Bit rot: invert `count` bytes in the middle of a file, keeping its size."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + count] = bytes(b ^ 0xFF for b in data[middle:middle + count])
    path.write_bytes(bytes(data))


def _panel_files(project: Path) -> list[Path]:
    return sorted((project / ".comicforge" / "objects").rglob("panel.png"))


def test_every_entry_records_its_files_sizes_and_hashes(small_project: Path):
    build(small_project)
    store = Store(small_project)
    keys = list(store.keys())
    assert keys
    for key in keys:
        manifest = json.loads((store.entry(key) / MANIFEST).read_text())
        names = sorted(p.name for p in store.entry(key).iterdir() if p.name != MANIFEST)
        assert sorted(manifest["files"]) == names
        for name, (size, digest) in manifest["files"].items():
            data = (store.entry(key) / name).read_bytes()
            assert size == len(data) and digest == hashlib.sha256(data).hexdigest()


def test_bit_rot_in_every_panel_heals_to_a_clean_build(demo_project: Path, tmp_path: Path):
    clean = tmp_path / "clean"
    shutil.copytree(demo_project, clean)
    build(demo_project)
    panels = _panel_files(demo_project)
    assert len(panels) >= 22  # generate and finish entries of 11 panels
    for path in panels:
        _flip_middle(path)
    _edit_every_balloon(demo_project)
    _edit_every_balloon(clean)
    report = build(demo_project)
    build(clean)
    assert _outputs(demo_project) == _outputs(clean)
    assert {job_id.split(":")[0] for job_id in report.repaired} == {"generate", "finish"}
    assert run_cli("store", "verify", str(demo_project)).stdout.splitlines()[-1].endswith(", 0 broken")


def test_truncated_entries_are_found_at_plan_and_rebuilt(small_project: Path):
    first = build(small_project, BuildOptions(exports=("pdf", "png", "cbz")))
    pdf = Path(first.outputs["pdf"]).read_bytes()
    store = Store(small_project)
    for job_id in ("generate:p1.1", "page:2", "cbz"):
        job = next(d.job for d in first.decisions if d.job.id == job_id)
        target = next(p for p in store.entry(job.key).iterdir() if p.name != MANIFEST)
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    rows = {row["job"]: row for row in json.loads(run_cli("plan", str(small_project), "--export", "pdf,png,cbz", "--json").stdout)["jobs"]}
    assert rows["generate:p1.1"] == {**rows["generate:p1.1"], "action": "build", "reason": "damaged in the store"}
    assert rows["page:2"]["reason"] == "damaged in the store" and rows["cbz"]["reason"] == "damaged in the store"
    assert rows["page:1"]["action"] == "reuse"
    second = build(small_project, BuildOptions(exports=("pdf", "png", "cbz")))
    assert Path(second.outputs["pdf"]).read_bytes() == pdf
    assert sorted(d.job.id for d in second.decisions if d.build) == ["cbz", "generate:p1.1", "page:2"]


def test_silent_corruption_that_still_decodes_is_not_trusted(small_project: Path):
    from PIL import Image

    first = build(small_project)
    store = Store(small_project)
    finish = next(d.job for d in first.decisions if d.job.id == "finish:p1.1")
    panel = store.entry(finish.key) / "panel.png"
    size = panel.stat().st_size
    with Image.open(panel) as image:
        image.load()
        altered = image.copy()
    altered.paste((255, 0, 0), (0, 0, 4, 4))
    altered.save(panel, format="PNG", compress_level=9)
    assert panel.stat().st_size <= size
    with open(panel, "ab") as handle:  # padded after IEND to the recorded size: it decodes, only the hash can tell
        handle.write(b"\0" * (size - panel.stat().st_size))
    with Image.open(panel) as still_decodes:
        still_decodes.load()
    _edit_every_balloon(small_project)
    report = build(small_project)
    assert "finish:p1.1" in report.repaired
    assert store.verify(finish.key)
    with Image.open(panel) as healed:
        assert healed.getpixel((0, 0)) != (255, 0, 0)


def test_store_verify_reports_and_repair_drops(small_project: Path):
    build(small_project)
    store = Store(small_project)
    broken = [p for p in _panel_files(small_project)][:3]
    for path in broken:
        _flip_middle(path, 8)
    found = run_cli("store", "verify", str(small_project), check=False)
    assert found.returncode == 1
    keys = {path.parent.name for path in broken}
    assert {line.split()[1] for line in found.stdout.splitlines() if line.startswith("broken: ")} == keys
    repaired = run_cli("store", "verify", str(small_project), "--repair")
    assert "3 broken, dropped" in repaired.stdout
    assert not any(store.entry(key).exists() for key in keys)
    assert run_cli("store", "verify", str(small_project)).returncode == 0


def _kill_after(command: list[str], env: dict[str, str], store: Store, new_entries: int, extra: float) -> bool:
    """Start a build, SIGKILL it once it has published `new_entries` more entries (plus `extra` s); whether it was killed."""
    target = len(list(store.keys())) + new_entries
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    while process.poll() is None and len(list(store.keys())) < target:
        time.sleep(0.005)
    time.sleep(extra)
    process.send_signal(signal.SIGKILL)
    return process.wait() == -signal.SIGKILL


def test_killed_builds_lose_nothing(demo_project: Path, tmp_path: Path):
    reference = tmp_path / "reference"
    shutil.copytree(demo_project, reference)
    build(reference)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "comicforge", "build", str(demo_project)]
    rng, store = random.Random(9), Store(demo_project)
    kills = [_kill_after(command, env, store, rng.randint(1, 2), rng.uniform(0, 0.05)) for _ in range(10)]
    assert sum(kills) >= 8, kills  # killed while writing entries, not after the build had finished
    build(demo_project)
    assert _outputs(demo_project) == _outputs(reference)
    assert run_cli("store", "verify", str(demo_project)).returncode == 0


def test_the_index_is_a_disposable_cache(small_project: Path):
    first = build(small_project)
    index = small_project / ".comicforge" / "index.json"
    assert index.is_file()
    index.write_text("{not json")
    assert build(small_project).to_json()["jobs"]["built"] == 0
    job = next(d.job for d in first.decisions if d.job.id == "finish:p2.1")
    panel = Store(small_project).entry(job.key) / "panel.png"
    stat = panel.stat()
    panel.write_bytes(panel.read_bytes()[:-10])
    os.utime(panel, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime as indexed: the size still tells
    report = build(small_project)
    assert [d.job.id for d in report.decisions if d.build] == ["finish:p2.1"]
