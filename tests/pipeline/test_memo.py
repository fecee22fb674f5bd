"""The memo of costly steps inside stages: the PDF overlay is made again only when it changed; damage is never trusted."""

from __future__ import annotations

import shutil
from pathlib import Path

from comicforge.pipeline.memo import MEMOS_KEPT, Memo
from comicforge.pipeline.run import BuildOptions, build
from support import REPO


def _edit(project: Path, old: str, new: str) -> None:
    text = (project / "comic.yaml").read_text()
    assert old in text, old
    (project / "comic.yaml").write_text(text.replace(old, new, 1))


def _clean_pdf(project: Path, tmp_path: Path) -> bytes:
    """The PDF a build of the same project from nothing writes."""
    clean = tmp_path / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    shutil.copytree(project, clean, ignore=shutil.ignore_patterns(".comicforge", "build"))
    report = build(clean, BuildOptions(exports=("pdf",)))
    return Path(report.outputs["pdf"]).read_bytes()


def test_memo_makes_once_and_remakes_what_is_damaged(tmp_path: Path) -> None:
    memo, made = Memo(tmp_path / "memo"), []

    def make() -> bytes:
        made.append(1)
        return b"overlay bytes"

    assert memo("overlay", b"inputs", make) == b"overlay bytes" and memo("overlay", b"inputs", make) == b"overlay bytes"
    assert len(made) == 1
    (stored,) = (tmp_path / "memo").iterdir()
    stored.write_bytes(b"overlay bytez")  # same size, other content
    assert memo("overlay", b"inputs", make) == b"overlay bytes" and len(made) == 2
    for n in range(MEMOS_KEPT + 3):
        memo("overlay", f"other {n}".encode(), make)
    assert len(list((tmp_path / "memo").iterdir())) == MEMOS_KEPT


def test_an_art_edit_reuses_the_overlay_and_the_pdf_equals_a_clean_build(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(REPO / "projects" / "demo", project)
    build(project, BuildOptions(exports=("pdf",)))
    memos = project / ".comicforge" / "memo"
    first = sorted(memos.iterdir())
    assert len(first) == 1
    _edit(project, "notices a lantern glowing blue", "notices a lantern glowing green")  # art only
    report = build(project, BuildOptions(exports=("pdf",)))
    assert report.count("generate", True) == 1 and sorted(memos.iterdir()) == first
    assert Path(report.outputs["pdf"]).read_bytes() == _clean_pdf(project, tmp_path)
    _edit(project, "The night market never sleeps.", "The night market never rests.")  # lettering: a new overlay
    report = build(project, BuildOptions(exports=("pdf",)))
    assert len(list(memos.iterdir())) == 2
    assert Path(report.outputs["pdf"]).read_bytes() == _clean_pdf(project, tmp_path)
