"""The review app on Starlette: the page, the JSON API, the store's images, live events; requests from elsewhere refused."""

from __future__ import annotations

import asyncio
import json
import re
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from comicforge.errors import ComicforgeError
from comicforge.review.session import Session

KEY = re.compile(r"^[0-9a-f]{16,128}$")


class LocalOnly:
    """Refuse requests whose Host is not this server (DNS rebinding) or whose Origin is another site (cross-site requests)."""

    def __init__(self, app: ASGIApp, port: int):
        self.app = app
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
            origin = headers.get("origin")
            if headers.get("host") not in self.hosts or (origin is not None and origin not in self.origins):
                await Response("refused: this review server answers only its own pages on 127.0.0.1", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def review_app(session: Session, port: int) -> ASGIApp:
    """The Starlette app over a session, behind the Host/Origin guard."""

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(resources.files("comicforge").joinpath("data/review/index.html").read_text(encoding="utf-8"))

    async def book(request: Request) -> JSONResponse:
        return JSONResponse({**session.view.book, "status": session.status.to_json()})

    async def pick(request: Request) -> JSONResponse:
        panel_id = request.path_params["panel"]
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":  # no HTML form can send this type
            return JSONResponse({"error": "send the pick as application/json"}, status_code=415)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": 'the body must be JSON: {"variant": K}'}, status_code=400)
        variant = body.get("variant") if isinstance(body, dict) else None
        count = session.candidates(panel_id)
        if count is None:
            return JSONResponse({"error": f"no panel {panel_id!r} in the book"}, status_code=404)
        if not isinstance(variant, int) or isinstance(variant, bool) or not 0 <= variant < count:
            return JSONResponse({"error": f"variant must be a candidate index, 0 to {count - 1}"}, status_code=400)
        try:
            await asyncio.to_thread(session.pick, panel_id, variant)
        except ComicforgeError as error:
            return JSONResponse({"error": "; ".join(str(p) for p in error.problems)}, status_code=409)
        return JSONResponse({"panel": panel_id, "pick": variant, "generation": session.status.generation})

    async def image(request: Request) -> Response:
        key, name = request.path_params["key"], request.path_params["name"]
        if not KEY.match(key) or session.view.images.get(key) != name:
            return Response("not an image of this book", status_code=404)
        path = session.store.entry(key) / name
        if not path.is_file():
            return Response("not in the store (rebuilding?)", status_code=404)
        return FileResponse(path, headers={"Cache-Control": "max-age=31536000, immutable"})  # URLs name content keys

    async def events(request: Request) -> StreamingResponse:
        return StreamingResponse(_event_stream(session, request), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    routes = [
        Route("/", page), Route("/api/book", book), Route("/api/panels/{panel}/pick", pick, methods=["POST"]),
        Route("/images/{key}/{name}", image), Route("/events", events),
    ]
    return LocalOnly(Starlette(routes=routes), port)


async def _event_stream(session: Session, request: Request) -> Any:
    """Server-sent events: the status now, then every change (build started, progress, done, failed)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def listener(event: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    session.listeners.append(listener)
    try:
        yield f"event: status\ndata: {json.dumps(session.status.to_json())}\n\n"
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=15)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield f"event: status\ndata: {json.dumps(event)}\n\n"
    finally:
        session.listeners.remove(listener)
