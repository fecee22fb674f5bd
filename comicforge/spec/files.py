"""References to the files a job reads: the path and the content fingerprint that enters job keys."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileRef:
    """A file a stage reads, with the content fingerprint that enters job keys."""

    path: str
    fingerprint: str


@dataclass(frozen=True)
class AdapterRef:
    """A LoRA (or other weight adapter, or a reference image) applied with a weight."""

    file: FileRef
    weight: float = 1.0
    text_weight: float | None = None  # a LoRA's text-encoder weight when it differs from `weight` (the UNet's)
