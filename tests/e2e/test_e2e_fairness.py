"""Over a real server: while one client reads, as fast as it can, a body
from a generator that never waits (a 64 MiB download in small chunks, an
event stream), ``GET /ping`` on another connection to the same worker is
still answered. The bounds are generous (a loaded machine); without the
streams' turns no ping at all is answered until the body ends. ``make
soak`` measures the ping times (``tests/soakfair.py``)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.server import Server, server_fixture

SIZE = 64 * 1024 * 1024
#: the slowest ping allowed: a turn comes every few ms; this is for a busy machine
SLOWEST_PING = 2.0

APP = f"""
from asyncflask import EventStream, Flask

app = Flask(__name__)


@app.get("/ping")
async def ping():
    return "pong"


@app.get("/download")
async def download():
    async def body():
        block = b"d" * 1024
        for _ in range({SIZE} // 1024):
            yield block

    return body()


@app.get("/events")
async def events():
    async def generate():
        for n in range({SIZE} // 1024):
            yield {{"data": "e" * 1000, "id": n}}

    return EventStream(generate())
"""

server = server_fixture(APP)


def _read_all(server: Server, path: str, done: threading.Event, got: list[int]) -> None:
    try:
        with socket.create_connection((server.host, server.port), timeout=60) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            buf = bytearray(1024 * 1024)
            while n := sock.recv_into(buf):
                got.append(n)
    finally:
        done.set()


def _ping(sock: socket.socket) -> float:
    start = time.monotonic()
    sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while not data.endswith(b"pong"):
        chunk = sock.recv(4096)
        assert chunk, "the server closed the ping connection"
        data += chunk
    return time.monotonic() - start


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", ["/download", "/events"])
def test_pings_are_answered_while_a_generator_that_never_waits_is_read(
    server: Server, path: str
) -> None:
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        _ping(sock)  # connected and warm
        done = threading.Event()
        got: list[int] = []
        reader = threading.Thread(target=_read_all, args=(server, path, done, got))
        reader.start()
        while not got and not done.is_set():  # the body is under way
            time.sleep(0.001)
        times = []
        while not done.is_set():
            elapsed = _ping(sock)
            if not done.is_set():  # answered while the body was still being read
                times.append(elapsed)
            time.sleep(0.01)
        reader.join(60)
    assert sum(got) >= SIZE
    assert len(times) >= 3, f"{len(times)} pings answered during the body"
    assert max(times) < SLOWEST_PING, times
    assert "Traceback" not in server.stderr
