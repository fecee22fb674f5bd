"""The public surface: every name in __all__ imports."""

import comicforge


def test_public_names_import():
    for name in comicforge.__all__:
        assert getattr(comicforge, name) is not None, name
