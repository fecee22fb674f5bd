"""The finish stage: post steps declare what of the page they read; bitmap books screen in page coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from comicforge.pipeline.run import build
from comicforge.pipeline.store import Store
from comicforge.post.chain import bitmap_default, chain_reads
from comicforge.post.halftone import Screen, halftone_image
from comicforge.spec.post import parse_chain


def _bitmap_book(project: Path, chain: str) -> None:
    path = project / "comic.yaml"
    text = path.read_text().replace("  dpi: 72\n", "  dpi: 150\n").replace(
        "  margins: 0.3in\n", f"  margins: 0.3in\n  color: bitmap\ndefaults:\n  post: {chain}\n")
    path.write_text(text)


@pytest.mark.parametrize(("chain", "facts"), [
    ([], set()), ([{"op": "grayscale"}], set()), ([{"op": "screentone", "lpi": 65}], {"origin"}),
    ([{"op": "halftone"}], {"origin", "icc_profile"}), ([{"op": "cmyk"}], {"icc_profile"}),
    ([{"op": "flats", "colors": ["#000000"]}], {"palettes"}), ([{"op": "flats", "colors": ["#000000"], "dither": True}], {"palettes", "origin"}),
])
def test_steps_declare_the_page_facts_they_read(chain, facts):
    assert chain_reads(parse_chain(chain), "color") == facts
    assert chain_reads(parse_chain(chain), "bitmap") == facts | {"origin", "icc_profile"}  # the default screen's


@pytest.mark.parametrize("chain", ["[]", "[{op: grayscale}]"])
def test_bitmap_books_screen_continuous_art_in_page_coordinates(small_project: Path, chain: str):
    _bitmap_book(small_project, chain)
    report = build(small_project)
    finish = next(d.job for d in report.decisions if d.job.id == "finish:p1.2")
    generate = next(d.job for d in report.decisions if d.job.id == "generate:p1.2")
    origin = tuple(finish.spec["origin"])
    assert origin[0] > 0  # the right-hand panel: not screened from its own corner
    store = Store(small_project)
    with Image.open(store.entry(finish.key) / "panel.png") as screened, Image.open(store.entry(generate.key) / "panel.png") as raw:
        gray = raw.convert("RGB").resize(tuple(finish.spec["size"]), Image.Resampling.LANCZOS).convert("L")
        default = bitmap_default(150)
        expected = halftone_image(gray, Screen(150, default.lpi, default.angle, default.shape), origin)
        assert screened.mode == "1"
        assert np.array_equal(np.asarray(screened), np.asarray(expected))
