"""The example app's websocket chat rooms: in process, and served as ``make run``
serves it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from websockets.asyncio.client import connect

from asyncflask import WebSocketDisconnect
from asyncflask.wstesting import WebsocketSession
from tests.server import run_server
from tests.support import EXAMPLE, guarded


async def _next(ws: WebsocketSession) -> tuple[str, str]:
    message = await ws.receive_json()
    return message["from"], message["text"]


def members(example: ModuleType, *rooms: str) -> list[int]:
    """How many sockets of this process follow each room's channel."""
    return [example.channel.local_subscribers(example.room_channel(room)) for room in rooms]


@guarded()
async def test_page_points_at_the_rooms_websocket(example: ModuleType) -> None:
    async with example.app.test_client() as client:
        r = await client.get("/rooms/tea%20room")
        assert r.status_code == 200
        assert 'new WebSocket("ws://localhost/rooms/tea%20room")' in r.text
        assert "<b>tea room</b>" in r.text
        r = await client.get("/rooms/<script>")
        assert "<b>&lt;script&gt;</b>" in r.text


@guarded()
async def test_messages_reach_everyone_in_the_room_only(example: ModuleType) -> None:
    async with example.app.test_client() as client:
        await client.post("/login", data={"username": "ann", "password": example.DEMO_PASSWORD})
        guest = example.app.test_client(use_cookies=False)
        async with client.websocket("/rooms/lobby") as ann:
            assert await _next(ann) == ("server", "ann joined")
            async with (
                guest.websocket("/rooms/lobby") as bob,
                guest.websocket("/rooms/other") as eve,
            ):
                assert await _next(eve) == ("server", "guest-2 joined")
                assert await _next(ann) == ("server", "guest-1 joined")
                assert await _next(bob) == ("server", "guest-1 joined")
                await bob.send("hello")
                await bob.send(b"binary is ignored")
                await bob.send("   ")
                await bob.send("x" * 600)
                assert await _next(ann) == ("guest-1", "hello")
                assert await _next(bob) == ("guest-1", "hello")
                assert await _next(ann) == ("guest-1", "x" * 500)
                assert await _next(bob) == ("guest-1", "x" * 500)
                await bob.close()
                assert await _next(ann) == ("server", "guest-1 left")
                assert members(example, "lobby", "other") == [1, 1]
            assert members(example, "lobby", "other") == [1, 0]
        assert members(example, "lobby") == [0]
        with pytest.raises(WebSocketDisconnect):
            await ann.receive()


@guarded(30)
async def test_chat_over_the_make_run_server() -> None:
    script = Path(sys.executable).parent / "asyncflask"
    command = [str(script), "--app", "app:app", "run", "--host", "{host}", "--port", "{port}"]
    with run_server(app_path=EXAMPLE, command=command) as server:
        url = f"ws://{server.host}:{server.port}/rooms/e2e"
        async with connect(url, open_timeout=5) as a:
            assert json.loads(await a.recv())["text"].endswith(" joined")
            async with connect(url, open_timeout=5) as b:
                await asyncio.wait_for(a.recv(), 5)  # b joined
                await b.recv()
                await b.send("hi there")
                for ws in (a, b):
                    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["text"] == "hi there"
            assert json.loads(await asyncio.wait_for(a.recv(), 5))["text"].endswith(" left")
        await asyncio.sleep(0.2)
    assert "Traceback" not in server.stderr
