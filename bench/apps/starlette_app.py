"""The benchmark endpoints in Starlette."""

from __future__ import annotations

import shutil
from typing import Any, BinaryIO

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import (
    PLAINTEXT,
    download_chunks,
    route_body,
    route_count,
    saved_file_summary,
    sse_events,
    upload_path,
)


async def plaintext(request: Request) -> Response:
    return PlainTextResponse(PLAINTEXT)


async def json_(request: Request) -> Response:
    return JSONResponse({"message": "Hello, World!"})


async def user(request: Request) -> Response:
    fields = request.query_params.get("fields", "").split(",")
    return JSONResponse({"id": request.path_params["user_id"], "fields": fields})


async def form(request: Request) -> Response:
    async with request.form() as data:
        return JSONResponse(dict(data))


async def echo(request: Request) -> Response:
    return JSONResponse(await request.json())


def _copy_to(src: BinaryIO, path: str) -> None:
    with open(path, "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)


async def upload(request: Request) -> Response:
    async with request.form() as data:
        file = data["file"]
        assert isinstance(file, UploadFile)
        path = upload_path()
        await run_in_threadpool(_copy_to, file.file, path)
    return JSONResponse(saved_file_summary(path, request.query_params.get("digest") == "1"))


async def download(request: Request) -> Response:
    size = int(request.query_params["size"])
    return StreamingResponse(download_chunks(size), media_type="application/octet-stream")


async def sse(request: Request) -> Response:
    count = int(request.query_params["count"])
    return StreamingResponse(sse_events(count), media_type="text/event-stream")


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnect:
        pass


app = Starlette(
    routes=[
        Route("/plaintext", plaintext),
        Route("/json", json_),
        Route("/users/{user_id:int}", user),
        Route("/form", form, methods=["POST"]),
        Route("/echo", echo, methods=["POST"]),
        Route("/upload", upload, methods=["POST"]),
        Route("/download", download),
        Route("/sse", sse),
        WebSocketRoute("/ws/echo", ws_echo),
    ]
)


def routes_app() -> Starlette:
    """An app of ``$BENCH_ROUTES`` rules ``/route<i>/{item_id:int}``."""

    def make_view(i: int) -> Any:
        async def view(request: Request) -> Response:
            body = route_body(i, request.path_params["item_id"])
            return PlainTextResponse(body)

        return view

    routes = [Route(f"/route{i}/{{item_id:int}}", make_view(i)) for i in range(route_count())]
    return Starlette(routes=routes)
