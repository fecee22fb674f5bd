"""The public surface: each name in `__all__` is the object its type-checking import names, loaded lazily."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGES = ("comicforge", "comicforge.post")


def _declared_imports(package: str) -> dict[str, tuple[str, str]]:
    """name → (module, attribute) from the package's `if TYPE_CHECKING:` imports, read from its source."""
    source = importlib.util.find_spec(package).origin
    tree = ast.parse(Path(source).read_text())
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    found.update({alias.asname or alias.name: (statement.module, alias.name) for alias in statement.names})
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_public_names_are_the_declared_objects(package: str):
    module = importlib.import_module(package)
    declared = _declared_imports(package)
    assert set(module.__all__) - {"__version__"} == set(declared)
    for name, (home, attribute) in declared.items():
        assert getattr(module, name) is getattr(importlib.import_module(home), attribute), name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        module.nothing_here  # noqa: B018


@pytest.mark.parametrize("package", PACKAGES)
def test_importing_the_package_imports_none_of_its_names(package: str):
    homes = sorted({home for home, _ in _declared_imports(package).values()})
    code = f"import sys, {package}; print([m for m in {homes!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
