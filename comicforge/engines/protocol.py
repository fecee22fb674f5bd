"""The one seam every panel engine implements: `generate(request) -> image`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL import Image

    from comicforge.spec.requests import Edit, GenerateRequest


@runtime_checkable
class Engine(Protocol):
    """A panel renderer. `version` enters every key of the jobs it runs."""

    name: str
    version: str

    def generate(self, request: GenerateRequest) -> Image.Image:
        """Render one panel at (request.width, request.height), RGB."""
        ...

    def refine(self, request: GenerateRequest, image: Image.Image, step: Edit) -> Image.Image:
        """Apply one editing step to a panel image (the panel's request gives prompt, model, seed…)."""
        ...

    def close(self) -> None:
        """Release resident models."""
        ...
