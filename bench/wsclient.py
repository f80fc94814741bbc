"""The websocket echo client: N connections, each sending a text message and
waiting for its echo, back to back, for a number of seconds."""

from __future__ import annotations

import asyncio
import time

from websockets.asyncio.client import connect

#: What each connection sends, over and over.
MESSAGE = "x" * 64


class EchoMismatch(Exception):
    """The server answered something else than the message."""


async def _connection(
    url: str, ready: asyncio.Event, start: asyncio.Event, deadline: list[float]
) -> int:
    async with connect(url, compression=None, open_timeout=10, close_timeout=5) as ws:
        ready.set()
        await start.wait()
        echoes = 0
        while time.perf_counter() < deadline[0]:
            await ws.send(MESSAGE)
            got = await asyncio.wait_for(ws.recv(), 10)
            if got != MESSAGE:
                raise EchoMismatch(f"sent {MESSAGE!r}, got {got!r:.60}")
            echoes += 1
        return echoes


async def _run(url: str, connections: int, seconds: float) -> tuple[int, float]:
    start = asyncio.Event()
    deadline = [0.0]
    ready = [asyncio.Event() for _ in range(connections)]
    tasks = [asyncio.create_task(_connection(url, r, start, deadline)) for r in ready]
    # every connection is open before the clock starts
    await asyncio.wait(
        [*tasks, asyncio.ensure_future(asyncio.gather(*(r.wait() for r in ready)))],
        return_when=asyncio.FIRST_COMPLETED,
    )
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.set()
    counts = await asyncio.gather(*tasks)
    return sum(counts), time.perf_counter() - began


def echo(port: int, connections: int, seconds: float) -> tuple[int, float]:
    """Echo round trips done on ``/ws/echo`` by ``connections`` clients in
    about ``seconds`` once all are connected, and the seconds it took."""
    return asyncio.run(_run(f"ws://127.0.0.1:{port}/ws/echo", connections, seconds))


async def _check(url: str) -> list[str | bytes]:
    async with connect(url, compression=None, open_timeout=10) as ws:
        replies = []
        for message in ("hello", "é" * 100, b"\x00\xff"):
            await ws.send(message)
            replies.append(await asyncio.wait_for(ws.recv(), 10))
        return replies


def check(port: int) -> list[str | bytes]:
    """What ``/ws/echo`` answers to a text, a non-ASCII text and a binary
    message."""
    return asyncio.run(_check(f"ws://127.0.0.1:{port}/ws/echo"))
