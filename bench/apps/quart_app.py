"""The benchmark endpoints in Quart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quart import Quart, Response, jsonify, request, websocket

from . import (
    PLAINTEXT,
    download_chunks,
    route_body,
    route_count,
    saved_file_summary,
    sse_events,
    upload_path,
)

app = Quart(__name__)
# Quart's defaults would refuse the 100 MiB upload (16 MiB limit) and cut
# long bodies and streams after 60 s.
app.config.update(MAX_CONTENT_LENGTH=None, BODY_TIMEOUT=None, RESPONSE_TIMEOUT=None)


@app.get("/plaintext")
async def plaintext() -> Response:
    return Response(PLAINTEXT, mimetype="text/plain")


@app.get("/json")
async def json_() -> Response:
    return jsonify(message="Hello, World!")


@app.get("/users/<int:user_id>")
async def user(user_id: int) -> Response:
    return jsonify(id=user_id, fields=request.args.get("fields", "").split(","))


@app.post("/form")
async def form() -> Response:
    return jsonify((await request.form).to_dict())


@app.post("/echo")
async def echo() -> Response:
    return jsonify(await request.get_json())


@app.post("/upload")
async def upload() -> Response:
    file = (await request.files)["file"]
    path = upload_path()
    await file.save(Path(path))
    return jsonify(saved_file_summary(path, request.args.get("digest") == "1"))


@app.get("/download")
async def download() -> Response:
    size = int(request.args["size"])
    return Response(download_chunks(size), mimetype="application/octet-stream")


@app.get("/sse")
async def sse() -> Response:
    count = int(request.args["count"])
    return Response(sse_events(count), mimetype="text/event-stream")


@app.websocket("/ws/echo")
async def ws_echo() -> None:
    while True:
        await websocket.send(await websocket.receive())


def routes_app() -> Quart:
    """An app of ``$BENCH_ROUTES`` rules ``/route<i>/<int:item_id>``."""
    table = Quart(__name__)

    def make_view(i: int) -> Any:
        async def view(item_id: int) -> Response:
            return Response(route_body(i, item_id), mimetype="text/plain")

        return view

    for i in range(route_count()):
        table.add_url_rule(f"/route{i}/<int:item_id>", f"route{i}", make_view(i))
    return table
