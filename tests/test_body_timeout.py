"""``BODY_TIMEOUT``: a body that takes longer to arrive is answered with 408
and the connection closed; ``request.body_timeout = None`` lifts it for one
request. Slow clients over raw sockets to a real server, and the setting's
rules in-process."""

from __future__ import annotations

import asyncio
import socket
import time
import typing as t

import pytest
from werkzeug.exceptions import RequestTimeout

from asyncflask import Flask, deadline, request
from tests.server import HOST, Server, server_fixture

APP = """
from asyncflask import Flask, request

app = Flask(__name__)
app.config["BODY_TIMEOUT"] = 1


@app.get("/ping")
async def ping():
    return "pong"


@app.post("/data")
async def data():
    return {"size": len(await request.get_data())}


@app.post("/form")
async def form():
    return {"fields": len(await request.form)}


@app.post("/upload")
async def upload():
    request.body_timeout = None  # a long upload: no deadline
    size = 0
    async for chunk in request.stream:
        size += len(chunk)
    return {"size": size}
"""

server = server_fixture(APP)


def _connect(server: Server) -> socket.socket:
    return socket.create_connection((HOST, server.port), timeout=10)


def _head(path: str, length: int | None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return f"POST {path} HTTP/1.1\r\nHost: x\r\n{size}{extra}\r\n".encode()


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


@pytest.mark.parametrize(
    ("path", "head", "sent"),
    [
        ("/data", _head("/data", 100), b""),  # headers, then nothing
        ("/data", _head("/data", 100), b"only ten b"),  # part of the body, then nothing
        (
            "/form",
            _head("/form", 1000, "Content-Type: application/x-www-form-urlencoded\r\n"),
            b"a=1",
        ),
        ("/data", _head("/data", None, "Transfer-Encoding: chunked\r\n"), b"5\r\nhello\r\n"),
    ],
    ids=["no-body", "part-of-body", "form", "chunked"],
)
def test_a_stalled_body_is_408_and_the_connection_closes(
    server: Server, path: str, head: bytes, sent: bytes
) -> None:
    with _connect(server) as sock:
        start = time.monotonic()
        sock.sendall(head + sent)
        response = _read_all(sock)  # ends: the server closes the connection
        elapsed = time.monotonic() - start
    assert _status(response) == 408
    assert b"connection: close" in response.lower()
    assert 0.9 <= elapsed < 4
    assert "Traceback" not in server.stderr


def test_a_slowloris_trickle_is_cut_at_the_deadline(server: Server) -> None:
    """A byte every 0.2 s keeps each read short, but the whole body has one
    deadline."""
    with _connect(server) as sock:
        sock.sendall(_head("/data", 50))
        start = time.monotonic()
        answered = b""
        sock.settimeout(0.2)
        for _ in range(40):  # at most 8 s
            try:
                sock.send(b"x")
            except OSError:
                break
            try:
                answered += sock.recv(65536)
            except TimeoutError:
                continue
            if answered:
                break
        elapsed = time.monotonic() - start
    assert _status(answered) == 408
    assert 0.9 <= elapsed < 3


def test_the_server_serves_on_after_a_timeout(server: Server) -> None:
    with _connect(server) as stalled:
        stalled.sendall(_head("/data", 10))
        with _connect(server) as other:
            other.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert _read_all(other).endswith(b"pong")
        assert _status(_read_all(stalled)) == 408


def test_a_body_in_time_is_read(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(_head("/data", 10, "Connection: close\r\n") + b"01234")
        time.sleep(0.3)
        sock.sendall(b"56789")
        response = _read_all(sock)
    assert _status(response) == 200
    assert response.endswith(b'{"size":10}\n')


def test_a_view_that_lifts_the_timeout_reads_a_slow_upload(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(_head("/upload", 8, "Connection: close\r\n"))
        for _ in range(8):  # 8 bytes over 1.6 s: longer than BODY_TIMEOUT
            time.sleep(0.2)
            sock.sendall(b"x")
        response = _read_all(sock)
    assert _status(response) == 200
    assert response.endswith(b'{"size":8}\n')


# -- the setting, in-process ----------------------------------------------------------------


def _app(seen: list[t.Any]) -> Flask:
    app = Flask(__name__)

    @app.post("/")
    async def view() -> t.Any:
        seen.append(request.body_timeout)
        return {"size": len(await request.get_data())}

    return app


@pytest.mark.parametrize(
    ("config", "expected"), [({}, 60.0), ({"BODY_TIMEOUT": 5}, 5), ({"BODY_TIMEOUT": None}, None)]
)
async def test_body_timeout_comes_from_the_config(
    config: dict[str, t.Any], expected: t.Any
) -> None:
    seen: list[t.Any] = []
    app = _app(seen)
    app.config.update(config)
    async with app.test_client() as client:
        r = await client.post("/", content=b"abc")
    assert r.get_json() == {"size": 3}
    assert seen == [expected]


async def test_no_deadline_is_set_for_a_request_without_a_body() -> None:
    app = Flask(__name__)
    deadlines: list[t.Any] = []

    @app.route("/", methods=["GET", "POST"])
    async def view() -> t.Any:
        await request.get_data()
        deadlines.append(request._deadline)
        return "ok"

    async with app.test_client() as client:
        await client.get("/")
        await client.post("/", content=b"")
        await client.post("/", content=b"x")
    assert deadlines[:2] == [None, None]
    assert deadlines[2] is not None


def test_body_timeout_outside_a_request_is_none() -> None:
    from asyncflask import Request

    req = Request({"type": "http", "method": "POST", "path": "/", "headers": []})
    assert req.body_timeout is None
    req.body_timeout = 3
    assert req.body_timeout == 3


async def _slow_body() -> t.AsyncIterator[bytes]:
    yield b"first "
    await asyncio.sleep(0.5)
    yield b"second"


async def test_a_slow_body_is_408_in_process() -> None:
    app = Flask(__name__)
    app.config["BODY_TIMEOUT"] = 0.1

    @app.post("/")
    async def view() -> t.Any:
        return {"size": len(await request.get_data())}

    async with app.test_client() as client:
        r = await client.post("/", content=_slow_body(), headers={"Content-Length": "12"})
    assert r.status_code == 408
    assert r.headers["Connection"] == "close"


async def test_setting_body_timeout_while_reading_starts_a_new_deadline() -> None:
    app = Flask(__name__)
    app.config["BODY_TIMEOUT"] = 0.1

    @app.post("/")
    async def view() -> t.Any:
        chunks = []
        async for chunk in request.stream:
            chunks.append(chunk)
            request.body_timeout = 5  # the rest may take its time
        return {"body": b"".join(chunks).decode()}

    async with app.test_client() as client:
        r = await client.post("/", content=_slow_body(), headers={"Content-Length": "12"})
    assert r.status_code == 200
    assert r.get_json() == {"body": "first second"}


async def test_without_asyncio_each_read_gets_a_cancel_scope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under another backend than asyncio (trio) the deadline is a cancel
    scope around each read; it is made to believe so here."""
    monkeypatch.setattr(deadline, "_running_loop", lambda: None)
    waits = deadline.BodyDeadline(0.1)

    async def slow() -> dict[str, t.Any]:
        await asyncio.sleep(1)
        return {}

    async def quick() -> dict[str, t.Any]:
        return {"type": "http.request"}

    assert await waits.receive(quick) == {"type": "http.request"}
    with pytest.raises(RequestTimeout):
        await waits.receive(slow)
    waits.expired = True
    with pytest.raises(RequestTimeout):
        await waits.receive(quick)


async def test_a_cancellation_from_elsewhere_is_not_a_timeout() -> None:
    waits = deadline.BodyDeadline(60)
    started = asyncio.Event()

    async def forever() -> dict[str, t.Any]:
        started.set()
        await asyncio.Event().wait()
        return {}

    task = asyncio.ensure_future(waits.receive(forever))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_watcher_runs_only_while_a_read_waits() -> None:
    waits = deadline.BodyDeadline(60)
    arrived = asyncio.Event()

    async def receive() -> dict[str, t.Any]:
        await arrived.wait()
        return {"type": "http.request"}

    reading = asyncio.ensure_future(waits.receive(receive))
    await asyncio.sleep(0)
    watcher = deadline._watchers[asyncio.get_running_loop()]
    assert watcher.task is not None
    arrived.set()
    assert await reading == {"type": "http.request"}
    await asyncio.sleep(deadline.TICK * 3)
    assert watcher.task is None
    assert watcher.reads == {}
