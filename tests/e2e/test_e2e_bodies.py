"""End to end: request bodies over a real uvicorn on 127.0.0.1
(``python -m asyncflask --app app:app run``).

A 1 GiB upload in bounded memory, the 413 for a body over the limit while
the client is still sending, malformed multipart over a raw socket, a client
that drops mid-upload, and many concurrent uploads.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import HOST, Server, run_server

MiB = 1024 * 1024
GiB = 1024 * MiB
LIMIT = MiB  # the app's MAX_CONTENT_LENGTH
BOUNDARY = "e2eboundary0123456789"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"

APP = """
import hashlib
import os

from asyncflask import Flask, request

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
UPLOAD_DIR = os.environ["UPLOAD_DIR"]


@app.post("/data")
async def data():
    return {"size": len(await request.get_data())}


@app.post("/form")
async def form():
    request.max_content_length = 1024 ** 3
    form = await request.form
    files = await request.files
    return {
        "form": form.to_dict(flat=False),
        "files": {
            name: [f.filename, hashlib.sha256(f.read()).hexdigest()]
            for name, f in files.items(multi=True)
        },
    }


@app.post("/upload")
async def upload():
    request.max_content_length = 2 * 1024 ** 3
    form = await request.form
    f = (await request.files)["file"]
    dst = os.path.join(UPLOAD_DIR, "upload.bin")
    await f.save(dst)
    return {"size": os.path.getsize(dst), "filename": f.filename, "field": form["field"]}


@app.get("/ping")
async def ping():
    return "pong"
"""


# -- helpers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("e2e-bodies")
    result = {"tmp": base / "tmp", "uploads": base / "uploads"}
    for path in result.values():
        path.mkdir()
    return result


@pytest.fixture(scope="module")
def server(dirs: dict[str, Path]) -> Iterator[Server]:
    env = {"TMPDIR": str(dirs["tmp"]), "UPLOAD_DIR": str(dirs["uploads"])}
    with run_server(APP, env=env) as server:
        yield server


def server_fds_under(server: Server, directory: Path) -> list[str]:
    """The server's open file descriptors pointing into ``directory``
    (anonymous temporary files show as ``<dir>/#123 (deleted)``)."""
    found = []
    prefix = str(directory) + os.sep
    fd_dir = f"/proc/{server.pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if target.startswith(prefix):
            found.append(target)
    return found


async def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


def errors_in(text: str) -> list[str]:
    return [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]


def request_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {HOST}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def raw_request(server: Server, data: bytes, seconds: float = 5.0) -> tuple[int, bytes]:
    """Send ``data`` as it is and read the answer up to the server's close
    (the request asks for ``Connection: close``)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(data)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), seconds)
    finally:
        writer.close()
    status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0
    return status, response


def part_head(name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    extra = "Content-Type: application/octet-stream\r\n" if filename is not None else ""
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n".encode()


END = f"\r\n--{BOUNDARY}--\r\n".encode()


# -- a 1 GiB upload in bounded memory --------------------------------------------------


def block(i: int) -> bytes:
    """The i-th MiB of the big upload: its index, repeated."""
    return struct.pack(">I", i) * (MiB // 4)


async def test_1gib_upload_is_saved_with_bounded_server_memory(tmp_path: Path) -> None:
    spool, uploads = tmp_path / "tmp", tmp_path / "uploads"
    spool.mkdir()
    uploads.mkdir()
    prefix = part_head("field", None) + b"big one\r\n" + part_head("file", "big.bin")
    blocks = GiB // MiB
    total = len(prefix) + GiB + len(END)
    produced = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal produced
        yield prefix
        for i in range(blocks):
            chunk = block(i)
            produced += len(chunk)
            yield chunk
        yield END

    env = {"TMPDIR": str(spool), "UPLOAD_DIR": str(uploads)}
    with run_server(APP, env=env) as server:
        start = time.monotonic()
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
            r = await asyncio.wait_for(
                client.post(
                    f"{server.url}/upload",
                    content=body(),
                    headers={"Content-Type": MULTIPART, "Content-Length": str(total)},
                ),
                120,
            )
        elapsed = time.monotonic() - start
        peak_kib = server.vm_hwm_kib()
        assert r.status_code == 200, r.text
        assert r.json() == {"size": GiB, "filename": "big.bin", "field": "big one"}
        assert produced == GiB
        assert peak_kib < 100 * 1024, f"server peak RSS {peak_kib} KiB (upload took {elapsed:.1f}s)"
        assert await wait_until(lambda: server_fds_under(server, spool) == [])
        assert os.listdir(spool) == []
        assert errors_in(server.stderr) == []

    saved = uploads / "upload.bin"
    try:
        assert saved.stat().st_size == GiB
        with saved.open("rb") as f:
            for i in range(blocks):
                f.seek(i * MiB)
                first = f.read(4)
                f.seek((i + 1) * MiB - 4)
                last = f.read(4)
                assert first == last == struct.pack(">I", i), f"MiB {i} is misplaced"
    finally:
        saved.unlink()


# -- body over the limit ------------------------------------------------------------


async def test_chunked_body_over_the_limit_gets_413_while_still_sending(server: Server) -> None:
    """A slow client with an endless chunked body: the 413 comes after about
    LIMIT bytes, and the server then stops taking the body (it closes the
    connection or stops reading) instead of reading it to the end."""
    start_log = len(server.stderr)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    chunk = b"x" * (64 * 1024)
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    try:
        writer.write(
            request_head(
                "/data",
                {"Transfer-Encoding": "chunked", "Content-Type": "application/octet-stream"},
            )
        )
        response = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
        sent = 0
        started = time.monotonic()
        while not response.done() and sent < 64 * MiB and time.monotonic() - started < 10:
            writer.write(frame)
            try:
                await asyncio.wait_for(writer.drain(), 2)
            except (ConnectionError, TimeoutError):
                break
            sent += len(chunk)
            await asyncio.sleep(0.01)  # about 6 MiB/s: slow, and endless
        head = await asyncio.wait_for(response, 5)
        elapsed = time.monotonic() - started
        assert head.startswith(b"HTTP/1.1 413"), head
        assert elapsed < 5
        assert sent < LIMIT + 2 * MiB

        # Keep sending as fast as the server takes it: a server that drains
        # the rest of the body takes all of it.
        more = 0
        try:
            while more < 64 * MiB:
                writer.write(frame)
                await asyncio.wait_for(writer.drain(), 2)
                more += len(chunk)
        except (ConnectionError, TimeoutError):
            pass
        assert more < 16 * MiB, f"the server read {more // MiB} MiB more after its 413"
    finally:
        writer.transport.abort()
    await asyncio.sleep(0.1)
    assert errors_in(server.stderr[start_log:]) == []


async def test_content_length_over_the_limit_gets_413_before_the_body(server: Server) -> None:
    start_log = len(server.stderr)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(
            request_head(
                "/data",
                {"Content-Length": str(10 * GiB), "Content-Type": "application/octet-stream"},
            )
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.transport.abort()
    assert head.startswith(b"HTTP/1.1 413"), head
    await asyncio.sleep(0.1)
    assert errors_in(server.stderr[start_log:]) == []


async def test_body_within_the_limit_is_read(server: Server) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(16):
            yield b"y" * (LIMIT // 16)

    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post(f"{server.url}/data", content=body())
        assert r.status_code == 200
        assert r.json() == {"size": LIMIT}
        r = await client.post(f"{server.url}/data", content=b"z" * (LIMIT + 1))
        assert r.status_code == 413


# -- malformed multipart over the wire -----------------------------------------------

GOOD = part_head("a") + b"1"

MALFORMED: dict[str, tuple[str, bytes]] = {
    "no-boundary": ("multipart/form-data", GOOD + END),
    "garbage": (MULTIPART, b"GARBAGE" * 100),
    "empty": (MULTIPART, b""),
    "truncated": (MULTIPART, GOOD + b"\r\n" + part_head("b") + b"half a val"),
    "no-end": (MULTIPART, GOOD + b"\r\n"),
    "broken-part-header": (
        MULTIPART,
        f"--{BOUNDARY}\r\nnot a header\r\n\r\nv".encode() + END,
    ),
    "no-disposition": (
        MULTIPART,
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nv".encode() + END,
    ),
    "nul-in-header": (
        MULTIPART,
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\x00\r\n\r\nv".encode() + END,
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_multipart_is_400_over_the_wire(server: Server, case: str) -> None:
    start_log = len(server.stderr)
    ctype, body = MALFORMED[case]
    head = request_head(
        "/form",
        {"Content-Type": ctype, "Content-Length": str(len(body)), "Connection": "close"},
    )
    status, response = await raw_request(server, head + body)
    assert status == 400, response[:300]
    await asyncio.sleep(0.05)
    assert errors_in(server.stderr[start_log:]) == []


async def test_malformed_multipart_sent_slowly_is_400(server: Server) -> None:
    """The server answers as soon as the body turns bad, before the client
    finished sending it."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(
            request_head("/form", {"Content-Type": MULTIPART, "Content-Length": str(100 * MiB)})
        )
        # a preamble before the first boundary is allowed, up to 64 KiB
        writer.write(b"this is not a multipart body at all\r\n" * 2000)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.transport.abort()
    assert head.startswith(b"HTTP/1.1 400"), head


# -- a client that drops mid-upload -----------------------------------------------------


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_client_dropping_mid_upload_leaves_no_temp_file_and_no_error(
    server: Server, dirs: dict[str, Path], how: str
) -> None:
    spool = dirs["tmp"]
    start_log = len(server.stderr)
    _reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(
            request_head("/form", {"Content-Type": MULTIPART, "Content-Length": str(100 * MiB)})
        )
        writer.write(part_head("field") + b"value\r\n" + part_head("file", "big.bin"))
        for i in range(3):
            writer.write(block(i))
            await asyncio.wait_for(writer.drain(), 5)
        # the upload is past the memory threshold: it is spooled in TMPDIR
        assert await wait_until(lambda: len(server_fds_under(server, spool)) == 1), (
            "the upload was not spooled to the server's TMPDIR"
        )
    finally:
        if how == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        else:
            writer.close()
    assert await wait_until(lambda: server_fds_under(server, spool) == []), server_fds_under(
        server, spool
    )
    assert os.listdir(spool) == []
    await asyncio.sleep(0.2)  # anything logged about it would be there by now
    assert errors_in(server.stderr[start_log:]) == []
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(f"{server.url}/ping")).text == "pong"


# -- many uploads at once -----------------------------------------------------------------


async def test_200_concurrent_uploads_each_get_their_own_data(
    server: Server, dirs: dict[str, Path]
) -> None:
    start_log = len(server.stderr)
    count = 200

    def content(i: int) -> bytes:
        return f"upload {i}: ".encode() + hashlib.sha256(str(i).encode()).digest() * (i % 7 + 1)

    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def upload(i: int) -> httpx.Response:
            return await client.post(
                f"{server.url}/form",
                data={"field": f"value-{i}", "n": str(i)},
                files={"file": (f"file-{i}.txt", content(i), "text/plain")},
            )

        responses = await asyncio.wait_for(asyncio.gather(*(upload(i) for i in range(count))), 60)
    for i, r in enumerate(responses):
        assert r.status_code == 200, r.text
        assert r.json() == {
            "form": {"field": [f"value-{i}"], "n": [str(i)]},
            "files": {"file": [f"file-{i}.txt", hashlib.sha256(content(i)).hexdigest()]},
        }
    assert os.listdir(dirs["tmp"]) == []
    assert errors_in(server.stderr[start_log:]) == []
