"""A real review server (`comicforge review --port 0 --no-open`) on a copy of the small project, and HTTP helpers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import REPO, TESTS

PANEL = "      - prompt: \"{{ ren }} in an alley\"\n        characters: [ren]\n"  # p1.2 of the small project


@dataclass
class Server:
    url: str
    project: Path
    process: subprocess.Popen[str]

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return _request(urllib.request.Request(self.url + path, headers=headers or {}))

    def book(self) -> dict[str, Any]:
        status, body = self.get("/api/book")
        assert status == 200
        return json.loads(body)

    def post_pick(self, panel: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any] | bytes]:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        status, answer = _request(urllib.request.Request(f"{self.url}/api/panels/{panel}/pick", data=data, method="POST",
                                                         headers={"Content-Type": "application/json", **(headers or {})}))
        try:
            return status, json.loads(answer)
        except ValueError:
            return status, answer


def _request(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(condition: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll until the condition returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def reviewed_project(folder: Path) -> Path:
    """The small project with panel p1.2 given 3 candidates, and a comment to keep."""
    shutil.copytree(TESTS / "projects" / "small", folder)
    text = (folder / "comic.yaml").read_text()
    (folder / "comic.yaml").write_text(text.replace(PANEL, PANEL + "        variants: 3   # three seeds to choose from\n", 1))
    return folder


def start_server(project: Path) -> Server:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "comicforge", "review", str(project), "--port", "0", "--no-open"],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    line = process.stderr.readline()  # "review: http://127.0.0.1:PORT/ (Ctrl-C to stop)"
    assert line.startswith("review: http://127.0.0.1:"), line + process.stderr.read()
    server = Server(line.split()[1].rstrip("/"), project, process)
    wait_for(lambda: server.book()["status"]["state"] == "ready")
    return server


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    server.process.stderr.close()


@pytest.fixture
def review_server(tmp_path: Path) -> Iterator[Server]:
    server = start_server(reviewed_project(tmp_path / "book"))
    yield server
    stop_server(server)
