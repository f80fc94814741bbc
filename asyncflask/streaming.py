"""Sending a body while it is produced: one disconnect watch per stream,
optional keep-alive chunks, with no lock on the per-chunk path, and a turn
for the other tasks when the body has held the event loop for a while."""

from __future__ import annotations

import asyncio
import time
import typing as t
from collections.abc import AsyncIterator

import anyio
from anyio.lowlevel import checkpoint

from .asgi import wait_for_disconnect
from .typing import ASGIReceive, ASGISend

#: Seconds a stream may hold the event loop before it lets other tasks run:
#: a generator that never waits, sent to a client that reads as fast as it
#: is sent (the server's ``send`` then never waits either), would otherwise
#: keep the loop for the whole body.
TURN = 0.005


def _clock() -> t.Callable[[], float]:
    """The event loop's clock (what ``anyio.sleep`` measures), found once."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return anyio.current_time
    return lambda: loop.time()


class _Sender:
    """Sends body chunks; a keep-alive chunk never interleaves with one."""

    def __init__(self, send: ASGISend) -> None:
        self.send = send
        self.busy = False
        self.idle: anyio.Event | None = None
        self.now = _clock()
        self.last_sent = self.now()

    async def chunk(self, data: bytes, more: bool = True) -> None:
        while self.busy:  # only while a keep-alive chunk is being sent
            self.idle = self.idle or anyio.Event()
            await self.idle.wait()
        self.busy = True
        try:
            await self.send({"type": "http.response.body", "body": data, "more_body": more})
        finally:
            self._done()

    def _done(self) -> None:
        self.busy = False
        self.last_sent = self.now()
        if self.idle is not None:
            self.idle.set()
            self.idle = None

    async def keepalive(self, interval: float, data: bytes) -> None:
        while True:
            await anyio.sleep(max(0.0, self.last_sent + interval - self.now()))
            if not self.busy and self.now() - self.last_sent >= interval:
                self.busy = True
                try:
                    await self.send({"type": "http.response.body", "body": data, "more_body": True})
                finally:
                    self._done()


async def send_stream(
    items: AsyncIterator[t.Any],
    encode: t.Callable[[t.Any], bytes],
    receive: ASGIReceive,
    send: ASGISend,
    keepalive: tuple[float, bytes] | None = None,
) -> bool:
    """Send ``items`` (``bytes``, or made bytes by ``encode``) then the end of
    the body; stop as soon as the client disconnects, and close ``items``.
    Returns whether the body was sent completely. An exception from
    ``items`` propagates (the body is then left incomplete)."""
    sender = _Sender(send)
    error: Exception | None = None
    completed = False
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            await wait_for_disconnect(receive)
            tg.cancel_scope.cancel()

        tg.start_soon(watch)
        if keepalive is not None:
            tg.start_soon(sender.keepalive, *keepalive)
        # one clock read per chunk (any monotonic clock: only its own
        # readings are compared), and a checkpoint once per TURN
        now = time.monotonic
        turn = now() + TURN
        try:
            if keepalive is None:
                async for item in items:
                    chunk = item if type(item) is bytes else encode(item)
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    if now() >= turn:
                        await checkpoint()
                        turn = now() + TURN
            else:
                async for item in items:
                    chunk = item if type(item) is bytes else encode(item)
                    if chunk:
                        await sender.chunk(chunk)
                    if now() >= turn:
                        await checkpoint()
                        turn = now() + TURN
            await sender.chunk(b"", more=False)
            completed = True
        except Exception as e:
            error = e
        finally:
            tg.cancel_scope.cancel()
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()
    if error is not None:
        raise error
    return completed
