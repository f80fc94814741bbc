"""The event loop a test client runs requests on when plain code (a plain
``def`` test) calls it, and what a request method gives plain code that
runs while an event loop does."""

from __future__ import annotations

import asyncio
import typing as t

if t.TYPE_CHECKING:
    from .testtransport import TestResponse

__all__ = ["Pending", "close_loop", "loop_running", "settle"]


def loop_running() -> bool:
    """Whether an event loop runs in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Pending:
    """What a request method gives plain code called while an event loop
    runs in its thread: awaitable (for the async code it hands it to), and
    any other use says what to do."""

    __slots__ = ("_factory", "_name")

    def __init__(self, name: str, factory: t.Callable[[], t.Awaitable[TestResponse]]) -> None:
        self._name = name
        self._factory = factory

    def __await__(self) -> t.Generator[t.Any, None, TestResponse]:
        return self._factory().__await__()

    def __getattr__(self, name: str) -> t.NoReturn:
        raise RuntimeError(
            f"client.{self._name}() was called from a plain function while an event loop"
            " is running in this thread, so it cannot wait for the response here: await"
            " it in async code, or call it from a plain 'def' test (no running loop),"
            " where it returns the response."
        )


def settle(loop: asyncio.AbstractEventLoop) -> None:
    """Finish what a request left on the client's loop: tasks still going
    (after an exception such as ``KeyboardInterrupt`` stopped the loop) are
    cancelled, and the done callbacks of finished ones run now, not never.
    anyio lets its worker threads go in such callbacks; one left waiting
    would keep the process from exiting."""
    if loop.is_closed() or loop.is_running():
        return
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(_finished(pending))


async def _finished(tasks: set[asyncio.Task[t.Any]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0)


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Settle and close the client's own event loop (where it can run: not
    from inside another running loop, when the collector frees the client
    there)."""
    try:
        if not loop_running():
            settle(loop)
            loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
