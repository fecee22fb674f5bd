"""The book as the review app shows it: pages, their panels' candidates with infotext, the current picks, image URLs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from comicforge.pipeline.plan import Job, candidate_of

PAGE_FILES = ("page.png", "page.jpg")


@dataclass(frozen=True)
class BookView:
    """What the API serves: the book JSON and the store entries (key → file) its image URLs may name."""

    book: dict[str, Any]
    images: dict[str, str] = field(default_factory=dict)


def image_url(key: str, name: str) -> str:
    return f"/images/{key}/{name}"


def book_view(title: str, jobs: list[Job]) -> BookView:
    """Pages in order with their image, each panel's candidates (index, seed, image, infotext) and its pick."""
    by_id = {job.id: job for job in jobs}
    shown = {dep for job in jobs if job.stage in ("refine", "finish") for dep in job.deps}
    candidates: dict[str, list[Job]] = {}
    for job in jobs:
        if job.stage == "generate":
            candidates.setdefault(candidate_of(job)[0], []).append(job)
    images: dict[str, str] = {}
    pages = []
    for job in jobs:
        if job.stage != "page":
            continue
        number = job.spec["number"]
        image = by_id.get(f"png:{number}")
        page_file = "page.jpg" if image and image.spec.get("format") == "jpeg" else "page.png"
        if image:
            images[image.key] = page_file
        panels = []
        for finish in job.deps:
            panel = finish.partition(":")[2]
            variants = []
            pick = 0
            for candidate in candidates.get(panel, []):
                index = candidate_of(candidate)[1] or 0
                images[candidate.key] = "panel.png"
                pick = index if candidate.id in shown else pick
                variants.append({"index": index, "seed": candidate.spec["seed"], "image": image_url(candidate.key, "panel.png"),
                                 **_infotext(candidate.spec)})
            panels.append({"id": panel, "pick": pick, "variants": variants})
        pages.append({"number": number, "image": image_url(image.key, page_file) if image else None, "panels": panels})
    return BookView({"title": title, "pages": pages}, images)


def _infotext(spec: dict[str, Any]) -> dict[str, Any]:
    """The settings a candidate was made with, as A1111's infotext names them."""
    return {"prompt": spec["prompt"], "negative": spec["negative"], "sampler": spec["sampler"], "steps": spec["steps"], "cfg": spec["cfg"],
            "size": [spec["width"], spec["height"]]}
