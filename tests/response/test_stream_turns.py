"""A streamed body whose generator never waits, sent where ``send`` never
waits either (a client that reads as fast as it is sent), still lets the
other tasks of the event loop run: a plain body, an event stream (which
has the keep-alive path), and a sync generator (pulled in a worker thread,
as before)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from asyncflask import EventStream, Flask
from asyncflask.typing import Message
from tests.support import guarded, http_scope

#: How long a generator goes on waiting for the other task (a bound for a
#: loaded machine; the other task gets its turn within milliseconds).
PATIENCE = 10.0


class Turn:
    """A callback scheduled on the event loop once the stream is under way,
    and what the generator saw of it."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.ran = False
        self.seen_by_generator = False

    def items(self) -> Iterator[int]:
        """Items until the callback has run (or ``PATIENCE`` is up)."""
        deadline = time.monotonic() + PATIENCE
        n = 0
        while not self.ran and time.monotonic() < deadline:
            yield n
            if n == 0:
                self.loop.call_soon_threadsafe(setattr, self, "ran", True)
            n += 1
        self.seen_by_generator = self.ran


async def _stream(app: Flask) -> int:
    """Stream ``/`` as a server whose ``send`` never waits; returns the
    chunks sent."""
    chunks = 0
    sent_end = False

    async def receive() -> Message:
        await asyncio.Event().wait()  # no disconnect
        raise AssertionError

    async def send(message: Message) -> None:
        nonlocal chunks, sent_end
        if message["type"] == "http.response.body":
            chunks += bool(message.get("body"))
            sent_end = not message.get("more_body", False)

    await app(http_scope("/"), receive, send)
    assert sent_end
    return chunks


@pytest.mark.parametrize("kind", ["bytes", "events"])
@guarded(PATIENCE * 3)
async def test_a_generator_that_never_waits_lets_other_tasks_run(app: Flask, kind: str) -> None:
    turn = Turn()

    @app.get("/")
    async def index() -> Any:
        async def body() -> AsyncIterator[bytes]:
            for _ in turn.items():
                yield b"x" * 1024

        async def events() -> AsyncIterator[dict[str, Any]]:
            for n in turn.items():
                yield {"data": n}

        return body() if kind == "bytes" else EventStream(events())

    chunks = await _stream(app)
    assert turn.seen_by_generator  # the callback ran while the body was sent
    assert chunks > 1


@guarded(PATIENCE * 3)
async def test_a_sync_generator_still_runs_in_a_worker_thread(app: Flask) -> None:
    turn = Turn()
    threads: set[int] = set()

    @app.get("/")
    async def index() -> Any:
        def body() -> Iterator[bytes]:
            for _ in turn.items():
                threads.add(threading.get_ident())
                yield b"x"

        return body()

    chunks = await _stream(app)
    assert turn.seen_by_generator
    assert chunks > 1
    assert threading.get_ident() not in threads
