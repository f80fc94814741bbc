"""A deadline for reading a request body (``BODY_TIMEOUT``).

No timer per request: under asyncio, a read that may wait is noted in a
table of its event loop, and one watcher task per loop, which runs only
while some read is noted, wakes every ``TICK`` seconds and cancels the reads
whose deadline has passed; the read turns that cancellation into a 408. So
a deadline is kept to within ``TICK``. Elsewhere (trio) each read gets a
cancel scope.
"""

from __future__ import annotations

import asyncio
import contextvars
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
        loop = _running_loop()
        if loop is None:
            self._watcher: _Watcher | None = None
            self.when = anyio.current_time() + seconds
            return
        watcher = _watchers.get(loop)
        if watcher is None:
            watcher = _watchers[loop] = _Watcher(loop)
        self._watcher = watcher
        self.when = loop.time() + seconds

    async def receive(self, receive: t.Callable[[], t.Awaitable[t.Any]]) -> t.Any:
        """``await receive()``, or ``RequestTimeout`` at the deadline."""
        if self.expired:
            raise RequestTimeout()
        watcher = self._watcher
        if watcher is None:
            with anyio.CancelScope(deadline=self.when):
                return await receive()
            raise RequestTimeout()  # (only reached when the scope was cancelled)
        task = t.cast("asyncio.Task[t.Any]", asyncio.current_task())
        watcher.note(task, self)
        try:
            return await receive()
        except asyncio.CancelledError:
            # the watcher's cancellation, and nobody else's: a 408 instead
            if self.expired and task.uncancel() == 0:
                raise RequestTimeout() from None
            raise
        finally:
            del watcher.reads[task]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio event loop, or ``None`` under another backend."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
