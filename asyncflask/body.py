"""A request's body (:class:`Body`): read from the server as the consumer
asks, within the size limit and the deadline, and kept once read whole.

Also the one choice every body read makes (:func:`awaitable_or_value`):
code that can await gets an awaitable, plain code the value when it can be
had without waiting.
"""

from __future__ import annotations

import sys
import typing as t
from collections.abc import AsyncIterator, Awaitable, Generator

from werkzeug.exceptions import RequestEntityTooLarge

from .deadline import BodyDeadline
from .globals import _cv_ctx, _Proxy
from .utils import ASYNC_CODE

if t.TYPE_CHECKING:
    from .typing import ASGIReceive

T = t.TypeVar("T")

__all__ = ["Body", "BodyLimits", "ClientDisconnected", "awaitable_or_value"]

#: A read stopped with more than this left (in bytes) closes the connection
#: rather than have the server drain the rest.
_DRAIN_LIMIT = 8 * 1024 * 1024
#: ``BODY_TIMEOUT`` when the config does not set it, in seconds.
DEFAULT_BODY_TIMEOUT = 60.0
_UNSET: t.Any = object()
_PROXY_CODE = _Proxy.__getattribute__.__code__
_getframe = sys._getframe

_HOW_TO_LOAD = (
    "Code that cannot await (a plain function, a template, an extension) can"
    " use it once the body is loaded: call (await request.load_body()) first,"
    " decorate the view with @load_body, or set LOAD_REQUEST_BODY = True in"
    " the app's config."
)


def _awaits(frame: t.Any) -> int:
    """Whether the code of ``frame`` (or, for asyncflask's ``request`` proxy,
    of its caller) is a coroutine, which gets an awaitable, rather than a
    plain function, which gets a value."""
    return (
        t.cast(int, (frame.f_back if frame.f_code is _PROXY_CODE else frame).f_code.co_flags)
        & ASYNC_CODE
    )


#: What a ``ready`` function of :func:`awaitable_or_value` returns when the
#: value needs the body read first.
NOT_READY: t.Any = object()


class _Awaitable(t.Generic[T]):
    """What ``request.form`` and friends return: ``await`` it for the value.

    Using it like the value itself fails with a message that says so, since
    forgetting ``await`` is the first thing a Flask user moving code does
    (and code that cannot await gets it before the body is loaded).
    """

    __slots__ = ("_args", "_load", "_name")

    def __init__(
        self, name: str, load: t.Callable[..., Awaitable[T]], args: tuple[t.Any, ...] = ()
    ) -> None:
        self._name = name
        self._load = load
        self._args = args

    def __await__(self) -> Generator[t.Any, None, T]:
        return self._load(*self._args).__await__()

    def _fail(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise TypeError(
            f"request.{self._name} reads the body and must be awaited:"
            f" use (await request.{self._name}). {_HOW_TO_LOAD}"
        )

    __getattr__ = __getitem__ = __contains__ = __iter__ = __len__ = _fail
    __bool__ = _fail


def awaitable_or_value(
    name: str,
    ready: t.Callable[..., t.Any],
    load: t.Callable[..., t.Any],
    *args: t.Any,
) -> _Awaitable[T]:
    """What a body read gives the code that used it (``request.form``,
    ``get_json()``, ...: the property or method that calls this), by
    ``name`` (a method's ends in ``()``). Plain code gets ``ready(*args)``,
    the value when it can be had without waiting, else (``NOT_READY``) an
    awaitable that refuses every use with a message that says what to do:
    never a coroutine. A coroutine gets ``load(*args)`` to await: from a
    method, the coroutine itself, as any async method gives; from a
    property, that awaitable, so that a forgotten ``await`` is explained.
    (Typed as what coroutines get.)"""
    caller: t.Any = _getframe(2)  # (_awaits, inlined)
    if (caller.f_back if caller.f_code is _PROXY_CODE else caller).f_code.co_flags & ASYNC_CODE:
        if name[-1] == ")":
            coroutine: _Awaitable[T] = load(*args)
            return coroutine
    else:
        value: _Awaitable[T] = ready(*args)
        if value is not NOT_READY:
            return value
    return _Awaitable(name, load, args)


def decode(data: bytes, charset: str | None) -> str:
    """A body as text, in the charset the client named, bad bytes replaced;
    an unknown (or non-text) charset means UTF-8."""
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, TypeError):
        return data.decode("utf-8", "replace")


class ClientDisconnected(Exception):
    """The client went away before the request body was read completely.

    Raised by every body read (``request.stream``, ``get_data``, ``form``,
    ...). The framework handles it quietly: nothing is sent and no error is
    logged, so views need not catch it unless they want to clean up.
    """


class Body:
    """One request's body, as ``request.stream``: ``async for chunk in
    request.stream`` reads it as it arrives, only as fast as the loop asks;
    ``await request.stream`` reads it whole and keeps it (what ``get_data()``
    gives). It is read from the server once: a second read of a body not
    kept is a ``RuntimeError``.

    ``limit`` (``max_content_length``) applies to the declared length
    before anything is read and to the bytes received (413); ``timeout``
    (``body_timeout``) is how long the whole body may take (408). The
    request sets both from its own until the read starts. A client that
    goes away raises :class:`ClientDisconnected`.
    """

    __slots__ = (
        "_deadline",
        "_receive",
        "_unsized",
        "data",
        "done",
        "length",
        "limit",
        "received",
        "started",
        "taken",
        "timeout",
    )

    def __init__(self, receive: ASGIReceive | None, length: int | None, unsized: bool) -> None:
        self._receive = receive
        #: The declared length (``None`` when chunked or unknown).
        self.length = length
        # a body may come without a declared length (chunked, HTTP/2 or 3)
        self._unsized = unsized
        self.limit: int | None = None
        self.timeout: float | None = None
        self.started = self.done = self.taken = False
        self.received = 0
        self._deadline: BodyDeadline | None = None
        #: The whole body once kept.
        self.data: bytes | None = None

    # -- what can be had without reading ---------------------------------------

    def kept(self) -> bytes | None:
        """The body when it can be had without reading (kept, taken by the
        form parser, or read to its end), else ``None``."""
        if self.data is not None:
            return self.data
        if self.taken or (self.started and self.done):
            return b""
        return None

    def ready(self) -> bytes | None:
        """:meth:`kept`, or ``b""`` for a body known to be empty (nothing to
        receive, or HTTP/1 without ``Content-Length`` or
        ``Transfer-Encoding``): what code that cannot await may have."""
        data = self.kept()
        if data is None and (self._receive is None or not (self.length or self._unsized)):
            return b""
        return data

    def abandoned(self) -> bool:
        """``True`` when reading stopped before the end (a 413, a malformed
        form) and what is left is large or of unknown size: the connection
        should then close rather than have the server read the rest. A small
        known remainder is left for the server to drain, so a client that
        sends its whole body before reading gets the answer."""
        if not self.started or self.done:
            return False
        if self._deadline is not None and self._deadline.expired:
            return True
        length = self.length
        return length is None or length - self.received > _DRAIN_LIMIT

    def set_timeout(self, seconds: float | None) -> None:
        """Change ``timeout``; during a read, a new deadline starts now."""
        self.timeout = seconds
        if self.started and not self.done:
            self._deadline = None if seconds is None else BodyDeadline(seconds)

    # -- reading -------------------------------------------------------------

    def _start(self) -> int | None:
        """Mark the body as being read and return the size limit; a declared
        length over it is refused before anything is read."""
        if self.started:
            raise RuntimeError(
                "The request body was already read. Use get_data() (which"
                " caches) before reading it again."
            )
        self.started = True
        limit, length = self.limit, self.length
        if limit is not None and length is not None and length > limit:
            raise RequestEntityTooLarge()
        # no timer for a request without a body
        if (length or (length is None and self._unsized)) and self.timeout is not None:
            self._deadline = BodyDeadline(self.timeout)
        return limit

    async def _next_chunk(self, limit: int | None) -> tuple[bytes, bool]:
        """The next piece of the body and whether more follows."""
        receive: t.Any = self._receive
        deadline = self._deadline
        message = await (receive() if deadline is None else deadline.receive(receive))
        if message["type"] == "http.disconnect":
            self.done = True
            raise ClientDisconnected()
        chunk: bytes = message.get("body", b"")
        self.received += len(chunk)
        if limit is not None and self.received > limit:
            raise RequestEntityTooLarge()
        more: bool = message.get("more_body", False)
        if not more:
            self.done = True
        return chunk, more

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self.data is not None:
            if self.data:
                yield self.data
            return
        limit = self._start()
        if self._receive is None:
            self.done = True
            return
        more = True
        while more:
            chunk, more = await self._next_chunk(limit)
            if chunk:
                yield chunk

    async def read(self) -> bytes:
        """The rest of the body as one bytes object (not kept)."""
        return b"".join([chunk async for chunk in self])

    async def _read_all(self) -> bytes:
        limit = self._start()
        if self._receive is None:
            self.done = True
            return b""
        chunk, more = await self._next_chunk(limit)
        if not more:
            return chunk
        chunks = [chunk]
        while more:
            chunk, more = await self._next_chunk(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def get(self, keep: bool = True) -> bytes:
        """The whole body: kept already, or read now (and kept unless
        ``keep`` is false)."""
        data = self.kept()
        if data is None:
            data = await self._read_all()
            if keep:
                self.data = data
        return data

    def __await__(self) -> Generator[t.Any, None, bytes]:
        return self.get().__await__()


class BodyLimits:
    """The limits a request's body is read within, each from the app's
    config unless set on the request (as in Flask); set before the read
    starts, they apply to it, and ``body_timeout`` also during it."""

    _max_content_length: int | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None
    _body_timeout: float | None = _UNSET
    #: The body, once something asked for it.
    _body: Body | None

    def _config(self, key: str, default: t.Any) -> t.Any:
        ctx = _cv_ctx.get(None)
        return ctx.app.config[key] if ctx is not None else default

    @property
    def max_content_length(self) -> int | None:
        """Most bytes the body may have (``MAX_CONTENT_LENGTH``); settable."""
        if self._max_content_length is not None:
            return self._max_content_length
        limit: int | None = self._config("MAX_CONTENT_LENGTH", None)
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
        if self._body is not None and not self._body.started:
            self._body.limit = self.max_content_length

    @property
    def max_form_memory_size(self) -> int | None:
        """Most bytes of one non-file form field (``MAX_FORM_MEMORY_SIZE``);
        settable."""
        if self._max_form_memory_size is not None:
            return self._max_form_memory_size
        return t.cast("int | None", self._config("MAX_FORM_MEMORY_SIZE", 500_000))

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    @property
    def max_form_parts(self) -> int | None:
        """Most fields a multipart body may have (``MAX_FORM_PARTS``);
        settable."""
        if self._max_form_parts is not None:
            return self._max_form_parts
        return t.cast("int | None", self._config("MAX_FORM_PARTS", 1_000))

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    @property
    def body_timeout(self) -> float | None:
        """Seconds the whole body may take to arrive before the request is
        answered with 408 (``BODY_TIMEOUT``, 60 by default; ``None`` for no
        limit). Settable, also while the body is being read: a view that
        streams a long upload sets ``request.body_timeout = None``."""
        if self._body_timeout is not _UNSET:
            return self._body_timeout
        ctx = _cv_ctx.get(None)
        if ctx is None:
            return None
        timeout: float | None = ctx.app.config.get("BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT)
        return timeout

    @body_timeout.setter
    def body_timeout(self, value: float | None) -> None:
        self._body_timeout = value
        if self._body is not None:
            self._body.set_timeout(value)
