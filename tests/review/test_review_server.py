"""The review server, for real: uvicorn on 127.0.0.1, the JSON API, picks written into comic.yaml, and its guards."""

from __future__ import annotations

import difflib
from pathlib import Path

from conftest import Server, wait_for
from support import listening_sockets


def test_it_listens_on_127_0_0_1_only(review_server: Server):
    port = int(review_server.url.rsplit(":", 1)[1])
    assert {address for p, address in listening_sockets().values() if p == port} in ({"127.0.0.1"}, set())  # set(): no /proc (not Linux)
    from comicforge.review.serve import local_socket

    sock = local_socket(0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_the_book_lists_every_candidate_with_images_that_load(review_server: Server):
    book = review_server.book()
    assert book["title"] == "Small Test Book" and [p["number"] for p in book["pages"]] == [1, 2]
    panel = next(p for p in book["pages"][0]["panels"] if p["id"] == "p1.2")
    assert [v["index"] for v in panel["variants"]] == [0, 1, 2] and panel["pick"] == 0
    seeds = [v["seed"] for v in panel["variants"]]
    assert seeds[1] == seeds[0] + 1 and seeds[2] == seeds[0] + 2
    assert {"prompt", "sampler", "steps"} <= set(panel["variants"][0])
    for url in [book["pages"][0]["image"], *(v["image"] for v in panel["variants"])]:
        status, body = review_server.get(url)
        assert status == 200 and body.startswith(b"\x89PNG"), url


def test_a_pick_is_written_keeping_comments_and_the_page_shows_it(review_server: Server):
    comic = review_server.project / "comic.yaml"
    before_text, before = comic.read_text(), review_server.book()
    status, answer = review_server.post_pick("p1.2", {"variant": 2})
    assert status == 200 and answer["pick"] == 2
    book = wait_for(lambda: (b := review_server.book())["pages"][0]["image"] != before["pages"][0]["image"] and b["status"]["state"] == "ready" and b)
    assert next(p for p in book["pages"][0]["panels"] if p["id"] == "p1.2")["pick"] == 2
    assert book["pages"][1]["image"] == before["pages"][1]["image"]  # the other page is untouched
    changes = [line for line in difflib.ndiff(before_text.splitlines(), comic.read_text().splitlines()) if line[:1] in "+-"]
    assert changes == ["+         pick: 2"]  # one line added, after `variants:`; its comment and every other line as written
    assert "variants: 3   # three seeds to choose from\n        pick: 2\n" in comic.read_text()
    assert review_server.post_pick("p1.2", {"variant": 1})[0] == 200
    wait_for(lambda: "        pick: 1\n" in comic.read_text())
    assert [line for line in difflib.ndiff(before_text.splitlines(), comic.read_text().splitlines()) if line[:1] in "+-"] == ["+         pick: 1"]


def test_bad_picks_are_refused_and_change_nothing(review_server: Server):
    comic = review_server.project / "comic.yaml"
    text = comic.read_text()
    assert review_server.post_pick("p1.2", {"variant": 3}) == (400, {"error": "variant must be a candidate index, 0 to 2"})
    assert review_server.post_pick("p1.2", {"variant": "1"})[0] == 400
    assert review_server.post_pick("p1.2", b"variant=1")[0] == 400
    assert review_server.post_pick("nope", {"variant": 0})[0] == 404
    assert comic.read_text() == text


def test_foreign_origins_and_hosts_are_refused(review_server: Server):
    comic = review_server.project / "comic.yaml"
    text = comic.read_text()
    port = review_server.url.rsplit(":", 1)[1]
    for headers in ({"Origin": "http://evil.example"}, {"Origin": f"http://127.0.0.1:{int(port) + 1}"}, {"Origin": "null"},
                    {"Host": f"evil.example:{port}"}, {"Host": "attacker.test"}):
        assert review_server.post_pick("p1.2", {"variant": 1}, headers)[0] == 403, headers
        assert review_server.get("/api/book", headers)[0] == 403, headers
    assert review_server.post_pick("p1.2", {"variant": 1}, {"Content-Type": "text/plain"})[0] == 415  # what a cross-site form could send
    assert comic.read_text() == text
    assert review_server.get("/api/book", {"Origin": f"http://127.0.0.1:{port}"})[0] == 200  # its own page


def test_only_this_books_images_are_served(review_server: Server):
    book = review_server.book()
    key = book["pages"][0]["image"].split("/")[2]
    (review_server.project / "secret.txt").write_text("not for the web")
    for path in ("/images/../comic.yaml", "/images/%2e%2e/%2e%2e/comic.yaml", f"/images/{key}/..%2f..%2f..%2fcomic.yaml",
                 f"/images/{key}/manifest.json", f"/images/{key}/panel.png", "/images/" + "0" * 64 + "/page.png",
                 "/images/../../../../etc/passwd", "/secret.txt", "/build/pages/page-001.png"):
        status, body = review_server.get(path)
        assert status == 404 and b"not for the web" not in body and b"title:" not in body, path


def test_a_saved_edit_rebuilds_and_errors_are_located_while_the_last_good_book_stays(review_server: Server):
    comic = review_server.project / "comic.yaml"
    before = review_server.book()
    generation = before["status"]["generation"]
    comic.write_text(comic.read_text().replace("prompt: d\n", "prompt: d, at dawn\n"))
    book = wait_for(lambda: (b := review_server.book())["pages"][1]["image"] != before["pages"][1]["image"] and b["status"]["state"] == "ready" and b)
    assert book["pages"][0]["image"] == before["pages"][0]["image"]
    generation = book["status"]["generation"]
    comic.write_text(comic.read_text().replace("characters: [ren]\n        variants", "characters: [aiko]\n        variants"))
    failed = wait_for(lambda: (b := review_server.book())["status"]["state"] == "failed" and b)
    assert failed["status"]["generation"] > generation
    assert any(e.startswith("comic.yaml:") and "unknown character 'aiko'" in e for e in failed["status"]["errors"]), failed["status"]
    assert failed["pages"] == book["pages"]  # the last good images stay
    assert review_server.get(failed["pages"][0]["image"])[0] == 200


def test_live_events_tell_of_each_rebuild(review_server: Server):
    import json
    import urllib.request

    with urllib.request.urlopen(review_server.url + "/events", timeout=30) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")

        def next_status() -> dict:
            data = ""
            while not data:
                line = stream.readline().decode()
                data = line.removeprefix("data: ").strip() if line.startswith("data: ") else ""
            return json.loads(data)

        first = next_status()
        assert first["state"] == "ready"
        assert review_server.post_pick("p1.2", {"variant": 1})[0] == 200
        seen = [next_status()]
        while seen[-1]["state"] != "ready" or seen[-1]["generation"] <= first["generation"]:
            seen.append(next_status())
        assert "building" in [s["state"] for s in seen]
        assert any(s["progress"]["total"] and s["progress"]["job"].startswith("page") for s in seen)  # progress, job by job


def test_a_pick_applied_to_the_stored_resolve_equals_a_full_resolve(tmp_path: Path):
    """The review's shortcut after a pick (re-wiring the stored preview jobs) gives exactly the jobs a full resolve gives."""
    from conftest import reviewed_project

    from comicforge.pipeline.picks import pick_in_stored_preview
    from comicforge.pipeline.run import PREVIEW_STATE, BuildOptions, build
    from comicforge.pipeline.store import Store
    from comicforge.project.edit import with_pick

    project = reviewed_project(tmp_path / "book")
    text = (project / "comic.yaml").read_text()
    (project / "comic.yaml").write_text(text.replace("        variants: 3", "        edits: [{op: img2img, strength: 0.3}]\n        variants: 3"))
    build(project, BuildOptions(preview=True, exports=("png",)))
    store = Store(project)
    for variant in (2, 1, 0):
        before = (project / "comic.yaml").read_text()
        after = with_pick(before, "p1.2", variant)
        (project / "comic.yaml").write_text(after)
        assert pick_in_stored_preview(store, before, after, "p1.2", variant)
        shortcut = store.read_state(PREVIEW_STATE)["jobs"]
        store.write_state(PREVIEW_STATE, {})  # forget it: the build resolves the edited file in full
        report = build(project, BuildOptions(preview=True, exports=("png",)))
        full = store.read_state(PREVIEW_STATE)["jobs"]
        assert shortcut == full
        assert report.to_json()["panels"]["generated"] == 0
    assert not pick_in_stored_preview(store, "title: something else\n", after, "p1.2", 1)  # a stale resolve is left alone
