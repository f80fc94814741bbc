"""A python-socketio server beside an asyncflask app, as docs/socketio.md sets
it up (the app is tests/websocket/socketio_app.py): the lifespan, the request context
of the handshake, then real servers under uvicorn with real Socket.IO
clients, one process, two processes sharing rooms through Redis, and one
``--workers 2`` run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import types
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from websockets.asyncio.client import connect

from asyncflask import Flask, request, session
from asyncflask.typing import Message
from tests.debian import ensure_program
from tests.server import Server, run_server
from tests.support import guarded
from tests.websocket.test_broadcast_redis import RedisServer

SIO_APP = Path(__file__).resolve().parent / "socketio_app.py"
UVICORN = [sys.executable, "-m", "uvicorn", "socketio_app:asgi", "--host", "{host}"]
COMMAND = [*UVICORN, "--port", "{port}"]
TIMEOUT = 5.0


# -- in process ------------------------------------------------------------------------


async def _lifespan(asgi: Any) -> list[str]:
    """Run the ASGI lifespan protocol through ``asgi``; the messages sent back."""
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message["type"])

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
    await asyncio.wait_for(asgi(scope, receive, send), TIMEOUT)
    return sent


def _app_with_serving_hooks() -> tuple[Flask, list[str]]:
    app = Flask("sio_lifespan")
    calls: list[str] = []

    @app.before_serving
    async def started() -> None:
        calls.append("before_serving")

    @app.after_serving
    async def stopped() -> None:
        calls.append("after_serving")

    return app, calls


async def test_the_lifespan_reaches_the_app_behind_socketio() -> None:
    app, calls = _app_with_serving_hooks()
    asgi = socketio.ASGIApp(socketio.AsyncServer(async_mode="asgi"), other_asgi_app=app)
    sent = await _lifespan(asgi)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert calls == ["before_serving", "after_serving"]


async def test_on_startup_given_to_asgiapp_keeps_the_lifespan_from_the_app() -> None:
    app, calls = _app_with_serving_hooks()
    ran: list[str] = []
    asgi = socketio.ASGIApp(
        socketio.AsyncServer(async_mode="asgi"),
        other_asgi_app=app,
        on_startup=lambda: ran.append("on_startup"),
    )
    sent = await _lifespan(asgi)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert ran == ["on_startup"]
    assert calls == []  # what docs/socketio.md warns about


async def test_a_websocket_handshake_scope_gives_a_request_context() -> None:
    app = Flask("sio_handshake")
    app.secret_key = "k"

    @app.post("/login")
    async def login() -> str:
        session["user"] = "ann"
        return ""

    async with app.test_client() as client:
        await client.post("/login")
        cookie = client.get_cookie("session")
    assert cookie is not None
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/socket.io/",
        "raw_path": b"/socket.io/",
        "query_string": b"EIO=4&transport=websocket",
        "headers": [(b"host", b"example.com"), (b"cookie", f"session={cookie.value}".encode())],
        "subprotocols": [],
    }
    async with app.request_context(scope):
        assert request.method == "GET"
        assert request.url == "ws://example.com/socket.io/?EIO=4&transport=websocket"
        assert request.args["transport"] == "websocket"
        assert session["user"] == "ann"


def _docs_example() -> str:
    text = (Path(__file__).resolve().parents[2] / "docs" / "socketio.md").read_text()
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match is not None
    return match.group(1)


async def test_the_docs_example_serves_both_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "k")
    monkeypatch.delenv("SOCKETIO_REDIS_URL", raising=False)
    module = types.ModuleType("socketio_docs_example")
    exec(compile(_docs_example(), "app.py", "exec"), module.__dict__)
    transport = httpx.ASGITransport(app=module.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        r = await http.get("/")
        assert r.text == "the asyncflask side"
        r = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert r.text.startswith('0{"sid":')


# -- one process under uvicorn -----------------------------------------------------------


class Client:
    """A Socket.IO client (python-socketio's, over aiohttp) that keeps the
    ``said`` events it gets."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.said: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sio.on("said", self.said.put_nowait)

    async def connect(
        self, url: str, transports: list[str] | None = None, cookie: str | None = None
    ) -> Client:
        headers = {"Cookie": f"session={cookie}"} if cookie else {}
        await self.sio.connect(
            url, transports=transports or ["websocket"], headers=headers, wait_timeout=TIMEOUT
        )
        return self

    async def call(self, event: str, *args: Any) -> Any:
        data = args[0] if len(args) == 1 else (args or None)
        return await self.sio.call(event, data, timeout=TIMEOUT)

    async def next_said(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.said.get(), TIMEOUT)


@contextlib.asynccontextmanager
async def clients(n: int) -> AsyncIterator[list[Client]]:
    made = [Client() for _ in range(n)]
    try:
        yield made
    finally:
        for client in made:
            await client.sio.disconnect()


@pytest.fixture(scope="module")
def marks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sio-marks")
    paths = {"STARTED_FILE": root / "started", "STOPPED_FILE": root / "stopped"}
    for path in paths.values():
        path.mkdir()
    return paths


@pytest.fixture(scope="module")
def one_server(marks: dict[str, Path]) -> Iterator[Server]:
    env = {name: str(path) for name, path in marks.items()}
    with run_server(app_path=SIO_APP, command=COMMAND, env=env) as server:
        yield server


def _login(server: Server, name: str) -> str:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        r = http.post("/login", data={"name": name})
        assert r.status_code == 200
        cookie = http.cookies["session"]
    assert isinstance(cookie, str)
    return cookie


@guarded(20)
async def test_the_app_routes_and_socketio_are_served_together(one_server: Server) -> None:
    async with httpx.AsyncClient(base_url=one_server.url, timeout=TIMEOUT) as http:
        r = await http.get("/")
        # before_serving ran in the serving process: the lifespan reached the app
        assert r.json() == {"pid": one_server.pid, "serving": True}
        r = await http.get("/nowhere")
        assert r.status_code == 404
        assert "<h1>Not Found</h1>" in r.text  # asyncflask's 404 page
        r = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert r.status_code == 200
        assert r.text.startswith('0{"sid":')  # Engine.IO's open packet
    url = f"ws://{one_server.host}:{one_server.port}/echo"
    async with connect(url, open_timeout=TIMEOUT) as ws:
        await ws.send("ping")
        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "ping"


@guarded(20)
async def test_socketio_handlers_read_the_session_of_the_handshake(one_server: Server) -> None:
    cookie = await asyncio.to_thread(_login, one_server, "ann")
    async with clients(3) as (ann, guest, polling):
        await ann.connect(one_server.url, cookie=cookie)
        await guest.connect(one_server.url)
        await polling.connect(one_server.url, transports=["polling", "websocket"], cookie=cookie)
        me = {"user": "ann", "pid": one_server.pid}
        assert await ann.call("whoami") == {**me, "handshake": "websocket /socket.io/"}
        assert await polling.call("whoami") == {**me, "handshake": "http /socket.io/"}
        assert (await guest.call("whoami"))["user"] == "anonymous"


@guarded(20)
async def test_socketio_handlers_have_an_app_context_only_when_they_push_one(
    one_server: Server,
) -> None:
    async with clients(1) as (client,):
        await client.connect(one_server.url)
        got = await client.call("contexts")
        sid = client.sio.get_sid()
    outside, inside = got["outside"], got["inside"]
    assert outside["request_context"] is False
    assert outside["app_context"] is False
    assert outside["session_error"].startswith("Working outside of request context.")
    assert inside["app_context"] is True
    assert inside["request_context"] is False
    assert inside["greeting"] == "hello from the app's config"
    assert inside["g"] == sid


@guarded(30)
async def test_after_serving_runs_when_the_combined_app_stops(marks: dict[str, Path]) -> None:
    env = {name: str(path) for name, path in marks.items()}
    with run_server(app_path=SIO_APP, command=COMMAND, env=env) as server:
        assert (marks["STARTED_FILE"] / str(server.pid)).exists()
        assert not (marks["STOPPED_FILE"] / str(server.pid)).exists()
    assert "Application shutdown complete" in server.stderr
    assert (marks["STOPPED_FILE"] / str(server.pid)).exists()
    assert "Traceback" not in server.stderr


# -- rooms across processes, through Redis -----------------------------------------------


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = ensure_program("redis-server", "redis-server")
    redis = RedisServer(binary, tmp_path_factory.mktemp("sio-redis"))
    redis.start()
    try:
        yield redis.url
    finally:
        redis.kill()


def _redis_env(redis_url: str) -> dict[str, str]:
    return {"SOCKETIO_REDIS_URL": redis_url, "SOCKETIO_CHANNEL": f"test-{uuid.uuid4().hex}"}


async def _until_delivered(sender: Client, receiver: Client, room: str, *others: Client) -> None:
    """Say warm-up messages until ``receiver`` gets one: a server subscribes
    to Redis in the background after its first connection, and pub/sub keeps
    nothing for a subscriber that is not there yet."""
    for n in range(50):
        await sender.call("say", {"room": room, "text": f"warm-up {n}"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver.said.get(), 0.2)
            break
    else:
        pytest.fail("no message reached the other process")
    await asyncio.sleep(0.3)  # the last warm-up messages land everywhere
    for client in (sender, receiver, *others):
        while not client.said.empty():
            client.said.get_nowait()


async def _room_across_processes(a: Client, b: Client, c: Client) -> None:
    """``a`` on one process, ``b`` and ``c`` on another, all in one room: an
    emit reaches the other process, and ``b`` gets nothing once it left."""
    pid_a = (await a.call("whoami"))["pid"]
    pid_b = (await b.call("whoami"))["pid"]
    assert (await c.call("whoami"))["pid"] == pid_b != pid_a
    room = f"room-{uuid.uuid4().hex[:8]}"
    for client in (a, b, c):
        assert await client.call("join", room) == "joined"
    await _until_delivered(a, b, room, c)

    assert await a.call("say", {"room": room, "text": "hello"}) == "sent"
    for client in (a, b, c):
        got = await client.next_said()
        assert (got["text"], got["pid"]) == ("hello", pid_a)
    assert await b.call("say", {"room": room, "text": "and back"}) == "sent"
    for client in (a, b, c):
        got = await client.next_said()
        assert (got["text"], got["pid"]) == ("and back", pid_b)

    assert await b.call("leave", room) == "left"
    await a.call("say", {"room": room, "text": "after b left"})
    assert (await a.next_said())["text"] == "after b left"
    # c, on b's process, got it: the emit reached that process, and not b
    assert (await c.next_said())["text"] == "after b left"
    await asyncio.sleep(0.3)
    assert b.said.empty()


@guarded(60)
async def test_a_room_spans_two_uvicorn_processes(redis_url: str) -> None:
    env = _redis_env(redis_url)
    with (
        run_server(app_path=SIO_APP, command=COMMAND, env=env) as one,
        run_server(app_path=SIO_APP, command=COMMAND, env=env) as two,
    ):
        assert one.pid != two.pid
        # long-polling needs each request on the process that holds the session
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            query = {"EIO": "4", "transport": "polling"}
            r = await http.get(one.url + "/socket.io/", params=query)
            sid = json.loads(r.text[1:])["sid"]
            r = await http.get(two.url + "/socket.io/", params={**query, "sid": sid})
            assert r.status_code == 400
            assert "Invalid session" in r.text
        async with clients(3) as (a, b, c):
            await a.connect(one.url)
            await b.connect(two.url)
            await c.connect(two.url)
            assert (await a.call("whoami"))["pid"] == one.pid
            assert (await b.call("whoami"))["pid"] == two.pid
            await _room_across_processes(a, b, c)
    for server in (one, two):
        assert "Traceback" not in server.stderr


def _parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])


@guarded(90)
async def test_a_room_spans_the_workers_of_one_uvicorn(redis_url: str) -> None:
    command = [*COMMAND, "--workers", "2"]
    env = _redis_env(redis_url)
    with run_server(app_path=SIO_APP, command=command, env=env, startup_timeout=30) as server:
        async with contextlib.AsyncExitStack() as stack:
            by_pid: dict[int, list[Client]] = {}
            for _ in range(100):  # uvicorn starts its workers one after the other
                if server.stderr.count("Application startup complete") == 2:
                    break
                await asyncio.sleep(0.1)
            for _ in range(40):
                client = await stack.enter_async_context(clients(1))
                await client[0].connect(server.url)
                pid = (await client[0].call("whoami"))["pid"]
                by_pid.setdefault(pid, []).append(client[0])
                if len(by_pid) == 2 and max(len(v) for v in by_pid.values()) >= 2:
                    break
            assert len(by_pid) == 2, "every connection went to one worker"
            # both are uvicorn's worker processes, children of the server
            assert {_parent_pid(pid) for pid in by_pid} == {server.pid}
            (first, *_), (second, third, *_) = sorted(by_pid.values(), key=len)
            await _room_across_processes(first, second, third)
    assert "Traceback" not in server.stderr
