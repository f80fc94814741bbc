"""The benchmark endpoints in BlackSheep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from blacksheep import (
    Application,
    Content,
    Request,
    Response,
    StreamedContent,
    WebSocket,
    WebSocketDisconnectError,
    json,
)
from blacksheep.server.routing import Router

from . import (
    PLAINTEXT,
    download_chunks,
    route_body,
    route_count,
    saved_file_summary,
    sse_events,
    upload_path,
)

app = Application()
get, post = app.router.get, app.router.post


def _plain(body: bytes) -> Response:
    return Response(200, None, Content(b"text/plain; charset=utf-8", body))


@get("/plaintext")
async def plaintext() -> Response:
    return _plain(PLAINTEXT)


@get("/json")
async def json_() -> Response:
    return json({"message": "Hello, World!"})


@get("/users/{int:user_id}")
async def user(request: Request, user_id: int) -> Response:
    fields = request.query.get("fields", [""])[0].split(",")
    return json({"id": user_id, "fields": fields})


@post("/form")
async def form(request: Request) -> Response:
    return json(await request.form())


@post("/echo")
async def echo(request: Request) -> Response:
    return json(await request.json())


@post("/upload")
async def upload(request: Request) -> Response:
    path = upload_path()
    async for part in request.multipart_stream():
        if part.name == "file":
            # What ``part.save_to`` does, less its check that the path is
            # under the working directory (uploads go to a temporary one).
            with open(path, "wb") as f:  # noqa: ASYNC230
                async for chunk in part.stream():
                    f.write(chunk)
        else:
            await part.read()
    digest = request.query.get("digest", [""])[0] == "1"
    return json(saved_file_summary(path, digest))


def _streamed(content_type: bytes, chunks: AsyncIterator[bytes]) -> Response:
    async def provider() -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield chunk

    return Response(200, None, StreamedContent(content_type, provider))


@get("/download")
async def download(request: Request) -> Response:
    size = int(request.query["size"][0])
    return _streamed(b"application/octet-stream", download_chunks(size))


@get("/sse")
async def sse(request: Request) -> Response:
    count = int(request.query["count"][0])
    return _streamed(b"text/event-stream", sse_events(count))


@app.router.ws("/ws/echo")
async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnectError:
        pass


def routes_app() -> Application:
    """An app of ``$BENCH_ROUTES`` rules ``/route<i>/{int:item_id}``."""
    table = Application(router=Router())

    def make_view(i: int) -> Any:
        async def view(item_id: int) -> Response:
            return _plain(route_body(i, item_id))

        return view

    for i in range(route_count()):
        table.router.add_get(f"/route{i}/{{int:item_id}}", make_view(i))
    return table
