"""Validated project → BookSpec: prompts rendered, defaults applied, files fingerprinted, geometry computed.

One module per concern, each a set of functions of the `Resolver` (resolver.py) that collects every problem:
book.py (the book, its pages and panels, in order), prompts.py (templates in a sandbox, styles), poses.py,
controls.py (ControlNet inputs), generation.py (model, sampler sizes, LoRAs, embeddings, IP-Adapter), edits.py,
post.py (post chains and palettes), lettering.py (balloons, fonts, glyphs, sound effects), geometry.py.
"""

from comicforge.project.resolve.book import resolve_book
from comicforge.project.resolve.generation import native_size_at_aspect

__all__ = ["native_size_at_aspect", "resolve_book"]
