"""Requests on one kept-alive connection under a real server.

uvicorn arms its keep-alive timer, and starts the next pipelined request,
from inside the app's last ``send``: both take a copy of the context
variables as they are then. A request must neither see the previous one's
``g`` nor keep it (or its body) alive until the connection's next request.
"""

from __future__ import annotations

import socket
import time

from tests.server import HOST, Server, server_fixture

APP = """
import gc
import weakref

from asyncflask import Flask, g, request

app = Flask(__name__)
alive = []


class Payload:
    def __init__(self, data):
        self.data = data


@app.post("/keep")
async def keep():
    payload = Payload(await request.get_data())
    g.payload = payload
    alive.append(weakref.ref(payload))
    return "kept"


@app.get("/alive")
async def count_alive():
    gc.collect()
    return str(sum(ref() is not None for ref in alive))


@app.get("/g")
async def show_g():
    seen = g.get("mark", "none")
    g.mark = request.args["mark"]
    return seen
"""

server = server_fixture(APP)


def exchange(sock: socket.socket, data: bytes, responses: int) -> list[bytes]:
    """Send ``data`` and read ``responses`` whole responses (bodies sized by
    ``Content-Length``)."""
    sock.sendall(data)
    buffer = b""
    bodies: list[bytes] = []
    deadline = time.monotonic() + 10
    while len(bodies) < responses:
        assert time.monotonic() < deadline, f"timed out after {bodies!r}"
        head, sep, rest = buffer.partition(b"\r\n\r\n")
        if sep:
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            if len(rest) >= length:
                bodies.append(rest[:length])
                buffer = rest[length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {bodies!r}"
        buffer += chunk
    return bodies


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()


def test_pipelined_requests_do_not_share_g(server: Server) -> None:
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        bodies = exchange(sock, get("/g?mark=first") + get("/g?mark=second"), 2)
    assert bodies == [b"none", b"none"]


def test_a_finished_request_is_freed_while_the_connection_stays_open(server: Server) -> None:
    body = b"x" * 1_000_000
    post = (
        f"POST /keep HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with socket.create_connection((HOST, server.port), timeout=10) as kept_open:
        assert exchange(kept_open, post, 1) == [b"kept"]
        # the connection stays open (its keep-alive timer is armed); another
        # connection asks how many payloads are still alive
        deadline = time.monotonic() + 3
        while True:
            with socket.create_connection((HOST, server.port), timeout=10) as probe:
                (count,) = exchange(probe, get("/alive"), 1)
            if count == b"0" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert count == b"0"
