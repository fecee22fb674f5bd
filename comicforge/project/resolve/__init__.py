"""Validated project → BookSpec: prompts rendered, defaults applied, files fingerprinted, geometry computed."""

from comicforge.project.resolve.book import native_size_at_aspect, resolve_book

__all__ = ["native_size_at_aspect", "resolve_book"]
