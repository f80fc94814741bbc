"""The benchmark endpoints in asyncflask."""

from __future__ import annotations

from typing import Any

from asyncflask import Flask, Response, jsonify, request, websocket

from . import (
    PLAINTEXT,
    download_chunks,
    route_body,
    route_count,
    saved_file_summary,
    sse_events,
    upload_path,
)

app = Flask(__name__)


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
    await file.save(path)
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


def routes_app() -> Flask:
    """An app of ``$BENCH_ROUTES`` rules ``/route<i>/<int:item_id>``."""
    table = Flask(__name__)

    def make_view(i: int) -> Any:
        async def view(item_id: int) -> Response:
            return Response(route_body(i, item_id), mimetype="text/plain")

        return view

    for i in range(route_count()):
        table.add_url_rule(f"/route{i}/<int:item_id>", f"route{i}", make_view(i))
    return table
