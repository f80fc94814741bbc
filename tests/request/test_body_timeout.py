"""``BODY_TIMEOUT``: a body that takes longer to arrive is answered with 408
and the connection closed; ``request.body_timeout = None`` lifts it for one
request. Slow clients over raw sockets to a real server, and the setting's
rules in-process."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
import typing as t

import h2.config
import h2.connection
import h2.events
import pytest
from werkzeug.exceptions import RequestTimeout

from asyncflask import Flask, Request, deadline, request
from tests.server import HOST, Server, run_server, server_fixture

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
        deadlines.append(request.stream._deadline)
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


async def test_a_read_with_its_message_ready_does_not_wake_the_watcher() -> None:
    loop = asyncio.get_running_loop()
    deadline._watchers.pop(loop, None)
    waits = deadline.BodyDeadline(60)

    async def ready() -> dict[str, t.Any]:
        return {"type": "http.request"}

    assert await waits.receive(ready) == {"type": "http.request"}
    assert loop not in deadline._watchers


async def test_chunks_that_never_wait_are_still_cut_at_the_deadline() -> None:
    """Each read looks at the clock: a body whose every chunk is ready at
    once, but that takes too long as a whole, is a 408 too."""
    waits = deadline.BodyDeadline(0.05)

    async def ready() -> dict[str, t.Any]:
        return {"type": "http.request", "more_body": True}

    assert await waits.receive(ready) == {"type": "http.request", "more_body": True}
    await asyncio.sleep(0.1)
    with pytest.raises(RequestTimeout):
        await waits.receive(ready)
    assert waits.expired


async def test_a_read_that_waits_gets_what_its_awaitable_gives() -> None:
    """Any awaitable will do as what ``receive()`` returns, and an error it
    raises after waiting reaches the reader."""
    waits = deadline.BodyDeadline(60)
    future: asyncio.Future[dict[str, t.Any]] = asyncio.get_running_loop().create_future()
    reading = asyncio.ensure_future(waits.receive(lambda: future))
    await asyncio.sleep(0)
    future.set_result({"type": "http.request"})
    assert await reading == {"type": "http.request"}

    async def fails() -> dict[str, t.Any]:
        await asyncio.sleep(0.01)
        raise OSError("gone")

    with pytest.raises(OSError, match="gone"):
        await waits.receive(fails)


# -- other servers: chunked bodies, and HTTP/2 (bodies without Content-Length) --------------


def _served_by(line: str) -> t.Callable[[], t.Iterator[Server]]:
    def fixture() -> t.Iterator[Server]:
        with run_server(APP, command=[sys.executable, "-m", *line.split()]) as server:
            yield server

    return pytest.fixture(scope="module")(fixture)


uvicorn_h11 = _served_by("uvicorn app:app --host {host} --port {port} --http h11")
hypercorn = _served_by("hypercorn app:app --bind {host}:{port}")


@pytest.mark.parametrize("served", ["uvicorn_h11", "hypercorn"])
@pytest.mark.parametrize("sent", [b"", b"5\r\nhello\r\n"], ids=["nothing", "one-chunk"])
def test_a_stalled_chunked_body_is_408_under_other_servers(
    request: pytest.FixtureRequest, served: str, sent: bytes
) -> None:
    server: Server = request.getfixturevalue(served)
    with _connect(server) as sock:
        start = time.monotonic()
        sock.sendall(_head("/data", None, "Transfer-Encoding: chunked\r\n") + sent)
        response = _read_all(sock)
        elapsed = time.monotonic() - start
    assert _status(response) == 408
    assert 0.9 <= elapsed < 4
    assert "Traceback" not in server.stderr


def _h2_post(server: Server, path: str, chunks: list[bytes], end: bool) -> tuple[int, bytes, float]:
    """POST over HTTP/2 (prior knowledge) without Content-Length: send
    ``chunks``, then end the body (``end``) or stall; the answer's status,
    body and how long it took."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    headers = [(":method", "POST"), (":path", path), (":scheme", "http"), (":authority", "x")]
    conn.send_headers(1, headers)
    for i, chunk in enumerate(chunks):
        conn.send_data(1, chunk, end_stream=end and i == len(chunks) - 1)
    status, body = 0, b""
    with _connect(server) as sock:
        start = time.monotonic()
        sock.sendall(conn.data_to_send())
        ended = False
        while not ended:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, 1)
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                    ended = True
            sock.sendall(conn.data_to_send())
        elapsed = time.monotonic() - start
    return status, body, elapsed


@pytest.mark.parametrize("chunks", [[], [b"hello"]], ids=["nothing", "one-frame"])
def test_a_stalled_http2_body_is_408(hypercorn: Server, chunks: list[bytes]) -> None:
    """HTTP/2 frames the body itself: no Content-Length, no chunked
    encoding, and the same deadline."""
    status, _, elapsed = _h2_post(hypercorn, "/data", chunks, end=False)
    assert status == 408
    assert 0.9 <= elapsed < 4
    assert "Traceback" not in hypercorn.stderr


def test_an_http2_body_in_time_is_read(hypercorn: Server) -> None:
    status, body, _ = _h2_post(hypercorn, "/data", [b"01234", b"56789"], end=True)
    assert (status, body) == (200, b'{"size":10}\n')


@pytest.mark.parametrize(
    ("http_version", "headers", "timed"),
    [
        ("2", [], True),
        ("3", [], True),
        ("1.1", [(b"transfer-encoding", b"chunked")], True),
        ("1.1", [], False),
        ("1.0", [], False),
    ],
)
async def test_a_body_without_content_length_gets_a_deadline(
    http_version: str, headers: list[tuple[bytes, bytes]], timed: bool
) -> None:
    """Where a body may come without ``Content-Length`` (HTTP/2 and 3, or
    chunked), reading it has a deadline; HTTP/1 without either has no body."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": headers,
        "http_version": http_version,
    }

    async def receive() -> dict[str, t.Any]:
        return {"type": "http.request", "body": b"abc"}

    req = Request(scope, receive)
    req.body_timeout = 5
    assert await req.get_data() == b"abc"
    assert (req.stream._deadline is not None) is timed
