"""Made-up requests for tests: Flask's ``EnvironBuilder`` arguments turned
into an ASGI scope and body, and a made-up request's body given to it
already read."""

from __future__ import annotations

import typing as t
import uuid
from io import BytesIO
from urllib.parse import quote

from flask.testing import EnvironBuilder
from werkzeug.datastructures import FileStorage, Headers, MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.formparser import FormDataParser

from .request import ENVIRON_EXTRA

if t.TYPE_CHECKING:
    from .app import Flask
    from .request import Request
    from .typing import ASGIReceive, Message, Scope

__all__ = ["environ_to_scope", "load_test_body", "make_test_request", "receive_of", "scope_url"]


def environ_to_scope(
    environ: dict[str, t.Any], headers_sent: Headers | None = None
) -> tuple[Scope, bytes]:
    """The ASGI scope and the body of a WSGI environ (one made by Werkzeug's
    or Flask's ``EnvironBuilder``): ``REMOTE_ADDR`` becomes the scope's
    ``client``, ``SCRIPT_NAME`` its ``root_path``, ``HTTP_*`` its headers
    (a header the builder had several times, ``headers_sent``, stays
    several headers, as ASGI servers give them)."""

    def text(key: str) -> str:
        value: str = environ.get(key, "")
        return value.encode("latin-1").decode("utf-8", "replace")

    root_path = text("SCRIPT_NAME").rstrip("/")
    path = root_path + (text("PATH_INFO") or "/")
    headers: list[tuple[bytes, bytes]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key.replace("_", "-").lower()
        else:
            continue
        values = headers_sent.getlist(name) if headers_sent is not None else []
        if len(values) < 2 or ", ".join(values) != value:
            values = [value]
        headers.extend((name.encode("latin-1"), _header_value(v)) for v in values)
    length = environ.get("CONTENT_LENGTH")
    stream = environ.get("wsgi.input")
    body = b""
    if stream is not None:
        body = stream.read(int(length)) if length else stream.read()
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": environ.get("SERVER_PROTOCOL", "HTTP/1.1").partition("/")[2] or "1.1",
        "method": environ.get("REQUEST_METHOD", "GET").upper(),
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "path": path,
        "raw_path": quote(path, safe="/:@!$&'()*+,;=~").encode("ascii"),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": root_path,
        "headers": headers,
        "client": (environ.get("REMOTE_ADDR", "127.0.0.1"), int(environ.get("REMOTE_PORT") or 123)),
        "server": (environ.get("SERVER_NAME", "localhost"), int(environ.get("SERVER_PORT") or 80)),
    }
    extra = {k: v for k, v in environ.items() if k not in _IN_SCOPE and not k.startswith("HTTP_")}
    if extra:
        scope[ENVIRON_EXTRA] = extra
    return scope, body


#: The environ keys that the scope carries (or that make no sense in it).
_IN_SCOPE = frozenset(
    (
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "REQUEST_URI",
        "RAW_URI",
        "wsgi.version",
        "wsgi.url_scheme",
        "wsgi.input",
        "wsgi.input_terminated",
        "wsgi.multithread",
        "wsgi.multiprocess",
        "wsgi.run_once",
        "werkzeug.request",
    )
)


def _header_value(value: t.Any) -> bytes:
    """A header's bytes: latin-1 as WSGI holds them, or UTF-8 for text
    beyond it (what a client that sent such text sent)."""
    text = str(value)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def scope_url(scope: Scope) -> str:
    """The full URL of a scope (with the host from its ``Host`` header)."""
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
    if host is None:
        name, port = scope["server"]
        host = name if port in (80, 443) else f"{name}:{port}"
    query = scope["query_string"].decode("latin-1")
    raw = scope["raw_path"].decode("ascii")
    return f"{scope['scheme']}://{host}{raw}{'?' if query else ''}{query}"


def builder_kwargs(kwargs: dict[str, t.Any]) -> dict[str, t.Any]:
    """``kwargs`` for ``EnvironBuilder``, which also takes a query string
    as bytes here, and encodes files in ``data`` itself."""
    query_string = kwargs.get("query_string")
    if isinstance(query_string, bytes):
        kwargs = {**kwargs, "query_string": query_string.decode("latin-1")}
    data = kwargs.get("data")
    if isinstance(data, dict) and not isinstance(data, MultiDict):
        encoded = _encode_files(data)
        if encoded is not None:
            content_type = kwargs.get("content_type") or encoded[0]
            kwargs = {**kwargs, "data": encoded[1], "content_type": content_type}
    return kwargs


def builder_scope(builder: EnvironBuilder) -> tuple[Scope, bytes]:
    """The scope and body of what ``builder`` makes."""
    environ = builder.get_environ()
    try:
        return environ_to_scope(environ, builder.headers)
    finally:
        stream = environ.get("wsgi.input")
        if stream is not None and stream is not builder.input_stream:
            stream.close()  # a temporary file for a large body


def make_test_request(
    app: Flask, *args: t.Any, **kwargs: t.Any
) -> tuple[Scope, ASGIReceive, bytes]:
    """An ASGI scope, ``receive`` and body for ``app.test_request_context()``,
    which takes the arguments of Flask's ``EnvironBuilder``."""
    builder = EnvironBuilder(app, *args, **builder_kwargs(kwargs))  # type: ignore[arg-type]
    try:
        scope, body = builder_scope(builder)
    finally:
        builder.close()
    return scope, receive_of(body), body


def receive_of(body: bytes) -> ASGIReceive:
    """An ASGI ``receive`` that gives ``body`` whole, then a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _in_memory(*args: t.Any, **kwargs: t.Any) -> t.IO[bytes]:
    return BytesIO()


def load_test_body(app: Flask, request: Request, body: bytes) -> None:
    """Give a made-up request its body, already read, so that plain code
    reads ``form``, ``files``, ``data`` and ``get_json()`` without
    ``await`` (a body over the request's limits is left to be read, and
    refused, as any other)."""
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        if body:
            request.stream.data = body
        return
    config = app.config
    parser = FormDataParser(
        stream_factory=_in_memory,
        max_form_memory_size=config["MAX_FORM_MEMORY_SIZE"],
        max_content_length=config["MAX_CONTENT_LENGTH"],
        max_form_parts=config["MAX_FORM_PARTS"],
        cls=request.parameter_storage_class,
    )
    try:
        _, form, files = parser.parse(
            BytesIO(body), request.mimetype, len(body), request.mimetype_params
        )
    except HTTPException:
        return
    request._form, request._files = form, files  # type: ignore[assignment]
    request.stream.taken = True


def _encode_files(data: dict[str, t.Any]) -> tuple[str, bytes] | None:
    """Flask's client takes files in ``data`` as ``(fileobj, name[, type])``
    tuples or file objects. Encode such a form as Werkzeug's client does (an
    empty file name stays ``filename=""``, as browsers send it); ``None``
    when there is no file."""
    form: MultiDict[str, t.Any] = MultiDict()
    has_file = False
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple) and item and hasattr(item[0], "read"):
                fileobj, *rest = item
                name = rest[0] if rest else getattr(fileobj, "name", key)
                ctype = rest[1] if len(rest) > 1 else None
                item = FileStorage(fileobj, filename=name, name=key, content_type=ctype)
                has_file = True
            elif hasattr(item, "read"):
                item = FileStorage(item, filename=getattr(item, "name", key), name=key)
                has_file = True
            form.add(key, item)
    if not has_file:
        return None
    boundary = f"asyncflask-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for key, item in form.items(multi=True):
        disposition = f'form-data; name="{_quote(key)}"'
        if isinstance(item, FileStorage):
            disposition += f'; filename="{_quote(item.filename or "")}"'
            ctype = item.content_type or "application/octet-stream"
            head = f"Content-Disposition: {disposition}\r\nContent-Type: {ctype}\r\n\r\n"
            content = item.stream.read()
            payload = content.encode() if isinstance(content, str) else content
        else:
            head = f"Content-Disposition: {disposition}\r\n\r\n"
            payload = str(item).encode()
        parts.append(f"--{boundary}\r\n{head}".encode() + payload + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")
