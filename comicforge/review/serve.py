"""Serve a review session with uvicorn on 127.0.0.1 only."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from comicforge.errors import ComicforgeError, Problem

HOST = "127.0.0.1"  # never another interface: the app can rewrite the project


def missing_packages() -> list[str]:
    """The review extra's packages that are not installed (looked up, not imported)."""
    import importlib.util

    def installed(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # a dotted name whose parent package is missing
            return False

    return [name for name in ("starlette", "uvicorn", "watchfiles", "ruamel.yaml") if not installed(name)]


def local_socket(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: any free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as error:
        sock.close()
        raise ComicforgeError(Problem(f"cannot listen on {HOST}:{port}: {error.strerror or error} (choose another with --port)", "review")) from None
    sock.listen(64)
    return sock


def serve_review(project_file: Path, port: int = 8411, open_browser: bool = True, watch: bool = True) -> None:
    """Build the previews, serve the review app until interrupted, rebuilding after each save or pick."""
    missing = missing_packages()
    if missing:
        raise ComicforgeError(Problem(f"review needs {', '.join(missing)}: pip install 'comicforge-studio[review]'", "review"))
    import uvicorn

    from comicforge.review.app import review_app
    from comicforge.review.session import Session

    sock = local_socket(port)
    port = sock.getsockname()[1]
    session = Session(project_file)
    session.start(watch=watch)
    url = f"http://{HOST}:{port}/"
    print(f"review: {url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(review_app(session, port), log_level="warning", lifespan="off", timeout_graceful_shutdown=1)  # open event streams end
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        session.stop()
        sock.close()
