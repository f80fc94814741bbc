"""The benchmark endpoints as a hand-written ASGI app: the ceiling.

No framework, no request object: each endpoint does the least it can with
the scope and the ASGI messages. The upload is parsed as it streams in with
python-multipart and written straight to disk.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, BinaryIO
from urllib.parse import parse_qs, parse_qsl

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from . import (
    PLAINTEXT,
    download_chunks,
    route_body,
    route_count,
    saved_file_summary,
    sse_events,
    upload_path,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
JSON = [(b"content-type", b"application/json")]


async def respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def respond_json(send: Send, obj: object) -> None:
    await respond(send, 200, JSON, json.dumps(obj, separators=(",", ":")).encode())


async def stream(send: Send, content_type: bytes, chunks: AsyncIterator[bytes]) -> None:
    headers = [(b"content-type", content_type)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    async for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client went away")
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def read_body(receive: Receive) -> bytes:
    return b"".join([chunk async for chunk in body_chunks(receive)])


def query(scope: Scope) -> dict[str, list[str]]:
    return parse_qs(scope["query_string"].decode("latin-1"))


def header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


async def plaintext(scope: Scope, receive: Receive, send: Send) -> None:
    await respond(send, 200, TEXT, PLAINTEXT)


async def json_(scope: Scope, receive: Receive, send: Send) -> None:
    await respond_json(send, {"message": "Hello, World!"})


async def form(scope: Scope, receive: Receive, send: Send) -> None:
    body = (await read_body(receive)).decode("latin-1")
    await respond_json(send, dict(parse_qsl(body, keep_blank_values=True)))


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    await respond_json(send, json.loads(await read_body(receive)))


class _FileSink:
    """python-multipart callbacks that write the part with a filename to disk."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.file: BinaryIO | None = None
        self.saved = False
        self._field = b""
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._headers.clear,
            "on_header_field": self._on_field,
            "on_header_value": self._on_value,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_data,
            "on_part_end": self._on_part_end,
        }

    def _on_field(self, data: bytes, start: int, end: int) -> None:
        self._field = data[start:end].lower()

    def _on_value(self, data: bytes, start: int, end: int) -> None:
        self._headers[self._field] = self._headers.get(self._field, b"") + data[start:end]

    def _on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"filename" in params and not self.saved:
            self.file = open(self.path, "wb")  # closed in _on_part_end

    def _on_data(self, data: bytes, start: int, end: int) -> None:
        if self.file is not None:
            self.file.write(data[start:end])

    def _on_part_end(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
            self.saved = True


async def upload(scope: Scope, receive: Receive, send: Send) -> None:
    _, params = parse_options_header(header(scope, b"content-type"))
    sink = _FileSink(upload_path())
    parser = MultipartParser(params[b"boundary"], sink.callbacks())
    try:
        async for chunk in body_chunks(receive):
            parser.write(chunk)
        parser.finalize()
    finally:
        if sink.file is not None:
            sink.file.close()
    if not sink.saved:
        await respond(send, 400, TEXT, b"no file")
        return
    digest = query(scope).get("digest") == ["1"]
    await respond_json(send, saved_file_summary(sink.path, digest))


async def download(scope: Scope, receive: Receive, send: Send) -> None:
    size = int(query(scope)["size"][0])
    await stream(send, b"application/octet-stream", download_chunks(size))


async def sse(scope: Scope, receive: Receive, send: Send) -> None:
    count = int(query(scope)["count"][0])
    await stream(send, b"text/event-stream", sse_events(count))


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await respond(send, 404, TEXT, b"Not Found")


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/plaintext"): plaintext,
    ("GET", "/json"): json_,
    ("POST", "/form"): form,
    ("POST", "/echo"): echo,
    ("POST", "/upload"): upload,
    ("GET", "/download"): download,
    ("GET", "/sse"): sse,
}


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def ws_echo(receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["type"] == "websocket" and scope["path"] == "/ws/echo":
            await ws_echo(receive, send)
        return
    path: str = scope["path"]
    handler = ROUTES.get((scope["method"], path))
    if handler is not None:
        await handler(scope, receive, send)
    elif path.startswith("/users/") and path[7:].isdecimal() and scope["method"] == "GET":
        fields = query(scope).get("fields", [""])[0].split(",")
        await respond_json(send, {"id": int(path[7:]), "fields": fields})
    else:
        await not_found(scope, receive, send)


def routes_app() -> Handler:
    """An app of ``$BENCH_ROUTES`` rules ``/route<i>/<int>``: a dict lookup on
    the first segment."""
    table = {f"route{i}": i for i in range(route_count())}

    async def route_table(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await lifespan(receive, send)
            return
        parts = scope["path"].split("/")
        i = table.get(parts[1]) if len(parts) == 3 else None
        if i is None or not parts[2].isdecimal():
            await not_found(scope, receive, send)
            return
        await respond(send, 200, TEXT, route_body(i, int(parts[2])))

    return route_table
