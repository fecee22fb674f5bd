"""Guard: every test file under the folders pytest was pointed at is collected (a folder named `build` once was not)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import COLLECTED_MODULES, TESTS


def _roots(config: pytest.Config) -> list[Path]:
    """The folders this session was asked to collect (the configured testpaths when none were named)."""
    roots = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args]
    return [root for root in roots if root.is_dir()]


def test_every_test_file_is_collected(request: pytest.FixtureRequest) -> None:
    roots = _roots(request.config)
    expected = {path.resolve() for root in roots for path in root.rglob("test_*.py") if TESTS in path.resolve().parents}
    assert expected, f"no test files found under {roots}"
    missing = sorted(str(path.relative_to(TESTS)) for path in expected - COLLECTED_MODULES)
    assert not missing, f"test files pytest did not collect: {missing}"
