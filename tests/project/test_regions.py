"""Regions of a panel with several characters: where they come from, each character's prompt, and the located errors."""

from __future__ import annotations

from pathlib import Path

import yaml
from support import run_cli

from comicforge.project.load import load_project
from comicforge.project.resolve import resolve_book

CHARACTERS = {"mira": {"tokens": "mira_cf, silver hair"}, "ren": {"tokens": "ren_cf, black coat"}, "kai": {"tokens": "kai_cf"}}


def _book(folder: Path, panels: list[dict]) -> Path:
    book = {"title": "Regions", "characters": CHARACTERS, "pages": [{"layout": f"grid-1x{len(panels)}", "panels": panels}]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "comic.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    return folder / "comic.yaml"


def _requests(file: Path):
    book, _ = resolve_book(load_project(file), lambda path: "fp")
    return [panel.request for panel in book.panels]


def test_regions_come_from_regions_then_placements_then_figures_then_side_by_side(tmp_path: Path):
    file = _book(tmp_path / "book", [
        {"prompt": "a roof", "characters": ["mira", "ren"], "regions": {"ren": [0.6, 0.1, 0.4, 0.9]},
         "pose": [{"pose": "standing", "who": "mira", "region": [0, 0, 0.5, 1]}, {"pose": "standing", "who": "ren", "region": [0.5, 0, 0.5, 1]}]},
        {"prompt": "a roof", "characters": ["mira", "ren"], "pose": [{"pose": "standing", "who": "mira"}]},
        {"prompt": "a roof", "characters": ["mira", "ren", "kai"]},
        {"prompt": "a roof", "characters": ["mira"]},
    ])
    explicit, figure, sides, alone = _requests(file)
    assert [(r.who, r.box) for r in explicit.regions] == [("mira", (0.0, 0.0, 0.5, 1.0)), ("ren", (0.6, 0.1, 0.4, 0.9))]
    x, y, w, h = figure.regions[0].box  # the standing figure's keypoints with a margin, inside the panel
    assert 0 < x and x + w < 1 and 0 <= y and w < 0.6 and figure.regions[1].box == (0.5, 0.0, 0.5, 1.0)
    assert [r.box for r in sides.regions] == [(0.0, 0.0, 1 / 3, 1.0), (1 / 3, 0.0, 1 / 3, 1.0), (2 / 3, 0.0, 1 / 3, 1.0)]
    assert alone.regions == () and alone.scene == "" and alone.prompt == "mira_cf, silver hair, a roof"


def test_each_character_gets_its_own_clauses_and_the_scene(tmp_path: Path):
    file = _book(tmp_path / "book", [{"prompt": "{{ mira }} (smiling, happy:1.2), {{ ren }} frowning BREAK {{ mira }} and {{ ren }} on a roof, night",
                                      "characters": ["mira", "ren", "kai"]}])
    request, = _requests(file)
    assert request.scene == "mira and ren on a roof, night"
    assert [r.prompt for r in request.regions] == [
        "mira_cf, silver hair (smiling, happy:1.2), mira and ren on a roof, night",  # ren's clause went, with its BREAK
        "ren_cf, black coat frowning BREAK mira and ren on a roof, night",
        "kai_cf, mira and ren on a roof, night",  # not named: its tokens first
    ]
    assert request.prompt.startswith("kai_cf, mira_cf, silver hair (smiling")  # the whole prompt, as before


def test_a_region_outside_the_panel_is_a_located_error(tmp_path: Path):
    file = _book(tmp_path / "book", [{"prompt": "a", "characters": ["mira", "ren"], "regions": {"ren": [0.6, 0, 0.5, 1]}}])
    result = run_cli("check", str(file.parent), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "comic.yaml:" in result.stderr and "pages[0].panels[0].regions: region of ren [0.6, 0.0, 0.5, 1.0] must" in result.stderr


def test_who_and_region_names_outside_the_panels_characters_are_located_errors(tmp_path: Path):
    file = _book(tmp_path / "book", [
        {"prompt": "b", "characters": ["mira", "ren"], "regions": {"kai": [0, 0, 0.5, 1]}},
        {"prompt": "c", "characters": ["mira"], "pose": [{"pose": "standing", "who": "ren"}]},
    ])
    result = run_cli("check", str(file.parent), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert any("comic.yaml:" in line and "regions.kai: 'kai' is not one of the panel's characters (mira, ren)" in line for line in lines), lines
    assert any("comic.yaml:" in line and "pose[0].who: 'ren' is not one of the panel's characters (mira)" in line for line in lines), lines


def test_lora_families_match_only_within_sd1_and_sd2_when_one_is_undecided():
    from comicforge.project.resolve.regions import _same_family

    assert _same_family("SD 1.x/2.x", "SD 2.x") and _same_family("SD 1.x", "SD 1.x/2.x")
    assert not _same_family("SD 1.x/2.x", "SD3") and not _same_family("SD 1.x/2.x", "SDXL") and not _same_family("SD 1.x", "SD 2.x")


def test_a_character_listed_twice_is_a_located_error(tmp_path: Path):
    file = _book(tmp_path / "book", [{"prompt": "{{ mira }} smiling, {{ ren }} sad", "characters": ["mira", "ren", "mira"]}])
    result = run_cli("check", str(file.parent), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "comic.yaml:" in result.stderr and "pages[0].panels[0].characters[2]: 'mira' is listed twice" in result.stderr


def test_an_empty_break_clause_leaves_no_dangling_break(tmp_path: Path):
    file = _book(tmp_path / "book", [{"prompt": "{{ mira }} waves BREAK BREAK {{ ren }} frowns", "characters": ["mira", "ren"]}])
    request, = _requests(file)
    assert [r.prompt for r in request.regions] == ["mira_cf, silver hair waves", "ren_cf, black coat frowns"]
