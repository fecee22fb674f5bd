"""Validated project → BookSpec, as a story: characters and book weights checked, then each page and panel in order."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from comicforge.errors import ProjectError
from comicforge.layout.pages import PageGeometry, pixel_box
from comicforge.layout.panels import Rect
from comicforge.project import kinds
from comicforge.project.load import LoadedProject, Loc
from comicforge.project.resolve.controls import panel_controls, sketch_checked
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
from comicforge.project.resolve.resolver import Fingerprint, Resolver, kind_of, known, setting
from comicforge.project.resolve.variants import panel_variants, preview_request
from comicforge.project.schema import Character, Page, Panel, Project
from comicforge.project.specs import BookSpec, PageSpec, PanelSpec
from comicforge.promptlang.networks import strip_tags
from comicforge.spec.files import FileRef
from comicforge.spec.jobs import OutputSettings
from comicforge.spec.poses import PlacedPose
from comicforge.spec.requests import CharacterLook, GenerateRequest, Region
from comicforge.spec.samplers import DEFAULT_SAMPLER, SAMPLER_NAMES


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
    geometry = book_geometry(project.format)
    pages = tuple(_page(r, number, page, geometry) for number, page in enumerate(project.pages, start=1))
    _check_unique_ids(r, pages)
    return BookSpec(
        project.title, project.author, project.series, project.number, project.language,
        project.format.reading, project.format.color, pages, OutputSettings(**project.format.output.model_dump()),
        _runtime_options(project), _icc_profile_once(r),
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


def _page(r: Resolver, number: int, page: Page, g: PageGeometry) -> PageSpec:
    loc: Loc = ("pages", number - 1)
    rects = panel_rects(r, page, g, loc)
    panels = tuple(
        _panel(r, number, index, panel, rect, g)
        for index, (panel, rect) in enumerate(zip(page.panels, rects), start=1)
    )
    fmt = r.project.format
    return PageSpec(number, (g.media.w, g.media.h), g.bleed, g.live.rounded(), g.dpi, g.pixels, fmt.color, fmt.reading, fmt.border, panels)


def _panel(r: Resolver, page: int, index: int, panel: Panel, rect: Rect, g: PageGeometry) -> PanelSpec:
    loc: Loc = ("pages", page - 1, "panels", index - 1)
    panel_id = panel.id or f"p{page}.{index}"
    characters = _panel_characters(r, panel, loc)
    box = pixel_box(rect, g.dpi)
    aspect = (box[2] - box[0]) / max(box[3] - box[1], 1)
    placed = panel_poses(r, panel, characters, aspect, loc)
    request = _request(r, panel_id, panel, characters, placed, box, loc)
    variants, pick = panel_variants(r, panel, loc)
    return PanelSpec(
        panel_id, page, loc, request, post_chain(r, panel, characters, loc),
        rect, box, panel_balloons(r, panel, loc), chain_palettes(r, characters), panel_sfx(r, panel, loc),
        panel_edits(r, panel, request, box, loc), _icc_profile_once(r), variants, pick, preview_request(r, request),
    )


def _panel_characters(r: Resolver, panel: Panel, loc: Loc) -> list[tuple[str, Character]]:
    found = []
    for i, name in enumerate(panel.characters):
        if name in r.project.characters:
            found.append((name, r.project.characters[name]))
        else:
            r.fail((*loc, "characters", i), f"unknown character {name!r} (known: {known(r.project.characters)})")
    return found


def _request(r: Resolver, panel_id: str, panel: Panel, characters: list[tuple[str, Character]],
             placed: tuple[PlacedPose, ...], box: tuple[int, int, int, int], loc: Loc) -> GenerateRequest:
    engine = setting(r, panel, "engine")
    several = len(characters) > 1
    prompt, negative = panel_prompts(r, panel, characters, loc)
    scene, region_texts = region_prompts(r, panel, characters, loc) if several else ("", {})
    sampler = setting(r, panel, "sampler") or DEFAULT_SAMPLER
    if sampler not in SAMPLER_NAMES:
        where = (*loc, "sampler") if panel.sampler else ("defaults", "sampler")
        r.fail(where, f"unknown sampler {sampler!r} (valid: {', '.join(SAMPLER_NAMES)})")
    model = panel_model(r, panel, engine, loc)
    width, height = generation_size(r, panel, engine, model, box)
    model_info = r.models.get(model.path) if model else None
    steps = setting(r, panel, "steps") or DEFAULT_STEPS
    tagged = prompt_loras(r, scene if several else prompt, panel_id, model_info, (*loc, "prompt"))
    regions: tuple[Region, ...] = ()
    if several:  # each character's LoRAs, embeddings and references act in its region; the prompt's tags everywhere
        regions = panel_regions(r, panel_id, characters, region_boxes(r, panel, characters, placed, loc), region_texts,
                                tagged, engine, model_info, loc)
        if engine == "diffusion":
            check_plain_regions(r, regions, negative, steps, loc)
        loras, embeddings = tagged, ()
        references = reference_images(r, characters, engine)  # the whole panel, as before: per-region IP-Adapter masks are not done yet
    else:
        if panel.regions:
            region_boxes(r, panel, characters, placed, loc)  # its names are checked; one character needs no region
        loras, embeddings = character_adapters(r, characters, model_info)
        loras, references = with_prompt_loras(loras, tagged), reference_images(r, characters, engine)
    return GenerateRequest(
        engine=engine, panel_id=panel_id, prompt=prompt, negative=negative, seed=_seed(r, panel, panel_id, characters),
        width=width, height=height, model=model, sampler=sampler,
        steps=steps, cfg=_or(setting(r, panel, "cfg"), DEFAULT_CFG),
        clip_skip=setting(r, panel, "clip_skip") or 1, loras=loras, embeddings=embeddings,
        options=(("precision", r.project.defaults.precision),) if r.project.defaults.precision != "auto" and engine == "diffusion" else (),
        characters=tuple(CharacterLook(name, character_palette(r, c)) for name, c in characters),
        poses=placed, shot=panel.shot, label=panel.label if panel.label is not None else _label(panel),
        controls=sketch_checked(r, panel, panel_controls(r, panel, engine, placed, loc, r.models.get(model.path) if model else None), (width, height), loc),
        references=references,
        ip_adapter=ip_adapter(r, characters, engine),
        regions=regions, scene=scene,
    )


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


def _check_unique_ids(r: Resolver, pages: tuple[PageSpec, ...]) -> None:
    seen: dict[str, PanelSpec] = {}
    for page in pages:
        for panel in page.panels:
            if panel.id in seen:
                r.fail((*panel.loc, "id"), f"duplicate panel id {panel.id!r} (also {r.loaded.problem(seen[panel.id].loc, '').path})")
            seen[panel.id] = panel
