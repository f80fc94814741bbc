"""Conditional requests and ranges for a response (Werkzeug's
``add_etag`` and ``make_conditional``): a mixin of
:class:`~asyncflask.Response`."""

from __future__ import annotations

import typing as t
from collections.abc import AsyncIterable, Iterable

from werkzeug.datastructures import ContentRange, EnvironHeaders, Headers
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import generate_etag, parse_etags, parse_range_header
from werkzeug.sansio.http import is_resource_modified
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.wsgi import _RangeWrapper

if t.TYPE_CHECKING:
    from .request import Request

__all__ = ["ConditionalMixin"]


class ConditionalMixin(SansIOResponse):
    """``add_etag`` and ``make_conditional``, over the response's buffered
    body (or a sync one of known length)."""

    response: list[bytes] | Iterable[str | bytes] | AsyncIterable[str | bytes]

    if t.TYPE_CHECKING:

        def get_data(self, as_text: bool = False) -> t.Any: ...
        def set_data(self, value: str | bytes | bytearray) -> None: ...

    def add_etag(self, overwrite: bool = False, weak: bool = False) -> None:
        """Set an ``ETag`` computed from the (buffered) body."""
        if overwrite or "etag" not in self.headers:
            self.set_etag(generate_etag(self.get_data()), weak)

    def make_conditional(
        self,
        request_or_environ: Request | dict[str, t.Any],
        accept_ranges: bool | str = False,
        complete_length: int | None = None,
    ) -> t.Self:
        """Answer a conditional ``GET``/``HEAD`` (given the request or a WSGI
        environ), as Werkzeug does: 304 (or 412 with ``If-Match``) when the
        resource is not modified, 206 for a satisfiable single ``Range`` of a
        buffered body or of a sync one with ``complete_length`` (a file from
        Flask's ``send_file``), 416 for an unsatisfiable one. Returns
        ``self``. (Unlike Werkzeug's, it adds no ``Date``: ASGI servers add
        one to every response.)"""
        if isinstance(request_or_environ, dict):
            method = request_or_environ.get("REQUEST_METHOD")
            headers: Headers | EnvironHeaders = EnvironHeaders(request_or_environ)
        else:
            method, headers = request_or_environ.method, request_or_environ.headers
        if method not in ("GET", "HEAD"):
            return self
        if accept_ranges:
            self.accept_ranges = "bytes" if accept_ranges is True else accept_ranges
        is206 = False
        if accept_ranges and not isinstance(self.response, AsyncIterable):
            is206 = self._range_of_body(headers, complete_length)
        if not is206 and not is_resource_modified(
            http_range=headers.get("Range"),
            http_if_range=headers.get("If-Range"),
            http_if_modified_since=headers.get("If-Modified-Since"),
            http_if_none_match=headers.get("If-None-Match"),
            http_if_match=headers.get("If-Match"),
            etag=self.headers.get("ETag"),
            last_modified=self.headers.get("Last-Modified"),
        ):
            self.status_code = 412 if parse_etags(headers.get("If-Match")) else 304
        return self

    def _range_of_body(
        self, headers: Headers | EnvironHeaders, complete_length: int | None
    ) -> bool:
        value = headers.get("Range")
        buffered = isinstance(self.response, list)
        if value is None or "," in value or not (buffered or complete_length):
            return False
        data = self.get_data() if buffered else b""
        length = complete_length if complete_length is not None else len(data)
        if not length:
            return False
        if headers.get("If-Range") is not None and is_resource_modified(
            http_range=value,
            http_if_range=headers.get("If-Range"),
            etag=self.headers.get("ETag"),
            last_modified=self.headers.get("Last-Modified"),
            ignore_if_range=False,
        ):
            return False
        parsed = parse_range_header(value)
        span = parsed.range_for_length(length) if parsed is not None else None
        if span is None:
            raise RequestedRangeNotSatisfiable(length)
        start, end = span
        if buffered:
            self.set_data(data[start:end])
        else:
            self.response = _RangeWrapper(
                t.cast(Iterable[bytes], self.response), start, end - start
            )
            self.content_length = end - start
        self.content_range = ContentRange("bytes", start, end, length)
        self.status_code = 206
        return True
