"""The public names of comicforge.post import, and the halftone command path stays light."""

from __future__ import annotations

import subprocess
import sys

import comicforge.post as post


def test_public_names_import():
    for name in post.__all__:
        assert getattr(post, name) is not None, name


def test_halftone_module_does_not_import_pydantic_or_scipy():
    code = (
        "import sys, comicforge.post.halftone; "
        "print(sorted(m for m in ('pydantic', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
