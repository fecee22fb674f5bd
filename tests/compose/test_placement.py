"""Balloon placement on the demo's page 3 panel 3 (a speech and a thought balloon over a pointing figure), from its overlay."""

from __future__ import annotations

from pathlib import Path

from support import REPO

from comicforge.compose.page import compose_overlay, panel_figures
from comicforge.letter.balloons import place_balloons
from comicforge.spec.codec import decode
from comicforge.spec.jobs import PageJob


def _demo(tmp_path: Path) -> tuple[PageJob, object]:
    """The demo's page 3 as the composer is handed it, and the resolved book (for the poses)."""
    from comicforge.pipeline.keys import Fingerprints
    from comicforge.pipeline.plan import page_jobs
    from comicforge.pipeline.run import stage_versions
    from comicforge.project.load import load_project
    from comicforge.project.resolve import resolve_book

    book, _ = resolve_book(load_project(REPO / "projects" / "demo" / "comic.yaml"), Fingerprints(tmp_path / "fingerprints.json"))
    job = next(job for job in page_jobs(book, stage_versions()) if job.id == "page:3")
    return decode(PageJob, job.spec), book


def _overlap(a, b) -> float:
    return max(min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]), 0) * max(min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]), 0)


def test_demo_page_3_panel_3_balloons_clear_each_other_and_the_torso(tmp_path: Path):
    page, book = _demo(tmp_path)
    ops, warnings = compose_overlay(page)
    assert not [w for w in warnings if "panel p3.3" in w]
    panel = next(p for p in page.panels if p.id == "p3.3")
    speech, thought = place_balloons(panel.balloons, panel.rect, page.live, panel_figures(panel), rtl=False)
    assert _overlap(speech.outer, thought.outer) == 0  # they touched before
    assert thought.cy > speech.cy and thought.link is None and thought.bubbles  # read second; a thought trails bubbles
    (pose,) = next(p for p in book.pages[2].panels if p.id == "p3.3").request.poses
    x, y, w, h = panel.rect
    torso = [pose.body[i] for i in (1, 2, 5, 8, 11)]  # neck, shoulders, hips
    xs, ys = [x + p[0] * w for p in torso], [y + p[1] * h for p in torso]
    box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    assert _overlap(speech.outer, box) == 0 and _overlap(thought.outer, box) == 0
    texts = [op for op in ops if op["op"] == "text" and "MOON" in op["text"]]
    assert texts and all(speech.outer[0] <= op["x"] <= speech.outer[0] + speech.outer[2] for op in texts)  # the overlay draws it there
