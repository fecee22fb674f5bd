"""Generated mutations of projects/demo: bad input is a located exit 2 that leaves build/ alone, never an internal error.

Every scalar of the demo's comic.yaml is mutated by its type (wrong types, non-finite and huge numbers), every
name by an unknown one, every prompt by template injections, every file field by missing files, path escapes and
files that are not what they claim to be, and every ranged setting just past each end of its range. Mutations
that must be rejected are built (in-process, so hundreds stay fast) against a built copy and must exit 2 with
`comic.yaml:LINE` on every line and build/ byte-identical; the legitimately valid ones must pass `check`.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import random
import re
import shutil
import struct
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from comicforge.cli import main
from support import REPO, run_cli

DEMO = REPO / "projects" / "demo"
SEED = 20240917
SCALAR_SAMPLE = 360  # of about 500 type and name mutations of the demo's scalars
Path_ = tuple[str | int, ...]
LOCATED = re.compile(r"^error: comic\.yaml:\d+: ")
NAME_KEYS = {"sampler", "style", "layout", "pose", "reading", "color", "shot", "trim", "engine", "who", "palette"}
INJECTIONS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ mira.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ '{0.__class__}'.format(mira) }}",
    "{% for %}",
    "{% if %}{% endfor %}",
    "{{ undefined_name }}",
    "{{ mira.nope.deeper }}",
    "{{ 1/0 }}",
    "{{ mira + 1 }}",
    "{{ mira | int(1, 2, 3) }}",
    "{{ 'a' * 10**10 }}",
    "{{ ('a' * 1000) * 1000 }}",
    "{{ range(10**9) | list }}",
    "{{ 10**64**64**64 }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "{{ characters[99] }}",
    "{% include '/etc/passwd' %}",
    "{% extends 'comic.yaml' %}",
    "{{",
]
VALID_TEMPLATES = ["{{ mira.description }}", "{% for c in characters %}{{ c }} {% endfor %}at night", "{{ shot }} of {{ ren }}", "a { brace", ""]
ESCAPES = ["../../etc/passwd", "/etc/passwd", "/etc", "../comic.yaml", "~/nope.png", "missing/nothing.png"]
EXISTING_ESCAPES = ["/etc/passwd"]  # a model that is not found is not needed by a draft book (a folder is "not found")
IMAGE_FIELDS = {"reference", "sketch", "init"}
VALID_PAIRS = {
    ("reference", "renamed-png.safetensors"), ("sketch", "renamed-png.safetensors"), ("init", "renamed-png.safetensors"),  # a PNG is a PNG by its bytes
    ("reference", "blank.png"), ("init", "blank.png"),  # only a sketch needs lines
    ("upscaler", "checkpoint.safetensors"),  # upscalers are checked to be weight files only (their layouts are spandrel's)
}
BAD_IDS = ["../../etc/passwd", "/abs", "a/b", "..", ".hidden", "-dash", "a b", "", "p1.3"]  # p1.3 is the next panel's id


@dataclass(frozen=True)
class Mutation:
    """One change to the demo project and the exit status it must give (2: rejected, 0: valid)."""

    name: str
    apply: Callable[[dict[str, Any]], None]
    expect: int
    at: Path_ = ()  # the data path changed; a rejection must be located at it, above it or below it

    def __str__(self) -> str:
        return self.name


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def _setter(path: Path_, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        _get(data, path[:-1])[path[-1]] = copy.deepcopy(value)
    return apply


def _deleter(path: Path_) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        del _get(data, path[:-1])[path[-1]]
    return apply


def _spelled(path: Path_) -> str:
    return ".".join(map(str, path))


def _leaves(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every scalar of the YAML tree with its path (lists of scalars count as items)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, (*path, index))
    else:
        yield path, data


def _key(path: Path_) -> str:
    """The mapping key a leaf sits under (list items: their list's key)."""
    return next(str(part) for part in reversed(path) if isinstance(part, str))


def _type_mutations(path: Path_, value: Any) -> Iterator[Mutation]:
    """Wrong types and non-finite or huge numbers: rejected wherever they land."""
    where = _spelled(path)
    for label, bad in (("mapping", {"x": 1}), ("nested list", [[1]]), ("NaN", float("nan")), ("inf", float("inf")),
                       ("-inf", float("-inf"))):
        yield Mutation(f"{where} = {label}", _setter(path, bad), 2, path)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        yield Mutation(f"{where} = huge", _setter(path, 10**12 if isinstance(value, int) else 1e300), 2, path)
        yield Mutation(f"{where} = text", _setter(path, "twelve"), 2, path)
        if _key(path) != "angle":  # an sfx may be turned either way
            yield Mutation(f"{where} = negative", _setter(path, -1), 2, path)
    if isinstance(value, bool):
        yield Mutation(f"{where} = not a bool", _setter(path, "sometimes"), 2, path)
    if _key(path) in NAME_KEYS and isinstance(value, str):
        yield Mutation(f"{where} = unknown name", _setter(path, "no-such-name"), 2, path)
    if len(path) >= 2 and path[-2] == "characters" and isinstance(path[-1], int):
        yield Mutation(f"{where} = unknown character", _setter(path, "aiko"), 2, path)


def _prompt_mutations(path: Path_) -> Iterator[Mutation]:
    where = _spelled(path)
    for i, text in enumerate(INJECTIONS):
        yield Mutation(f"{where} = injection {i}: {text[:40]}", _setter(path, text), 2, path)
    for i, text in enumerate(VALID_TEMPLATES):
        yield Mutation(f"{where} = valid template {i}", _setter(path, text), 0, path)


def scalar_mutations(demo: dict[str, Any]) -> list[Mutation]:
    """Type, name and template mutations of every scalar, a seeded sample of the repetitive ones."""
    rng = random.Random(SEED)
    found: list[Mutation] = []
    prompts = [path for path, _ in _leaves(demo) if _key(path) == "prompt"]
    for path, value in _leaves(demo):
        if _key(path) in ("prompt", "text", "tokens", "description", "title", "author", "series", "negative"):
            continue  # free text: only its type can be wrong (sampled below)
        found += _type_mutations(path, value)
    texts = [path for path, _ in _leaves(demo) if _key(path) in ("text", "tokens", "title", "negative")]
    for path in rng.sample(texts, 6):
        found += _type_mutations(path, "")
    found = [found[i] for i in sorted(rng.sample(range(len(found)), min(len(found), SCALAR_SAMPLE)))]
    for path in rng.sample(prompts, 3):
        found += _prompt_mutations(path)
    return found


def file_mutations(bad_files: dict[str, str]) -> list[Mutation]:
    """Every field that names a file: missing, path escapes, and files that are not what the field claims."""
    fields: list[tuple[str, Path_, Callable[[str], Any]]] = [
        ("lora", ("characters", "mira", "loras"), lambda f: [{"file": f, "weight": 0.8}]),
        ("embedding", ("characters", "mira", "embeddings"), lambda f: [f]),
        ("reference", ("characters", "ren", "references"), lambda f: [f]),
        ("sketch", ("pages", 1, "panels", 0, "lineart"), lambda f: f),
        ("pose file", ("pages", 0, "panels", 1, "pose"), lambda f: f),
        ("character pose", ("characters", "ren", "pose"), lambda f: f),
        ("font", ("format", "font"), lambda f: f),
        ("voice font", ("characters", "mira", "voice", "font"), lambda f: f),
        ("icc", ("format", "icc_profile"), lambda f: f),
        ("controlnet", ("defaults", "controlnets"), lambda f: {"openpose": {"file": f}}),
        ("ip-adapter", ("defaults", "ip_adapter"), lambda f: f),
        ("model", ("defaults", "model"), lambda f: f),
        ("init", ("pages", 2, "panels", 0, "edits"), lambda f: [{"op": "img2img", "init": f}]),
        ("mask", ("pages", 2, "panels", 0, "edits"), lambda f: [{"op": "inpaint", "mask": f}]),
        ("upscaler", ("pages", 2, "panels", 0, "edits"), lambda f: [{"op": "upscale", "model": f}]),
    ]
    found = []
    for what, path, shape in fields:
        for name in ESCAPES if what != "model" else EXISTING_ESCAPES:  # a draft book need not have its model
            found.append(Mutation(f"{what} = {name}", _setter(path, shape(name)), 2, path))
        for kind, name in bad_files.items():
            found.append(Mutation(f"{what} = {kind}", _setter(path, shape(name)), 0 if (what, kind) in VALID_PAIRS else 2, path))
    return found


def _format(key: str) -> Path_:
    return ("format", key)


def range_mutations() -> list[Mutation]:
    """Each ranged setting just outside (rejected) and at the ends (valid) of its range."""
    panel: Path_ = ("pages", 0, "panels", 1)
    sfx: Path_ = ("pages", 1, "panels", 3, "sfx", 0)
    cases: list[tuple[Path_, list[Any], list[Any]] | tuple[Path_, list[Any], list[Any], Path_]] = [
        (_format("trim"), [[0, -3], [6, 0], [-1, 5], ["0in", "3in"], [250, 10], "nope", [6, 10, 3], [6]], [[6, 10], ["150mm", "200mm"], "a5"]),
        (_format("bleed"), [-0.1, "-3mm", "3in", "2ft", ".inf"], [0, "3mm", "20px"]),
        (_format("margins"), [-0.5, "4in", {"top": "5in", "bottom": "5.5in"}, {"inside": -1}], [0, "1cm", {"top": "1in"}]),
        (_format("gutter"), [-0.1, "3in", "-1pt"], [0, "2mm"]),
        (_format("dpi"), [35, 2401, 0, 300.5, "300dpi"], [36, 150]),
        (_format("border"), [-1, 12.5], [0, 12]),
        (_format("font_size"), [2, 72.5, 0], [6, 72]),
        (_format("min_font_size"), [9, 1], [6]),
        (_format("leading"), [0.7, 2.6], [0.8, 2.5]),
        (_format("max_pixels"), [999_999, 178_956_971, 2.5, "100MP"], [1_000_000, 178_956_970]),
        (_format("output"), [{"jpeg_quality": 29}, {"jpeg_quality": 101}, {"image_dpi": 35}, {"image_dpi": 2401}, {"date": "May 1"}], [{"jpeg_quality": 30, "images": "jpeg"}, {"image_dpi": 72}]),
        (("defaults", "steps"), [0, 151, 2.5], [1, 150]),
        (("defaults", "cfg"), [-0.1, 30.5], [0, 30]),
        (("defaults", "clip_skip"), [0, 13], [1, 12]),
        (("defaults", "size"), [[0, 0], [513, 512], [8, 8], [4104, 512], [-512, 512], [512]], [[512, 768], [64, 4096]]),
        (("characters", "mira", "seed"), [-1, 2**32, 2**64], [0, 2**32 - 1]),
        ((*panel, "seed"), [-1, 2**32], [0, 2**32 - 1]),
        (("characters", "mira", "reference_weight"), [-0.1, 2.1], [0, 2]),
        (("characters", "mira", "voice"), [{"size": 2}, {"size": 73}, {"style": "sing"}], [{"size": 12}]),
        ((*panel, "balloons", 0, "size"), [0, 100], [4]),
        ((*panel, "balloons", 0, "at"), [[1.5, 0.5], [-0.1, 0.5], [0.5]], [[0, 1]]),
        ((*panel, "balloons", 0, "tail"), [[3, 0.5], [-1.5, 0]], [[-1, 2]]),
        ((*sfx, "size"), [2, 401], [400]),
        ((*sfx, "angle"), [181, -181], [-180, 180]),
        ((*sfx, "at"), [[2, 0.5]], [[0, 0]]),
        ((*sfx, "outline_width"), [-1, 21], [0, 20]),
        ((*sfx, "fill"), ["red", "#12345"], ["#123456"]),
        (("characters", "mira", "loras"), [[{"file": "x.safetensors", "weight": 5}], [{"file": "x.safetensors", "weight": -4.5}]], []),
        (("defaults", "controlnets"), [{"openpose": {"file": "x", "weight": 2.5}}, {"openpose": {"file": "x", "start": 0.8, "end": 0.2}},
                                        {"openpose": {"file": "x", "end": 1.5}}, {"depth": {"file": "x"}}], []),
        ((*panel, "edits"), [[{"op": "img2img", "strength": 1.5}], [{"op": "inpaint", "rects": [[0.5, 0.5, 0.6, 0.2]]}],
                             [{"op": "inpaint", "rects": [[0, 0, 0, 0.5]]}], [{"op": "inpaint"}], [{"op": "outpaint", "left": 5}],
                             [{"op": "outpaint", "top": -0.1}], [{"op": "upscale", "strength": -0.1}], [{"op": "sharpen"}],
                             [{"op": "img2img", "seed": 2**32}]],
         [[{"op": "img2img", "strength": 0.4, "seed": 7}], [{"op": "inpaint", "rects": [[0.5, 0.5, 0.5, 0.5]]}], [{"op": "outpaint", "fit": True}]]),
        (("pages", 0, "panels", 0, "edits"), [[{"op": "outpaint", "left": 4, "top": 4, "right": 4, "bottom": 4}]],  # a 134-megapixel canvas
         [[{"op": "outpaint", "left": 1, "right": 1}]]),
        ((*panel, "pose"), [[{"pose": "standing", "region": [0.5, 0, 0.6, 1]}], [{"pose": "standing", "scale": 0}], [{"pose": "standing", "who": "aiko"}]],
         [[{"pose": "standing", "region": [0, 0, 0.5, 1], "who": "mira"}]]),
        (("pages", 0, "layout"), [{"rows": [0, 2]}, {"rows": [-1, 2, 2]}, {"rows": [1, 2], "sizes": [0, 0]}, {"rows": [1, 2], "sizes": [-1, 2]},
                                  {"rows": [[], 1, 1]}, {"rows": [1, [1, 0]]}, {"rects": [[0, 0, 0, 0], [0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]]},
                                  {"rects": [[2, 2, -1, 1], [0, 0, 1, 1], [0, 0, 1, 1]]}, {"rects": []}, {"rows": [1, 2], "columns": [3]},
                                  {"rows": [1, 2], "sizes": [1]}, {"rects": [[0, 0, 0.001, 0.001], [0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]]},
                                  "grid-0x3", "grid-99999999999999999999x1", "grid-2x2", {"rows": [1, 99]}],
         [{"rows": [1, [2, 1]]}, {"rects": [[0, 0, 1, 0.5], [0, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]]}, "rows"], ("pages", 0)),  # a count is the page's
        (("defaults", "post"), [[{"op": "halftone", "lpi": 150}], [{"op": "halftone", "lpi": -1}], [{"op": "halftone", "angle": 360}],
                                [{"op": "screentone", "lpi": 90}], [{"op": "screentone", "levels": []}], [{"op": "ink", "sigma": 0}],
                                [{"op": "levels", "black": 200, "white": 100}], [{"op": "curves", "points": [[0, 0]]}],
                                [{"op": "cmyk", "gcr": 2}], [{"op": "flats", "palette": "nope"}], [{"op": "flats"}], [{"op": "blur"}]],
         [[{"op": "halftone", "lpi": 65}], [{"op": "flats", "palette": "dusk"}], [{"op": "grayscale"}, {"op": "screentone", "lpi": 60}]]),
        ((*panel, "id"), BAD_IDS, ["ok-id_1.2", "Scene3"], ("pages", 0, "panels")),  # a duplicate is reported at its twin
        (("number",), [-1, 100000], [0, 99999]),
        (("language",), [3], ["ja"]),
    ]
    found = []
    for path, bad, good, *at in cases:
        found += [Mutation(f"{_spelled(path)} = {value!r}", _setter(path, value), 2, at[0] if at else path) for value in bad]
        found += [Mutation(f"{_spelled(path)} = {value!r} (valid)", _setter(path, value), 0, path) for value in good]
    return found


def structure_mutations() -> list[Mutation]:
    """Empty lists, missing required fields, unknown fields, duplicate ids, invalid character names."""
    both = lambda data: [data["pages"][0]["panels"][i].update(id="same") for i in (0, 1)]  # noqa: E731
    return [
        Mutation("pages = []", _setter(("pages",), []), 2, ("pages",)),
        Mutation("panels = []", _setter(("pages", 0, "panels"), []), 2, ("pages", 0)),
        Mutation("no title", _deleter(("title",)), 2, ()),
        Mutation("no pages", _deleter(("pages",)), 2, ()),
        Mutation("balloon without text", _deleter(("pages", 0, "panels", 1, "balloons", 0, "text")), 2, ("pages", 0, "panels", 1, "balloons", 0)),
        Mutation("balloon who and caption", _setter(("pages", 0, "panels", 1, "balloons", 0, "caption"), True), 2, ("pages", 0, "panels", 1, "balloons", 0)),
        Mutation("unknown field", _setter(("format", "colour"), "color"), 2, ("format", "colour")),
        Mutation("duplicate ids", both, 2, ("pages", 0, "panels", 1, "id")),
        Mutation("character name with /", _setter(("characters", "a/b"), {"tokens": "x"}), 2, ("characters",)),
        Mutation("character name ../x", _setter(("characters", "../x"), {"tokens": "x"}), 2, ("characters",)),
        Mutation("characters = []", _setter(("pages", 0, "panels", 0, "characters"), []), 0, ()),
        Mutation("balloons = []", _setter(("pages", 0, "panels", 0, "balloons"), []), 0, ()),
        Mutation("palette = []", _setter(("characters", "mira", "palette"), []), 0, ()),
        Mutation("project is a list", lambda data: data.clear() or data.update({"__list__": True}), 2, ()),
    ]


def _safetensors(path: Path, keys: list[str]) -> None:
    """A tiny safetensors file holding `keys` (1x4 float32 tensors)."""
    header = json.dumps({k: {"dtype": "F32", "shape": [1, 4], "data_offsets": [16 * i, 16 * i + 16]} for i, k in enumerate(keys)}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(16 * len(keys)))


def make_bad_files(root: Path) -> dict[str, str]:
    """Files that are not what their names claim, in the project folder: kind → project-relative name."""
    from PIL import Image

    bad = root / "bad"
    bad.mkdir()
    rng = random.Random(SEED)
    (bad / "random.safetensors").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    image = Image.new("RGB", (32, 32), "white")
    image.save(bad / "blank.png")
    image.paste((0, 0, 0), (4, 4, 28, 8))
    image.save(bad / "renamed-png.safetensors", format="PNG")
    (bad / "truncated.png").write_bytes((bad / "renamed-png.safetensors").read_bytes()[:60])
    (bad / "random.pt").write_bytes(bytes(rng.randrange(1, 128) for _ in range(512)))
    _safetensors(bad / "checkpoint.safetensors", ["model.diffusion_model.input_blocks.0.0.weight", "first_stage_model.decoder.conv_in.weight"])
    _safetensors(bad / "lora.safetensors", ["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight",
                                           "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight"])
    (bad / "pose.json").write_text('{"people": 3}')
    (bad / "notjson.json").write_text("{nope")
    (bad / "font.ttf").write_bytes(b"not a font" * 20)
    (bad / "empty.png").write_bytes(b"")
    names = ["random.safetensors", "renamed-png.safetensors", "truncated.png", "random.pt", "checkpoint.safetensors",
             "pose.json", "notjson.json", "font.ttf", "empty.png", "blank.png"]
    return {name: f"bad/{name}" for name in names}


def _run(*args: str) -> tuple[int, str]:
    """Run the CLI in this process: (exit status, stderr)."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            status = main(list(args))
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
    return status, err.getvalue()


def _digest(folder: Path) -> dict[str, str]:
    """Every file under a folder with the sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _write(project: Path, data: dict[str, Any]) -> None:
    if data.get("__list__"):
        (project / "comic.yaml").write_text("- just\n- a list\n")
        return
    (project / "comic.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A built copy of the demo (pages 1 to 3), the digest of its build/ folder and the bad files beside it."""
    project = tmp_path_factory.mktemp("fuzz") / "demo"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("build", ".comicforge"))
    status, err = _run("build", str(project))
    assert status == 0, err
    return project, _digest(project / "build"), make_bad_files(project)


def _demo_data() -> dict[str, Any]:
    return yaml.safe_load((DEMO / "comic.yaml").read_text(encoding="utf-8"))


def all_mutations(bad_files: dict[str, str]) -> list[Mutation]:
    return scalar_mutations(_demo_data()) + file_mutations(bad_files) + range_mutations() + structure_mutations()


def _error_paths(stderr: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^error: comic\.yaml:\d+: ([^:]*): ", stderr, re.M)]


def _related(problem_path: str, changed: Path_) -> bool:
    """Whether an error's data path is the changed one, above it or below it."""
    spelled = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in changed).lstrip(".")
    return spelled.startswith(problem_path) or problem_path.startswith(spelled)


def _check_rejected(mutation: Mutation, status: int, stderr: str) -> list[str]:
    """What is wrong with the outcome of a mutation that must be rejected (empty: all is well)."""
    lines = stderr.strip().splitlines()
    wrong = []
    if status != 2:
        wrong.append(f"exit {status}")
    if "Traceback" in stderr or "internal error" in stderr:
        wrong.append("internal error")
    if not lines or not all(LOCATED.match(line) for line in lines):
        wrong.append("unlocated message")
    if mutation.at and not any(_related(path, mutation.at) for path in _error_paths(stderr)):
        wrong.append(f"no error at {_spelled(mutation.at)}")
    return wrong


def test_fuzzed_demo_projects(built_demo: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    project, before, bad_files = built_demo
    mutations = all_mutations(bad_files)
    assert len(mutations) >= 400
    failures = []
    for mutation in mutations:
        data = _demo_data()
        mutation.apply(data)
        _write(project, data)
        if mutation.expect == 0:
            status, stderr = _run("check", str(project))
            if status != 0:
                failures.append(f"{mutation}: valid, but exit {status}: {stderr.strip()[:300]}")
            continue
        status, stderr = _run("build", str(project))
        wrong = _check_rejected(mutation, status, stderr)
        if wrong:
            failures.append(f"{mutation}: {', '.join(wrong)}: {stderr.strip()[:300]}")
    assert not failures, f"{len(failures)} of {len(mutations)} mutations:\n" + "\n".join(failures)
    assert _digest(project / "build") == before


SUBPROCESS_SAMPLE = ["format.trim = [0, -3]", "format.dpi = 2401", "lora = renamed-png.safetensors", "pages.0.layout = {'rows': [1, 2], 'sizes': [0, 0]}"]


@pytest.mark.parametrize("name", SUBPROCESS_SAMPLE)
def test_fuzzed_project_in_a_real_process(name: str, built_demo: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    project, before, bad_files = built_demo
    mutation = next(m for m in all_mutations(bad_files) if m.name == name)
    data = _demo_data()
    mutation.apply(data)
    _write(project, data)
    result = run_cli("build", str(project), check=False)
    assert _check_rejected(mutation, result.returncode, result.stderr) == []
    assert _digest(project / "build") == before
