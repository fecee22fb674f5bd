"""A regular install, not an editable one: the sdist holds every package file, a wheel built from that sdist
installs into a fresh virtual environment, and there, with the checkout nowhere on sys.path, `comicforge new`
and the demo build. Offline: setuptools' own build hooks (no isolated build environment to download), the
wheel installed with --no-index, and the runtime dependencies reached through a .pth file naming this
environment's site-packages (a .pth line adds a folder; the editable install's own .pth files there are not run).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import pdfcheck
from support import REPO

PACKAGE = REPO / "comicforge"
DISTRIBUTION = "comicforge-studio"


def _package_files(python: bool) -> set[str]:
    """Paths under comicforge/ (relative to the repository) that are, or are not, Python sources."""
    return {path.relative_to(REPO).as_posix() for path in PACKAGE.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc" and (path.suffix == ".py") == python}


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env or _clean_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(map(str, args))} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _clean_env() -> dict[str, str]:
    """This process's environment without anything that would put the checkout or this venv on sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")}
    return {**env, "HF_HUB_OFFLINE": "1", "PYTHONNOUSERSITE": "1"}


def _build_hook(hook: str, source: Path, out: Path) -> Path:
    """Call setuptools' PEP 517 hook (`build_sdist` or `build_wheel`) in `source`; the file it wrote."""
    out.mkdir()
    code = f"import sys; from setuptools import build_meta; print(build_meta.{hook}(sys.argv[1]))"
    name = _run([sys.executable, "-c", code, out], cwd=source).strip().splitlines()[-1]
    return out / name


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel): the sdist built from a copy of the checkout, the wheel built from the unpacked sdist."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(PACKAGE, source / "comicforge", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in REPO.iterdir():  # pyproject.toml, README.md, MANIFEST.in, licence files…
        if path.is_file() and not path.name.startswith("."):
            shutil.copy2(path, source / path.name)
    sdist = _build_hook("build_sdist", source, work / "sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(work / "unpacked", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (unpacked,) = (work / "unpacked").iterdir()
    return sdist, _build_hook("build_wheel", unpacked, work / "wheel")


def test_sdist_holds_every_package_file(dists: tuple[Path, Path]):
    sdist, _ = dists
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = _package_files(python=False) | _package_files(python=True)
    assert {"comicforge/templates/styles/comic-action.yaml", "comicforge/templates/projects/comic/comic.yaml"} <= expected
    assert not expected - names, sorted(expected - names)
    assert {"pyproject.toml", "README.md", "PKG-INFO", "LICENSE"} <= names


def test_wheel_holds_exactly_the_package(dists: tuple[Path, Path]):
    _, wheel = dists
    assert wheel.name.startswith("comicforge_studio-")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (info,) = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    package = {name for name in names if name.startswith("comicforge/")}
    assert {name for name in package if not name.endswith(".py")} == _package_files(python=False)
    assert {name for name in package if name.endswith(".py")} == _package_files(python=True)
    assert f"Name: {DISTRIBUTION}\n" in metadata and "License-Expression: Apache-2.0\n" in metadata
    assert "License-File: LICENSE\n" in metadata and f"{info}/licenses/LICENSE" in names
    assert "comicforge = comicforge.cli:main" in entry_points


@pytest.fixture(scope="module")
def venv(dists: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment (no system site-packages) with the wheel installed; dependencies by .pth."""
    _, wheel = dists
    root = tmp_path_factory.mktemp("venv")
    env = root / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", env], cwd=root)
    python = env / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel], cwd=root)
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=root).strip())
    dependencies = [p for p in (*site.getsitepackages(), site.getusersitepackages()) if Path(p).is_dir()]
    (purelib / "_comicforge_test_dependencies.pth").write_text("".join(f"{p}\n" for p in dependencies))
    return env


def test_installed_package_comes_from_the_wheel(venv: Path, tmp_path: Path):
    code = "import sys, comicforge; print(comicforge.__file__); print('\\n'.join(sys.path))"
    where, *path = _run([venv / "bin" / "python", "-c", code], cwd=tmp_path).splitlines()
    assert Path(where).is_relative_to(venv), where
    assert not any(Path(tmp_path, p).resolve() in (REPO, REPO / "tests") for p in path), path  # '' is the cwd


def test_new_and_demo_build_from_the_installed_wheel(venv: Path, tmp_path: Path):
    comicforge = venv / "bin" / "comicforge"
    _run([comicforge, "new", tmp_path / "book"], cwd=tmp_path)
    report = json.loads(_run([comicforge, "build", tmp_path / "book", "--json"], cwd=tmp_path))
    assert pdfcheck.page_count(report["outputs"]["pdf"]) >= 1
    _run([comicforge, "new", tmp_path / "manga", "--template", "manga"], cwd=tmp_path)
    _run([comicforge, "check", tmp_path / "manga"], cwd=tmp_path)
    shutil.copytree(REPO / "projects" / "demo", tmp_path / "demo", ignore=shutil.ignore_patterns("build", ".comicforge"))
    report = json.loads(_run([comicforge, "build", tmp_path / "demo", "--json"], cwd=tmp_path))
    assert report["pages"] == {"composed": 3, "reused": 0}  # comic-action and the fonts come from the wheel
    assert pdfcheck.page_count(report["outputs"]["pdf"]) == 3 and pdfcheck.syntax_problems(report["outputs"]["pdf"]) == []
