"""A named file that exists but cannot be read is a located problem, never an internal error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import ImageCms

from comicforge.errors import ProjectError
from comicforge.project.load import load_project
from comicforge.project.resolve import resolve_book
from support import REPO


def test_an_unreadable_named_file_is_a_located_problem(tmp_path: Path):
    project = tmp_path / "demo"
    shutil.copytree(REPO / "projects" / "demo", project, ignore=shutil.ignore_patterns("build", ".comicforge"))
    (project / "profile.icc").write_bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())  # a real profile
    text = (project / "comic.yaml").read_text()
    (project / "comic.yaml").write_text(text.replace("format:\n", "format:\n  icc_profile: profile.icc\n", 1))

    def fingerprint(path: Path) -> str:  # as for a folder holding a file this user may not read
        if path.name == "profile.icc":
            raise PermissionError(13, "Permission denied", str(path / ".lock"))
        return "sha256:0"

    with pytest.raises(ProjectError) as raised:
        resolve_book(load_project(project / "comic.yaml"), fingerprint)
    (problem,) = raised.value.problems
    assert problem.line == 10 and problem.path == "format.icc_profile"  # the line it was added on
    assert problem.message == f"profile.icc: cannot be read: Permission denied ({project / 'profile.icc' / '.lock'})"
