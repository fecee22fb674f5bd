"""A panel's control inputs (pose figures, a sketch) with the book's ControlNet for each, checked against the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from comicforge.project import kinds
from comicforge.project.load import Loc
from comicforge.project.resolve.resolver import Resolver, check_fits
from comicforge.project.schema import Panel
from comicforge.spec.poses import PlacedPose
from comicforge.spec.requests import ControlInput


def panel_controls(r: Resolver, panel: Panel, engine: str, placed: tuple[PlacedPose, ...], loc: Loc, model_info: Any) -> tuple[ControlInput, ...]:
    """Control inputs the panel has (pose figures, a sketch), with the book's ControlNet for each when diffusing."""
    nets = r.project.defaults.controlnets
    found: list[ControlInput] = []
    sketch = r.image(panel.lineart, (*loc, "lineart"), "sketch") if panel.lineart else None
    for kind, present, source in (("openpose", bool(placed), None), ("lineart", sketch is not None, sketch)):
        if not present:
            continue
        net = nets.get(kind) if engine == "diffusion" else None
        model = r.file(net.file, ("defaults", "controlnets", kind, "file"), "ControlNet file") if net else None
        if model is not None and model_info is not None and net is not None:
            check_fits(r, model, net.file, model_info, ("defaults", "controlnets", kind, "file"), _controlnet_fits)
        found.append(ControlInput(kind, model, net.weight if net else 1.0, net.start if net else 0.0, net.end if net else 1.0, source))
    return tuple(found)


def sketch_checked(r: Resolver, panel: Panel, controls: tuple[ControlInput, ...], size: tuple[int, int], loc: Loc) -> tuple[ControlInput, ...]:
    """The controls, once the sketch is known to leave lines at the generation size (else the engines refuse it)."""
    for control in controls:
        if control.kind == "lineart" and control.source is not None:
            from comicforge.control.images import lineart_control  # (imports scipy: only for panels with a sketch)
            from comicforge.control.lineart import LineartError

            try:
                lineart_control(Path(control.source.path), *size)
            except LineartError as error:
                r.fail((*loc, "lineart"), f"{panel.lineart}: {kinds.without_path(error, Path(control.source.path))}")
    return controls


def _controlnet_fits(path: Path, model_info: Any) -> None:
    """A ControlNet must be for the base model's family (checked from its header)."""
    from comicforge.weights.controlnet import check_controlnet_fits, detect_controlnet

    check_controlnet_fits(detect_controlnet(path), model_info)
