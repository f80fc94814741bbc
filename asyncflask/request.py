"""The request object: Flask's ``Request`` built from an ASGI scope, with the
body read on demand through ``await``."""

from __future__ import annotations

import json
import re
import sys
import typing as t
from collections.abc import Awaitable
from urllib.parse import unquote_to_bytes

from flask.debughelpers import attach_enctype_error_multidict
from werkzeug.datastructures import CombinedMultiDict, Headers, ImmutableMultiDict, MultiDict
from werkzeug.exceptions import BadRequest, HTTPException, UnsupportedMediaType
from werkzeug.http import parse_options_header
from werkzeug.sansio.request import Request as SansIORequest
from werkzeug.sansio.utils import get_content_length, get_host

# (_awaits and _getframe: for the modules that import them from here)
from .body import (
    NOT_READY,
    Body,
    BodyLimits,
    ClientDisconnected,
    _Awaitable,
    awaitable_or_value,
    decode,
)
from .body import _awaits as _awaits
from .body import _getframe as _getframe
from .formparser import parse_form
from .globals import _cv_ctx
from .headerlimits import BoundedHeaders
from .utils import lazy, query_multidict

if t.TYPE_CHECKING:
    from werkzeug.routing import Rule

    from .formparser import FileStorage
    from .typing import ASGIReceive, Scope

__all__ = ["ClientDisconnected", "Request", "RequestStream"]


def _origin_form(path: str) -> str:
    """A request target's path: for an absolute-form target
    (``http://host/path``, which some servers pass on whole) the part after
    the host, else the target with a leading ``/``."""
    match = _ABSOLUTE_FORM.match(path)
    if match is None:
        return "/" + path
    return path[match.end() :] or "/"


_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/]*")
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

#: A scope key for WSGI environ entries that have no ASGI counterpart (the
#: test client's ``errors_stream``, ``environ_overrides``): ``request.environ``
#: has them.
ENVIRON_EXTRA = "asyncflask.environ"


#: The type of ``request.stream``, by its earlier name.
RequestStream = Body


class Request(BodyLimits, BoundedHeaders, SansIORequest):
    """An incoming HTTP request.

    Everything that does not read the body is a plain attribute, as in Flask.
    Reading the body is awaited: ``await request.get_data()``,
    ``await request.get_json()``, ``await request.form``, ``await
    request.files``, ``await request.values``, ``await request.json``,
    ``await request.stream`` and ``async for chunk in request.stream``
    (:class:`~asyncflask.body.Body`). Once :meth:`load_body` has run,
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

    _form: ImmutableMultiDict[str, str] | None = None
    _files: ImmutableMultiDict[str, FileStorage] | None = None

    _cached_json: tuple[t.Any, t.Any] = (Ellipsis, Ellipsis)
    _cleanups: list[t.Callable[[], Awaitable[None]]] | tuple[()]

    def __init__(self, scope: Scope, receive: ASGIReceive | None = None) -> None:
        self.scope = scope
        self._receive = receive
        # set here, not as class defaults: CPython 3.11 reads an instance
        # attribute with a specialized instruction, a class default without
        self.url_rule = self.view_args = self.routing_exception = None
        self._body = None
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
        length: bytes | None = None
        encoding: str | None = None
        for key, value in self.scope["headers"]:
            if key == b"content-length":
                length = value if length is None else length
            elif key == b"transfer-encoding":
                encoding = value.decode("latin-1") if encoding is None else encoding
        if encoding is None and length is not None and length.isdigit():
            return int(length)  # (bytes.isdigit: ASCII digits only)
        return get_content_length(None if length is None else length.decode("latin-1"), encoding)

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

    # -- the body ------------------------------------------------------------

    @property
    def stream(self) -> Body:
        """The body: ``async for chunk in request.stream`` as it arrives,
        ``await request.stream.read()`` for the rest in one piece."""
        return self._open_body()

    def _open_body(self) -> Body:
        """:attr:`stream`, made on first use, with the request's limits
        until its read starts."""
        body = self._body
        if body is None:
            length = self.content_length  # (unsized matters only without one)
            body = Body(self._receive, length, not length and self._unsized_body())
            self._body = body
        if not body.started:
            body.limit = self.max_content_length
            body.timeout = self.body_timeout
        return body

    def _unsized_body(self) -> bool:
        """Whether a body may come without ``Content-Length``: chunked, or
        over HTTP/2 or 3, which frame the body themselves."""
        if self._raw_header(b"transfer-encoding") is not None:
            return True
        return self.scope.get("http_version", "1.1") not in ("1.0", "1.1")

    @property
    def body_abandoned(self) -> bool:
        """Whether the body was left partly read with a large or unknown
        remainder (a 413, a malformed form): the connection should close."""
        return self._body is not None and self._body.abandoned()

    def _ready_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> t.Any:
        """What plain code's ``get_data()`` gets: the body if it is kept or
        known to be empty, else ``NOT_READY``."""
        if parse_form_data and self._form is None:
            return NOT_READY
        data = self._open_body().ready()
        return NOT_READY if data is None else self._as_text(data, as_text)

    async def _get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> t.Any:
        if parse_form_data:
            await self._load_form_data()
        return self._as_text(await self._open_body().get(cache), as_text)

    def _as_text(self, data: bytes, as_text: bool) -> t.Any:
        if as_text:
            return decode(data, self.mimetype_params.get("charset"))
        return data

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> t.Any:
        """``await request.get_data()``: read the whole body. With ``cache``
        (the default) later reads get the same bytes; ``as_text`` decodes it
        (invalid bytes replaced); ``parse_form_data`` parses a form body
        first, as Flask does, after which the raw data is empty. Called from
        a plain function once the body is loaded, it returns the data."""
        return awaitable_or_value(
            "get_data()", self._ready_data, self._get_data, cache, as_text, parse_form_data
        )

    @property
    def data(self) -> _Awaitable[bytes]:
        """``await request.data``: the body as bytes (cached); a plain
        function reads it without ``await`` once the body is loaded."""
        return awaitable_or_value("data", self._ready_data, self._get_data)

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> t.Any:
        """``await request.get_json()``: parse the body as JSON, with Flask's
        rules: a non-JSON content type is a 415 unless ``force``, invalid
        JSON a 400, and ``silent`` turns both into ``None``. Called from a
        plain function once the body is loaded, it returns the value."""
        return awaitable_or_value(
            "get_json()", self._ready_json, self._get_json, force, silent, cache
        )

    @property
    def json(self) -> _Awaitable[t.Any]:
        """``await request.json``: ``await request.get_json()``; a plain
        function reads it without ``await`` once the body is loaded."""
        return awaitable_or_value("json", self._ready_json, self._get_json)

    def _ready_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> t.Any:
        if cache and self._cached_json[silent] is not Ellipsis:
            return self._cached_json[silent]
        if not (force or self.is_json):
            return None if silent else self.on_json_loading_failed(None)
        data = self._open_body().ready()
        return NOT_READY if data is None else self._parse_json(data, silent, cache)

    async def _get_json(
        self, force: bool = False, silent: bool = False, cache: bool = True
    ) -> t.Any:
        if cache and self._cached_json[silent] is not Ellipsis:
            return self._cached_json[silent]
        if not (force or self.is_json):
            return None if silent else self.on_json_loading_failed(None)
        return self._parse_json(await self._open_body().get(cache), silent, cache)

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
        await self._open_body().get()

    async def _load_for_sync(self) -> None:
        """Load what code that cannot await may read: a form, or a JSON
        body; another body is left unread (``form`` and ``files`` are then
        empty, as in Flask)."""
        await self._load_form_data()
        if self.is_json:
            await self._open_body().get()

    async def _load_form_data(self) -> None:
        if self._form is not None:
            return
        body = self._open_body()
        body.taken = body.data is None and self.mimetype in _FORM_TYPES
        form, files = await parse_form(self)
        self._form, self._files = form, files
        if not files and self.mimetype != "multipart/form-data":
            ctx = _cv_ctx.get(None)
            if ctx is not None and ctx.app.debug:
                # a missing file whose name the form has: say the form
                # lacks enctype="multipart/form-data" (Flask's debug help)
                attach_enctype_error_multidict(self)  # type: ignore[arg-type]

    def _parsed(self, name: str) -> t.Any:
        """``form`` or ``files`` (``name``, the attribute that keeps it) for
        plain code: parsed already, else ``NOT_READY``."""
        value = getattr(self, name)
        return NOT_READY if value is None else value

    async def _parse(self, name: str) -> t.Any:
        await self._load_form_data()
        return getattr(self, name)

    @property
    def form(self) -> _Awaitable[ImmutableMultiDict[str, str]]:
        """``await request.form``: the parsed form fields; a plain function
        reads them without ``await`` once the body is loaded."""
        return awaitable_or_value("form", self._parsed, self._parse, "_form")

    @property
    def files(self) -> _Awaitable[ImmutableMultiDict[str, FileStorage]]:
        """``await request.files``: the uploaded files; a plain function
        reads them without ``await`` once the body is loaded."""
        return awaitable_or_value("files", self._parsed, self._parse, "_files")

    def _ready_values(self) -> t.Any:
        if self.method == "GET":
            return CombinedMultiDict([self.args])
        if self._form is None:
            return NOT_READY
        return CombinedMultiDict([self.args, self._form])

    async def _get_values(self) -> CombinedMultiDict[str, str]:
        sources: list[MultiDict[str, str]] = [self.args]
        if self.method != "GET":
            sources.append(await self._parse("_form"))
        return CombinedMultiDict(sources)

    @property
    def values(self) -> _Awaitable[CombinedMultiDict[str, str]]:
        """``await request.values``: ``args`` and (unless GET) ``form``; a
        plain function reads them without ``await`` once the body is
        loaded."""
        return awaitable_or_value("values", self._ready_values, self._get_values)

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
