"""Validated project → BookSpec: prompts rendered, defaults applied, files fingerprinted, geometry computed."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from comicforge.control import pose as poses
from comicforge.errors import Problem, ProjectError
from comicforge.layout.formats import TRIM_PRESETS
from comicforge.layout.panels import Rect, count_cells, expand_template, extend_to_bleed, layout_cells, mirror
from comicforge.layout.units import to_points
from comicforge.letter.fonts import BUILTIN_FONTS, DEFAULT_FONT, SFX_FONT, emphasis_candidates, emphasis_fonts, find_font
from comicforge.project import kinds
from comicforge.project.load import LoadedProject, Loc
from comicforge.project.schema import Balloon, Character, Format, Margins, Page, Panel, Project
from comicforge.project.specs import BalloonSpec, BookSpec, PageSpec, PanelSpec, SfxSpec
from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.poses import PlacedPose
from comicforge.spec.requests import CharacterLook, ControlInput, GenerateRequest, RefineStep
from comicforge.spec.samplers import DEFAULT_SAMPLER, SAMPLER_NAMES

Fingerprint = Callable[[Path], str]
DRAFT_MAX_EDGE = 1600  # draft panels render at print size up to this long edge, then scale
DEFAULT_STEPS, DEFAULT_CFG = 25, 7.0
MIN_PANEL_PIXELS = 16
MAX_CANVAS_PIXELS = 89_478_485  # Pillow's Image.MAX_IMAGE_PIXELS: larger images warn as decompression bombs


@dataclass
class Resolver:
    """Collects problems while resolving so that one run reports all of them."""

    loaded: LoadedProject
    fingerprint: Fingerprint
    problems: list[Problem] = field(default_factory=list)
    files_read: set[Path] = field(default_factory=set)
    models: dict[str, Any] = field(default_factory=dict)  # checkpoint path → ModelInfo (None if unusable)
    checked_loras: set[tuple[str, str]] = field(default_factory=set)  # (adapter file, model) pairs already checked
    kinds: dict[str, str | None] = field(default_factory=dict)  # file → why it is not what it claims to be (None: fine)

    @property
    def project(self) -> Project:
        return self.loaded.project

    def fail(self, loc: Loc, message: str) -> None:
        """Record a problem at a path of the project."""
        self.problems.append(self.loaded.problem(loc, message))

    def named(self, name: str, loc: Loc, what: str) -> Path | None:
        """A file the project names (relative to the project), noted as read; missing → problem."""
        path = Path(name).expanduser()
        path = path if path.is_absolute() else self.loaded.root / path
        if not path.exists():
            self.fail(loc, f"{what} not found: {name}")
            return None
        self.files_read.add(path.resolve())
        return path.resolve()

    def file(self, name: str, loc: Loc, what: str) -> FileRef | None:
        """A file the project names, fingerprinted; missing → problem."""
        path = self.named(name, loc, what)
        return None if path is None else FileRef(str(path), self.fingerprint(path))

    def is_kind(self, path: Path, name: str, loc: Loc, problem: Callable[[Path], str | None]) -> bool:
        """Whether a file is what it claims to be (each file judged once, see project/kinds.py); else a problem."""
        if str(path) not in self.kinds:
            self.kinds[str(path)] = problem(path)
        message = self.kinds[str(path)]
        if message:
            self.fail(loc, f"{name}: {message}")
        return message is None

    def checked(self, name: str, loc: Loc, what: str, problem: Callable[[Path], str | None]) -> FileRef | None:
        """A named file that exists and is what it claims to be, fingerprinted."""
        path = self.named(name, loc, what)
        if path is None or not self.is_kind(path, name, loc, problem):
            return None
        return FileRef(str(path), self.fingerprint(path))


def resolve_book(loaded: LoadedProject, fingerprint: Fingerprint) -> tuple[BookSpec, set[Path]]:
    """Resolve a loaded project; raises ProjectError listing every problem found."""
    resolver = Resolver(loaded, fingerprint)
    book = _book(resolver)
    if resolver.problems:
        unique = list(dict.fromkeys(resolver.problems))  # a book-wide setting fails once, not once per panel
        raise ProjectError(sorted(unique, key=lambda p: p.line or 0))
    return book, resolver.files_read


def _book(r: Resolver) -> BookSpec:
    project = r.project
    _check_characters(r)
    _check_book_weights(r)
    geometry = page_geometry(project.format)
    pages = tuple(_page(r, number, page, geometry) for number, page in enumerate(project.pages, start=1))
    _check_unique_ids(r, pages)
    return BookSpec(
        project.title, project.author, project.series, project.number, project.language,
        project.format.reading, project.format.color, pages, tuple(sorted(project.format.output.model_dump().items())),
        _runtime_options(project), _icc_profile_once(r),
    )


def _icc_profile_once(r: Resolver) -> FileRef | None:
    """The book's ICC profile, resolved (and its problems reported) once for all panels."""
    if "icc" not in r.models:
        r.models["icc"] = _icc_profile(r)
    return r.models["icc"]


def _icc_profile(r: Resolver) -> FileRef | None:
    """The book's output ICC profile, checked to be one Pillow's ImageCms can open."""
    name = r.project.format.icc_profile
    if not name:
        return None
    ref = r.file(name, ("format", "icc_profile"), "ICC profile")
    if ref is None:
        return None
    from PIL import ImageCms

    try:
        ImageCms.getOpenProfile(ref.path)
    except (OSError, ImageCms.PyCMSError) as error:
        r.fail(("format", "icc_profile"), f"{name}: not a readable ICC profile ({error})")
        return None
    return ref


def _runtime_options(project: Project) -> tuple[tuple[str, str], ...]:
    """Memory savers handed to the engine at run time, outside every key."""
    memory = project.defaults.memory
    found = [("attention_slicing", str(memory.attention_slicing).lower())]
    if memory.vae_tiling is not None:
        found.append(("vae_tiling", str(memory.vae_tiling).lower()))
    if memory.offload != "none":
        found.append(("offload", memory.offload))
    return tuple(found)


@dataclass(frozen=True)
class PageGeometry:
    """Media size, bleed and live area in points; pixel size at the book's dpi."""

    media: Rect
    trim: Rect
    live: Rect
    bleed: float
    gutter: float
    dpi: int

    @property
    def pixels(self) -> tuple[int, int]:
        return round(self.media.w * self.dpi / 72), round(self.media.h * self.dpi / 72)


def page_geometry(fmt: Format) -> PageGeometry:
    """Trim + bleed + margins of the book format, in points."""
    dpi = fmt.dpi
    width, height = TRIM_PRESETS[fmt.trim] if isinstance(fmt.trim, str) else (to_points(v, dpi) for v in fmt.trim)
    bleed = to_points(fmt.bleed, dpi)
    margins = fmt.margins if isinstance(fmt.margins, Margins) else Margins(top=fmt.margins, bottom=fmt.margins, inside=fmt.margins, outside=fmt.margins)
    top, bottom = to_points(margins.top, dpi), to_points(margins.bottom, dpi)
    inside, outside = to_points(margins.inside, dpi), to_points(margins.outside, dpi)
    trim = Rect(bleed, bleed, width, height)
    live = Rect(bleed + inside, bleed + top, width - inside - outside, height - top - bottom)
    media = Rect(0, 0, width + 2 * bleed, height + 2 * bleed)
    return PageGeometry(media, trim, live, bleed, to_points(fmt.gutter, dpi), dpi)


def _check_characters(r: Resolver) -> None:
    """Palette names and files of the character bible."""
    for name, character in r.project.characters.items():
        if isinstance(character.palette, str) and character.palette not in r.project.palettes:
            r.fail(("characters", name, "palette"), f"unknown palette {character.palette!r} (known: {_known(r.project.palettes)})")
        for i, ref in enumerate(character.references):
            r.checked(ref, ("characters", name, "references", i), "reference image", kinds.image_problem)
        for i, lora in enumerate(character.loras):
            _kind_of(r, lora.file, ("characters", name, "loras", i, "file"), "LoRA file", kinds.lora_problem)
        for i, embedding in enumerate(character.embeddings):
            _kind_of(r, embedding, ("characters", name, "embeddings", i), "embedding file", kinds.embedding_problem)
        if character.pose:
            _pose_source(r, character.pose, ("characters", name, "pose"))


def _check_book_weights(r: Resolver) -> None:
    """The book's ControlNets and IP-Adapter are what they claim to be, whichever engine the panels use."""
    defaults = r.project.defaults
    for kind, net in defaults.controlnets.items():
        _kind_of(r, net.file, ("defaults", "controlnets", kind, "file"), "ControlNet file", kinds.controlnet_problem)
    if defaults.ip_adapter:
        _kind_of(r, defaults.ip_adapter, ("defaults", "ip_adapter"), "IP-Adapter file", kinds.ip_adapter_problem)


def _kind_of(r: Resolver, name: str, loc: Loc, what: str, problem: Callable[[Path], str | None]) -> None:
    """Report a named file that is missing or not what it claims to be (it is fingerprinted where it is used)."""
    path = r.named(name, loc, what)
    if path is not None:
        r.is_kind(path, name, loc, problem)


def _check_unused_model(r: Resolver, name: str, where: Loc) -> None:
    """A draft panel's model, when it is here, must still be a checkpoint (one that is not here is not needed)."""
    from comicforge.weights.locate import find_model

    path = find_model(name, r.loaded.root)
    if path is not None:
        r.files_read.add(path.resolve())
        r.is_kind(path.resolve(), name, where, kinds.model_problem)


def _known(names: Any) -> str:
    return ", ".join(sorted(names)) or "none"


def _page(r: Resolver, number: int, page: Page, g: PageGeometry) -> PageSpec:
    loc: Loc = ("pages", number - 1)
    rects = _panel_rects(r, page, g, loc)
    panels = tuple(
        _panel(r, number, index, panel, rect, g)
        for index, (panel, rect) in enumerate(zip(page.panels, rects), start=1)
    )
    fmt = r.project.format
    return PageSpec(number, (g.media.w, g.media.h), g.bleed, g.live, g.dpi, g.pixels, fmt.color, fmt.reading, fmt.border, panels)


def _panel_rects(r: Resolver, page: Page, g: PageGeometry, loc: Loc) -> list[Rect]:
    """The page's panel rectangles in reading order, mirrored for rtl books, bled where asked."""
    try:
        tree = expand_template(page.layout, len(page.panels)) if isinstance(page.layout, str) else page.layout.model_dump(exclude_none=True)
    except ValueError as error:
        r.fail((*loc, "layout"), str(error))
        return []
    cells = count_cells(tree)
    if cells != len(page.panels):
        name = page.layout if isinstance(page.layout, str) else "this layout"
        r.fail((*loc, "panels"), f"{name} has {cells} panel{'s' * (cells != 1)} but the page lists {len(page.panels)}")
        return []
    rects = layout_cells(tree, g.live, g.gutter)
    if not _panels_fit(r, rects, g, (*loc, "layout")):
        return []
    if r.project.format.reading == "rtl":
        rects = [mirror(rect, g.live) for rect in rects]
    bleed_all = bool(tree.get("bleed"))
    return [
        extend_to_bleed(rect, g.live, g.media) if (panel.bleed or bleed_all) else rect
        for rect, panel in zip(rects, page.panels)
    ]


def _panels_fit(r: Resolver, rects: list[Rect], g: PageGeometry, loc: Loc) -> bool:
    """Every panel at least MIN_PANEL_PIXELS a side: gutters and margins must leave room for the layout."""
    for number, rect in enumerate(rects, start=1):
        x0, y0, x1, y1 = pixel_box(rect, g.dpi)
        if min(x1 - x0, y1 - y0) < MIN_PANEL_PIXELS:
            r.fail(loc, f"panel {number} would be {max(x1 - x0, 0)} x {max(y1 - y0, 0)} px at {g.dpi} dpi (at least "
                        f"{MIN_PANEL_PIXELS} a side): the live area ({g.live.w / 72:.4g} x {g.live.h / 72:.4g} in) "
                        f"and gutter ({g.gutter / 72:.4g} in) leave it no room")
            return False
    return True


def pixel_box(rect: Rect, dpi: int) -> tuple[int, int, int, int]:
    """A rect in points → integer pixel box (edges rounded, so neighbours never overlap)."""
    scale = dpi / 72
    return round(rect.x * scale), round(rect.y * scale), round(rect.right * scale), round(rect.bottom * scale)


def _panel(r: Resolver, page: int, index: int, panel: Panel, rect: Rect, g: PageGeometry) -> PanelSpec:
    loc: Loc = ("pages", page - 1, "panels", index - 1)
    panel_id = panel.id or f"p{page}.{index}"
    characters = _panel_characters(r, panel, loc)
    box = pixel_box(rect, g.dpi)
    aspect = (box[2] - box[0]) / max(box[3] - box[1], 1)
    placed = _panel_poses(r, panel, characters, aspect, loc)
    request = _request(r, panel_id, panel, characters, placed, box, loc)
    return PanelSpec(
        panel_id, page, loc, _setting(r, panel, "engine"), request, _post_chain(r, panel, characters, loc),
        rect, box, _balloons(r, panel, loc), _chain_palettes(r, characters), _sfx(r, panel, loc),
        _edits(r, panel, request, box, loc), _icc_profile_once(r),
    )


def _panel_characters(r: Resolver, panel: Panel, loc: Loc) -> list[tuple[str, Character]]:
    found = []
    for i, name in enumerate(panel.characters):
        if name in r.project.characters:
            found.append((name, r.project.characters[name]))
        else:
            r.fail((*loc, "characters", i), f"unknown character {name!r} (known: {_known(r.project.characters)})")
    return found


def _setting(r: Resolver, panel: Panel, name: str) -> Any:
    """A panel's own setting, else the book default."""
    value = getattr(panel, name)
    return value if value is not None else getattr(r.project.defaults, name)


def _request(r: Resolver, panel_id: str, panel: Panel, characters: list[tuple[str, Character]],
             placed: tuple[PlacedPose, ...], box: tuple[int, int, int, int], loc: Loc) -> GenerateRequest:
    engine = _setting(r, panel, "engine")
    prompt, negative = _prompts(r, panel, characters, loc)
    sampler = _setting(r, panel, "sampler") or DEFAULT_SAMPLER
    if sampler not in SAMPLER_NAMES:
        where = (*loc, "sampler") if panel.sampler else ("defaults", "sampler")
        r.fail(where, f"unknown sampler {sampler!r} (valid: {', '.join(SAMPLER_NAMES)})")
    model = _model(r, panel, engine, loc)
    width, height = _generation_size(r, panel, engine, model, box)
    loras, embeddings = _adapters(r, characters, r.models.get(model.path) if model else None)
    return GenerateRequest(
        panel_id=panel_id, prompt=prompt, negative=negative, seed=_seed(r, panel, panel_id, characters),
        width=width, height=height, model=model, sampler=sampler,
        steps=_setting(r, panel, "steps") or DEFAULT_STEPS, cfg=_or(_setting(r, panel, "cfg"), DEFAULT_CFG),
        clip_skip=_setting(r, panel, "clip_skip") or 1, loras=loras, embeddings=embeddings,
        options=(("precision", r.project.defaults.precision),) if r.project.defaults.precision != "auto" and engine == "diffusion" else (),
        characters=tuple(CharacterLook(name, _palette(r, c)) for name, c in characters),
        poses=placed, shot=panel.shot, label=panel.label if panel.label is not None else _label(panel),
        controls=_sketch_checked(r, panel, _controls(r, panel, engine, placed, loc, r.models.get(model.path) if model else None), (width, height), loc),
        references=_references(r, characters, engine),
        ip_adapter=_ip_adapter(r, characters, engine),
    )


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _label(panel: Panel) -> str:
    """The storyboard label: the prompt's first clause, short."""
    text = panel.prompt.replace("{{", "").replace("}}", "").split(",")[0].strip()
    return text[:60]


def _seed(r: Resolver, panel: Panel, panel_id: str, characters: list[tuple[str, Character]]) -> int:
    """Panel seed, else the first character's seed, else one derived from title and panel id (stable across edits)."""
    if panel.seed is not None:
        return panel.seed
    for _, character in characters:
        if character.seed is not None:
            return character.seed
    digest = hashlib.sha256(f"{r.project.title}\0{panel_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _palette(r: Resolver, character: Character) -> tuple[str, ...]:
    if isinstance(character.palette, str):
        return tuple(r.project.palettes.get(character.palette, ()))
    return tuple(character.palette or ())


def _adapters(r: Resolver, characters: list[tuple[str, Character]], model_info: Any) -> tuple[tuple[AdapterRef, ...], tuple[FileRef, ...]]:
    """LoRAs and embeddings of the panel's characters, each file once; LoRAs checked against the model."""
    loras: dict[str, AdapterRef] = {}
    embeddings: dict[str, FileRef] = {}
    for name, character in characters:
        for i, lora in enumerate(character.loras):
            where = ("characters", name, "loras", i, "file")
            ref = r.file(lora.file, where, "LoRA file")
            if ref and model_info is not None:
                _check_lora(r, ref, lora.file, model_info, where)
            if ref and ref.path not in loras:
                loras[ref.path] = AdapterRef(ref, lora.weight)
        for i, embedding in enumerate(character.embeddings):
            ref = r.file(embedding, ("characters", name, "embeddings", i), "embedding file")
            if ref:
                embeddings.setdefault(ref.path, ref)
    return tuple(loras.values()), tuple(embeddings.values())


def _model(r: Resolver, panel: Panel, engine: str, loc: Loc) -> FileRef | None:
    """The checkpoint for diffusion panels, found offline; None for the draft engine."""
    name = _setting(r, panel, "model")
    where = (*loc, "model") if panel.model else ("defaults", "model")
    if engine != "diffusion":
        if name:
            _check_unused_model(r, name, where)
        return None
    if not name:
        r.fail(where, "engine diffusion needs a model (a checkpoint path, a name in COMICFORGE_MODELS, or a local Hugging Face id)")
        return None
    missing = _missing_diffusion_packages()
    if missing:
        r.fail((*loc, "engine") if panel.engine else ("defaults", "engine"),
               f"engine diffusion needs {', '.join(missing)}: pip install 'comicforge-studio[diffusion]' (with the torch build for your GPU; see the README)")
        return None
    from comicforge.weights.locate import find_model

    path = find_model(name, r.loaded.root)
    if path is None:
        r.fail(where, f"model not found: {name} (looked in the project folder, COMICFORGE_MODELS and the local Hugging Face cache)")
        return None
    ref = FileRef(str(path.resolve()), r.fingerprint(path.resolve()))
    r.files_read.update([path.resolve(), *(p for p in path.resolve().rglob("*") if p.is_file())] if path.is_dir() else [path.resolve()])
    if ref.path not in r.models:
        r.models[ref.path] = _detect(r, path.resolve(), name, where)
    return ref if r.models[ref.path] is not None else None


@lru_cache(maxsize=1)
def _missing_diffusion_packages() -> tuple[str, ...]:
    """The diffusion engine's packages that are not installed (looked up, not imported)."""
    import importlib.util

    return tuple(name for name in ("torch", "diffusers", "transformers", "safetensors") if importlib.util.find_spec(name) is None)


def _detect(r: Resolver, path: Path, name: str, where: Loc) -> Any:
    """The checkpoint's family and native size (header only); an unusable file is a located problem."""
    from comicforge.errors import EngineError
    from comicforge.weights.checkpoint import detect_model

    try:
        return detect_model(path)
    except EngineError as error:
        r.fail(where, _engine_message(error, path, name))
        return None


def _engine_message(error: Exception, path: Path, name: str) -> str:
    """An engine error as the author wrote the file name, not the absolute path."""
    return f"{name}: {kinds.without_path(error, path)}"


def _check_lora(r: Resolver, ref: FileRef, name: str, model_info: Any, where: Loc) -> None:
    """LoRA/model compatibility from the LoRA's header (family, LyCORIS, keys that match nothing)."""
    from comicforge.errors import EngineError
    from comicforge.weights.lora import check_lora

    if (ref.path, str(model_info.path)) in r.checked_loras:
        return
    r.checked_loras.add((ref.path, str(model_info.path)))
    try:
        check_lora(Path(ref.path), model_info)
    except EngineError as error:
        r.fail(where, _engine_message(error, Path(ref.path), name))


def _generation_size(r: Resolver, panel: Panel, engine: str, model: FileRef | None, box: tuple[int, int, int, int]) -> tuple[int, int]:
    """Explicit size, else the engine's native resolution at the panel's aspect (multiples of 8)."""
    size = _setting(r, panel, "size")
    if size:
        return tuple(size)  # type: ignore[return-value]
    width, height = box[2] - box[0], box[3] - box[1]
    if any(edit.op == "outpaint" and edit.fit for edit in panel.edits):
        width = height = min(width, height)  # generate square, then outpaint to the panel's aspect
    if engine == "draft" or model is None:
        scale = min(1.0, DRAFT_MAX_EDGE / max(width, height, 1))
        return max(8, round(width * scale / 8) * 8), max(8, round(height * scale / 8) * 8)
    native = r.models[model.path].native_size
    return native_size_at_aspect(native, width / max(height, 1))


def native_size_at_aspect(native: int, aspect: float) -> tuple[int, int]:
    """About native² pixels at the given width/height aspect, both sides multiples of 8."""
    width = max(8, round(math.sqrt(native * native * aspect) / 8) * 8)
    height = max(8, round(native * native / width / 8) * 8)
    return width, height


class _CharacterVar:
    """A character inside prompt templates: prints as its tokens; .description, .name available."""

    def __init__(self, name: str, character: Character):
        self.name, self.tokens, self.description = name, character.tokens, character.description

    def __str__(self) -> str:
        return self.tokens or self.name


MAX_PROMPT_CHARS = 100_000  # a rendered prompt or style longer than this is a template mistake


class PromptSandbox(SandboxedEnvironment):
    """Jinja2's sandbox, plus limits on `*` and `**` so a prompt cannot exhaust memory or time."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_number(left) and _is_number(right) and _power_bits(left, right) > 1024:
            raise ValueError(f"{left} ** {right} is too large a number")
        if operator == "*" and _sequence_length(left, right) > MAX_PROMPT_CHARS:
            raise ValueError(f"repeating text or a list that many times would exceed {MAX_PROMPT_CHARS} items")
        return super().call_binop(context, operator, left, right)


def _power_bits(base: float, exponent: float) -> float:
    """About how many bits `base ** exponent` needs."""
    return abs(exponent) * math.log2(abs(base)) if abs(base) > 1 else 0.0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sequence_length(left: Any, right: Any) -> float:
    """How long `left * right` would be when one side is a sequence and the other a count (0 otherwise)."""
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
            return len(sequence) * count
    return 0


_SANDBOX = PromptSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=256)
def _template(source: str) -> Any:
    """A compiled sandboxed template (style templates repeat across panels)."""
    _check_bounded(_SANDBOX.parse(source))
    return _SANDBOX.from_string(source)


def _check_bounded(tree: nodes.Template) -> None:
    """Refuse what could run for hours: macros and call blocks (recursion) and loops inside loops."""
    if next(tree.find_all((nodes.Macro, nodes.CallBlock)), None) is not None:
        raise TemplateError("macros and call blocks are not allowed in prompts")
    for loop in tree.find_all(nodes.For):
        if next(loop.find_all(nodes.For), None) is not None:
            raise TemplateError("loops inside loops are not allowed in prompts")


def _render(r: Resolver, source: str, context: dict[str, Any], loc: Loc) -> str:
    """Render a prompt template in the sandbox; errors name the panel field."""
    if "{" not in source:
        return source
    known = ", ".join(k for k in context if not k.startswith("_"))
    try:
        text = _template(source).render(context).strip()
    except TemplateError as error:
        r.fail(loc, f"prompt template: {error.message} (names available: {known})")
        return source
    except RecursionError:
        r.fail(loc, "prompt template: recursion too deep (a macro that calls itself?)")
        return source
    except Exception as error:  # anything the template's own expressions raise (1/0, 'a' + 1, a filter's arguments) is the author's
        r.fail(loc, f"prompt template: {type(error).__name__}: {error} (names available: {known})")
        return source
    if len(text) > MAX_PROMPT_CHARS:
        r.fail(loc, f"prompt template: renders {len(text)} characters (at most {MAX_PROMPT_CHARS})")
        return source
    return text


def _prompts(r: Resolver, panel: Panel, characters: list[tuple[str, Character]], loc: Loc) -> tuple[str, str]:
    """Final prompt and negative: template rendered, tokens of unnamed characters added, style applied."""
    context: dict[str, Any] = {name: _CharacterVar(name, c) for name, c in r.project.characters.items()}
    context.update(shot=panel.shot, characters=[context[n] for n, _ in characters])
    prompt = _render(r, panel.prompt, context, (*loc, "prompt"))
    named = _referenced_names(panel.prompt)
    missing = [str(context[name]) for name, _ in characters if name not in named and str(context[name]) not in prompt]
    prompt = ", ".join(part for part in [*missing, prompt] if part)
    negative = _setting(r, panel, "negative") or ""
    style_name = _setting(r, panel, "style")
    if style_name:
        style = _style(r, style_name, (*loc, "style") if panel.style else ("defaults", "style"))
        if style is not None:
            prompt = _render(r, style.get("prompt", "{{ prompt }}"), {**context, "prompt": prompt}, (*loc, "style"))
            negative = ", ".join(p for p in [negative, style.get("negative", "")] if p)
    return prompt, negative


def _referenced_names(source: str) -> set[str]:
    try:
        return meta.find_undeclared_variables(_SANDBOX.parse(source))
    except TemplateError:
        return set()


def _style_dirs(root: Path) -> list[Path]:
    return [root / "styles", Path(str(resources.files("comicforge") / "templates" / "styles"))]


def style_names(root: Path) -> list[str]:
    """Style templates available to a project (its styles/ folder first, then built-in)."""
    return sorted({p.stem for d in _style_dirs(root) if d.is_dir() for p in d.glob("*.yaml")})


def find_style(name: str, root: Path) -> Path | None:
    """The file of a style template: the project's styles/ folder first, then the built-in ones."""
    for folder in _style_dirs(root):
        path = folder / f"{name}.yaml"
        if path.is_file():
            return path
    return None


def _style(r: Resolver, name: str, where: Loc) -> dict[str, str] | None:
    """A style template {'prompt': '… {{ prompt }} …', 'negative': '…'}; problems are located at the style setting."""
    own = r.loaded.root / "styles"
    if own.is_dir():
        r.files_read.add(own.resolve())  # a style added here later shadows a built-in one
    path = find_style(name, r.loaded.root)
    if path is None:
        r.fail(where, f"unknown style {name!r} (valid: {', '.join(style_names(r.loaded.root))})")
        return None
    if path.parent == own:
        r.files_read.add(path.resolve())
    try:
        style = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        r.fail(where, f"style {name!r}: {path.name} is not valid YAML ({error})")
        return None
    if not isinstance(style, dict) or not all(isinstance(style.get(k, ""), str) for k in ("prompt", "negative")):
        r.fail(where, f"style {name!r}: {path.name} must be a mapping with text `prompt` (containing {{{{ prompt }}}}) and `negative`")
        return None
    return style


def _pose_source(r: Resolver, source: str, loc: Loc) -> list[PlacedPose]:
    """Poses from a preset name or an OpenPose JSON file; the file enters the fingerprints."""
    path = r.loaded.root / source
    try:
        found = poses.resolve_pose(source, r.loaded.root)
    except poses.PoseError as error:
        r.fail(loc, str(error).replace(str(path), source))  # as the author wrote the path
        return []
    if path.is_file():
        r.files_read.add(path.resolve())
    return found


def _panel_poses(r: Resolver, panel: Panel, characters: list[tuple[str, Character]], aspect: float, loc: Loc) -> tuple[PlacedPose, ...]:
    """Figures of the panel placed in their regions: explicit placements, a pose for all, or characters' own."""
    if isinstance(panel.pose, list):
        placed = []
        for i, item in enumerate(panel.pose):
            if item.who is not None and item.who not in r.project.characters:
                r.fail((*loc, "pose", i, "who"), f"unknown character {item.who!r} (known: {_known(r.project.characters)})")
            for figure in _pose_source(r, item.pose, (*loc, "pose", i, "pose")):
                placed.append(poses.place_pose(figure, item.region, flip=item.flip, scale=item.scale, panel_aspect=aspect, who=item.who))
        return tuple(placed)
    count = max(len(characters), 1)
    figures = []
    for i in range(count):
        name, character = characters[i] if characters else (None, None)
        source = panel.pose or (character.pose if character else None)
        if source is None:
            continue
        found = _pose_source(r, source, (*loc, "pose") if panel.pose else ("characters", name or "", "pose"))
        region = (i / count, 0.0, 1 / count, 1.0)
        figures += [poses.place_pose(f, region, flip=i % 2 == 1, panel_aspect=aspect, who=name) for f in found[:1]]
    return tuple(figures)


def _post_chain(r: Resolver, panel: Panel, characters: list[tuple[str, Character]], loc: Loc) -> tuple[dict[str, Any], ...]:
    """The panel's own chain, else the book's default chain followed by its characters' steps."""
    if panel.post is not None:
        steps = [(step, (*loc, "post", i)) for i, step in enumerate(panel.post)]
    else:
        steps = [(step, ("defaults", "post", i)) for i, step in enumerate(r.project.defaults.post or [])]
        for name, character in characters:
            steps += [(step, ("characters", name, "post", i)) for i, step in enumerate(character.post or [])]
    palettes = dict(_chain_palettes(r, characters))
    for step, where in steps:
        _check_post_step(r, step, palettes, where)
    return tuple(step.model_dump(mode="json") for step, _ in steps)


def _check_post_step(r: Resolver, step: Any, palettes: dict[str, tuple[str, ...]], where: Loc) -> None:
    """What a step can only know from the book: screens fine enough for its dpi, palettes it can find."""
    from comicforge.errors import PostError
    from comicforge.post.halftone import check_screen
    from comicforge.post.palette import gather_palette
    from comicforge.post.steps import FlatsStep, HalftoneStep, ScreentoneStep

    try:
        if isinstance(step, (HalftoneStep, ScreentoneStep)):
            check_screen(r.project.format.dpi, step.lpi, step.angle, step.shape, step.op)
        elif isinstance(step, FlatsStep):
            gather_palette(step.palette, step.colors, palettes)
    except PostError as error:
        if not any(problem.path == r.loaded.problem(where, "").path for problem in r.problems):
            r.fail(where, str(error))  # a book-wide step is reported for its first panel only


def _chain_palettes(r: Resolver, characters: list[tuple[str, Character]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The book's named palettes plus each of the panel's characters' palette under the character's name."""
    named = {name: tuple(colours) for name, colours in r.project.palettes.items()}
    named.update({name: _palette(r, c) for name, c in characters if c.palette})
    return tuple(sorted(named.items()))


def _balloons(r: Resolver, panel: Panel, loc: Loc) -> tuple[BalloonSpec, ...]:
    return tuple(filter(None, (_balloon(r, b, (*loc, "balloons", i)) for i, b in enumerate(panel.balloons))))


def _balloon(r: Resolver, balloon: Balloon, loc: Loc) -> BalloonSpec | None:
    fmt = r.project.format
    character = None
    if balloon.who is not None:
        character = r.project.characters.get(balloon.who)
        if character is None:
            r.fail((*loc, "who"), f"unknown speaker {balloon.who!r} (known: {_known(r.project.characters)})")
            return None
    voice = character.voice if character else None
    font_name, font_loc = _font_choice(balloon, voice, fmt.font, loc)
    faces = _faces(r, font_name, font_loc)
    if faces is None:
        return None
    style = balloon.style or ("caption" if balloon.caption else (voice.style if voice else "speech"))
    caps = next(c for c in (balloon.caps, voice.caps if voice else None, fmt.caps) if c is not None)
    _check_glyphs(r, balloon.text.upper() if caps else balloon.text, faces, (*loc, "text"))
    size = balloon.size or (voice.size if voice and voice.size else None) or fmt.font_size
    vertical = balloon.vertical if balloon.vertical is not None else _vertical_by_default(r.project, balloon.text)
    return BalloonSpec(
        balloon.text, style, balloon.who, *faces, size, min(fmt.min_font_size, size), fmt.leading, caps,
        r.project.language if fmt.hyphenate else None, vertical, balloon.link, balloon.at, balloon.tail,
    )


def _font_choice(balloon: Balloon, voice: Any, book_font: str | None, loc: Loc) -> tuple[str, Loc]:
    """The balloon's font, else its speaker's voice font, else the book's, else the default; with where it was named."""
    if balloon.font:
        return balloon.font, (*loc, "font")
    if voice is not None and voice.font:
        return voice.font, ("characters", balloon.who, "voice", "font")
    if book_font:
        return book_font, ("format", "font")
    return DEFAULT_FONT, loc


def _vertical_by_default(project: Project, text: str) -> bool:
    """Japanese text in a right-to-left book is lettered top to bottom (captions too)."""
    return project.language == "ja" and project.format.reading == "rtl" and any(_is_cjk(c) for c in text)


def _is_cjk(char: str) -> bool:
    return 0x3000 <= ord(char) <= 0x9FFF or 0xF900 <= ord(char) <= 0xFAFF or 0xFF00 <= ord(char) <= 0xFFEF


def _faces(r: Resolver, name: str, loc: Loc) -> tuple[FileRef, FileRef, FileRef] | None:
    """The regular, bold and italic faces of a lettering font, each readable as TrueType."""
    regular = _font(r, name, loc)
    if regular is None:
        return None
    if name not in BUILTIN_FONTS:  # a face added beside a project font later must be noticed by the fast path
        r.files_read.update(path.resolve() for path in emphasis_candidates(Path(regular.path)))
    bold, italic = (_font(r, str(path), loc) for path in emphasis_fonts(name, r.loaded.root))
    return (regular, bold or regular, italic or regular)


def _check_glyphs(r: Resolver, text: str, faces: tuple[FileRef, FileRef, FileRef], loc: Loc) -> None:
    """Every character must have a glyph in the face that draws it (emphasis in its own face)."""
    from comicforge.letter.text import parse_emphasis

    by_face = {"regular": faces[0], "bold": faces[1], "italic": faces[2]}
    wanted: dict[str, str] = {}
    for paragraph in parse_emphasis(text):
        for word in paragraph:
            for piece, face in word:
                wanted[face] = wanted.get(face, "") + piece
    for face, chars in wanted.items():
        _report_missing(r, by_face[face].path, chars, loc)


def _report_missing(r: Resolver, font: str, text: str, loc: Loc) -> None:
    from comicforge.letter.fonts import missing_glyphs

    missing = missing_glyphs(font, text)
    if missing:
        names = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing)
        r.fail(loc, f"font {Path(font).name} has no glyph for {names}")


def _font(r: Resolver, name: str, loc: Loc) -> FileRef | None:
    """A font file, fingerprinted and checked to load as TrueType (problems reported once)."""
    from comicforge.letter.fonts import FontError, registered_font_name

    path = find_font(name, r.loaded.root)
    if path is None:
        _fail_once(r, loc, f"font not found: {name} (a .ttf path relative to the project, or a built-in font)")
        return None
    try:
        registered_font_name(str(path.resolve()))
    except FontError as error:
        _fail_once(r, loc, f"font {name}: {error}")
        return None
    if not str(path).startswith(str(Path(str(resources.files("comicforge"))))):
        r.files_read.add(path.resolve())
    return FileRef(str(path.resolve()), r.fingerprint(path.resolve()))


def _fail_once(r: Resolver, loc: Loc, message: str) -> None:
    problem = r.loaded.problem(loc, message)
    if problem not in r.problems:
        r.problems.append(problem)


def _sfx(r: Resolver, panel: Panel, loc: Loc) -> tuple[SfxSpec, ...]:
    """Sound effects with their font checked (glyphs included)."""
    specs = []
    for i, sfx in enumerate(panel.sfx):
        where = (*loc, "sfx", i)
        font = _font(r, sfx.font or SFX_FONT, (*where, "font") if sfx.font else where)
        if font is None:
            continue
        _report_missing(r, font.path, sfx.text, (*where, "text"))
        specs.append(SfxSpec(sfx.text, font, sfx.size, sfx.angle, sfx.at, sfx.fill, sfx.outline, sfx.outline_width))
    return tuple(specs)


def _check_unique_ids(r: Resolver, pages: tuple[PageSpec, ...]) -> None:
    seen: dict[str, PanelSpec] = {}
    for page in pages:
        for panel in page.panels:
            if panel.id in seen:
                r.fail((*panel.loc, "id"), f"duplicate panel id {panel.id!r} (also {r.loaded.problem(seen[panel.id].loc, '').path})")
            seen[panel.id] = panel


def _controls(r: Resolver, panel: Panel, engine: str, placed: tuple[PlacedPose, ...], loc: Loc, model_info: Any) -> tuple[ControlInput, ...]:
    """Control inputs the panel has (pose figures, a sketch), with the book's ControlNet for each when diffusing."""
    nets = r.project.defaults.controlnets
    found: list[ControlInput] = []
    sketch = r.checked(panel.lineart, (*loc, "lineart"), "sketch", kinds.image_problem) if panel.lineart else None
    for kind, present, source in (("openpose", bool(placed), None), ("lineart", sketch is not None, sketch)):
        if not present:
            continue
        net = nets.get(kind) if engine == "diffusion" else None
        model = r.file(net.file, ("defaults", "controlnets", kind, "file"), "ControlNet file") if net else None
        if model is not None and model_info is not None and net is not None:
            _check_controlnet(r, model, net.file, model_info, ("defaults", "controlnets", kind, "file"))
        found.append(ControlInput(kind, model, net.weight if net else 1.0, net.start if net else 0.0, net.end if net else 1.0, source))
    return tuple(found)


def _sketch_checked(r: Resolver, panel: Panel, controls: tuple[ControlInput, ...], size: tuple[int, int], loc: Loc) -> tuple[ControlInput, ...]:
    """The controls, once the sketch is known to leave lines at the generation size (else the engines refuse it)."""
    from comicforge.control.images import lineart_control
    from comicforge.control.lineart import LineartError

    for control in controls:
        if control.kind == "lineart" and control.source is not None:
            try:
                lineart_control(Path(control.source.path), *size)
            except LineartError as error:
                r.fail((*loc, "lineart"), f"{panel.lineart}: {kinds.without_path(error, Path(control.source.path))}")
    return controls


def _check_controlnet(r: Resolver, ref: FileRef, name: str, model_info: Any, where: Loc) -> None:
    """A ControlNet must be for the base model's family (checked from its header, once per pair)."""
    from comicforge.errors import EngineError
    from comicforge.weights.controlnet import check_controlnet_fits, detect_controlnet

    if (ref.path, str(model_info.path)) in r.checked_loras:
        return
    r.checked_loras.add((ref.path, str(model_info.path)))
    try:
        check_controlnet_fits(detect_controlnet(Path(ref.path)), model_info)
    except EngineError as error:
        r.fail(where, _engine_message(error, Path(ref.path), name))


def _references(r: Resolver, characters: list[tuple[str, Character]], engine: str) -> tuple[AdapterRef, ...]:
    """Reference images of the panel's characters, for IP-Adapter (diffusion only, when one is configured)."""
    if engine != "diffusion" or not r.project.defaults.ip_adapter:
        return ()
    refs = []
    for name, character in characters:
        for i, image in enumerate(character.references):
            ref = r.file(image, ("characters", name, "references", i), "reference image")
            if ref:
                refs.append(AdapterRef(ref, character.reference_weight))
    return tuple(refs)


def _ip_adapter(r: Resolver, characters: list[tuple[str, Character]], engine: str) -> FileRef | None:
    """The IP-Adapter file, for diffusion panels whose characters have reference images."""
    name = r.project.defaults.ip_adapter
    if engine != "diffusion" or not name or not any(c.references for _, c in characters):
        return None
    return r.file(name, ("defaults", "ip_adapter"), "IP-Adapter file")


def _edits(r: Resolver, panel: Panel, request: GenerateRequest, box: tuple[int, int, int, int], loc: Loc) -> tuple[RefineStep, ...]:
    """The panel's editing steps as engine refine steps (files fingerprinted, sizes computed)."""
    steps = []
    width, height = box[2] - box[0], box[3] - box[1]
    for i, edit in enumerate(panel.edits):
        where = (*loc, "edits", i)
        common = {"prompt": edit.prompt, "seed": edit.seed}
        if edit.op == "img2img":
            init = r.checked(edit.init, (*where, "init"), "init image", kinds.image_problem) if edit.init else None
            steps.append(RefineStep("img2img", edit.strength, init=init, **common))
        elif edit.op == "inpaint":
            mask = _mask(r, edit.mask, width / max(height, 1), (*where, "mask")) if edit.mask else None
            steps.append(RefineStep("inpaint", edit.strength, mask=mask, rects=tuple(tuple(x) for x in edit.rects), **common))
        elif edit.op == "outpaint":
            step = _outpaint_step(edit, request, width / max(height, 1), common)
            _check_canvas(r, step, request, where)
            steps.append(step)
        else:
            model = r.checked(edit.model, (*where, "model"), "upscale model", _upscale_problem) if edit.model else None
            steps.append(RefineStep("upscale", edit.strength, width=width, height=height, model=model, **common))
    return tuple(steps)


def _check_canvas(r: Resolver, step: RefineStep, request: GenerateRequest, where: Loc) -> None:
    """An outpaint canvas must stay an image Pillow opens without a decompression-bomb warning."""
    left, top, right, bottom = step.extend
    width, height = round(request.width * (1 + left + right)), round(request.height * (1 + top + bottom))
    if width * height > MAX_CANVAS_PIXELS:
        r.fail(where, f"outpaint would make a {width} x {height} px canvas from {request.width} x {request.height}, "
                      f"more than {MAX_CANVAS_PIXELS / 1e6:.0f} megapixels; extend less")


def _outpaint_step(edit: Any, request: GenerateRequest, aspect: float, common: dict[str, Any]) -> RefineStep:
    """Extend fractions: to the panel's aspect (`fit`), else as written."""
    if not edit.fit:
        return RefineStep("outpaint", 1.0, extend=(edit.left, edit.top, edit.right, edit.bottom), **common)
    current = request.width / request.height
    side = (aspect / current - 1) / 2 if aspect >= current else (current / aspect - 1) / 2
    extend = (side, 0.0, side, 0.0) if aspect >= current else (0.0, side, 0.0, side)
    width = round(request.width * (1 + extend[0] + extend[2]) / 8) * 8
    height = round(request.height * (1 + extend[1] + extend[3]) / 8) * 8
    return RefineStep("outpaint", 1.0, extend=extend, width=width, height=height, **common)


def _upscale_problem(path: Path) -> str | None:
    return kinds.weights_problem(path, "upscale model")


def _mask(r: Resolver, name: str, aspect: float, loc: Loc) -> FileRef | None:
    """An inpaint mask, which must share the panel's aspect (it is scaled, never cropped)."""
    from PIL import Image

    ref = r.checked(name, loc, "mask image", kinds.image_problem)
    if ref is None:
        return None
    with Image.open(ref.path) as image:
        width, height = image.size
    if abs((width / height) / aspect - 1) > 0.02:
        r.fail(loc, f"{name}: mask is {width}x{height} (aspect {width / height:.3f}) but the panel's aspect is {aspect:.3f}; "
                    "draw the mask at the panel's proportions")
        return None
    return ref
