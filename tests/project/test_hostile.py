"""Hostile project files (tests/project/hostile.py) are refused with exit 2, located, quickly and in little memory.

Each case is built at test time (the repository keeps no bombs) and run as users run it, `comicforge build` in
a child process under a 3 GiB address-space limit; its wall time and its own peak RSS (wait4) are measured.
Generous bounds: 15 s and 1 GiB. The corpus is also timed by benchmarks/hostile_inputs.py.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from hostile import CASES, Case, alias_bomb, make_case, run_check
from support import REPO

from comicforge.errors import ProjectError
from comicforge.project.load import MAX_VALUES, load_project

SECONDS = 15
PEAK_MIB = 1024
LOCATED = re.compile(r"^error: comic\.yaml(?::(\d+))?: ")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_project_is_refused_quickly_and_located(case: Case, tmp_path: Path) -> None:
    project, placed = make_case(case, tmp_path)
    outcome = run_check(project, REPO, command="build", timeout=60)
    lines = outcome.stderr.strip().splitlines()
    assert outcome.status == 2, outcome.stderr[-2000:]
    assert "Traceback" not in outcome.stderr and "internal error" not in outcome.stderr, outcome.stderr[-2000:]
    assert lines and all(LOCATED.match(line) for line in lines), outcome.stderr
    at = [int(found.group(1) or 0) for line in lines if placed.file in line and (found := LOCATED.match(line))]
    assert any(line in placed.lines() for line in at) if placed.line else 0 in at, f"no error at {placed} naming {placed.file}: {outcome.stderr}"
    assert outcome.seconds <= SECONDS, f"took {outcome.seconds:.1f} s"
    assert outcome.peak_rss_mib <= PEAK_MIB, f"peak RSS {outcome.peak_rss_mib:.0f} MiB"
    assert not (project / "build").exists()


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True


def _book(pages: int, shared: bool = False) -> dict:
    """The demo with its three pages repeated to `pages` pages (`shared`: the same three objects, dumped as aliases)."""
    demo = yaml.safe_load((REPO / "projects" / "demo" / "comic.yaml").read_text(encoding="utf-8"))
    demo["pages"] = [demo["pages"][i % 3] if shared else copy.deepcopy(demo["pages"][i % 3]) for i in range(pages)]
    return demo


def test_a_500_page_book_loads_within_the_limits(tmp_path: Path) -> None:
    (tmp_path / "comic.yaml").write_text(yaml.dump(_book(500), Dumper=_NoAliases, sort_keys=False, allow_unicode=True), encoding="utf-8")
    loaded = load_project(tmp_path)
    assert len(loaded.project.pages) == 500
    assert loaded.lines[("pages", 499, "panels", 0, "prompt")] > loaded.lines[("pages", 0, "panels", 0, "prompt")]


def test_aliases_within_the_budget_are_expanded_with_their_lines(tmp_path: Path) -> None:
    """A 500-page book written with anchors and aliases (as yaml.safe_dump writes shared pages) loads too."""
    (tmp_path / "comic.yaml").write_text(yaml.safe_dump(_book(500, shared=True), sort_keys=False, allow_unicode=True), encoding="utf-8")
    text = (tmp_path / "comic.yaml").read_text()
    assert "*id" in text  # the pages really are aliases
    loaded = load_project(tmp_path)
    assert len(loaded.project.pages) == 500 and loaded.project.pages[499].panels[0].prompt == loaded.project.pages[499 % 3].panels[0].prompt
    assert ("pages", 499, "panels", 0, "prompt") in loaded.lines


def test_an_alias_bomb_is_located_at_the_value_that_explodes(tmp_path: Path) -> None:
    text = (REPO / "projects" / "demo" / "comic.yaml").read_text(encoding="utf-8")
    (tmp_path / "comic.yaml").write_text(text + alias_bomb(levels=7), encoding="utf-8")
    with pytest.raises(ProjectError) as raised:
        load_project(tmp_path)
    (problem,) = raised.value.problems
    first = text.count("\n") + 1  # the line of a0; a6 (2,111,111 values) is the first over the budget
    assert (problem.line, problem.path) == (first + 6, "a6")
    assert f"more than the {MAX_VALUES:,}" in problem.message
