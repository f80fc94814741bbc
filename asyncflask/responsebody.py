"""Werkzeug's API for a response body (``iter_encoded``, ``freeze``,
``close``, ``call_on_close``...), which Flask extensions use from code that
cannot await: a mixin of :class:`~asyncflask.Response`."""

from __future__ import annotations

import asyncio
import inspect
import typing as t
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

import anyio
import anyio.from_thread

from .utils import is_async_callable, run_in_thread

if t.TYPE_CHECKING:
    from werkzeug.datastructures import Headers

__all__ = ["BodyMixin"]

_END = object()


class BodyMixin:
    """Werkzeug's body API, over the ``response`` attribute (a list of
    bytes when buffered, else a sync or async iterable)."""

    #: Set by ``send_file``: the body is a file, not to be read into memory
    #: by ``get_data()`` (Werkzeug's attribute; compression turns it off).
    direct_passthrough = False
    #: Whether ``get_data()`` may read a sync iterable body into a list.
    implicit_sequence_conversion = True
    _on_close: list[t.Callable[[], t.Any]] | tuple[()] = ()

    response: list[bytes] | Iterable[str | bytes] | AsyncIterable[str | bytes]
    headers: Headers

    if t.TYPE_CHECKING:  # the response's own

        def encode_chunk(self, item: t.Any) -> bytes: ...
        def add_etag(self, overwrite: bool = False, weak: bool = False) -> None: ...

    def _ensure_sequence(self) -> None:
        if isinstance(self.response, list):
            return
        if isinstance(self.response, AsyncIterable):
            raise RuntimeError(
                "The body of a response with an async iterable cannot be"
                " read synchronously; it is produced while it is sent."
            )
        if self.direct_passthrough:
            raise RuntimeError(
                "Attempted implicit sequence conversion but the response"
                " object is in direct passthrough mode."
            )
        if not self.implicit_sequence_conversion:
            raise RuntimeError(
                "The response object required the iterable to be a sequence,"
                " but the implicit conversion was disabled. Call"
                " make_sequence() yourself."
            )
        self.make_sequence()

    def make_sequence(self) -> None:
        """Read a sync iterable body into a list (the iterable is closed
        once the response has been sent or closed)."""
        if not isinstance(self.response, list):
            self.response = list(self.iter_encoded())

    def iter_encoded(self) -> Iterator[bytes]:
        """The body as an iterator of bytes. For an async body it can be
        pulled from a worker thread (as a body wrapped by a Flask extension
        is, while it is sent), not from the event loop's thread."""
        body = self.response
        if isinstance(body, AsyncIterable):
            bridge = _AsyncBody(body, self.encode_chunk)
            self.call_on_close(bridge.aclose)
            return bridge
        close = getattr(body, "close", None)
        if close is not None:  # whoever takes the items may not close it
            self.call_on_close(close)
        encode = self.encode_chunk
        return (item if type(item) is bytes else encode(item) for item in body)

    def freeze(self) -> None:
        """Read the whole body into memory, set ``Content-Length`` and an
        ``ETag``, as Werkzeug does."""
        self.response = list(self.iter_encoded())
        self.headers["Content-Length"] = str(sum(map(len, self.response)))
        self.add_etag()

    def call_on_close(self, func: t.Callable[[], t.Any]) -> t.Callable[[], t.Any]:
        """Call ``func`` once the response has been sent (or closed): a
        plain one in a worker thread, an async one awaited. Returns
        ``func``, to be a decorator."""
        if isinstance(self._on_close, tuple):
            self._on_close = []
        self._on_close.append(func)
        return func

    def close(self) -> None:
        """Close the body's iterable and call the :meth:`call_on_close`
        functions (async ones cannot be awaited here and are skipped)."""
        close = getattr(self.response, "close", None)
        if close is not None:
            close()
        funcs, self._on_close = self._on_close, ()
        for func in funcs:
            rv = func()
            if inspect.iscoroutine(rv):
                rv.close()

    def __enter__(self) -> t.Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def _run_on_close(self) -> None:
        funcs, self._on_close = self._on_close, ()
        with anyio.CancelScope(shield=True):
            for func in funcs:
                if is_async_callable(func):
                    await func()
                else:  # closing a file or a generator may block
                    await run_in_thread(func)


class _AsyncBody:
    """An async body as a sync iterator of bytes, for a worker thread:
    each item is fetched on the event loop while the thread waits."""

    def __init__(self, body: AsyncIterable[t.Any], encode: t.Callable[[t.Any], bytes]) -> None:
        self.body = body
        self.items: AsyncIterator[t.Any] | None = None
        self.encode = encode

    def __iter__(self) -> _AsyncBody:
        return self

    def __next__(self) -> bytes:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            try:
                item = anyio.from_thread.run(self._next)
            except anyio.NoEventLoopError:
                pass
            else:
                if item is _END:
                    raise StopIteration
                return item if type(item) is bytes else self.encode(item)
        raise RuntimeError(
            "This response's body is produced by async code: it can be read"
            " synchronously only from a worker thread (as while it is sent),"
            " not on the event loop. Use 'async for' over response.iter_chunks()."
        )

    async def _next(self) -> t.Any:
        if self.items is None:
            self.items = aiter(self.body)
        try:
            return await anext(self.items)
        except StopAsyncIteration:
            return _END

    async def aclose(self) -> None:
        """Close the body's async generator."""
        aclose = getattr(self.items or self.body, "aclose", None)
        if aclose is not None:
            await aclose()
