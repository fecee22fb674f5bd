"""The engines by name: their versions (known without heavy imports) and their instances."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from comicforge.engines.protocol import Engine

ENGINE_NAMES = ("draft", "diffusion")


def engine_version(name: str) -> str:
    """The version of an engine's output format, known without importing the engine's heavy deps."""
    from comicforge.engines import draft

    if name == "draft":
        return draft.VERSION
    from comicforge.engines.diffusion import VERSION as diffusion_version

    return diffusion_version


def create_engine(name: str) -> Engine:
    """Instantiate an engine by name (heavy imports happen only here, and only for diffusion)."""
    if name == "draft":
        from comicforge.engines.draft import DraftEngine

        return DraftEngine()
    if name == "diffusion":
        from comicforge.engines.diffusion.engine import DiffusionEngine

        return DiffusionEngine()
    raise ValueError(f"unknown engine {name!r} (valid: {', '.join(ENGINE_NAMES)})")
