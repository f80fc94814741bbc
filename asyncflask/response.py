"""Response classes. Each one sends itself as ASGI messages."""

from __future__ import annotations

import inspect
import json
import logging
import typing as t
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from urllib.parse import urljoin

import anyio
from werkzeug.datastructures import Headers
from werkzeug.http import is_entity_header
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.sansio.utils import get_current_url
from werkzeug.urls import iri_to_uri
from werkzeug.utils import get_content_type

from .conditional import ConditionalMixin
from .globals import _cv_ctx
from .responsebody import BodyMixin
from .streaming import send_stream
from .typing import ASGIReceive, ASGISend, HeadersValue, Scope
from .utils import run_in_thread

if t.TYPE_CHECKING:
    from werkzeug.sansio.response import Response as _AnyResponse


__all__ = ["JSONResponse", "Response", "StreamingResponse", "from_werkzeug"]

logger = logging.getLogger("asyncflask")

Body = str | bytes | bytearray | Iterable[str | bytes] | AsyncIterable[str | bytes]
_NO_BODY = object()


def _encode(chunk: str | bytes | bytearray) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode()
    return bytes(chunk)


class Response(BodyMixin, ConditionalMixin, SansIOResponse):
    """An HTTP response, as Flask's: ``Response(response, status, headers,
    mimetype, content_type)`` with ``text/html`` as the default mimetype.

    ``response`` is ``str`` or ``bytes`` for a buffered body, or a sync or
    async iterable of chunks for a streamed one (see
    :class:`StreamingResponse`).
    """

    default_mimetype: str | None = "text/html"
    #: Make a relative ``Location`` header absolute (off, as in Flask).
    autocorrect_location_header = False
    #: Set ``Content-Length`` for buffered bodies.
    automatically_set_content_length = True
    #: For streamed bodies: ``(seconds, chunk)`` to send ``chunk`` whenever
    #: nothing was sent for that long (server-sent events' keep-alive).
    keepalive: tuple[float, bytes] | None = None

    response: list[bytes] | Iterable[str | bytes] | AsyncIterable[str | bytes]
    _headers: Headers | None
    _header_list: list[tuple[str, str]]

    def __init__(
        self,
        response: Body | None = None,
        status: int | str | None = None,
        headers: HeadersValue | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
        direct_passthrough: bool = False,
    ) -> None:
        if direct_passthrough:
            self.direct_passthrough = True
        if headers is None and content_type is None:
            # the common case, without Werkzeug's general header handling
            self._headers = None
            mimetype = mimetype or self.default_mimetype
            default_type = _CONTENT_TYPES.get(mimetype) or _content_type(mimetype)
            header_list = self._header_list = (
                [] if default_type is None else [("Content-Type", default_type)]
            )
            if status is None or status == 200:
                self._status_code = 200
                self._status = "200 OK"
            else:
                self.status = status
            if isinstance(response, (str, bytes)):
                data = response.encode() if isinstance(response, str) else response
                self.response = [data]
                if self.automatically_set_content_length:
                    header_list.append(("Content-Length", str(len(data))))
                return
        else:
            super().__init__(status, headers, mimetype, content_type)  # type: ignore[arg-type]
        if response is None:
            self.response = []
        elif isinstance(response, (str, bytes, bytearray)):
            self.set_data(response)
        elif isinstance(response, (list, tuple)):
            self.response = [_encode(chunk) for chunk in response]
        else:
            self.response = response

    @property
    def headers(self) -> Headers:
        """The response headers (made on first use)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = _new_headers(Headers)
            headers._list = self._header_list
        return headers

    @headers.setter
    def headers(self, value: Headers) -> None:
        self._headers = value
        self._header_list = value._list

    # -- the body ------------------------------------------------------------

    @property
    def is_sequence(self) -> bool:
        """``True`` when the body is buffered in memory."""
        return isinstance(self.response, list)

    @property
    def is_streamed(self) -> bool:
        """``True`` when the body is produced while it is sent."""
        return not self.is_sequence

    def get_data(self, as_text: bool = False) -> t.Any:
        """The body as bytes (or text). A sync iterable is consumed and kept
        (not with ``direct_passthrough``); an async one cannot be read
        here and raises ``RuntimeError``."""
        self._ensure_sequence()
        data = b"".join(t.cast(list[bytes], self.response))
        return data.decode() if as_text else data

    def set_data(self, value: str | bytes | bytearray) -> None:
        """Replace the body (and set ``Content-Length``)."""
        data = _encode(value)
        self.response = [data]
        if self.automatically_set_content_length:
            self.headers["Content-Length"] = str(len(data))

    @property
    def data(self) -> bytes:
        """The body as bytes; assigning sets it."""
        return t.cast(bytes, self.get_data())

    @data.setter
    def data(self, value: str | bytes) -> None:
        self.set_data(value)

    def calculate_content_length(self) -> int | None:
        """The body's length if it is buffered, else ``None``."""
        if isinstance(self.response, list):
            return sum(len(chunk) for chunk in self.response)
        return None

    def get_json(self, force: bool = False, silent: bool = False) -> t.Any:
        """Parse the body as JSON (``None`` if the mimetype is not JSON)."""
        if not (force or self.is_json):
            return None
        try:
            ctx = _cv_ctx.get(None)
            data = self.get_data()
            return ctx.app.json.loads(data) if ctx is not None else json.loads(data)
        except ValueError:
            if not silent:
                raise
            return None

    @property
    def json(self) -> t.Any:
        """The body parsed as JSON, as :meth:`get_json`."""
        return self.get_json()

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]
        """``MAX_COOKIE_SIZE`` from the current app's config (4093 without one)."""
        ctx = _cv_ctx.get(None)
        if ctx is not None:
            return t.cast(int, ctx.app.config["MAX_COOKIE_SIZE"])
        return 4093

    # -- sending -------------------------------------------------------------

    def asgi_headers(self, scope: Scope | None = None) -> list[tuple[bytes, bytes]]:
        """The headers as ASGI wants them, fixed up as Werkzeug does for WSGI:
        IRIs in ``Location`` made URIs, no ``Content-Length`` on 1xx/204, no
        entity headers on 304, and ``Content-Length`` for buffered bodies."""
        status = self._status_code
        has_body = 200 <= status != 204 and status != 304
        header_list = self._header_list
        if has_body and self._headers is None and len(header_list) == 2:
            # untouched since __init__ made them: Content-Type, Content-Length
            (_, content_type), (_, length) = header_list
            encoded = _ENCODED_TYPES.get(content_type) or content_type.encode("latin-1")
            return [(b"content-type", encoded), (b"content-length", length.encode())]
        has_length = False
        raw: list[tuple[bytes, bytes]] = []
        for key, value in header_list:
            name = _NAMES.get(key) or _header_name(key)
            if name in _SPECIAL or not has_body:
                if not has_body and _dropped(name, key, status):
                    continue
                if name == b"content-length":
                    has_length = True
                else:
                    value = self._fix_uri(name, value, scope)
            raw.append((name, value.encode("latin-1")))
        if (
            has_body
            and not has_length
            and self.automatically_set_content_length
            and isinstance(self.response, list)
        ):
            total = sum(len(chunk) for chunk in self.response)
            raw.append((b"content-length", str(total).encode()))
        return raw

    def _fix_uri(self, name: bytes, value: str, scope: Scope | None) -> str:
        if name == b"location":
            return self._fix_location(value, scope)
        if name == b"content-location":
            return iri_to_uri(value)
        return value

    def _fix_location(self, value: str, scope: Scope | None) -> str:
        value = iri_to_uri(value)
        if self.autocorrect_location_header and scope is not None:
            from .request import Request

            req = Request(scope)
            current = get_current_url(req.scheme, req.host, req.root_path, req.path)
            value = urljoin(iri_to_uri(current), value)
        return value

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        """Send this response: ``http.response.start`` and the body."""
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self._status_code,
                    "headers": self.asgi_headers(scope),
                }
            )
            body = self.response
            status = self._status_code
            if scope["method"] == "HEAD" or status < 200 or status == 204 or status == 304:
                await send({"type": "http.response.body", "body": b""})
                await self.aclose_body()
            elif isinstance(body, list):
                data = body[0] if len(body) == 1 else b"".join(body)
                await send({"type": "http.response.body", "body": data})
            else:
                await self._send_stream(receive, send)
        finally:
            if self._on_close:
                await self._run_on_close()

    async def _send_stream(self, receive: ASGIReceive, send: ASGISend) -> None:
        """Send the body as it is produced, stopping (and closing the body's
        generator) as soon as the client disconnects."""
        completed = False
        body = self.response
        try:
            if isinstance(body, AsyncIterable) and type(self).iter_chunks is Response.iter_chunks:
                # items straight from the body's iterator: no generator in between
                source: AsyncIterator[t.Any] = aiter(body)
                encode: t.Callable[[t.Any], bytes] = self.encode_chunk
            else:
                source, encode = self.iter_chunks(), _encode
            completed = await send_stream(source, encode, receive, send, self.keepalive)
        finally:
            body = self.response
            if not completed or not (inspect.isgenerator(body) or inspect.isasyncgen(body)):
                with anyio.CancelScope(shield=True):
                    await self.aclose_body()

    def encode_chunk(self, item: t.Any) -> bytes:
        """Turn one item of a streamed body into bytes."""
        return _encode(item)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body as bytes chunks; sync iterators are pulled in a worker
        thread so they cannot block the event loop."""
        body = self.response
        encode = self.encode_chunk
        if isinstance(body, list):
            for item in body:
                yield encode(item)
        elif isinstance(body, AsyncIterable):
            async for item in body:
                yield item if type(item) is bytes else encode(item)
        else:
            items = iter(body)
            while (item := await run_in_thread(next, items, _NO_BODY)) is not _NO_BODY:
                yield encode(item)

    async def aclose_body(self) -> None:
        """Close the body's generator (runs its ``finally``)."""
        body = self.response
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
            return
        close = getattr(body, "close", None)
        if close is not None:
            await run_in_thread(close)


def from_werkzeug(cls: type[Response], rv: _AnyResponse) -> Response:
    """A response of class ``cls`` for another Werkzeug response (Flask's,
    or one from ``werkzeug.utils.send_file``): same status and headers, the
    same body, buffered or streamed (a file is read while it is sent, off
    the event loop), and ``rv`` closed once it has been sent."""
    body = getattr(rv, "response", None)
    if isinstance(body, (list, tuple)):
        body = [_encode(chunk) for chunk in body]
    new = cls(None, rv.status, Headers(rv.headers))
    if body is not None:
        new.response = body
    new.direct_passthrough = getattr(rv, "direct_passthrough", False)
    close = getattr(rv, "close", None)
    if close is not None:
        new.call_on_close(close)
    return new


_new_headers = object.__new__  # a Headers without running __init__
_KEEP_ON_304 = frozenset((b"expires", b"content-location"))
_SPECIAL = frozenset((b"content-length", b"location", b"content-location"))
_NAMES: dict[str, bytes] = {}


def _dropped(name: bytes, key: str, status: int) -> bool:
    """Whether a header is left out of a response without a body: entity
    headers on a 304, ``Content-Length`` on 1xx and 204."""
    if status == 304:
        return name not in _KEEP_ON_304 and is_entity_header(key)
    return name == b"content-length"


def _header_name(key: str) -> bytes:
    name = key.lower().encode("latin-1")
    if len(_NAMES) < 256:
        _NAMES[key] = name
    return name


_CONTENT_TYPES: dict[str | None, str | None] = {None: None}
_ENCODED_TYPES: dict[str, bytes] = {}


def _content_type(mimetype: str | None) -> str | None:
    """The ``Content-Type`` for a mimetype (with ``charset=utf-8`` for text)."""
    if mimetype is None:
        return None
    value = get_content_type(mimetype, "utf-8")
    if len(_CONTENT_TYPES) < 256:
        _CONTENT_TYPES[mimetype] = value
        _ENCODED_TYPES[value] = value.encode("latin-1")
    return value


class StreamingResponse(Response):
    """A response whose body is produced while it is sent: a sync or async
    iterable (or generator) of ``str`` or ``bytes`` chunks.

    Each chunk is sent as it is produced; the generator is closed when the
    stream ends, fails, or the client disconnects.
    """

    def __init__(
        self,
        response: Iterable[str | bytes] | AsyncIterable[str | bytes],
        status: int | str | None = None,
        headers: HeadersValue | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
    ) -> None:
        if isinstance(response, (str, bytes, bytearray)):
            raise TypeError("StreamingResponse needs an iterable; use Response for text")
        super().__init__(response, status, headers, mimetype, content_type)


class JSONResponse(Response):
    """A response whose body is ``obj`` serialized as JSON with the current
    app's JSON provider (``application/json``)."""

    default_mimetype = "application/json"

    def __init__(
        self,
        obj: t.Any = None,
        status: int | str | None = None,
        headers: HeadersValue | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
    ) -> None:
        ctx = _cv_ctx.get(None)
        if ctx is not None:
            provider = ctx.app.json
            compact = getattr(provider, "compact", None)
            if (compact is None and ctx.app.debug) or compact is False:
                body = provider.dumps(obj, indent=2)
            else:
                body = provider.dumps(obj, separators=(",", ":"))
        else:
            body = json.dumps(obj, separators=(",", ":"))
        super().__init__(f"{body}\n", status, headers, mimetype, content_type)
