"""The review page in a real headless Chromium (Debian's `chromium`, driven by Playwright): open the book, open a page,
click a candidate, see the page re-render with it, and find the pick in comic.yaml."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from conftest import Server

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


@pytest.fixture
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_pick_a_candidate_in_the_browser(review_server: Server, page) -> None:
    from playwright.sync_api import expect

    page.goto(review_server.url + "/")
    expect(page.locator("#title")).to_have_text("Small Test Book")
    expect(page.locator(".thumb")).to_have_count(2)
    assert page.locator(".thumb img").first.evaluate("img => img.complete && img.naturalWidth > 0")

    page.locator('.thumb[data-page="1"]').click()
    candidates = page.locator('.candidate[data-panel="p1.2"]')
    expect(candidates).to_have_count(3)
    expect(page.locator('.candidate.picked[data-panel="p1.2"]')).to_have_attribute("data-variant", "0")
    expect(candidates.nth(1)).to_contain_text("steps")
    before = page.locator("#page-image").get_attribute("src")

    candidates.nth(2).click()
    expect(page.locator('.candidate.picked[data-panel="p1.2"]')).to_have_attribute("data-variant", "2", timeout=20_000)
    expect(page.locator("#page-image")).not_to_have_attribute("src", before)
    page.wait_for_function("() => { const i = document.getElementById('page-image'); return i.complete && i.naturalWidth > 0; }")
    assert "        variants: 3   # three seeds to choose from\n        pick: 2\n" in (review_server.project / "comic.yaml").read_text()

    comic = review_server.project / "comic.yaml"
    comic.write_text(comic.read_text().replace("[ren]\n        variants", "[aiko]\n        variants"))
    expect(page.locator("#errors")).to_contain_text("unknown character 'aiko'", timeout=20_000)
    expect(page.locator("#errors")).to_contain_text("comic.yaml:")
    expect(page.locator('.candidate[data-panel="p1.2"]')).to_have_count(3)  # the last good candidates stay on the page
