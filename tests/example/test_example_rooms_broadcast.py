"""The example app's websocket rooms are rooms of its broadcast channel: no
subscription or task outlives its socket, a closed channel closes the
sockets, and over Redis a room spans the workers of ``--workers 2``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from asyncflask import WebSocketDisconnect
from asyncflask.wstesting import WebsocketSession
from tests.debian import ensure_program
from tests.server import HOST, free_port, run_server
from tests.support import EXAMPLE, guarded
from tests.websocket.test_broadcast_redis import RedisServer

TIMEOUT = 5.0


def room_tasks() -> list[asyncio.Task[Any]]:
    """The tasks that forward a room's messages to a socket, still running."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("room ") and not t.done()]


def members(example: ModuleType, room: str) -> int:
    return int(example.channel.local_subscribers(example.room_channel(room)))


async def said(ws: WebsocketSession) -> tuple[str, str]:
    message = await asyncio.wait_for(ws.receive_json(), TIMEOUT)
    return message["from"], message["text"]


# -- in process ----------------------------------------------------------------------------


@guarded()
async def test_no_subscription_or_task_outlives_its_socket(example: ModuleType) -> None:
    async with example.app.test_client() as client:
        for _ in range(3):
            async with client.websocket("/rooms/leaks") as a:
                _, joined = await said(a)
                a_name = joined.removesuffix(" joined")
                async with client.websocket("/rooms/leaks") as b:
                    _, joined = await said(b)
                    assert await said(a) == ("server", joined)
                    assert members(example, "leaks") == 2
                    assert len(room_tasks()) == 2
                    await a.close()
                    assert await said(b) == ("server", f"{a_name} left")
                    assert members(example, "leaks") == 1
                    assert len(room_tasks()) == 1
            assert members(example, "leaks") == 0
            assert room_tasks() == []


@guarded()
async def test_closing_the_channel_closes_the_sockets(example: ModuleType) -> None:
    async with example.app.test_client() as client:
        async with client.websocket("/rooms/a") as a, client.websocket("/rooms/b") as b:
            await said(a)
            await said(b)
            await example.channel.close()  # as when the server stops serving
            for ws in (a, b):
                with pytest.raises(WebSocketDisconnect):
                    await asyncio.wait_for(ws.receive(), TIMEOUT)
                assert ws.close_code == 1001
        assert members(example, "a") == members(example, "b") == 0
        assert room_tasks() == []


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = ensure_program("redis-server", "redis-server")
    redis = RedisServer(binary, tmp_path_factory.mktemp("rooms-redis"))
    redis.start()
    try:
        yield redis.url
    finally:
        redis.kill()


@pytest.fixture
def example_on(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Any:  # a function of the BROADCAST_URL, returning the example module
    def load(url: str) -> ModuleType:
        monkeypatch.setenv("BROADCAST_URL", url)
        module: ModuleType = request.getfixturevalue("example")
        return module

    return load


def following_tasks() -> list[asyncio.Task[Any]]:
    """The Redis readers that follow a room's stream, still running."""
    return [
        t
        for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__name__", "") == "_follow" and not t.done()
    ]


@guarded(20)
async def test_over_redis_in_process_nothing_is_left_behind(
    redis_url: str, example_on: Any
) -> None:
    example = example_on(redis_url)
    room = f"r-{uuid.uuid4().hex[:8]}"
    async with example.app.test_client() as client:
        async with client.websocket(f"/rooms/{room}") as a:
            await said(a)  # a's "joined" is published: b's comes after it
            async with client.websocket(f"/rooms/{room}") as b:
                _, joined = await said(b)
                assert await said(a) == ("server", joined)
                await b.send("over redis")
                for ws in (a, b):
                    assert await said(ws) == (joined.removesuffix(" joined"), "over redis")
                assert members(example, room) == 2
                assert len(following_tasks()) == 1  # one reader for the room in this process
        assert members(example, room) == 0
        assert room_tasks() == []
        assert following_tasks() == []


@guarded(20)
async def test_without_redis_a_socket_is_told_to_try_again(example_on: Any) -> None:
    example = example_on(f"redis://{HOST}:{free_port()}/0")
    async with example.app.test_client() as client, client.websocket("/rooms/x") as ws:
        with pytest.raises(WebSocketDisconnect):
            await asyncio.wait_for(ws.receive(), TIMEOUT)
        assert (ws.close_code, ws.close_reason) == (1013, "the rooms are unavailable, try again")
    assert room_tasks() == []


# -- two uvicorn workers over Redis --------------------------------------------------------


def _children(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rpartition(")")[2].split()[1]) == parent:
                    found.add(int(entry.name))
    return found


def _socket_inode(server_port: int, client_port: int) -> str:
    """The inode of the server's end of the loopback connection from
    ``client_port``, from /proc/net/tcp."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            return fields[9]
    raise LookupError(f"no connection from port {client_port}")


def worker_of(workers: set[int], server_port: int, ws: ClientConnection) -> int:
    """Which of the ``workers`` holds the server's end of ``ws``."""
    target = f"socket:[{_socket_inode(server_port, ws.local_address[1])}]"
    for pid in workers:
        fds = Path(f"/proc/{pid}/fd")
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == target for fd in fds.iterdir()):
                return pid
    raise LookupError(f"no worker holds {target}")


async def until(ws: ClientConnection, text: str) -> dict[str, str]:
    """The first message with ``text``, skipping others (joins, leaves)."""

    async def read() -> dict[str, str]:
        while True:
            message: dict[str, str] = json.loads(await ws.recv())
            if message["text"] == text:
                return message

    return await asyncio.wait_for(read(), TIMEOUT)


@guarded(60)
async def test_a_room_spans_the_two_workers(redis_url: str, tmp_path: Path) -> None:
    env = {"BROADCAST_URL": redis_url, "UPLOAD_FOLDER": str(tmp_path)}
    room = f"room-{uuid.uuid4().hex[:8]}"
    with run_server(
        app_path=EXAMPLE, env=env, cli_args=["--workers", "2"], startup_timeout=30
    ) as server:
        url = f"ws://{server.host}:{server.port}/rooms/{room}"
        for _ in range(100):  # uvicorn starts its workers one after the other
            if server.stderr.count("Application startup complete") == 2:
                break
            await asyncio.sleep(0.1)
        workers = _children(server.pid)
        assert len(workers) >= 2  # the workers (and multiprocessing's resource tracker)
        async with contextlib.AsyncExitStack() as stack:
            by_worker: dict[int, ClientConnection] = {}
            for _ in range(40):
                ws = await stack.enter_async_context(connect(url, open_timeout=TIMEOUT))
                name = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))["text"]
                assert name.endswith(" joined")
                by_worker.setdefault(worker_of(workers, server.port, ws), ws)
                if len(by_worker) == 2:
                    break
            assert len(by_worker) == 2, "every websocket went to one worker"
            (one, first), (two, second) = by_worker.items()
            assert one != two
            await first.send("from the first worker")
            assert (await until(second, "from the first worker"))["from"].startswith("guest-")
            await second.send("and from the second")
            await until(first, "and from the second")
    assert "Traceback" not in server.stderr
