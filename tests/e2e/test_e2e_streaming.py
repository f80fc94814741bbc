"""End to end: streaming, server-sent events and files over a real uvicorn
(``python -m asyncflask --app app:app run``) on 127.0.0.1.

Endless event streams read event by event and dropped (the generator's
``finally`` runs in the server), the first event arriving before the
generator ends, keep-alive pings, errors in the middle of a stream, raw
socket clients that vanish mid-stream, a 1 GiB download with flat server
memory, the Range / conditional matrix and directory escapes on the wire,
and 1,000 concurrent event-stream clients on one worker. Every test is
bounded by ``asyncio.wait_for`` (and socket timeouts).
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import struct
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.http import http_date

from tests.server import Server, run_server
from tests.support import guarded

GUARD = 20.0
TIMEOUT = httpx.Timeout(10.0)
#: How long the server may take to run a generator's ``finally`` after the
#: client went away (the contract says well under a second; this leaves room
#: for a loaded machine while still catching a generator that is never closed).
MARKER_WAIT = 3.0

MTIME = 1_700_000_000
DATA = bytes((i * 13 + i // 256) % 256 for i in range(5000))
SECRET = b"e2e secret outside the directory"
BIG_SIZE = 1 << 30
CROWD = 1000

APP = """
import asyncio
import os
import time
from pathlib import Path

from asyncflask import EventStream, Flask, ServerSentEvent, request, send_file, send_from_directory

app = Flask(__name__)
WORK = Path(os.environ["E2E_DIR"])
MARKERS = WORK / "markers"
FILES = WORK / "files"
CROWDS = {}


def mark(token, text="closed"):
    (MARKERS / token).write_text(text)


@app.route("/sse/endless")
async def sse_endless():
    token = request.args["token"]

    async def generate():
        n = 0
        try:
            while True:
                yield ServerSentEvent(f"tick {n}", event="tick", id=n)
                n += 1
                await asyncio.sleep(0.02)
        finally:
            mark(token, str(n))

    return EventStream(generate())


@app.route("/sse/one-then-sleep")
async def one_then_sleep():
    token = request.args["token"]

    async def generate():
        try:
            yield ServerSentEvent("first", id=1)
            await asyncio.sleep(3600)
            yield ServerSentEvent("never")
        finally:
            mark(token)

    return EventStream(generate())


@app.route("/sse/quiet")
async def quiet():
    async def generate():
        yield ServerSentEvent("hello")
        await asyncio.Event().wait()

    return EventStream(generate(), ping=0.2)


@app.route("/sse/flask-style")
async def flask_style():
    def generate():
        for i in range(3):
            yield f"data: {i}\\n\\n"

    return generate(), {"Content-Type": "text/event-stream"}


@app.route("/sse/last-event-id")
async def last_event_id():
    start = int(request.headers.get("Last-Event-ID", "-1")) + 1

    async def generate():
        for i in range(start, start + 2):
            yield ServerSentEvent(str(i), id=i)

    return EventStream(generate())


@app.route("/stream/async")
async def stream_async():
    token = request.args["token"]

    async def generate():
        n = 0
        try:
            while True:
                yield f"chunk {n}\\n"
                n += 1
                await asyncio.sleep(0.01)
        finally:
            mark(token, str(n))

    return generate(), {"Content-Type": "text/plain"}


@app.route("/stream/sync")
async def stream_sync():
    token = request.args["token"]

    def generate():
        n = 0
        try:
            while True:
                yield f"chunk {n}\\n"
                n += 1
                time.sleep(0.01)
        finally:
            mark(token, str(n))

    return generate(), {"Content-Type": "text/plain"}


@app.route("/stream/boom")
async def stream_boom():
    async def generate():
        yield "partial "
        await asyncio.sleep(0.05)
        raise RuntimeError("e2e boom in the middle of a stream")

    return generate()


@app.route("/stream/context")
async def stream_context():
    async def generate():
        for name in request.args.getlist("name"):
            await asyncio.sleep(0)
            yield f"{request.path}:{name}\\n"

    return generate()


@app.route("/files/<path:name>", methods=["GET", "HEAD"])
async def files(name):
    return send_from_directory(FILES, name)


@app.route("/download", methods=["GET", "HEAD"])
async def download():
    return send_from_directory(FILES, request.args["name"])


@app.route("/big", methods=["GET", "HEAD"])
async def big():
    return send_file(WORK / "big.bin")


@app.route("/crowd")
async def crowd():
    size = int(request.args["n"])
    me = request.args["c"]
    state = CROWDS.setdefault(request.args["round"], {"in": 0, "go": asyncio.Event()})

    async def generate():
        yield ServerSentEvent("hello", id=0)
        state["in"] += 1
        if state["in"] >= size:
            state["go"].set()
        await state["go"].wait()
        for i in range(1, 4):
            yield ServerSentEvent(f"{me}:{i}", id=i)

    return EventStream(generate())
"""


def _raise_fd_limit(wanted: int) -> None:
    """Make sure this process (and the server it starts, which inherits the
    limit) may open ``wanted`` files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def _make_work_dir(root: Path) -> Path:
    (root / "markers").mkdir()
    files = root / "files"
    (files / "sub").mkdir(parents=True)
    (files / "data.bin").write_bytes(DATA)
    (files / "sub" / "page.html").write_text("<p>hi</p>")
    (root / "secret.txt").write_bytes(SECRET)
    for path in (files / "data.bin", files / "sub" / "page.html"):
        os.utime(path, (MTIME, MTIME))
    return root


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_work_dir(tmp_path_factory.mktemp("e2e-streaming"))


@pytest.fixture(scope="module")
def server(work: Path) -> Iterator[Server]:
    _raise_fd_limit(4 * CROWD)
    with run_server(APP, env={"E2E_DIR": str(work)}, cli_args=["--no-access-log"]) as srv:
        yield srv


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        yield client


def new_token() -> str:
    return uuid.uuid4().hex


async def wait_for_marker(work: Path, token: str, within: float = MARKER_WAIT) -> str:
    """Poll for the file the app writes in a generator's ``finally``."""
    path = work / "markers" / token
    deadline = time.monotonic() + within
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the generator's finally did not run within {within}s")
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.01)  # let the write finish
    return path.read_text()


def error_lines(text: str) -> list[str]:
    markers = ("ERROR", "Traceback", "Exception", "CRITICAL")
    return [line for line in text.splitlines() if any(m in line for m in markers)]


# -- a tiny HTTP/1.1 client on raw sockets -----------------------------------------------


class RawResponse:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked body (``b""`` for the last one)."""
    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
    data = await reader.readexactly(size) if size else b""
    if await reader.readexactly(2) != b"\r\n":
        raise AssertionError("bad chunk framing")
    return data


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while chunk := await read_chunk(reader):
        body += chunk
    return body


async def open_raw(server: Server, target: bytes) -> Any:
    """Open a connection and send ``GET target``; return (reader, writer)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    return reader, writer


async def raw_get(server: Server, target: bytes, method: bytes = b"GET") -> RawResponse:
    """One request on its own connection (``Connection: close``)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(
            method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        status, headers = await read_head(reader)
        if method == b"HEAD":
            body = b""
        elif headers.get("transfer-encoding") == "chunked":
            body = await read_chunked(reader)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        return RawResponse(status, headers, body)
    finally:
        writer.close()


def parse_events(text: str) -> list[dict[str, str]]:
    """Events of a complete event stream (field -> value, data lines
    joined); comment-only blocks are left out."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            fields[name] = f"{fields[name]}\n{value}" if name in fields else value
        if fields:
            events.append(fields)
    return events


class SSEReader:
    """Reads an httpx streaming response event by event."""

    def __init__(self, response: httpx.Response) -> None:
        self.chunks = response.aiter_text()
        self.buffer = ""
        self.comments: list[str] = []

    async def next_block(self) -> str:
        while "\n\n" not in self.buffer:
            self.buffer += await anext(self.chunks)
        block, self.buffer = self.buffer.split("\n\n", 1)
        return block

    async def next_event(self) -> dict[str, str]:
        while True:
            block = await self.next_block()
            self.comments += [line for line in block.split("\n") if line.startswith(":")]
            events = parse_events(block + "\n\n")
            if events:
                return events[0]


# -- server-sent events -------------------------------------------------------------------


@guarded(GUARD)
async def test_endless_sse_read_event_by_event_then_dropped(
    server: Server, work: Path, http: httpx.AsyncClient
) -> None:
    log_start = len(server.stderr)
    token = new_token()
    async with http.stream("GET", f"/sse/endless?token={token}") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-accel-buffering"] == "no"
        reader = SSEReader(r)
        for i in range(5):
            event = await asyncio.wait_for(reader.next_event(), 5)
            assert event == {"event": "tick", "id": str(i), "data": f"tick {i}"}
        assert not (work / "markers" / token).exists()
    left = time.monotonic()
    produced = int(await wait_for_marker(work, token))
    assert time.monotonic() - left < 1.0
    assert produced >= 5
    assert not error_lines(server.stderr[log_start:])


@guarded(GUARD)
async def test_first_event_arrives_before_the_generator_ends(
    work: Path, http: httpx.AsyncClient
) -> None:
    token = new_token()
    started = time.monotonic()
    async with http.stream("GET", f"/sse/one-then-sleep?token={token}") as r:
        event = await asyncio.wait_for(SSEReader(r).next_event(), 5)
        elapsed = time.monotonic() - started
    assert event == {"id": "1", "data": "first"}
    assert elapsed < 1.0
    await wait_for_marker(work, token)


@guarded(GUARD)
async def test_keepalive_pings_on_the_wire(http: httpx.AsyncClient) -> None:
    async with http.stream("GET", "/sse/quiet") as r:
        reader = SSEReader(r)
        assert (await asyncio.wait_for(reader.next_event(), 5))["data"] == "hello"
        blocks = [await asyncio.wait_for(reader.next_block(), 3) for _ in range(2)]
    assert blocks == [": ping", ": ping"]


@guarded(GUARD)
async def test_flask_style_event_stream_on_the_wire(http: httpx.AsyncClient) -> None:
    r = await http.get("/sse/flask-style")
    assert r.headers["content-type"].startswith("text/event-stream")
    assert [e["data"] for e in parse_events(r.text)] == ["0", "1", "2"]


@guarded(GUARD)
async def test_last_event_id_on_the_wire(http: httpx.AsyncClient) -> None:
    r = await http.get("/sse/last-event-id", headers={"Last-Event-ID": "9"})
    assert [e["id"] for e in parse_events(r.text)] == ["10", "11"]


# -- streams and disconnects ---------------------------------------------------------------


@guarded(GUARD)
async def test_request_context_in_generator_on_the_wire(http: httpx.AsyncClient) -> None:
    r = await http.get("/stream/context", params=[("name", "a"), ("name", "b")])
    assert r.text == "/stream/context:a\n/stream/context:b\n"


@pytest.mark.parametrize("kind", ["async", "sync"])
@pytest.mark.parametrize("how", ["close", "reset"])
@guarded(GUARD)
async def test_raw_client_disconnects_mid_stream(
    server: Server, work: Path, kind: str, how: str
) -> None:
    log_start = len(server.stderr)
    token = new_token()
    reader, writer = await open_raw(server, f"/stream/{kind}?token={token}".encode())
    status, headers = await asyncio.wait_for(read_head(reader), 5)
    assert status == 200
    assert headers["transfer-encoding"] == "chunked"
    for i in range(3):
        assert await asyncio.wait_for(read_chunk(reader), 5) == f"chunk {i}\n".encode()
    if how == "reset":  # an abortive close: RST instead of FIN
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
    left = time.monotonic()
    produced = int(await wait_for_marker(work, token))
    assert time.monotonic() - left < 1.0
    assert produced >= 3
    await asyncio.sleep(0.2)  # anything the server would log comes now
    assert not error_lines(server.stderr[log_start:])


@guarded(GUARD)
async def test_error_mid_stream_ends_connection_incomplete(
    server: Server, http: httpx.AsyncClient
) -> None:
    log_start = len(server.stderr)
    received = b""
    with pytest.raises(httpx.RemoteProtocolError):
        async with http.stream("GET", "/stream/boom") as r:
            assert r.status_code == 200
            async for chunk in r.aiter_raw():
                received += chunk
    assert received == b"partial "
    log = server.wait_for_stderr("e2e boom in the middle of a stream", timeout=5, start=log_start)
    assert "Traceback" in log


# -- files on the wire ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_etag(server: Server) -> str:
    r = httpx.get(f"{server.url}/files/data.bin", timeout=TIMEOUT)
    assert r.status_code == 200
    return r.headers["etag"]


LM = http_date(MTIME)
BEFORE = http_date(MTIME - 60)

WIRE_MATRIX: list[tuple[str, dict[str, str], int, tuple[int, int] | None]] = [
    ("GET", {}, 200, (0, 5000)),
    ("HEAD", {}, 200, None),
    ("GET", {"If-None-Match": "{etag}"}, 304, None),
    ("GET", {"If-None-Match": '"other"'}, 200, (0, 5000)),
    ("GET", {"If-Modified-Since": LM}, 304, None),
    ("GET", {"If-Modified-Since": BEFORE}, 200, (0, 5000)),
    ("HEAD", {"If-None-Match": "{etag}"}, 304, None),
    ("GET", {"If-Match": "{etag}"}, 200, (0, 5000)),
    ("GET", {"If-Match": '"other"'}, 412, None),
    ("GET", {"If-Unmodified-Since": BEFORE}, 412, None),
    ("GET", {"If-Unmodified-Since": LM}, 200, (0, 5000)),
    ("GET", {"Range": "bytes=0-99"}, 206, (0, 100)),
    ("GET", {"Range": "bytes=4000-"}, 206, (4000, 5000)),
    ("GET", {"Range": "bytes=-1"}, 206, (4999, 5000)),
    ("GET", {"Range": "bytes=100-99999"}, 206, (100, 5000)),
    ("HEAD", {"Range": "bytes=0-99"}, 206, None),
    ("GET", {"Range": "bytes=5000-"}, 416, None),
    ("GET", {"Range": "bytes=0-1,10-20"}, 200, (0, 5000)),
    ("GET", {"Range": "bytes=0-9", "If-Range": "{etag}"}, 206, (0, 10)),
    ("GET", {"Range": "bytes=0-9", "If-Range": '"stale"'}, 200, (0, 5000)),
    ("GET", {"Range": "bytes=0-9", "If-Range": LM}, 206, (0, 10)),
    ("GET", {"Range": "bytes=0-9", "If-Range": BEFORE}, 200, (0, 5000)),
    ("GET", {"Range": "bytes=0-9", "If-None-Match": "{etag}"}, 304, None),
]


@pytest.mark.parametrize(("method", "headers", "status", "span"), WIRE_MATRIX, ids=repr)
@guarded(GUARD)
async def test_range_and_conditional_on_the_wire(
    http: httpx.AsyncClient,
    data_etag: str,
    method: str,
    headers: dict[str, str],
    status: int,
    span: tuple[int, int] | None,
) -> None:
    hdrs = {k: v.replace("{etag}", data_etag) for k, v in headers.items()}
    r = await http.request(method, "/files/data.bin", headers=hdrs)
    assert r.status_code == status
    if span is not None:
        assert r.content == DATA[span[0] : span[1]]
        assert r.headers["content-length"] == str(span[1] - span[0])
    else:
        assert r.content == b""
    if status == 206:
        if span is None:  # HEAD
            assert r.headers["content-range"] == "bytes 0-99/5000"
        else:
            assert r.headers["content-range"] == f"bytes {span[0]}-{span[1] - 1}/5000"
    if status == 416:
        assert r.headers["content-range"] == "bytes */5000"
    if status == 304:
        assert r.headers["etag"] == data_etag
    if status in (200, 206):
        assert r.headers["etag"] == data_etag
        assert r.headers["last-modified"] == LM
        assert r.headers["accept-ranges"] == "bytes"


@guarded(GUARD)
async def test_many_ranges_on_the_wire_answer_quickly(http: httpx.AsyncClient) -> None:
    spec = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 2000, 2))
    started = time.monotonic()
    r = await http.get("/files/data.bin", headers={"Range": spec})
    assert time.monotonic() - started < 2.0
    assert r.status_code == 200
    assert r.content == DATA


WIRE_ESCAPES = [
    b"/files/../secret.txt",
    b"/files/%2e%2e%2fsecret.txt",
    b"/files/%2E%2E/secret.txt",
    b"/files/..%2fsecret.txt",
    b"/files/sub/../../secret.txt",
    b"/files/sub/%2e%2e/%2e%2e/secret.txt",
    b"/files/..%5csecret.txt",
    b"/files/sub%5c..%5c..%5csecret.txt",
    b"/files/data.bin%00",
    b"/files/%00",
    b"/files/%252e%252e%252fsecret.txt",
    b"/files/missing.bin",
    b"/files/sub",
    b"/download?name=..%2fsecret.txt",
    b"/download?name={secret}",
    b"/download?name=..%5csecret.txt",
    b"/download?name=data.bin%00",
]


@pytest.mark.parametrize("target", WIRE_ESCAPES, ids=lambda t: t.decode())
@guarded(GUARD)
async def test_directory_escapes_on_the_wire(server: Server, work: Path, target: bytes) -> None:
    absolute = str(work / "secret.txt").replace("/", "%2F").encode()
    r = await raw_get(server, target.replace(b"{secret}", absolute))
    assert r.status == 404
    assert SECRET not in r.body


@guarded(GUARD)
async def test_send_from_directory_serves_inside_on_the_wire(server: Server) -> None:
    r = await raw_get(server, b"/files/sub/page.html")
    assert r.status == 200
    assert r.body == b"<p>hi</p>"
    assert r.headers["content-type"] == "text/html; charset=utf-8"


# -- a 1 GiB download with flat memory -------------------------------------------------------


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        f.truncate(size)


@guarded(60)
async def test_one_gib_download_keeps_server_memory_flat(tmp_path: Path) -> None:
    work = _make_work_dir(tmp_path)
    _sparse(work / "big.bin", BIG_SIZE)
    with run_server(APP, env={"E2E_DIR": str(work)}, cli_args=["--no-access-log"]) as srv:
        # warm up (imports, first request) before measuring
        head = await raw_get(srv, b"/big", method=b"HEAD")
        assert head.status == 200
        assert head.headers["content-length"] == str(BIG_SIZE)
        before = srv.vm_hwm_kib()
        reader, writer = await open_raw(srv, b"/big")
        try:
            status, headers = await read_head(reader)
            assert status == 200
            assert int(headers["content-length"]) == BIG_SIZE
            received = 0
            nonzero = False
            peak_rss = 0
            while received < BIG_SIZE:
                chunk = await asyncio.wait_for(reader.read(4 << 20), 10)
                if not chunk:
                    break
                received += len(chunk)
                nonzero = nonzero or chunk.count(0) != len(chunk)
                if received % (64 << 20) < len(chunk):
                    peak_rss = max(peak_rss, srv.vm_rss_kib())
        finally:
            writer.close()
        after = srv.vm_hwm_kib()
    assert received == BIG_SIZE
    assert not nonzero
    print(f"server VmHWM before {before} KiB, after {after} KiB, VmRSS peak {peak_rss} KiB")
    assert after < 100 * 1024, f"peak RSS {after} KiB (before: {before} KiB)"
    assert after - before < 50 * 1024, f"peak RSS grew from {before} to {after} KiB"
    assert peak_rss < 100 * 1024


# -- many clients on one worker -----------------------------------------------------------------


async def _crowd_client(
    server: Server, n: int, index: int, round_id: str, connect: asyncio.Semaphore
) -> list[dict[str, str]]:
    target = f"/crowd?n={n}&c={index}&round={round_id}".encode()
    async with connect:  # pace the connection storm, not the streams
        reader, writer = await open_raw(server, target)
    try:
        status, headers = await read_head(reader)
        assert status == 200
        assert headers["content-type"].startswith("text/event-stream")
        text = (await read_chunked(reader)).decode()
    finally:
        writer.close()
    return parse_events(text)


@guarded(60)
async def test_thousand_concurrent_sse_clients(server: Server) -> None:
    """Every client gets its first event, then waits until all 1,000 are
    connected at once; only then do the events that name it arrive."""
    _raise_fd_limit(4 * CROWD)
    round_id = new_token()
    log_start = len(server.stderr)
    connect = asyncio.Semaphore(100)
    started = time.monotonic()
    clients = (_crowd_client(server, CROWD, i, round_id, connect) for i in range(CROWD))
    results = await asyncio.wait_for(asyncio.gather(*clients), 45)
    print(f"{CROWD} event-stream clients served in {time.monotonic() - started:.2f}s")
    for index, events in enumerate(results):
        assert events == [
            {"id": "0", "data": "hello"},
            {"id": "1", "data": f"{index}:1"},
            {"id": "2", "data": f"{index}:2"},
            {"id": "3", "data": f"{index}:3"},
        ]
    assert not error_lines(server.stderr[log_start:])
