"""Small helpers shared by the modules: calling sync or async functions,
building multi-dicts, quoting a URL for a header."""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
import sys
import typing as t
from types import MethodType

import anyio.from_thread
import anyio.to_thread
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

T = t.TypeVar("T")
M = t.TypeVar("M", bound=MultiDict[t.Any, t.Any])

_CONTROLS = re.compile("[\x00-\x1f\x7f]")


def quote_controls(url: str) -> str:
    """``url`` with its control characters (CR, LF, NUL, ...) percent-encoded,
    so that it can be a header value."""
    if _CONTROLS.search(url) is None:
        return url
    return _CONTROLS.sub(lambda m: f"%{ord(m.group()):02X}", url)


class lazy(t.Generic[T]):
    """A property computed on first read and then kept as a plain instance
    attribute, which later reads find directly (Werkzeug's
    ``cached_property`` runs Python code on every read). It can be set and
    deleted like any attribute."""

    def __init__(self, func: t.Callable[[t.Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    @t.overload
    def __get__(self, obj: None, owner: type | None = None) -> lazy[T]: ...
    @t.overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> T | lazy[T]:
        if obj is None:
            return self
        value = self.func(obj)
        setattr(obj, self.name, value)
        return value


def multidict(cls: type[M], pairs: t.Iterable[tuple[str, t.Any]]) -> M:
    """``cls(pairs)``; Werkzeug's own ``MultiDict`` classes, which keep a
    list of values per key, are filled directly (a third of the time)."""
    if cls is not ImmutableMultiDict and cls is not MultiDict:
        return cls(pairs)
    lists: dict[str, list[t.Any]] = {}
    for key, value in pairs:
        lists.setdefault(key, []).append(value)
    return _filled(cls, lists)


def query_multidict(cls: type[M], query: str) -> M:
    """The arguments of a query string that has nothing to unquote, split
    as ``parse_qsl(query, keep_blank_values=True)`` would, in ``cls``."""
    if cls is not ImmutableMultiDict and cls is not MultiDict:
        return cls(part.partition("=")[::2] for part in query.split("&") if part)
    result: M = dict.__new__(cls)  # its __init__ does nothing more for no arguments
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            if key in result:
                dict.__getitem__(result, key).append(value)
            else:
                dict.__setitem__(result, key, [value])
    return result


def _filled(cls: type[M], lists: dict[str, list[t.Any]]) -> M:
    # their __init__ does nothing more for an empty mapping
    result: M = dict.__new__(cls)
    dict.update(result, lists)
    return result


#: The flags of code that runs as a coroutine, and can await.
ASYNC_CODE = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR


def caller_awaits() -> bool:
    """Whether the code that called the caller of this is a coroutine (and
    can take an awaitable) rather than plain code (which needs a value)."""
    return bool(sys._getframe(2).f_code.co_flags & ASYNC_CODE)


def async_callable(func: t.Callable[..., t.Any]) -> bool:
    """Whether calling ``func`` returns an awaitable (``async def`` or an
    object whose ``__call__`` is ``async def``)."""
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004
    )


def wraps_async(func: t.Callable[..., t.Any]) -> bool:
    """Whether ``func`` is a plain function wrapping (``functools.wraps``)
    an async one, as a decorator written for Flask does."""
    inner = inspect.unwrap(func)
    return inner is not func and async_callable(inner)


_cached_async_callable = functools.lru_cache(maxsize=4096)(async_callable)


def is_async_callable(func: t.Callable[..., t.Any]) -> bool:
    """:func:`async_callable`, remembered. A bound method is remembered by
    its function: the method holds its object, which the cache would keep
    alive (a class-based view makes one per request)."""
    if type(func) is MethodType:
        func = func.__func__
    return _cached_async_callable(func)


@functools.lru_cache(maxsize=4096)
def _decorated_plain(func: t.Callable[..., t.Any]) -> bool:
    return not async_callable(func) and inspect.unwrap(func) is not func


def runs_in_thread(func: t.Callable[..., t.Any]) -> bool:
    """Whether ``func`` is a plain function made by a decorator
    (``functools.wraps``): such code, an extension's above all, may call
    ``current_app.ensure_sync(...)`` and needs a value back, which only a
    worker thread can wait for. Other plain functions run on the loop.
    Remembered as :func:`is_async_callable` is."""
    if type(func) is MethodType:
        func = func.__func__
    return _decorated_plain(func)


def finish_unsuspended(coro: t.Coroutine[t.Any, t.Any, T], what: str | None = None) -> T:
    """Run a coroutine to its end from code that cannot await, which works
    when it never has to wait; a ``TypeError`` (the coroutine closed) if it
    does. ``what`` names it, and the fix, in the error."""
    try:
        coro.send(None)
    except StopIteration as e:
        return t.cast(T, e.value)
    coro.close()
    raise TypeError(
        f"{what or getattr(coro, '__qualname__', coro)} is async and had to wait, but"
        " it was called by plain code on the event loop, which cannot wait for it."
        " Make the calling function 'async def' and await it, or call it from a"
        " plain 'def' view (which runs in a worker thread)."
    )


def wait_for(
    coro: t.Coroutine[t.Any, t.Any, T],
    loop: asyncio.AbstractEventLoop | None = None,
    what: str | None = None,
) -> T:
    """The value of ``coro`` for code that cannot await, as Flask's
    ``async_to_sync`` gives it: from a worker thread, the coroutine runs on
    the event loop (``loop``, or the one that started the thread) while the
    thread waits; on the loop's own thread, only a coroutine that never has
    to wait can finish (else a ``TypeError`` names ``what`` and says why);
    with no loop at all, on a new one. Never the coroutine itself."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return finish_unsuspended(coro, what)
    try:
        return anyio.from_thread.run(_awaited, coro)
    except anyio.NoEventLoopError:
        pass
    if loop is not None and loop.is_running():
        return asyncio.run_coroutine_threadsafe(coro, loop).result()
    return asyncio.run(coro)


async def _awaited(coro: t.Awaitable[T]) -> T:
    return await coro


def async_to_sync(func: t.Callable[..., t.Awaitable[T]]) -> t.Callable[..., T]:
    """A plain function that calls the async ``func`` and returns its value
    (see :func:`wait_for`)."""

    @functools.wraps(func)
    def run(*args: t.Any, **kwargs: t.Any) -> T:
        rv = func(*args, **kwargs)
        coro: t.Coroutine[t.Any, t.Any, T] = rv if inspect.iscoroutine(rv) else _awaited(rv)
        return wait_for(coro)

    return run


async def call_maybe_async(func: t.Callable[..., t.Any], *args: t.Any, **kw: t.Any) -> t.Any:
    """Call ``func`` and await its result if it is awaitable: on the event
    loop, or in a worker thread for a plain function made by a decorator
    (see :func:`runs_in_thread`)."""
    if runs_in_thread(func):
        rv = await run_in_thread(func, *args, **kw)
    else:
        rv = func(*args, **kw)
    if inspect.isawaitable(rv):
        return await rv
    return rv


async def run_in_thread(func: t.Callable[..., T], *args: t.Any, **kw: t.Any) -> T:
    """Run a blocking ``func`` in a worker thread with the context copied."""
    if kw:
        func = functools.partial(func, **kw)
    return await anyio.to_thread.run_sync(func, *args)


def run_sync_only(func: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
    """Call ``func`` where nothing can be awaited (a plain ``with`` block)."""
    rv = func(*args)
    if inspect.isawaitable(rv):
        if inspect.iscoroutine(rv):
            rv.close()
        raise TypeError(
            f"{func!r} is async: use 'async with' instead of 'with' so it can be awaited."
        )
    return rv


E = t.TypeVar("E", bound=BaseException)


def without_traceback(error: E) -> E:
    """``error`` with its traceback dropped, and those of the exceptions it
    was raised from or while handling: their frames would hold the request
    (and the app) in a reference cycle once it has been dealt with."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
    return error
