"""A minimal blocking HTTP/1.1 client on raw sockets, for the checks, the
upload scenario, and the size on the wire of one download or SSE response
(those two are timed with wrk).

It does one request per connection (``Connection: close`` unless asked not
to), decodes chunked bodies, and can hand the body to a sink instead of
keeping it, so that counting 100 MiB costs little on the client's CPU.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Sink = Callable[[bytes], object]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    size: int
    wire_size: int = 0  # the whole reply as received: status line, headers, framing, body

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body)


class _Reader:
    """Buffered reads from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0
        self.received = 0

    def _fill(self) -> bool:
        data = self.sock.recv(256 * 1024)
        self.received += len(data)
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += data
        return bool(data)

    def readline(self) -> bytes:
        while (end := self.buf.find(b"\r\n", self.pos)) < 0:
            if not self._fill():
                raise ConnectionError("connection closed in the middle of a line")
        line = bytes(self.buf[self.pos : end])
        self.pos = end + 2
        return line

    def read(self, n: int, sink: Sink) -> None:
        while n > 0:
            if self.pos == len(self.buf) and not self._fill():
                raise ConnectionError(f"connection closed with {n} body bytes missing")
            take = min(n, len(self.buf) - self.pos)
            sink(bytes(self.buf[self.pos : self.pos + take]))
            self.pos += take
            n -= take

    def read_to_eof(self, sink: Sink) -> None:
        while True:
            if self.pos < len(self.buf):
                sink(bytes(self.buf[self.pos :]))
                self.pos = len(self.buf)
            if not self._fill():
                return

    def read_chunked(self, sink: Sink) -> None:
        while True:
            size = int(self.readline().split(b";", 1)[0], 16)
            if size == 0:
                while self.readline():  # trailers
                    pass
                return
            self.read(size, sink)
            if self.readline():
                raise ValueError("bad chunk terminator")


class Counter:
    """A sink that only counts bytes."""

    def __init__(self) -> None:
        self.size = 0

    def __call__(self, data: bytes) -> None:
        self.size += len(data)


def request(
    port: int,
    method: str,
    target: str,
    *,
    body: bytes | Iterable[bytes] = b"",
    length: int | None = None,
    headers: dict[str, str] | None = None,
    sink: Sink | None = None,
    timeout: float = 10.0,
    close: bool = True,
) -> Reply:
    """Send one request to 127.0.0.1:``port`` and read the whole reply.

    ``body`` is bytes or an iterable of bytes (then ``length`` is its total
    size). With a ``sink``, body bytes go to it and ``Reply.body`` is empty.
    With ``close=False`` the request is a keep-alive one, as wrk's are (the
    reply must then have a length or be chunked); the connection is still
    closed after the reply.
    """
    parts: Iterable[bytes]
    if isinstance(body, bytes):
        length, parts = len(body), [body]
    else:
        parts = body
    head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    if close:
        head.append("Connection: close")
    if length or method in ("POST", "PUT"):
        head.append(f"Content-Length: {length or 0}")
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        for part in parts:
            sock.sendall(part)
        return _read_reply(_Reader(sock), method, sink)


def _read_reply(reader: _Reader, method: str, sink: Sink | None) -> Reply:
    status_line = reader.readline()
    status = int(status_line.split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while line := reader.readline():
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    kept: list[bytes] = []
    counter = Counter()

    def both(data: bytes) -> None:
        counter(data)
        (sink or kept.append)(data)

    if method == "HEAD" or status in (204, 304):
        pass
    elif "chunked" in headers.get("transfer-encoding", ""):
        reader.read_chunked(both)
    elif "content-length" in headers:
        reader.read(int(headers["content-length"]), both)
    else:
        reader.read_to_eof(both)
    return Reply(status, headers, b"".join(kept), counter.size, reader.received)
