"""Frozen, typed values the stages exchange (a leaf: it imports only `comicforge.errors`)."""
