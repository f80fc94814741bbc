"""What runs around serving: ``app.run()``, the startup and shutdown
functions of the ASGI lifespan, and background tasks, which shutdown waits
for."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import os
import typing as t

import anyio.from_thread
from flask.sansio.app import App
from flask.sansio.scaffold import setupmethod

from .globals import _cv_ctx
from .utils import call_maybe_async, is_async_callable, run_in_thread

if t.TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from .app import Flask
    from .ctx import AppContext

__all__ = ["DEFAULT_BACKGROUND_TASK_SHUTDOWN_TIMEOUT", "ServingMixin", "check_while_serving"]

T = t.TypeVar("T", bound=t.Callable[..., t.Any])
WhileServing = t.Callable[[], "AsyncGenerator[t.Any, None]"]

#: ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` when the config does not set it: how
#: long shutdown waits for background tasks before cancelling them, in seconds.
DEFAULT_BACKGROUND_TASK_SHUTDOWN_TIMEOUT = 5.0


class ServingMixin(App):
    """``run``, ``before_serving``, ``while_serving``, ``after_serving`` and
    ``add_background_task`` of the app."""

    #: At server startup (unless testing), move everything loaded so far
    #: (modules, the app and its routes: objects that live as long as the
    #: process) out of the garbage collector's sight, so its full collections
    #: stay short instead of showing up as latency spikes.
    freeze_gc_on_startup = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        #: Functions run at server startup (ASGI lifespan), in order.
        self.before_serving_funcs: list[t.Callable[[], t.Any]] = []
        #: Functions run at server shutdown, in reverse order.
        self.after_serving_funcs: list[t.Callable[[], t.Any]] = []
        #: Async generator functions run up to their ``yield`` at startup,
        #: and on from there at shutdown.
        self.while_serving_funcs: list[WhileServing] = []
        self._serving_gens: list[AsyncGenerator[t.Any, None]] = []
        #: The background tasks that have not finished yet.
        self.background_tasks: set[asyncio.Task[None]] = set()

    if t.TYPE_CHECKING:

        def app_context(self) -> AppContext: ...

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Serve the app with uvicorn (``127.0.0.1:5000`` by default). Extra
        keyword arguments go to ``uvicorn.run``. In debug mode an unhandled
        error shows its traceback in the browser. Does nothing when called
        by an ``asyncflask`` (or ``flask``) command importing the app."""
        import uvicorn

        from .debug import DebugTraceback

        if os.environ.get("FLASK_RUN_FROM_CLI") == "true":
            return
        if debug is not None:
            self.debug = bool(debug)
        options.setdefault("log_level", "debug" if self.debug else "info")
        app = t.cast("Flask", self)
        served = DebugTraceback(app, self.logger) if self.debug else app
        uvicorn.run(served, host=host or "127.0.0.1", port=port or 5000, **options)

    async def startup(self) -> None:
        """Run the ``before_serving`` functions, then the ``while_serving``
        generators up to their ``yield`` (ASGI lifespan startup)."""
        started: list[AsyncGenerator[t.Any, None]] = []
        async with self.app_context():
            for func in self.before_serving_funcs:
                await call_maybe_async(func)
            try:
                for gen_func in self.while_serving_funcs:
                    gen = gen_func()
                    try:
                        await gen.__anext__()
                    except StopAsyncIteration:
                        raise RuntimeError(
                            f"The while_serving function {gen_func.__qualname__!r}"
                            " returned without yielding."
                        ) from None
                    started.append(gen)
            except BaseException:
                for gen in reversed(started):
                    await gen.aclose()
                raise
        self._serving_gens = started
        if self.freeze_gc_on_startup and not self.testing:
            gc.collect()
            gc.freeze()

    async def shutdown(self) -> None:
        """Wait for the background tasks, then run the ``while_serving``
        generators past their ``yield`` and the ``after_serving`` functions,
        in reverse order (ASGI lifespan shutdown)."""
        await self._finish_background_tasks()
        gens, self._serving_gens = self._serving_gens, []
        async with self.app_context():
            for gen in reversed(gens):
                try:
                    await gen.__anext__()
                except StopAsyncIteration:
                    continue
                await gen.aclose()
                raise RuntimeError(
                    f"The while_serving generator {gen.__qualname__!r} yielded more than once."
                )
            for func in reversed(self.after_serving_funcs):
                await call_maybe_async(func)

    @setupmethod
    def before_serving(self, func: T) -> T:
        """Register ``func`` to run when the server starts, before the first
        request. A failure makes the server refuse to start."""
        self.before_serving_funcs.append(func)
        return func

    @setupmethod
    def after_serving(self, func: T) -> T:
        """Register ``func`` to run when the server shuts down."""
        self.after_serving_funcs.append(func)
        return func

    @setupmethod
    def while_serving(self, func: T) -> T:
        """Register an async generator function: what comes before its
        ``yield`` runs when the server starts, what comes after when it
        shuts down (one function for a resource opened and closed)."""
        self.while_serving_funcs.append(check_while_serving(func))
        return func

    def add_background_task(
        self, func: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any
    ) -> None:
        """Run ``func(*args, **kwargs)`` in a task of its own (a plain
        function in a worker thread) with an app context, outside the
        request: the response does not wait for it. Shutdown waits for the
        tasks (``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` seconds, then cancels
        them). An exception in a task is logged. Callable from async code
        and from plain views (which run in a worker thread)."""
        context = contextvars.copy_context()
        # the task sees the app, not the request that started it
        context.run(_cv_ctx.set, t.cast(t.Any, None))
        coro = self._run_background_task(func, args, kwargs)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            try:
                anyio.from_thread.run_sync(self._start_task, coro, context)
            except RuntimeError:
                coro.close()
                raise RuntimeError(
                    "add_background_task needs a running asyncio event loop: call it"
                    " from a view, a hook or a serving function."
                ) from None
        else:
            self._start_task(coro, context)

    def _start_task(
        self, coro: t.Coroutine[t.Any, t.Any, None], context: contextvars.Context
    ) -> None:
        task = asyncio.get_running_loop().create_task(coro, context=context)
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)

    async def _run_background_task(
        self, func: t.Callable[..., t.Any], args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> None:
        try:
            async with self.app_context():
                if is_async_callable(func):
                    await func(*args, **kwargs)
                else:
                    rv = await run_in_thread(func, *args, **kwargs)
                    if inspect.isawaitable(rv):
                        await rv
        except Exception:
            name = getattr(func, "__qualname__", repr(func))
            self.logger.exception(f"Exception in background task {name}")

    async def _finish_background_tasks(self) -> None:
        """Wait for the background tasks (also those they start meanwhile)
        until the timeout, then cancel those left."""
        if not self.background_tasks:
            return
        loop = asyncio.get_running_loop()
        timeout = self.config.get(
            "BACKGROUND_TASK_SHUTDOWN_TIMEOUT", DEFAULT_BACKGROUND_TASK_SHUTDOWN_TIMEOUT
        )
        deadline = None if timeout is None else loop.time() + timeout
        while self.background_tasks:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                break
            await asyncio.wait(set(self.background_tasks), timeout=remaining)
        left = set(self.background_tasks)
        if left:
            self.logger.warning(
                f"Cancelling {len(left)} background task(s) still running after"
                f" {timeout} seconds at shutdown"
            )
            for task in left:
                task.cancel()
            await asyncio.wait(left)


def check_while_serving(func: T) -> T:
    """``func``, if it is an async generator function; else a ``TypeError``."""
    if not inspect.isasyncgenfunction(func):
        raise TypeError(
            "while_serving takes an async generator function ('async def' with"
            f" one 'yield'), not {func!r}."
        )
    return func
