"""Picks written into comic.yaml by the round-trip editor: only the pick's line changes; odd layouts still keep comments."""

from __future__ import annotations

import difflib

import pytest
import yaml
from support import REPO

from comicforge.errors import ProjectError
from comicforge.project.edit import with_pick

BOOK = """# a book
title: T   # the title
pages:
  - layout: rows
    panels:
      - prompt: "a, b"   # quoted, with a comment
        variants: 3
        balloons: [{caption: true, text: Hi}]
      - id: hero
        prompt: >
          folded
          text
        # the seed below is the hero's
        seed: 3
      - {prompt: flow, variants: 2}  # a flow mapping
      - prompt: lone
"""


def _changes(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


def test_a_pick_is_one_line_after_variants_and_a_second_pick_replaces_it():
    once = with_pick(BOOK, "p1.1", 2)
    assert _changes(BOOK, once) == ["+         pick: 2"]
    assert "variants: 3\n        pick: 2\n" in once
    assert _changes(once, with_pick(once, "p1.1", 0)) == ["-         pick: 2", "+         pick: 0"]


def test_panels_by_their_own_id_with_block_scalars_and_alone():
    hero = with_pick(BOOK, "hero", 1)
    assert _changes(BOOK, hero) == ["+         pick: 1"] and yaml.safe_load(hero)["pages"][0]["panels"][1]["prompt"] == "folded text\n"
    lone = with_pick(BOOK, "p1.4", 1)
    assert _changes(BOOK, lone) == ["+         pick: 1"] and yaml.safe_load(lone)["pages"][0]["panels"][3] == {"prompt": "lone", "pick": 1}


def test_a_flow_mapping_panel_is_written_by_the_round_trip_dump_keeping_comments():
    text = with_pick(BOOK, "p1.3", 1)
    assert yaml.safe_load(text)["pages"][0]["panels"][2] == {"prompt": "flow", "variants": 2, "pick": 1}
    for comment in ("# a book", "# the title", "# quoted, with a comment", "# the seed below is the hero's", "# a flow mapping"):
        assert comment in text


def test_the_demo_keeps_every_other_line():
    demo = (REPO / "projects" / "demo" / "comic.yaml").read_text()
    assert len(_changes(demo, with_pick(demo, "p1.2", 0))) == 2  # pick: 1 → pick: 0, its comment kept
    assert "pick: 0            # the second one" in with_pick(demo, "p1.2", 0)


def test_an_unknown_panel_is_a_problem():
    with pytest.raises(ProjectError, match=r"no panel 'p9\.9'"):
        with_pick(BOOK, "p9.9", 0)


def test_the_same_pick_again_changes_nothing():
    once = with_pick(BOOK, "p1.1", 2)
    assert with_pick(once, "p1.1", 2) == once
