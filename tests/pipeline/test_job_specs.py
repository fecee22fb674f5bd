"""Every job's spec is a typed value: its JSON form (what keys hash) decodes to the stage's type and encodes back unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from comicforge.pipeline.plan import select_jobs
from comicforge.pipeline.run import EXPORT_VERSION, resolved_jobs
from comicforge.pipeline.stages import job_spec, stage_table
from comicforge.pipeline.store import Store
from comicforge.spec.codec import encode
from support import REPO

EDITS = """        edits:
          - {op: img2img, strength: 0.3}
          - {op: inpaint, rects: [[0.1, 0.1, 0.3, 0.3]], prompt: a better hand, seed: 7}
          - {op: outpaint, left: 0.1, right: 0.1}
          - {op: upscale, strength: 0.2}
"""


def _jobs(project: Path, proof: bool) -> list:
    store = Store(project)
    jobs, meta = resolved_jobs(project / "comic.yaml", store)
    return select_jobs(jobs, meta, EXPORT_VERSION, ("pdf", "png", "cbz", "spreads"), None, proof)


@pytest.mark.parametrize("name", ["demo", "manga"])
@pytest.mark.parametrize("proof", [False, True])
def test_every_job_spec_round_trips_through_its_stage_type(name: str, proof: bool, tmp_path: Path) -> None:
    project = tmp_path / name
    shutil.copytree(REPO / "projects" / name, project, ignore=shutil.ignore_patterns("build", ".comicforge"))
    text = (project / "comic.yaml").read_text()
    anchor = "\n    panels:\n      - prompt: "
    head, _, rest = text.partition(anchor)
    first_line, _, tail = rest.partition("\n")
    (project / "comic.yaml").write_text(head + anchor + first_line + "\n" + EDITS + tail)  # edits on the first panel
    jobs = _jobs(project, proof)
    assert {job.stage for job in jobs} == {"generate", "refine", "finish", "page", "png", "pdf", "spreads", "cbz"}
    assert [job.spec["step"]["op"] for job in jobs if job.stage == "refine"] == ["img2img", "inpaint", "outpaint", "upscale"]
    for job in jobs:
        spec = job_spec(job)
        assert isinstance(spec, stage_table()[job.stage].spec), job.id
        assert encode(spec) == job.spec, job.id
