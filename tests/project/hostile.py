"""A corpus of hostile project files, generated on demand: each a copy of projects/demo with one hostile change.

Shared by tests/project/test_hostile.py (each case must be refused with exit 2, located, quickly and in little
memory) and benchmarks/hostile_inputs.py (time and peak memory of each case, against any comicforge checkout).
Only the standard library, PyYAML, numpy and Pillow are used, so the corpus builds without comicforge.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "projects" / "demo"
HOSTILE = "hostile"  # the folder inside the project holding the hostile files
PANEL = '      - prompt: "{{ mira }} turns around, surprised"\n'  # page 2, panel 1 of the demo: fields are added below it
SEED = 20261202


@dataclass(frozen=True)
class Placed:
    """Where a case put its hostile value: the file the message must name and the comic.yaml line that names it."""

    file: str
    line: int | None  # None: the problem is the project file as a whole (its size)
    last: int | None = None  # a change of several lines: the error may be on any of line..last

    def lines(self) -> range:
        return range(self.line, (self.last or self.line) + 1) if self.line else range(0)


@dataclass(frozen=True)
class Case:
    """One hostile change to a copy of the demo; `make` applies it and says where it is."""

    name: str
    make: Callable[[Path], Placed]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Outcome:
    """How one run of the CLI on a hostile project ended."""

    status: int
    stderr: str
    seconds: float
    peak_rss_mib: float


def _project_text(project: Path) -> str:
    return (project / "comic.yaml").read_text(encoding="utf-8")


def _edit(project: Path, anchor: str, new: str) -> int:
    """Replace the first `anchor` in comic.yaml by `new`; the line `anchor` started on."""
    text = _project_text(project)
    at = text.index(anchor)
    (project / "comic.yaml").write_text(text[:at] + new + text[at + len(anchor):], encoding="utf-8")
    return text[:at].count("\n") + 1


def _append(project: Path, block: str) -> Placed:
    """Append YAML at the end of comic.yaml; the lines it lands on."""
    text = _project_text(project)
    (project / "comic.yaml").write_text(text + block, encoding="utf-8")
    return Placed("comic.yaml", text.count("\n") + 1, text.count("\n") + block.count("\n"))


def _in_panel(project: Path, value: str) -> int:
    """Add a field to page 2, panel 1, e.g. `lineart: x.png`."""
    return _edit(project, PANEL, PANEL + f"        {value}\n") + 1


def _in_format(project: Path, value: str) -> int:
    return _edit(project, "format:\n", f"format:\n  {value}\n") + 1


def _in_reference(project: Path, value: str) -> int:
    """The first character's reference images."""
    return _edit(project, "  mira:\n", f"  mira:\n    references: [{value}]\n") + 1


def _as_pose(project: Path, value: str) -> int:
    """In place of the pose preset of page 2, panel 1."""
    return _edit(project, "        pose: looking-back\n", f"        pose: {value}\n")


def _named(place: Callable[[Path, str], int], field: str, write: Callable[[Path], None], name: str) -> Callable[[Path], Placed]:
    """A case that writes a hostile file and names it in comic.yaml (`field` formats its name) where `place` puts it."""
    def make(project: Path) -> Placed:
        folder = project / HOSTILE
        folder.mkdir(exist_ok=True)
        write(folder / name)
        return Placed(f"{HOSTILE}/{name}", place(project, field.format(f"{HOSTILE}/{name}")))
    return make


# ------------------------------------------------------------------------------------------ YAML bombs


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    """`levels` top-level keys, each a list of `width` aliases of the one before (width**levels values)."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 24) -> str:
    """Merge keys doubling at each level: PyYAML's constructor copies 2**levels key/value pairs."""
    lines = ["m0: &m0 {k: 1}"]
    for level in range(1, levels):
        lines.append(f"m{level}: &m{level} {{<<: [*m{level - 1}, *m{level - 1}]}}")
    return "\n".join(lines) + "\n"


def deep_nesting(depth: int = 5000) -> str:
    return "deep: " + "[" * depth + "]" * depth + "\n"


def _huge_integer(project: Path) -> Placed:
    return Placed("comic.yaml", _edit(project, "number: 1\n", "number: " + "9" * 20000 + "\n"))


def _oversize_project(project: Path) -> Placed:
    """A 40 MB comic.yaml: a comment line of padding (cheap to write, every byte must still be parsed)."""
    text = _project_text(project)
    (project / "comic.yaml").write_text(text + "# " + "x" * (40 << 20) + "\n", encoding="utf-8")
    return Placed("comic.yaml", None)


def _many_keys(project: Path) -> Placed:
    """A million-entry mapping under an unknown key, within any size cap a real book needs (about 7 MB)."""
    return _append(project, "extra: {" + ", ".join(f"k{i}: 0" for i in range(700_000)) + "}\n")


# ------------------------------------------------------------------------------------------ images


def _bomb_png(path: Path) -> None:
    """A 20,000 x 20,000 1-bit PNG (400 megapixels, under 50 kB on disk)."""
    from PIL import Image

    Image.new("1", (20000, 20000), 1).save(path, format="PNG")


def _noise_png(size: int = 384) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(SEED).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _truncated_png(path: Path) -> None:
    data = _noise_png()
    path.write_bytes(data[: len(data) * 6 // 10])


def _corrupt_png(path: Path) -> None:
    """A PNG whose compressed pixel data has a run of flipped bytes (header intact)."""
    data = bytearray(_noise_png())
    for i in range(5000, 5200):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _lab_tiff(path: Path) -> None:
    """A CIELab TIFF: Pillow reads it, but it converts to neither greyscale nor (from LAB) what the stages need."""
    from PIL import Image

    Image.new("LAB", (64, 96), (50, 0, 0)).save(path, format="TIFF")


def _text_chunk_bomb(path: Path) -> None:
    """A tiny PNG carrying a compressed text chunk that inflates to 64 MB."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "a" * (64 << 20), zip=True)
    Image.new("L", (64, 96), 255).save(path, format="PNG", pnginfo=info)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


# ------------------------------------------------------------------------------------------ structured files


def _person(rng: random.Random) -> dict[str, list[float]]:
    values = []
    for _ in range(18):
        values += [round(rng.uniform(0.2, 0.8), 4), round(rng.uniform(0.1, 0.9), 4), 1.0]
    return {"pose_keypoints_2d": values}


def _pose_json(people: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        rng = random.Random(SEED)
        path.write_text(json.dumps({"people": [_person(rng) for _ in range(people)]}), encoding="utf-8")
    return write


def _nan_pose(path: Path) -> None:
    rng = random.Random(SEED)
    person = _person(rng)
    text = json.dumps({"people": [person]}).replace(str(person["pose_keypoints_2d"][3]), "NaN", 1)
    path.write_text(text, encoding="utf-8")


def _overflow_pose(path: Path) -> None:
    """A number that parses to infinity (1e999) among the keypoints."""
    rng = random.Random(SEED)
    person = _person(rng)
    text = json.dumps({"people": [person]}).replace(str(person["pose_keypoints_2d"][3]), "1e999", 1)
    path.write_text(text, encoding="utf-8")


def _oversize_json(path: Path) -> None:
    """A 40 MB pose file: a valid frame padded with one huge string."""
    rng = random.Random(SEED)
    path.write_text(json.dumps({"people": [_person(rng)], "padding": "x" * (40 << 20)}), encoding="utf-8")


def _deep_json(path: Path) -> None:
    path.write_text('{"people": ' + "[" * 200_000 + "]" * 200_000 + "}", encoding="utf-8")


def _random_bytes(size: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(random.Random(SEED).randbytes(size))
    return write


def _sparse(size: int) -> Callable[[Path], None]:
    """A file of `size` bytes, sparse on disk (quick to make; reading it still costs every byte)."""
    def write(path: Path) -> None:
        with path.open("wb") as f:
            f.truncate(size)
    return write


def _style_bomb(project: Path) -> Placed:
    """A project style template that is an alias bomb, chosen by the book's defaults."""
    styles = project / "styles"
    styles.mkdir()
    (styles / "bomb.yaml").write_text(alias_bomb() + "prompt: '{{ prompt }}'\n", encoding="utf-8")
    return Placed("bomb.yaml", _edit(project, "  style: comic-action", "  style: bomb"))


def _cases() -> list[Case]:
    sketch = partial(_named, _in_panel, "lineart: {}")
    init = partial(_named, _in_panel, "edits: [{{op: img2img, init: {}}}]")
    mask = partial(_named, _in_panel, "edits: [{{op: inpaint, mask: {}}}]")
    pose = partial(_named, _as_pose, "{}")
    reference = partial(_named, _in_reference, "{}")
    font = partial(_named, _in_format, "font: {}")
    icc = partial(_named, _in_format, "icc_profile: {}")
    return [
        Case("yaml alias bomb", lambda p: _append(p, alias_bomb())),
        Case("yaml merge-key bomb", lambda p: _append(p, merge_bomb())),
        Case("yaml alias bomb inside a field", lambda p: _append(p, "palettes:\n  " + alias_bomb().replace("\n", "\n  ").rstrip() + "\n")),
        Case("yaml 5000-deep nesting", lambda p: _append(p, deep_nesting())),
        Case("yaml recursive alias", lambda p: _append(p, "loop: &loop [*loop]\n")),
        Case("yaml date in month 13", lambda p: _append(p, "when: 2026-13-45\n")),
        Case("yaml 20000-digit integer", _huge_integer),
        Case("yaml 40 MB project file", _oversize_project),
        Case("yaml 700,000 keys", _many_keys),
        Case("sketch: 20000x20000 1-bit PNG", sketch(_bomb_png, "bomb.png")),
        Case("sketch: truncated PNG", sketch(_truncated_png, "truncated.png")),
        Case("sketch: corrupt PNG data", sketch(_corrupt_png, "corrupt.png")),
        Case("sketch: CIELab TIFF", sketch(_lab_tiff, "lab.tif")),
        Case("sketch: PNG text-chunk bomb", sketch(_text_chunk_bomb, "text-bomb.png")),
        Case("sketch: named pipe", sketch(_fifo, "pipe.png")),
        Case("init image: 20000x20000 1-bit PNG", init(_bomb_png, "bomb.png")),
        Case("mask: 20000x20000 1-bit PNG", mask(_bomb_png, "bomb.png")),
        Case("reference: 20000x20000 1-bit PNG", reference(_bomb_png, "bomb.png")),
        Case("reference: truncated PNG", reference(_truncated_png, "truncated.png")),
        Case("pose: 200,000 people", pose(_pose_json(200_000), "crowd.json")),
        Case("pose: 1,000 people", pose(_pose_json(1000), "crowd.json")),
        Case("pose: NaN keypoint", pose(_nan_pose, "nan.json")),
        Case("pose: 1e999 keypoint", pose(_overflow_pose, "inf.json")),
        Case("pose: 40 MB JSON", pose(_oversize_json, "big.json")),
        Case("pose: 200,000-deep JSON", pose(_deep_json, "deep.json")),
        Case("pose: named pipe", pose(_fifo, "pipe.json")),
        Case("font: random bytes", font(_random_bytes(64 << 10), "random.ttf")),
        Case("font: 300 MB file", font(_sparse(300 << 20), "huge.ttf")),
        Case("icc profile: random bytes", icc(_random_bytes(64 << 10), "random.icc")),
        Case("icc profile: 300 MB file", icc(_sparse(300 << 20), "huge.icc")),
        Case("icc profile: named pipe", icc(_fifo, "pipe.icc")),
        Case("style template: alias bomb", _style_bomb),
    ]


CASES = _cases()


def make_case(case: Case, folder: Path) -> tuple[Path, Placed]:
    """A fresh copy of the demo under `folder` with the case applied."""
    project = folder / "demo"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("build", ".comicforge"))
    return project, case.make(project)


def run_limited(args: list[str], env: dict[str, str], timeout: float, memory_limit: int, cwd: Path) -> Outcome:
    """Run a command under an address-space limit; its exit status, stderr, wall time and its own peak RSS (wait4)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    with open(os.devnull, "w") as devnull, _temporary_file() as err:
        started = time.perf_counter()
        process = subprocess.Popen(args, stdout=devnull, stderr=err, env=env, cwd=cwd, preexec_fn=limit)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait for it again
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Outcome(process.returncode, stderr, seconds, usage.ru_maxrss / 1024)


def _temporary_file():
    import tempfile

    return tempfile.TemporaryFile()


def run_check(project: Path, pythonpath: Path, command: str = "check", timeout: float = 60, memory_limit: int = 3 << 30) -> Outcome:
    """`python -m comicforge COMMAND PROJECT` with the comicforge found at `pythonpath` (run outside any checkout), under limits."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(pythonpath)}
    return run_limited([sys.executable, "-m", "comicforge", command, str(project)], env, timeout, memory_limit, project.parent)
