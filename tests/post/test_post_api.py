"""The halftone command path stays light (the public names are checked in tests/test_public_api.py)."""

from __future__ import annotations

import subprocess
import sys

def test_halftone_module_does_not_import_pydantic_or_scipy():
    code = (
        "import sys, comicforge.post.halftone; "
        "print(sorted(m for m in ('pydantic', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
