"""A deadline for reading a request body (``BODY_TIMEOUT``).

No timer per request: under asyncio, each read looks at the clock once,
and a read that has to wait (the server has no message ready) is noted in
a table of its event loop, and one watcher task per loop, which runs only
while some read is noted, wakes every ``TICK`` seconds and cancels the reads
whose deadline has passed; the read turns that cancellation into a 408. So
a deadline is kept to within ``TICK``. Elsewhere (trio) each read gets a
cancel scope.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
import typing as t
import weakref

import anyio
from werkzeug.exceptions import RequestTimeout

__all__ = ["BodyDeadline"]

#: How often the watcher looks at the reads in progress, in seconds.
TICK = 0.1


class _Watcher:
    """The reads in progress on one event loop, and the task that cancels
    those past their deadline."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.reads: dict[asyncio.Task[t.Any], BodyDeadline] = {}
        self.task: asyncio.Task[None] | None = None

    def note(self, task: asyncio.Task[t.Any], deadline: BodyDeadline) -> None:
        self.reads[task] = deadline
        if self.task is None:
            # an empty context: the request that starts it is not kept alive
            self.task = self.loop.create_task(self._watch(), context=contextvars.Context())

    async def _watch(self) -> None:
        try:
            while self.reads:
                await asyncio.sleep(TICK)
                now = self.loop.time()
                for task, deadline in list(self.reads.items()):
                    if now >= deadline.when and not deadline.expired:
                        deadline.expired = True
                        task.cancel()
        finally:
            self.task = None


_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watcher] = (
    weakref.WeakKeyDictionary()
)


class BodyDeadline:
    """Reads (``await deadline.receive(receive)``) that raise
    ``RequestTimeout`` once ``seconds`` have passed since this was made."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        loop = self._loop = _running_loop()
        self.when = (anyio.current_time() if loop is None else loop.time()) + seconds

    @types.coroutine
    def receive(
        self, receive: t.Callable[[], t.Awaitable[t.Any]]
    ) -> t.Generator[t.Any, t.Any, t.Any]:
        """``await receive()``, or ``RequestTimeout`` at the deadline.

        A message the server has ready costs one look at the clock: the
        watcher only hears of a read that has to wait."""
        loop = self._loop
        if loop is None:
            return (yield from self._scoped(receive).__await__())
        if self.expired or loop.time() >= self.when:
            self.expired = True
            raise RequestTimeout()
        # the read's first step: it either has its message or waits on a future
        reading: t.Any = receive()
        if type(reading) is not types.CoroutineType:
            reading = reading.__await__()  # (an awaitable that is not a coroutine)
        try:
            future = reading.send(None)
        except StopIteration as done:
            return done.value
        return (yield from self._watched(loop, reading, future))

    def _watched(
        self,
        loop: asyncio.AbstractEventLoop,
        reading: t.Generator[t.Any, t.Any, t.Any],
        future: t.Any,
    ) -> t.Generator[t.Any, t.Any, t.Any]:
        """The rest of a read that waits (on ``future`` first), noted with
        the loop's watcher meanwhile: what ``yield from reading`` would do."""
        watcher = _watchers.get(loop)
        if watcher is None:
            watcher = _watchers[loop] = _Watcher(loop)
        task = t.cast("asyncio.Task[t.Any]", asyncio.current_task(loop))
        watcher.note(task, self)
        try:
            while True:
                try:
                    sent = yield future
                except GeneratorExit:
                    reading.close()
                    raise
                except BaseException as exc:  # handed to the read
                    future = reading.throw(exc)
                else:
                    future = reading.send(sent)
        except StopIteration as done:
            return done.value
        except asyncio.CancelledError:
            # the watcher's cancellation, and nobody else's: a 408 instead
            if self.expired and task.uncancel() == 0:
                raise RequestTimeout() from None
            raise
        finally:
            del watcher.reads[task]

    async def _scoped(self, receive: t.Callable[[], t.Awaitable[t.Any]]) -> t.Any:
        """A read within a cancel scope (another backend than asyncio)."""
        if self.expired:
            raise RequestTimeout()
        with anyio.CancelScope(deadline=self.when):
            return await receive()
        raise RequestTimeout()  # (only reached when the scope was cancelled)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio event loop, or ``None`` under another backend."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
