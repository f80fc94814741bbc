"""Flask-Compress on asyncflask, set up as its documentation shows
(``Compress(app)``, default settings, so ``COMPRESS_STREAMS`` is on):
buffered and streamed responses, templates, static files and Flask's own
``send_file``, each decompressed and compared; then the same over a real
uvicorn server."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import brotli
import flask
import httpx
import pytest
from flask_compress import Compress

from asyncflask import (
    Flask,
    StreamingResponse,
    render_template_string,
    send_file,
    stream_template_string,
)
from asyncflask.testing import TestClient
from tests.server import run_server

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # before Python 3.14: what Flask-Compress itself uses
    from backports import zstd

CSS = "body { color: red; }\n" * 200
TEXT = "".join(f"line {i}: some text to squeeze\n" for i in range(300))
ENCODINGS = ["zstd", "br", "gzip", "deflate"]


def decode(encoding: str | None, data: bytes) -> bytes:
    if encoding == "zstd":
        return zstd.decompress(data)
    if encoding == "br":
        return bytes(brotli.decompress(data))
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    assert encoding is None
    return data


def make_app(root: Path) -> Flask:
    (root / "static").mkdir()
    (root / "static" / "site.css").write_text(CSS)
    (root / "page.txt").write_text(TEXT)
    app = Flask("compressed", root_path=str(root))
    Compress(app)

    @app.route("/buffered")
    async def buffered() -> str:
        return TEXT

    @app.route("/small")
    async def small() -> str:
        return "tiny"

    @app.route("/json")
    async def json() -> Any:
        return {"lines": TEXT.splitlines()}

    @app.route("/sync-stream")
    def sync_stream() -> Any:
        def lines() -> Iterator[str]:
            yield from TEXT.splitlines(keepends=True)

        return app.response_class(lines(), mimetype="text/plain")

    @app.route("/async-stream")
    async def async_stream() -> Any:
        async def lines() -> AsyncIterator[str]:
            for line in TEXT.splitlines(keepends=True):
                await asyncio.sleep(0)
                yield line

        return StreamingResponse(lines(), mimetype="text/plain")

    @app.route("/template")
    async def template() -> Any:
        return await render_template_string("{% for l in lines %}{{ l }}{% endfor %}", lines=TEXT)

    @app.route("/stream-template")
    async def streamed_template() -> Any:
        return stream_template_string("{% for l in lines %}{{ l }}{% endfor %}", lines=TEXT)

    @app.route("/flask-send-file")
    def flask_send_file() -> Any:
        return flask.send_file("page.txt")

    @app.route("/send-file")
    async def our_send_file() -> Any:
        return send_file("page.txt")

    return app


EXPECTED = {
    "/buffered": TEXT,
    "/sync-stream": TEXT,
    "/async-stream": TEXT,
    "/template": TEXT,
    "/stream-template": TEXT,
    "/flask-send-file": TEXT,
    "/send-file": TEXT,
    "/static/site.css": CSS,
}
STREAMED = {"/sync-stream", "/async-stream", "/stream-template", "/flask-send-file", "/send-file"}
STREAMED.add("/static/site.css")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    async with make_app(tmp_path).test_client() as client:
        yield client


async def fetch(client: TestClient, url: str, accept: str) -> tuple[int, httpx.Headers, bytes]:
    async def run() -> tuple[int, httpx.Headers, bytes]:
        async with client.stream("GET", url, headers={"Accept-Encoding": accept}) as r:
            raw = b"".join([chunk async for chunk in r.aiter_raw()])
        return r.status_code, r.headers, raw

    return await asyncio.wait_for(run(), 10)


@pytest.mark.parametrize("url", sorted(EXPECTED))
@pytest.mark.parametrize("accept", ENCODINGS)
async def test_compressed(client: TestClient, url: str, accept: str) -> None:
    status, headers, raw = await fetch(client, url, accept)
    assert status == 200
    encoding = headers.get("Content-Encoding")
    # gzip is not among Flask-Compress's streaming algorithms
    expected_encoding = None if accept == "gzip" and url in STREAMED else accept
    assert encoding == expected_encoding
    assert decode(encoding, raw).decode() == EXPECTED[url]
    assert "Accept-Encoding" in headers["Vary"]
    if encoding is not None and url in STREAMED:
        assert "Content-Length" not in headers
    elif encoding is not None:
        assert headers["Content-Length"] == str(len(raw))


async def test_uncompressed_answers(client: TestClient) -> None:
    status, headers, raw = await fetch(client, "/small", "br")
    assert (status, headers.get("Content-Encoding"), raw) == (200, None, b"tiny")
    status, headers, raw = await fetch(client, "/buffered", "identity")
    assert (status, headers.get("Content-Encoding"), raw) == (200, None, TEXT.encode())
    status, headers, raw = await fetch(client, "/json", "br")
    assert headers["Content-Encoding"] == "br"
    assert flask.json.loads(decode("br", raw)) == {"lines": TEXT.splitlines()}


async def test_etags_and_conditional_requests(client: TestClient) -> None:
    # Flask's send_file: the file's ETag marked with the encoding (and, as in
    # Flask, only the endpoints Flask-Compress lists are evaluated again)
    _, headers, _ = await fetch(client, "/flask-send-file", "br")
    assert headers["ETag"].endswith(':br"')
    r = await client.get(
        "/flask-send-file", headers={"Accept-Encoding": "br", "If-None-Match": headers["ETag"]}
    )
    assert r.status_code == 200
    # a static file's validators are set when send_file is called, as in
    # Flask: a compressed one's ETag is marked with the encoding, and each
    # representation answers its own conditional request
    _, headers, _ = await fetch(client, "/static/site.css", "br")
    assert headers["ETag"].endswith(':br"')
    r = await client.get(
        "/static/site.css", headers={"Accept-Encoding": "br", "If-None-Match": headers["ETag"]}
    )
    assert r.status_code == 304
    _, headers, _ = await fetch(client, "/static/site.css", "identity")
    assert not headers["ETag"].endswith(':br"')
    r = await client.get(
        "/static/site.css",
        headers={"Accept-Encoding": "identity", "If-None-Match": headers["ETag"]},
    )
    assert r.status_code == 304


async def test_head(client: TestClient) -> None:
    for url in ("/static/site.css", "/async-stream", "/buffered"):
        r = await client.head(url, headers={"Accept-Encoding": "br"})
        assert (r.status_code, r.content, r.headers["Content-Encoding"]) == (200, b"", "br")


SERVER_APP = """
from pathlib import Path

from flask_compress import Compress

from asyncflask import Flask, StreamingResponse

TEXT = "".join(f"line {i}: some text to squeeze\\n" for i in range(300))
Path("static").mkdir(exist_ok=True)
Path("static/site.css").write_text("body { color: red; }\\n" * 200)
app = Flask(__name__, root_path=str(Path.cwd()))
Compress(app)


@app.route("/buffered")
async def buffered():
    return TEXT


@app.route("/stream")
async def stream():
    async def lines():
        for line in TEXT.splitlines(keepends=True):
            yield line

    return StreamingResponse(lines(), mimetype="text/plain")


@app.route("/sync-stream")
def sync_stream():
    return app.response_class(iter(TEXT.splitlines(keepends=True)), mimetype="text/plain")
"""


def test_over_a_real_server() -> None:
    with run_server(SERVER_APP) as server, httpx.Client(base_url=server.url, timeout=10) as c:
        cases = [
            ("/buffered", TEXT),
            ("/stream", TEXT),
            ("/sync-stream", TEXT),
            ("/static/site.css", CSS),
        ]
        for url, expected in cases:
            for accept in ("br", "zstd", "deflate"):
                with c.stream("GET", url, headers={"Accept-Encoding": accept}) as r:
                    raw = b"".join(r.iter_raw())
                assert r.status_code == 200, server.stderr
                assert r.headers["Content-Encoding"] == accept
                assert decode(accept, raw).decode() == expected
        assert "Traceback" not in server.stderr
