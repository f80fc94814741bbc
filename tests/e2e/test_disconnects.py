"""Clients that go away: 100 at a time each drop mid-upload (multipart, and
``request.stream``), mid-download and mid-SSE, over a real server. After
them no file descriptor and no temporary file is left, every view's and
generator's ``finally`` has run (each writes a marker file), and nothing is
logged as an error."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import HOST, Server, run_server

CLIENTS = 100
MiB = 1024 * 1024
BOUNDARY = "dropboundary"

APP = """
import asyncio
import os
from pathlib import Path

from asyncflask import EventStream, Flask, request

app = Flask(__name__)
MARKS = Path(os.environ["MARKS"])


def mark(name):
    (MARKS / name).touch()


@app.get("/ping")
async def ping():
    return "pong"


@app.post("/upload")
async def upload():
    try:
        files = await request.files
        return {"files": len(files)}
    finally:
        mark(f"upload-{request.args['id']}")


@app.post("/stream")
async def stream():
    try:
        size = 0
        async for chunk in request.stream:
            size += len(chunk)
        return {"size": size}
    finally:
        mark(f"stream-{request.args['id']}")


@app.get("/download")
async def download():
    ident = request.args["id"]

    async def body():
        try:
            while True:
                yield b"x" * 65536
                await asyncio.sleep(0.01)
        finally:
            mark(f"download-{ident}")

    return body()


@app.get("/sync-download")
def sync_download():
    ident = request.args["id"]

    def body():
        try:
            while True:
                yield b"y" * 65536
        finally:
            mark(f"sync-download-{ident}")

    return body()


@app.get("/sse")
async def sse():
    ident = request.args["id"]

    async def events():
        try:
            n = 0
            while True:
                yield {"data": n}
                n += 1
                await asyncio.sleep(0.01)
        finally:
            mark(f"sse-{ident}")

    return EventStream(events(), ping=0.05)
"""


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("drops")
    (root / "marks").mkdir()
    (root / "tmp").mkdir()
    return root / "marks", root / "tmp"


@pytest.fixture(scope="module")
def server(dirs: tuple[Path, Path]) -> Iterator[Server]:
    marks, tmp = dirs
    with run_server(APP, env={"MARKS": str(marks), "TMPDIR": str(tmp)}) as server:
        yield server


def _fds(pid: int) -> list[str]:
    fd_dir = Path(f"/proc/{pid}/fd")
    links = []
    for entry in fd_dir.iterdir():
        with contextlib.suppress(FileNotFoundError):  # closed meanwhile
            links.append(os.readlink(entry))
    return links


def _multipart_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\n'
    ).encode()


async def _drop(port: int, kind: str, ident: int, abort: bool) -> None:
    """One client: start the request, get into its middle, go away."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        if kind == "upload":
            # 2 MiB of a 16 MiB file: past the memory threshold, so spooled to disk
            writer.write(_multipart_head(f"/upload?id={ident}", 16 * MiB) + b"u" * (2 * MiB))
            await writer.drain()
            await asyncio.sleep(0.3)
        elif kind == "stream":
            head = (
                f"POST /stream?id={ident} HTTP/1.1\r\nHost: x\r\nContent-Length: {16 * MiB}\r\n\r\n"
            )
            writer.write(head.encode() + b"s" * MiB)
            await writer.drain()
            await asyncio.sleep(0.3)
        else:
            writer.write(f"GET /{kind}?id={ident} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")
            await reader.read(1000)  # the body is flowing
    finally:
        if abort:  # a reset instead of a clean close
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["upload", "stream", "download", "sync-download", "sse"])
def test_100_clients_drop_mid_request(server: Server, dirs: tuple[Path, Path], kind: str) -> None:
    marks, tmp = dirs
    before = _fds(server.pid)
    logged = len(server.stderr)

    async def clients() -> None:
        await asyncio.wait_for(
            asyncio.gather(
                *(_drop(server.port, kind, i, abort=i % 2 == 1) for i in range(CLIENTS))
            ),
            30,
        )

    asyncio.run(clients())
    expected = {f"{kind}-{i}" for i in range(CLIENTS)}
    deadline = time.monotonic() + 15
    while True:
        done = {p.name for p in marks.iterdir() if p.name.rsplit("-", 1)[0] == kind}
        after = _fds(server.pid)
        settled = done == expected and len(after) <= len(before)
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert expected - done == set(), "finally blocks that did not run"
    assert len(after) <= len(before), (before, after)
    assert [link for link in after if "(deleted)" in link] == []
    assert list(tmp.iterdir()) == []
    errors = [
        line
        for line in server.stderr[logged:].splitlines()
        if "Traceback" in line or line.startswith("ERROR")
    ]
    assert errors == []
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := sock.recv(4096):
            response += chunk
        assert response.endswith(b"pong")
