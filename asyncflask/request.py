"""The request object: Flask's ``Request`` built from an ASGI scope, with the
body read on demand through ``await``."""

from __future__ import annotations

import functools
import json
import re
import sys
import typing as t
from collections.abc import AsyncIterator, Awaitable, Generator
from urllib.parse import unquote_to_bytes

from flask.debughelpers import attach_enctype_error_multidict
from werkzeug.datastructures import (
    CombinedMultiDict,
    Headers,
    ImmutableMultiDict,
    MultiDict,
)
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)
from werkzeug.http import parse_options_header
from werkzeug.sansio.request import Request as SansIORequest
from werkzeug.sansio.utils import get_content_length, get_host

from .deadline import BodyDeadline
from .formparser import parse_form
from .globals import _cv_ctx, _Proxy
from .utils import ASYNC_CODE, lazy, query_multidict

if t.TYPE_CHECKING:
    from werkzeug.routing import Rule

    from .formparser import FileStorage
    from .typing import ASGIReceive, Scope

T = t.TypeVar("T")

__all__ = ["ClientDisconnected", "Request", "RequestStream"]


def _decode(data: bytes, charset: str | None) -> str:
    """Decode with the charset the client named, replacing bad bytes; an
    unknown (or non-text) charset means UTF-8."""
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, TypeError):
        return data.decode("utf-8", "replace")


def _origin_form(path: str) -> str:
    """A request target's path: for an absolute-form target
    (``http://host/path``, which some servers pass on whole) the part after
    the host, else the target with a leading ``/``."""
    match = _ABSOLUTE_FORM.match(path)
    if match is None:
        return "/" + path
    return path[match.end() :] or "/"


_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/]*")
_DRAIN_LIMIT = 8 * 1024 * 1024
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_PROXY_CODE = _Proxy.__getattribute__.__code__

_HOW_TO_LOAD = (
    "Code that cannot await (a plain function, a template, an extension) can"
    " use it once the body is loaded: call (await request.load_body()) first,"
    " decorate the view with @load_body, or set LOAD_REQUEST_BODY = True in"
    " the app's config."
)


_getframe = sys._getframe


def _awaits(frame: t.Any) -> int:
    """Whether the code of ``frame`` (or, for asyncflask's ``request`` proxy,
    of its caller) is a coroutine, which gets an awaitable, rather than a
    plain function, which gets the value of a loaded body. Hot callers
    inline it."""
    return (
        t.cast(int, (frame.f_back if frame.f_code is _PROXY_CODE else frame).f_code.co_flags)
        & ASYNC_CODE
    )


#: A scope key for WSGI environ entries that have no ASGI counterpart (the
#: test client's ``errors_stream``, ``environ_overrides``): ``request.environ``
#: has them.
ENVIRON_EXTRA = "asyncflask.environ"

#: ``BODY_TIMEOUT`` when the config does not set it, in seconds.
DEFAULT_BODY_TIMEOUT = 60.0
_UNSET: t.Any = object()


class ClientDisconnected(Exception):
    """The client went away before the request body was read completely.

    Raised by every body read (``request.stream``, ``get_data``, ``form``,
    ...). The framework handles it quietly: nothing is sent and no error is
    logged, so views need not catch it unless they want to clean up.
    """


class _Awaitable(t.Generic[T]):
    """What ``request.form`` and friends return: ``await`` it for the value.

    Using it like the value itself fails with a message that says so, since
    forgetting ``await`` is the first thing a Flask user moving code does
    (and code that cannot await gets it before the body is loaded).
    """

    __slots__ = ("_factory", "_name")

    def __init__(self, name: str, factory: t.Callable[[], Awaitable[T]]) -> None:
        self._name = name
        self._factory = factory

    def __await__(self) -> Generator[t.Any, None, T]:
        return self._factory().__await__()

    def _fail(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise TypeError(
            f"request.{self._name} reads the body and must be awaited:"
            f" use (await request.{self._name}). {_HOW_TO_LOAD}"
        )

    __getattr__ = __getitem__ = __contains__ = __iter__ = __len__ = _fail
    __bool__ = _fail


class _Ready(_Awaitable[T]):
    """An :class:`_Awaitable` of a value already loaded: awaiting it returns
    the value without running the loading code again."""

    __slots__ = ("_value",)

    def __init__(self, name: str, value: T) -> None:
        self._name = name
        self._value = value

    def __await__(self) -> Generator[t.Any, None, T]:
        return self._value
        yield  # a generator: what __await__ must return


class RequestStream:
    """The request body as it arrives: ``async for chunk in request.stream``.

    Reads from the server only as fast as the consumer iterates, and enforces
    ``max_content_length`` on the bytes actually received.
    """

    def __init__(self, request: Request) -> None:
        self._request = request

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._request._iter_body()

    async def read(self) -> bytes:
        """Read the rest of the body into one bytes object."""
        return b"".join([chunk async for chunk in self])


class Request(SansIORequest):
    """An incoming HTTP request.

    Everything that does not read the body is a plain attribute, as in Flask.
    Reading the body is awaited: ``await request.get_data()``,
    ``await request.get_json()``, ``await request.form``, ``await
    request.files``, ``await request.values``, ``await request.json`` and
    ``async for chunk in request.stream``. Once :meth:`load_body` has run,
    code that cannot await (a plain function) reads the same attributes
    without ``await``.
    """

    #: The rule that matched, set by routing.
    url_rule: Rule | None
    #: The arguments the rule matched, set by routing.
    view_args: dict[str, t.Any] | None
    #: A routing error (404, 405, redirect) to raise instead of the view.
    routing_exception: HTTPException | None
    #: Uploaded files up to this size stay in memory; larger ones are
    #: spooled to a temporary file.
    file_memory_threshold: int = 1024 * 1024

    _max_content_length: int | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None
    _cached_data: bytes | None = None
    _form: ImmutableMultiDict[str, str] | None = None
    _files: ImmutableMultiDict[str, FileStorage] | None = None
    _body_started: bool
    _form_read_body: bool = False
    _received: int = 0
    _body_done: bool = False
    _body_timeout: float | None = _UNSET
    _deadline: BodyDeadline | None = None

    _cached_json: tuple[t.Any, t.Any] = (Ellipsis, Ellipsis)
    _cleanups: list[t.Callable[[], Awaitable[None]]] | tuple[()]

    def __init__(self, scope: Scope, receive: ASGIReceive | None = None) -> None:
        self.scope = scope
        self._receive = receive
        # set here, not as class defaults: CPython 3.11 reads an instance
        # attribute with a specialized instruction, a class default without
        self.url_rule = self.view_args = self.routing_exception = None
        self._body_started = False
        self._cleanups = ()
        #: The raw query string.
        self.query_string: bytes = scope.get("query_string", b"")
        try:
            self.method = scope["method"]
            raw = scope.get("raw_path")
            # bytes.find, not `in`: `b"%" in raw` first tries b"%" as an int
            # and builds a TypeError before searching (CPython 3.11)
            if (raw is not None and raw.find(b"%") >= 0) or scope.get("root_path"):
                self.path = self._routing_path(scope, raw)
            else:
                path = scope["path"]
                self.path = path if path[:1] == "/" else _origin_form(path)
        except KeyError:
            if scope:
                raise
            # Request({}): a request of nothing, as Flask's tests make one
            self.method, self.path = "GET", "/"

    @staticmethod
    def _routing_path(scope: Scope, raw: bytes | None) -> str:
        """The path after ``root_path``, decoded from ``raw_path`` as UTF-8."""
        if raw is not None:
            path = unquote_to_bytes(raw).decode("utf-8", "replace")
        else:
            path = scope["path"]
        if path[:1] != "/":
            path = _origin_form(path)
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        return path if path[:1] == "/" else "/" + path

    # -- the parts of the scope that are read on first use ------------------

    @lazy
    def scheme(self) -> str:
        """``http`` or ``https``."""
        scheme: str = self.scope.get("scheme", "http")
        return scheme

    @lazy
    def server(self) -> tuple[str, int | None] | None:
        """The server's ``(host, port)``, if the server says."""
        server = self.scope.get("server")
        return tuple(server) if server else None

    @lazy
    def remote_addr(self) -> str | None:
        """The client's address."""
        client = self.scope.get("client")
        return t.cast(str, client[0]) if client else None

    @lazy
    def args(self) -> MultiDict[str, str]:
        """The query string's arguments (``getlist``, ``get(key, type=int)``)."""
        qs = self.query_string
        if qs.isascii():
            query = qs.decode("ascii")
            if "%" not in query and "+" not in query:
                return query_multidict(self.parameter_storage_class, query)
        return SansIORequest.args.fget(self)  # type: ignore[attr-defined,no-any-return]

    @lazy
    def content_length(self) -> int | None:
        """The body's declared length (``None`` when chunked or unknown)."""
        return get_content_length(
            self._raw_header(b"content-length"), self._raw_header(b"transfer-encoding")
        )

    def _parse_content_type(self) -> None:
        if not hasattr(self, "_parsed_content_type"):
            value = self._raw_header(b"content-type") or ""
            if ";" in value or '"' in value or "," in value:
                self._parsed_content_type = parse_options_header(value)
            else:  # a bare type has no parameters to parse
                self._parsed_content_type = (value.strip(), {})

    @lazy
    def root_path(self) -> str:
        """The prefix the app is mounted under, without a trailing slash."""
        return t.cast(str, self.scope.get("root_path", "")).rstrip("/")

    @lazy
    def headers(self) -> Headers:
        """The request headers, multi-valued and case-insensitive."""
        return Headers(
            [(k.decode("latin-1").title(), v.decode("latin-1")) for k, v in self.scope["headers"]]
        )

    def _raw_header(self, name: bytes) -> str | None:
        for key, value in self.scope["headers"]:
            if key == name:
                text: str = value.decode("latin-1")
                return text
        return None

    @lazy
    def host(self) -> str:
        """The host (with a non-standard port), checked against
        ``trusted_hosts``."""
        return get_host(self.scheme, self._raw_header(b"host"), self.server, self.trusted_hosts)

    @lazy
    def environ(self) -> dict[str, t.Any]:
        """A WSGI-style environment built from the scope, for code that reads
        ``request.environ``. The ASGI scope is under ``"asgi.scope"``."""
        server = self.server or ("", None)
        environ: dict[str, t.Any] = {
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": self.root_path,
            "PATH_INFO": self.path,
            "QUERY_STRING": self.query_string.decode("latin-1"),
            "SERVER_NAME": server[0],
            "SERVER_PORT": str(server[1] or ""),
            "SERVER_PROTOCOL": f"HTTP/{self.scope.get('http_version', '1.1')}",
            "REMOTE_ADDR": self.remote_addr,
            "wsgi.url_scheme": self.scheme,
            "asgi.scope": self.scope,
            # where Flask's default log handler writes during a request
            "wsgi.errors": sys.stderr,
            "werkzeug.request": self,
        }
        for key, value in self.headers.items():
            name = key.upper().replace("-", "_")
            if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = f"HTTP_{name}"
            environ[name] = f"{environ[name]},{value}" if name in environ else value
        environ.update(self.scope.get(ENVIRON_EXTRA, ()))
        return environ

    @property
    def url_root(self) -> str:
        """Alias for ``root_url``."""
        return self.root_url

    @property
    def script_root(self) -> str:
        """Alias for :attr:`root_path`."""
        return self.root_path

    # -- Flask's routing attributes and limits -----------------------------

    @property
    def endpoint(self) -> str | None:
        """The endpoint that matched, or ``None``."""
        return self.url_rule.endpoint if self.url_rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The registered name of the current blueprint, or ``None``."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The current blueprint's name and its parents' names, innermost
        first."""
        name = self.blueprint
        if name is None:
            return []
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]

    def _config(self, key: str, default: t.Any) -> t.Any:
        ctx = _cv_ctx.get(None)
        return ctx.app.config[key] if ctx is not None else default

    @property
    def max_content_length(self) -> int | None:
        """Most bytes the body may have (``MAX_CONTENT_LENGTH``); settable."""
        if self._max_content_length is not None:
            return self._max_content_length
        return t.cast("int | None", self._config("MAX_CONTENT_LENGTH", None))

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

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
        return t.cast("float | None", ctx.app.config.get("BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT))

    @body_timeout.setter
    def body_timeout(self, value: float | None) -> None:
        self._body_timeout = value
        if self._body_started and not self._body_done:
            self._deadline = None if value is None else BodyDeadline(value)

    # -- the body ------------------------------------------------------------

    @property
    def stream(self) -> RequestStream:
        """The body as an async iterable of bytes chunks."""
        return RequestStream(self)

    def _start_body(self) -> int | None:
        """Mark the body as being read and return the size limit; a declared
        length over it is refused before anything is read."""
        if self._body_started:
            raise RuntimeError(
                "The request body was already read. Use get_data() (which"
                " caches) before reading it again."
            )
        self._body_started = True
        limit = self.max_content_length
        length = self.content_length
        if limit is not None and length is not None and length > limit:
            raise RequestEntityTooLarge()
        # no timer for a request without a body
        if length or (length is None and self._unsized_body()):
            timeout = self.body_timeout
            if timeout is not None:
                self._deadline = BodyDeadline(timeout)
        return limit

    async def _next_chunk(self, limit: int | None) -> tuple[bytes, bool]:
        """The next piece of the body and whether more follows."""
        receive = t.cast("ASGIReceive", self._receive)
        deadline = self._deadline
        message = await (receive() if deadline is None else deadline.receive(receive))
        if message["type"] == "http.disconnect":
            self._body_done = True
            raise ClientDisconnected()
        chunk: bytes = message.get("body", b"")
        self._received += len(chunk)
        if limit is not None and self._received > limit:
            raise RequestEntityTooLarge()
        more: bool = message.get("more_body", False)
        if not more:
            self._body_done = True
        return chunk, more

    async def _iter_body(self) -> AsyncIterator[bytes]:
        if self._cached_data is not None:
            if self._cached_data:
                yield self._cached_data
            return
        limit = self._start_body()
        if self._receive is None:
            self._body_done = True
            return
        more = True
        while more:
            chunk, more = await self._next_chunk(limit)
            if chunk:
                yield chunk

    async def _read_body(self) -> bytes:
        limit = self._start_body()
        if self._receive is None:
            self._body_done = True
            return b""
        chunk, more = await self._next_chunk(limit)
        if not more:
            return chunk
        chunks = [chunk]
        while more:
            chunk, more = await self._next_chunk(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> t.Any:
        """``await request.get_data()``: read the whole body. With ``cache``
        (the default) later reads get the same bytes; ``as_text`` decodes it
        (invalid bytes replaced); ``parse_form_data`` parses a form body
        first, as Flask does, after which the raw data is empty. Called from
        a plain function once the body is loaded, it returns the data."""
        if not _awaits(_getframe(1)) and (self._form is not None or not parse_form_data):
            data = self._sync_data()
            if data is not None:
                return self._as_text(data, as_text)
        return _Awaitable(
            "get_data()", functools.partial(self._get_data, cache, as_text, parse_form_data)
        )

    async def _get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> t.Any:
        if parse_form_data:
            await self._load_form_data()
        data = self._ready_data()
        if data is None:
            data = await self._read_body()
            if cache:
                self._cached_data = data
        return self._as_text(data, as_text)

    def _as_text(self, data: bytes, as_text: bool) -> t.Any:
        if as_text:
            return _decode(data, self.mimetype_params.get("charset"))
        return data

    def _ready_data(self) -> bytes | None:
        """The body when it can be had without reading (cached, taken by
        the form parser, or streamed to its end), else ``None``."""
        if self._cached_data is not None:
            return self._cached_data
        if self._form_read_body or (self._body_started and self._body_done):
            return b""
        return None

    def _sync_data(self) -> bytes | None:
        """The body for code that cannot await: ready, or known to be empty
        (no body to receive, or HTTP/1 without ``Content-Length`` or
        ``Transfer-Encoding``)."""
        data = self._ready_data()
        if data is None and self._receive is None:
            return b""
        if data is None and self.content_length in (0, None) and not self._unsized_body():
            return b""
        return data

    def _unsized_body(self) -> bool:
        """Whether a body may come without ``Content-Length``: chunked, or
        over HTTP/2 or 3, which frame the body themselves."""
        if self._raw_header(b"transfer-encoding") is not None:
            return True
        return self.scope.get("http_version", "1.1") not in ("1.0", "1.1")

    @property
    def data(self) -> _Awaitable[bytes]:
        """``await request.data``: the body as bytes (cached); a plain
        function reads it without ``await`` once the body is loaded."""
        if self._cached_data is not None:
            if _awaits(_getframe(1)):
                return _Ready("data", self._cached_data)
            return t.cast("_Awaitable[bytes]", self._cached_data)
        if not _awaits(_getframe(1)):
            data = self._sync_data()
            if data is not None:
                return t.cast("_Awaitable[bytes]", data)
        return _Awaitable("data", self._get_data)

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> t.Any:
        """``await request.get_json()``: parse the body as JSON, with Flask's
        rules: a non-JSON content type is a 415 unless ``force``, invalid
        JSON a 400, and ``silent`` turns both into ``None``. Called from a
        plain function once the body is loaded, it returns the value."""
        caller: t.Any = _getframe(1)  # (_awaits, inlined)
        if (caller.f_back if caller.f_code is _PROXY_CODE else caller).f_code.co_flags & ASYNC_CODE:
            return self._get_json(force, silent, cache)
        return self._sync_json(force, silent, cache)

    def _sync_json(self, force: bool, silent: bool, cache: bool) -> t.Any:
        if cache and self._cached_json[silent] is not Ellipsis:
            return self._cached_json[silent]
        if not (force or self.is_json):
            return None if silent else self.on_json_loading_failed(None)
        data = self._sync_data()
        if data is None:
            return _Awaitable("get_json()", functools.partial(self._get_json, force, silent, cache))
        return self._parse_json(data, silent, cache)

    async def _get_json(
        self, force: bool = False, silent: bool = False, cache: bool = True
    ) -> t.Any:
        if cache and self._cached_json[silent] is not Ellipsis:
            return self._cached_json[silent]
        if not (force or self.is_json):
            return None if silent else self.on_json_loading_failed(None)
        return self._parse_json(await self._get_data(cache=cache), silent, cache)

    def _parse_json(self, data: bytes, silent: bool, cache: bool) -> t.Any:
        try:
            ctx = _cv_ctx.get(None)
            try:
                rv = ctx.app.json.loads(data) if ctx is not None else json.loads(data)
            except RecursionError:
                raise ValueError("The JSON document is nested too deeply.") from None
        except ValueError as e:
            if silent:
                rv = None
                if cache:
                    self._cached_json = (self._cached_json[0], rv)
            else:
                rv = self.on_json_loading_failed(e)
                if cache:
                    self._cached_json = (rv, self._cached_json[1])
        else:
            if cache:
                self._cached_json = (rv, rv)
        return rv

    @property
    def json(self) -> _Awaitable[t.Any]:
        """``await request.json``: ``await request.get_json()``; a plain
        function reads it without ``await`` once the body is loaded."""
        if not _awaits(_getframe(1)) and self._json_ready():
            return t.cast("_Awaitable[t.Any]", self._sync_json(False, False, True))
        return _Awaitable("json", self._get_json)

    def _json_ready(self) -> bool:
        return (
            self._cached_json[0] is not Ellipsis
            or not self.is_json
            or self._sync_data() is not None
        )

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        """Called when JSON cannot be loaded; its return value is used. Raises
        400 (invalid JSON) or 415 (not a JSON content type) by default."""
        if e is not None:
            ctx = _cv_ctx.get(None)
            if ctx is not None and ctx.app.debug:
                raise BadRequest(f"Failed to decode JSON object: {e}")
            raise BadRequest()
        raise UnsupportedMediaType(
            "Did not attempt to load JSON data because the request"
            " Content-Type was not 'application/json'."
        )

    async def load_body(self) -> None:
        """Read the body now: a form is parsed (fields and files), any other
        body kept as bytes. Afterwards code that cannot await (a plain
        function, a template, an extension) reads ``form``, ``files``,
        ``values``, ``data``, ``json`` and ``get_json()`` without ``await``.
        The body limits apply as to the awaited reads."""
        await self._load_form_data()
        if self._ready_data() is None:
            self._cached_data = await self._read_body()

    async def _load_for_sync(self) -> None:
        """Load what code that cannot await may read: a form, or a JSON
        body; another body is left unread (``form`` and ``files`` are then
        empty, as in Flask)."""
        await self._load_form_data()
        if self.is_json and self._ready_data() is None:
            self._cached_data = await self._read_body()

    async def _load_form_data(self) -> None:
        if self._form is not None:
            return
        self._form_read_body = self._cached_data is None and self.mimetype in _FORM_TYPES
        form, files = await parse_form(self)
        self._form, self._files = form, files
        if not files and self.mimetype != "multipart/form-data":
            ctx = _cv_ctx.get(None)
            if ctx is not None and ctx.app.debug:
                # a missing file whose name the form has: say the form
                # lacks enctype="multipart/form-data" (Flask's debug help)
                attach_enctype_error_multidict(self)  # type: ignore[arg-type]

    async def _get_form(self) -> ImmutableMultiDict[str, str]:
        await self._load_form_data()
        return t.cast("ImmutableMultiDict[str, str]", self._form)

    async def _get_files(self) -> ImmutableMultiDict[str, FileStorage]:
        await self._load_form_data()
        return t.cast("ImmutableMultiDict[str, FileStorage]", self._files)

    async def _get_values(self) -> CombinedMultiDict[str, str]:
        sources: list[MultiDict[str, str]] = [self.args]
        if self.method != "GET":
            sources.append(await self._get_form())
        return CombinedMultiDict(sources)

    @property
    def form(self) -> _Awaitable[ImmutableMultiDict[str, str]]:
        """``await request.form``: the parsed form fields; a plain function
        reads them without ``await`` once the body is loaded."""
        form = self._form
        if form is not None:
            caller: t.Any = _getframe(1)  # (_awaits, inlined)
            if (
                caller.f_back if caller.f_code is _PROXY_CODE else caller
            ).f_code.co_flags & ASYNC_CODE:
                return _Ready("form", form)
            return t.cast("_Awaitable[ImmutableMultiDict[str, str]]", form)
        return _Awaitable("form", self._get_form)

    @property
    def files(self) -> _Awaitable[ImmutableMultiDict[str, FileStorage]]:
        """``await request.files``: the uploaded files; a plain function
        reads them without ``await`` once the body is loaded."""
        files = self._files
        if files is not None:
            caller: t.Any = _getframe(1)  # (_awaits, inlined)
            if (
                caller.f_back if caller.f_code is _PROXY_CODE else caller
            ).f_code.co_flags & ASYNC_CODE:
                return _Ready("files", files)
            return t.cast("_Awaitable[ImmutableMultiDict[str, FileStorage]]", files)
        return _Awaitable("files", self._get_files)

    @property
    def values(self) -> _Awaitable[CombinedMultiDict[str, str]]:
        """``await request.values``: ``args`` and (unless GET) ``form``; a
        plain function reads them without ``await`` once the body is
        loaded."""
        if (self._form is not None or self.method == "GET") and not _awaits(_getframe(1)):
            sources: list[MultiDict[str, str]] = [self.args]
            if self.method != "GET":
                sources.append(t.cast("ImmutableMultiDict[str, str]", self._form))
            return t.cast("_Awaitable[CombinedMultiDict[str, str]]", CombinedMultiDict(sources))
        return _Awaitable("values", self._get_values)

    @property
    def body_abandoned(self) -> bool:
        """``True`` when reading the body stopped before its end (a 413, a
        malformed form) and what is left is large or of unknown size: the
        connection should then close rather than have the server read the
        rest. A small known remainder is left for the server to drain, so a
        client that sends its whole body before reading gets the answer."""
        if not self._body_started or self._body_done:
            return False
        if self._deadline is not None and self._deadline.expired:
            return True
        length = self.content_length
        return length is None or length - self._received > _DRAIN_LIMIT

    def add_cleanup(self, func: t.Callable[[], Awaitable[None]]) -> None:
        """Run ``await func()`` when the request ends (used for temp files)."""
        if isinstance(self._cleanups, tuple):
            self._cleanups = []
        self._cleanups.append(func)

    async def close(self) -> None:
        """Release what the body parsing holds (temporary files)."""
        cleanups, self._cleanups = self._cleanups, ()
        for func in cleanups:
            await func()
