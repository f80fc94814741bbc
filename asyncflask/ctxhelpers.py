"""The functions of Flask's ``flask.ctx`` besides its classes: whether a
context is active, ``after_this_request`` and the ``copy_current_*``
wrappers that carry a context into another task or thread (also
importable from :mod:`asyncflask.ctx`)."""

from __future__ import annotations

import asyncio
import functools
import typing as t

from .globals import _cv_ctx, _find_request_ctx
from .utils import async_callable, call_maybe_async, caller_awaits, wait_for
from .websocket import has_websocket_context

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

__all__ = [
    "after_this_request",
    "copy_current_app_context",
    "copy_current_request_context",
    "copy_current_websocket_context",
    "has_app_context",
    "has_request_context",
]


def has_request_context() -> bool:
    """``True`` inside a request (where ``request`` can be used)."""
    return _find_request_ctx() is not None


def has_app_context() -> bool:
    """``True`` inside an application context (where ``current_app`` works)."""
    return _cv_ctx.get(None) is not None


def after_this_request(f: F) -> F:
    """Run ``f(response)`` after this request, before the app's
    ``after_request`` functions. It may be sync or async."""
    ctx = _find_request_ctx()
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request"
            " context is active, such as in a view function."
        )
    if isinstance(ctx._after_request_functions, tuple):
        ctx._after_request_functions = []
    ctx._after_request_functions.append(f)
    return f


def copy_current_request_context(f: F) -> F:
    """Wrap ``f`` so that it runs in a copy of the current request context:
    in a task started with ``asyncio.create_task`` (an ``async def`` ``f``),
    or in another thread (a plain ``f``). As in Flask, plain code that calls
    the wrapper of an ``async def`` ``f``, from a thread, gets its value
    (see ``asyncflask.utils.wait_for``); async code gets the coroutine."""
    ctx = _find_request_ctx()
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a"
            " request context is active, such as in a view function."
        )
    return _run_in(ctx.copy(), f)


def _run_in(ctx: t.Any, f: F) -> F:
    """``f`` wrapped to run with ``ctx`` as the current context."""
    if not async_callable(f):  # (not cached: f is often made per request)

        @functools.wraps(f)
        def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
            token = _cv_ctx.set(ctx)
            try:
                return f(*args, **kwargs)
            finally:
                _cv_ctx.reset(token)

        return call  # type: ignore[return-value]

    async def run(*args: t.Any, **kwargs: t.Any) -> t.Any:
        token = _cv_ctx.set(ctx)
        try:
            return await f(*args, **kwargs)
        finally:
            _cv_ctx.reset(token)

    loop = _running_loop()

    @functools.wraps(f)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if caller_awaits():
            return run(*args, **kwargs)
        return wait_for(run(*args, **kwargs), loop)

    return wrapper  # type: ignore[return-value]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def copy_current_app_context(f: F) -> F:
    """Wrap ``f`` so that it runs in an app context of the current app that
    shares the current ``g`` (and no request), for example in a task
    started with ``asyncio.create_task``. Each call pushes a new one, which
    its ``teardown_appcontext`` functions end. The wrapped function is a
    coroutine function."""
    ctx = _cv_ctx.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_app_context' can only be used when an app context"
            " is active, such as in a view function or in 'app.app_context()'."
        )
    app, g = ctx.app, ctx.g

    @functools.wraps(f)
    async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        # pushed outside any request, as in a task of its own
        token = _cv_ctx.set(t.cast(t.Any, None))
        app_ctx = app.app_context()
        app_ctx.g = g
        try:
            async with app_ctx:
                return await call_maybe_async(f, *args, **kwargs)
        finally:
            _cv_ctx.reset(token)

    return wrapper  # type: ignore[return-value]


def copy_current_websocket_context(f: F) -> F:
    """Wrap ``f`` so that it runs in a copy of the current websocket
    context (``websocket``, ``session``, ``g``), for example in a task that
    sends messages while the view receives; wrapped as
    :func:`copy_current_request_context` wraps."""
    if not has_websocket_context():
        raise RuntimeError(
            "'copy_current_websocket_context' can only be used when a websocket"
            " context is active, such as in a websocket view."
        )
    return copy_current_request_context(f)
