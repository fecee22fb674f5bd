"""Validated project → BookSpec, as a story: characters and book weights checked, then each page and panel in order."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comicforge.errors import ProjectError
from comicforge.layout.pages import PageGeometry, pixel_box
from comicforge.layout.panels import Rect
from comicforge.project import kinds
from comicforge.project.load import LoadedProject, Loc
from comicforge.project.resolve.controls import inputs_checked, panel_controls, size_grid
from comicforge.project.resolve.edits import panel_edits
from comicforge.project.resolve.generation import (
    DEFAULT_CFG,
    DEFAULT_STEPS,
    character_adapters,
    generation_size,
    ip_adapter,
    panel_model,
    prompt_loras,
    reference_images,
    with_prompt_loras,
)
from comicforge.project.resolve.geometry import book_geometry, panel_rects
from comicforge.project.resolve.lettering import panel_balloons, panel_sfx
from comicforge.project.resolve.poses import panel_poses, pose_source
from comicforge.project.resolve.post import chain_palettes, character_palette, post_chain
from comicforge.project.resolve.prompts import panel_prompts, region_prompts
from comicforge.project.resolve.regions import check_plain_regions, panel_regions, region_boxes
from comicforge.project.resolve.resolver import Fingerprint, PanelReads, Resolver, kind_of, known, setting
from comicforge.project.resolve.reuse import BookInputs, book_inputs
from comicforge.project.resolve.samplers import family_sampler
from comicforge.project.resolve.variants import panel_variants, preview_request
from comicforge.project.schema import Character, Page, Panel, Project
from comicforge.project.specs import BookSettings, BookSpec, PageSpec, PanelSpec
from comicforge.promptlang.networks import strip_tags
from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.jobs import OutputSettings, PageFrame
from comicforge.spec.poses import PlacedPose
from comicforge.spec.requests import CharacterLook, GenerateRequest, Region
from comicforge.spec.samplers import DEFAULT_SAMPLER, SAMPLER_NAMES


def resolve_book(loaded: LoadedProject, fingerprint: Fingerprint) -> tuple[BookSpec, set[Path]]:
    """Resolve a loaded project; raises ProjectError listing every problem found."""
    book = BookResolve(loaded, fingerprint)
    pages = tuple(PageSpec(**fields_of(page.frame), panels=tuple(book.panel(slot) for slot in page.slots)) for page in book.pages)
    book.finish()
    return BookSpec(**fields_of(book.settings), pages=pages), book.files_read


def fields_of(value: Any) -> dict[str, Any]:
    """A dataclass's fields by name, not copied (unlike `dataclasses.asdict`)."""
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


@dataclass(frozen=True)
class PanelSlot:
    """A panel's place in the book before it is resolved."""

    page: int
    index: int  # 1-based, in reading order
    id: str
    rect: Rect
    panel: Panel

    @property
    def loc(self) -> Loc:
        return ("pages", self.page - 1, "panels", self.index - 1)


@dataclass(frozen=True)
class PageOutline:
    """A page's frame and the places of its panels."""

    frame: PageFrame
    slots: tuple[PanelSlot, ...]


class BookResolve:
    """A book resolved panel by panel, so that a caller may reuse the panels it has (pipeline/reuse.py): the book-wide
    checks and the pages' geometry first, then each panel on request, then `finish` raises every problem found."""

    def __init__(self, loaded: LoadedProject, fingerprint: Fingerprint):
        self.r = r = Resolver(loaded, fingerprint)
        _check_characters(r)
        _check_book_weights(r)
        self.geometry = book_geometry(r.project.format)
        self.settings = _book_settings(r)
        self.pages = tuple(_outline(r, number, page, self.geometry) for number, page in enumerate(r.project.pages, start=1))
        _check_unique_ids(r, [slot for page in self.pages for slot in page.slots])

    def inputs(self) -> BookInputs:
        """What every panel is made from besides its own node (for the panel cache's keys)."""
        from comicforge.weights.locate import search_environment

        return book_inputs(self.r.loaded.data, self.r.loaded.root, search_environment(), self.settings.icc_profile)

    def node(self, slot: PanelSlot) -> Any:
        """The panel as the project file spells it."""
        return self.r.loaded.data["pages"][slot.page - 1]["panels"][slot.index - 1]

    def panel(self, slot: PanelSlot) -> PanelSpec:
        """Resolve one panel (its problems are collected for `finish`)."""
        return _panel(self.r, slot, self.geometry)

    def panel_reads(self, slot: PanelSlot) -> tuple[PanelSpec, PanelReads | None]:
        """Resolve one panel, with what it read; None instead of the reads when it has problems (so it is not kept)."""
        failures, self.r.reading = self.r.failures, PanelReads()
        spec = self.panel(slot)
        reads, self.r.reading = self.r.reading, None
        return spec, reads if self.r.failures == failures else None

    def reuse(self, files: list[str]) -> None:
        """Note the files a reused panel read (the book depends on them as if it had read them)."""
        self.r.read(*map(Path, files))

    def finish(self) -> None:
        """Raise ProjectError listing every problem found, if any."""
        if self.r.problems:
            unique = list(dict.fromkeys(self.r.problems))  # a book-wide setting fails once, not once per panel
            raise ProjectError(sorted(unique, key=lambda p: p.line or 0))

    @property
    def files_read(self) -> set[Path]:
        return self.r.files_read


def _book_settings(r: Resolver) -> BookSettings:
    project = r.project
    return BookSettings(
        project.title, project.author, project.series, project.number, project.language, project.format.reading,
        project.format.color, OutputSettings(**project.format.output.model_dump()), _runtime_options(project), _icc_profile_once(r),
    )


def _icc_profile_once(r: Resolver) -> FileRef | None:
    """The book's ICC profile, resolved (and its problems reported) once for all panels."""
    if "icc" not in r.models:
        r.models["icc"] = _icc_profile(r)
    return r.models["icc"]


def _icc_profile(r: Resolver) -> FileRef | None:
    """The book's output ICC profile, checked to be one Little CMS reads (before it is fingerprinted)."""
    name = r.project.format.icc_profile
    return r.checked(name, ("format", "icc_profile"), "ICC profile", kinds.icc_profile_problem) if name else None


def _runtime_options(project: Project) -> tuple[tuple[str, str], ...]:
    """Memory savers handed to the engine at run time, outside every key."""
    memory = project.defaults.memory
    found = [("attention_slicing", str(memory.attention_slicing).lower())]
    if memory.vae_tiling is not None:
        found.append(("vae_tiling", str(memory.vae_tiling).lower()))
    if memory.offload != "none":
        found.append(("offload", memory.offload))
    found.append(("batch", str(memory.batch)))
    return tuple(found)


def _check_characters(r: Resolver) -> None:
    """Palette names and files of the character bible."""
    for name, character in r.project.characters.items():
        if isinstance(character.palette, str) and character.palette not in r.project.palettes:
            r.fail(("characters", name, "palette"), f"unknown palette {character.palette!r} (known: {known(r.project.palettes)})")
        for i, ref in enumerate(character.references):
            r.image(ref, ("characters", name, "references", i), "reference image")
        for i, lora in enumerate(character.loras):
            kind_of(r, lora.file, ("characters", name, "loras", i, "file"), "LoRA file", kinds.lora_problem)
        for i, embedding in enumerate(character.embeddings):
            kind_of(r, embedding, ("characters", name, "embeddings", i), "embedding file", kinds.embedding_problem)
        if character.pose:
            pose_source(r, character.pose, ("characters", name, "pose"))


def _check_book_weights(r: Resolver) -> None:
    """The book's ControlNets and IP-Adapter are what they claim to be, whichever engine the panels use."""
    defaults = r.project.defaults
    for kind, net in defaults.controlnets.items():
        kind_of(r, net.file, ("defaults", "controlnets", kind, "file"), "ControlNet file", kinds.controlnet_problem)
    if defaults.ip_adapter:
        kind_of(r, defaults.ip_adapter, ("defaults", "ip_adapter"), "IP-Adapter file", kinds.ip_adapter_problem)


def _outline(r: Resolver, number: int, page: Page, g: PageGeometry) -> PageOutline:
    rects = panel_rects(r, page, g, ("pages", number - 1))
    fmt = r.project.format
    frame = PageFrame(number, (g.media.w, g.media.h), g.bleed, g.live.rounded(), g.dpi, g.pixels, fmt.color, fmt.reading, fmt.border)
    slots = tuple(
        PanelSlot(number, index, panel.id or f"p{number}.{index}", rect, panel)
        for index, (panel, rect) in enumerate(zip(page.panels, rects), start=1)
    )
    return PageOutline(frame, slots)


def _panel(r: Resolver, slot: PanelSlot, g: PageGeometry) -> PanelSpec:
    panel, loc, panel_id = slot.panel, slot.loc, slot.id
    characters = _panel_characters(r, panel, loc)
    box = pixel_box(slot.rect, g.dpi)
    aspect = (box[2] - box[0]) / max(box[3] - box[1], 1)
    placed = panel_poses(r, panel, characters, aspect, loc)
    request = _request(r, panel_id, panel, characters, placed, box, loc)
    variants, pick = panel_variants(r, panel, loc)
    return PanelSpec(
        panel_id, slot.page, loc, request, post_chain(r, panel, characters, loc),
        slot.rect, box, panel_balloons(r, panel, loc), chain_palettes(r, characters), panel_sfx(r, panel, loc),
        panel_edits(r, panel, request, box, loc), _icc_profile_once(r), variants, pick, preview_request(r, request),
    )


def _panel_characters(r: Resolver, panel: Panel, loc: Loc) -> list[tuple[str, Character]]:
    found = []
    for i, name in enumerate(panel.characters):
        character = r.character(name)
        if name in panel.characters[:i]:
            r.fail((*loc, "characters", i), f"{name!r} is listed twice (each character has one region in a panel)")
        elif character is not None:
            found.append((name, character))
        else:
            r.fail((*loc, "characters", i), f"unknown character {name!r} (known: {known(r.project.characters)})")
    return found


def _request(r: Resolver, panel_id: str, panel: Panel, characters: list[tuple[str, Character]],
             placed: tuple[PlacedPose, ...], box: tuple[int, int, int, int], loc: Loc) -> GenerateRequest:
    engine = setting(r, panel, "engine")
    prompt, negative = panel_prompts(r, panel, characters, loc)
    sampler = setting(r, panel, "sampler") or DEFAULT_SAMPLER
    if sampler not in SAMPLER_NAMES:
        where = (*loc, "sampler") if panel.sampler else ("defaults", "sampler")
        r.fail(where, f"unknown sampler {sampler!r} (valid: {', '.join(SAMPLER_NAMES)})")
    model = panel_model(r, panel, engine, loc)
    model_info = r.models.get(model.path) if model else None
    controls = panel_controls(r, panel, engine, placed, loc, model_info)
    width, height = generation_size(r, panel, engine, model, box, size_grid(controls))
    sampler = family_sampler(r, panel, sampler, model_info, loc)
    steps = setting(r, panel, "steps") or DEFAULT_STEPS
    cast = _Cast(panel_id, panel, characters, placed, engine, model_info, loc)
    regions, scene, loras, embeddings = _cast_adapters(r, cast, prompt, negative, steps)
    return GenerateRequest(
        engine=engine, panel_id=panel_id, prompt=prompt, negative=negative, seed=_seed(r, panel, panel_id, characters),
        width=width, height=height, model=model, sampler=sampler,
        steps=steps, cfg=_or(setting(r, panel, "cfg"), DEFAULT_CFG),
        clip_skip=setting(r, panel, "clip_skip") or 1, loras=loras, embeddings=embeddings,
        options=(("precision", r.project.defaults.precision),) if r.project.defaults.precision != "auto" and engine == "diffusion" else (),
        characters=tuple(CharacterLook(name, character_palette(r, c)) for name, c in characters),
        poses=placed, shot=panel.shot, label=panel.label if panel.label is not None else _label(panel),
        controls=inputs_checked(r, panel, controls, (width, height), loc),
        references=tuple(ref for region in regions for ref in region.references) if regions else reference_images(r, characters, engine),
        ip_adapter=ip_adapter(r, characters, engine),
        regions=regions, scene=scene,
    )


@dataclass(frozen=True)
class _Cast:
    """A panel's characters with what their regions depend on: poses, engine, model."""

    panel_id: str
    panel: Panel
    characters: list[tuple[str, Character]]
    placed: tuple[PlacedPose, ...]
    engine: str
    model_info: Any
    loc: Loc


def _cast_adapters(r: Resolver, cast: _Cast, prompt: str, negative: str, steps: int
                   ) -> tuple[tuple[Region, ...], str, tuple[AdapterRef, ...], tuple[FileRef, ...]]:
    """(regions, scene, LoRAs, embeddings): with several characters each one's LoRAs and embeddings act in its region
    and the prompt's tags everywhere; with one (or on SD3, whose transformer takes no regions) all act on the panel."""
    panel, characters, loc = cast.panel, cast.characters, cast.loc
    regional = len(characters) > 1 and not getattr(cast.model_info, "is_sd3", False)
    scene, region_texts = region_prompts(r, panel, characters, loc) if regional else ("", {})
    tagged = prompt_loras(r, scene if regional else prompt, cast.panel_id, cast.model_info, (*loc, "prompt"))
    boxes = region_boxes(r, panel, characters, cast.placed, loc) if regional or panel.regions else {}  # names checked either way
    if not regional:
        loras, embeddings = character_adapters(r, characters, cast.model_info)
        return (), "", with_prompt_loras(loras, tagged), embeddings
    regions = panel_regions(r, cast.panel_id, characters, boxes, region_texts, tagged, cast.engine, cast.model_info, loc)
    if cast.engine == "diffusion":
        check_plain_regions(r, regions, negative, steps, loc)
    return regions, scene, tagged, ()


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _label(panel: Panel) -> str:
    """The storyboard label: the prompt's first clause, short."""
    text = strip_tags(panel.prompt).replace("{{", "").replace("}}", "").split(",")[0].strip()
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


def _check_unique_ids(r: Resolver, slots: list[PanelSlot]) -> None:
    seen: dict[str, PanelSlot] = {}
    for slot in slots:
        if slot.id in seen:
            r.fail((*slot.loc, "id"), f"duplicate panel id {slot.id!r} (also {r.loaded.problem(seen[slot.id].loc, '').path})")
        seen[slot.id] = slot
