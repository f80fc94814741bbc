"""Type aliases for ASGI callables and view return values."""

from __future__ import annotations

import typing as t
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping

from werkzeug.datastructures import Headers

if t.TYPE_CHECKING:
    from .response import Response

Scope = dict[str, t.Any]
Message = dict[str, t.Any]
ASGIReceive = Callable[[], Awaitable[Message]]
ASGISend = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, ASGIReceive, ASGISend], Awaitable[None]]

HeaderValue = str | list[str] | tuple[str, ...]
HeadersValue = (
    Headers
    | Mapping[str, HeaderValue]
    | list[tuple[str, HeaderValue]]
    | tuple[tuple[str, HeaderValue], ...]
)
ResponseValue = t.Union[
    "Response",
    str,
    bytes,
    bytearray,
    list[t.Any],
    dict[str, t.Any],
    Iterable[str],
    Iterable[bytes],
    AsyncIterable[str],
    AsyncIterable[bytes],
]
StatusValue = int | str
ResponseReturnValue = (
    ResponseValue
    | tuple[ResponseValue, HeadersValue]
    | tuple[ResponseValue, StatusValue]
    | tuple[ResponseValue, StatusValue, HeadersValue]
)
