"""The benchmark endpoints in Litestar."""

from __future__ import annotations

import shutil
from typing import Annotated, Any, BinaryIO

from litestar import Litestar, MediaType, WebSocket, get, post, websocket
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import Body
from litestar.response import Stream

from . import (
    PLAINTEXT,
    download_chunks,
    route_body,
    route_count,
    saved_file_summary,
    sse_events,
    upload_path,
)

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


@get("/plaintext", media_type=MediaType.TEXT)
async def plaintext() -> bytes:
    return PLAINTEXT


@get("/json")
async def json_() -> dict[str, str]:
    return {"message": "Hello, World!"}


@get("/users/{user_id:int}")
async def user(user_id: int, fields: str = "") -> dict[str, Any]:
    return {"id": user_id, "fields": fields.split(",")}


@post("/form", status_code=200)
async def form(data: Form) -> dict[str, str]:
    return data


@post("/echo", status_code=200)
async def echo(data: dict[str, Any]) -> dict[str, Any]:
    return data


def _copy_to(src: BinaryIO, path: str) -> None:
    with open(path, "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)


@post("/upload", status_code=200)
async def upload(data: Multipart, digest: str = "") -> dict[str, object]:
    file = data["file"]
    assert isinstance(file, UploadFile)
    path = upload_path()
    await sync_to_thread(_copy_to, file.file, path)
    await file.close()
    return saved_file_summary(path, digest == "1")


@get("/download")
async def download(size: int) -> Stream:
    return Stream(download_chunks(size), media_type="application/octet-stream")


@get("/sse")
async def sse(count: int) -> Stream:
    return Stream(sse_events(count), media_type="text/event-stream")


@websocket("/ws/echo")
async def ws_echo(socket: WebSocket) -> None:
    await socket.accept()
    while True:
        message = await socket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await socket.send_data(message["text"], mode="text")
        else:
            await socket.send_data(message["bytes"], mode="binary")


# The 100 MiB upload is over Litestar's default body limit (10 MB).
app = Litestar(
    [plaintext, json_, user, form, echo, upload, download, sse, ws_echo],
    request_max_body_size=None,
)


def routes_app() -> Litestar:
    """An app of ``$BENCH_ROUTES`` rules ``/route<i>/{item_id:int}``."""

    def make_view(i: int) -> HTTPRouteHandler:
        async def view(item_id: int) -> bytes:
            return route_body(i, item_id)

        return get(f"/route{i}/{{item_id:int}}", name=f"route{i}", media_type=MediaType.TEXT)(view)

    return Litestar([make_view(i) for i in range(route_count())])
