"""Order generation jobs so panels sharing an engine, model and LoRA set run back to back (no torch)."""

from __future__ import annotations

from typing import Any

from comicforge.spec.requests import GenerateRequest


def panel_order_key(request: GenerateRequest) -> tuple[str, tuple[str, ...], str]:
    """Sort key for a run's diffusion jobs: model first, then the LoRA set, then the panel id (stable)."""
    model = request.model.fingerprint if request.model else ""
    loras = tuple(sorted(a.file.fingerprint for a in request.loras))
    return (model, loras, request.panel_id)


def generate_order_key(spec: dict[str, Any]) -> tuple[str, tuple[str, tuple[str, ...], str]]:
    """Sort key of a generate job from its spec's JSON form: its engine, then `panel_order_key` of its request."""
    from comicforge.spec.codec import decode

    return (spec["engine"], panel_order_key(decode(GenerateRequest, spec)))
