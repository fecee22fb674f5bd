"""Order panel jobs so those sharing a model and LoRA set run back to back (no torch)."""

from __future__ import annotations

from comicforge.spec.requests import GenerateRequest


def panel_order_key(request: GenerateRequest) -> tuple:
    """Sort key for a run's diffusion jobs: model first, then the LoRA set, then the panel id (stable)."""
    model = request.model.fingerprint if request.model else ""
    loras = tuple(sorted(a.file.fingerprint for a in request.loras))
    return (model, loras, request.panel_id)
