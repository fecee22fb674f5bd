"""A panel's control inputs (pose figures, a sketch, depth and normal maps) with the ControlNets and T2I-Adapters that
read them, checked against the model.

Each control type reads one panel input (`spec.requests.CONTROL_INPUTS`). A panel always lists the inputs it has
(the draft engine and `comicforge control` draw them); `softedge` and `scribble`, derived from the sketch, only
when a ControlNet reads them. A book-wide ControlNet steers the panels that have its input; one the panel names
itself (`controlnets:`) must have it, else a located error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comicforge.errors import EngineError
from comicforge.project import kinds
from comicforge.project.load import Loc
from comicforge.project.resolve.resolver import Resolver, check_fits
from comicforge.project.schema import ControlType, Panel
from comicforge.spec.files import FileRef
from comicforge.spec.poses import PlacedPose
from comicforge.spec.requests import CONTROL_INPUTS, ControlInput

CONTROL_ORDER: tuple[ControlType, ...] = ("openpose", "lineart", "softedge", "scribble", "depth", "normal")
DERIVED = ("softedge", "scribble")  # made from the sketch: listed only when a ControlNet reads them
INPUT_FIELDS = {"pose": "a pose", "lineart": "a `lineart:` sketch", "depth": "a `depth:` map", "normal": "a `normal:` map"}


@dataclass(frozen=True)
class PanelInput:
    """One input a panel has: present or not, and the file it comes from (poses have none)."""

    present: bool
    source: FileRef | None = None


@dataclass(frozen=True)
class Network:
    """A ControlNet or T2I-Adapter as it applies to one panel, with where its file is named."""

    file: str
    weight: float
    start: float
    end: float
    where: Loc  # where its file is named
    own: Loc | None = None  # where the panel names it (then its input is required); None: the book's


def panel_controls(r: Resolver, panel: Panel, engine: str, placed: tuple[PlacedPose, ...], loc: Loc, model_info: Any) -> tuple[ControlInput, ...]:
    """Control inputs the panel has, with the ControlNet (and T2I-Adapter) for each when diffusing."""
    inputs = _panel_inputs(r, panel, placed, loc)
    nets = _panel_controlnets(r, panel, loc) if engine == "diffusion" else {}
    found: list[ControlInput] = []
    for kind in CONTROL_ORDER:
        given, net = inputs[CONTROL_INPUTS[kind]], nets.get(kind)
        if not given.present:
            if net is not None and net.own is not None:
                r.fail(net.own, f"a {kind} ControlNet needs {INPUT_FIELDS[CONTROL_INPUTS[kind]]} (the panel has none)")
            continue
        if kind in DERIVED and net is None:
            continue
        found.append(_control(r, kind, net, given, model_info, "controlnet", _controlnet_fits))
    if engine == "diffusion":
        for kind, adapter in r.project.defaults.t2i_adapters.items():
            given = inputs[CONTROL_INPUTS[kind]]
            if given.present:
                where = ("defaults", "t2i_adapters", kind, "file")
                found.append(_control(r, kind, Network(adapter.file, adapter.weight, 0.0, 1.0, where), given, model_info,
                                      "t2i-adapter", _t2i_adapter_fits))
    return tuple(found)


def _control(r: Resolver, kind: str, net: Network | None, given: PanelInput, model_info: Any, network: str, fits: Any) -> ControlInput:
    """One control input, its model file fingerprinted and checked against the base model."""
    if net is None:
        return ControlInput(kind, None, source=given.source, network=network)
    what = "ControlNet" if network == "controlnet" else "T2I-Adapter"
    model = r.file(net.file, net.where, f"{what} file")
    if model is not None and model_info is not None:
        check_fits(r, model, net.file, model_info, net.where, fits)
    return ControlInput(kind, model, net.weight, net.start, net.end, given.source, network)


def _panel_inputs(r: Resolver, panel: Panel, placed: tuple[PlacedPose, ...], loc: Loc) -> dict[str, PanelInput]:
    """The panel's pose, sketch, depth and normal inputs (files fingerprinted and checked as images)."""
    sources = {
        "lineart": r.image(panel.lineart, (*loc, "lineart"), "sketch") if panel.lineart else None,
        "depth": r.image(panel.depth, (*loc, "depth"), "depth map") if panel.depth else None,
        "normal": r.image(panel.normal, (*loc, "normal"), "normal map") if panel.normal else None,
    }
    return {"pose": PanelInput(bool(placed)), **{name: PanelInput(ref is not None, ref) for name, ref in sources.items()}}


def _panel_controlnets(r: Resolver, panel: Panel, loc: Loc) -> dict[str, Network]:
    """The book's ControlNets with the panel's changes: a field it gives replaces the book's, `false` drops one."""
    book = r.project.defaults.controlnets
    nets = {kind: Network(ref.file, ref.weight, ref.start, ref.end, ("defaults", "controlnets", kind, "file"))
            for kind, ref in book.items()}
    for kind, own in (panel.controlnets or {}).items():
        where = (*loc, "controlnets", kind)
        if own is False:
            nets.pop(kind, None)
            continue
        base = book.get(kind)
        file = own.file or (base.file if base else None)
        if file is None:
            r.fail(where, f"no ControlNet file for {kind}: give `file` here or in defaults.controlnets.{kind}")
            nets.pop(kind, None)
            continue
        pick = lambda value, default: default if value is None else value  # noqa: E731
        start, end = pick(own.start, base.start if base else 0.0), pick(own.end, base.end if base else 1.0)
        if start >= end:
            r.fail((*where, "start"), f"start {start:g} must be below end ({end:g})")
        nets[kind] = Network(file, pick(own.weight, base.weight if base else 1.0), start, end,
                             (*where, "file") if own.file else ("defaults", "controlnets", kind, "file"), where)
    return nets


def inputs_checked(r: Resolver, panel: Panel, controls: tuple[ControlInput, ...], size: tuple[int, int], loc: Loc) -> tuple[ControlInput, ...]:
    """The controls, once each input file is known to give a usable control image at the generation size
    (a sketch with lines, a depth map that is not flat, a normal map in colour) and each T2I-Adapter takes that
    size; else the engines refuse it."""
    _adapter_sizes_checked(r, panel, controls, size, loc)
    if not any(control.source is not None for control in controls):
        return controls  # (the readers import numpy and Pillow: not needed for panels without input files)
    from comicforge.control.images import lineart_control
    from comicforge.control.lineart import LineartError
    from comicforge.control.maps import MapError, depth_control, normal_control

    readers = {"lineart": lineart_control, "depth": depth_control, "normal": normal_control}
    names = {"lineart": panel.lineart, "depth": panel.depth, "normal": panel.normal}
    checked: set[str] = set()
    for control in controls:
        field = CONTROL_INPUTS[control.kind]
        if control.source is None or field in checked or field not in readers:
            continue
        checked.add(field)
        try:
            readers[field](Path(control.source.path), *size)
        except (LineartError, MapError) as error:
            r.fail((*loc, field), f"{names[field]}: {kinds.without_path(error, Path(control.source.path))}")
    return controls


def size_grid(controls: tuple[ControlInput, ...]) -> int:
    """The pixel multiple a generation size needs for these controls: 8, or a T2I-Adapter's larger downscale (SDXL: 16)."""
    return max([8, *(factor for _, factor in _adapter_downscales(controls))])


def _adapter_downscales(controls: tuple[ControlInput, ...]) -> list[tuple[ControlInput, int]]:
    """Each T2I-Adapter control with its downscale factor (files that are no adapter are reported where named)."""
    from comicforge.weights.t2i_adapter import detect_t2i_adapter

    found = []
    for control in controls:
        if control.network == "t2i-adapter" and control.model is not None:
            try:
                found.append((control, detect_t2i_adapter(Path(control.model.path)).downscale))
            except EngineError:
                continue
    return found


def _adapter_sizes_checked(r: Resolver, panel: Panel, controls: tuple[ControlInput, ...], size: tuple[int, int], loc: Loc) -> None:
    """A T2I-Adapter needs the generation size in multiples of its downscale factor (SDXL's: 16 px; native sizes are
    rounded so, an explicit `size:` may not be), else a located error."""
    where = (*loc, "size") if panel.size else ("defaults", "size") if r.project.defaults.size else loc
    for control, factor in _adapter_downscales(controls):
        if size[0] % factor or size[1] % factor:
            r.fail(where, f"the T2I-Adapter defaults.t2i_adapters.{control.kind} needs a generation size in multiples of {factor} px "
                   f"(this panel's is {size[0]}x{size[1]}); give it a `size:` that is")


def _controlnet_fits(path: Path, model_info: Any) -> None:
    """A ControlNet must be for the base model's family (checked from its header)."""
    from comicforge.weights.controlnet import check_controlnet_fits, detect_controlnet

    check_controlnet_fits(detect_controlnet(path), model_info)


def _t2i_adapter_fits(path: Path, model_info: Any) -> None:
    """A T2I-Adapter must be for the base model's family (checked from its config)."""
    from comicforge.weights.t2i_adapter import check_t2i_adapter_fits, detect_t2i_adapter

    check_t2i_adapter_fits(detect_t2i_adapter(path), model_info)
