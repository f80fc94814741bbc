"""The test client: httpx talking to the app in-process over ASGI, streaming."""

from __future__ import annotations

import asyncio
import json as _json
import math
import typing as t
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from urllib.parse import urlencode

import anyio
import httpx
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.http import HTTP_STATUS_CODES, parse_options_header

from .typing import ASGIApp, Message, Scope
from .wstesting import WebsocketRejected, WebsocketSession, websocket_scope

if t.TYPE_CHECKING:
    from .app import Flask
    from .typing import ASGIReceive

__all__ = [
    "ASGITransport",
    "TestApp",
    "TestClient",
    "TestResponse",
    "WebsocketRejected",
    "WebsocketSession",
]


class TestResponse(httpx.Response):
    """An httpx response with Flask's test-response names: ``data``,
    ``get_data()``, ``get_json()``, ``status`` and ``mimetype``."""

    __test__ = False

    @property
    def data(self) -> bytes:
        """The body as bytes."""
        return self.content

    def get_data(self, as_text: bool = False) -> bytes | str:
        """The body as bytes, or as text with ``as_text``."""
        return self.text if as_text else self.content

    def get_json(self, force: bool = False, silent: bool = False) -> t.Any:
        """The body parsed as JSON (``None`` if it is not JSON)."""
        if not (force or self.is_json):
            return None
        try:
            return _json.loads(self.content)
        except ValueError:
            if not silent:
                raise
            return None

    @property
    def is_json(self) -> bool:
        """Whether the mimetype is JSON."""
        mt = self.mimetype
        return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))

    @property
    def mimetype(self) -> str:
        """The content type without parameters, lower case."""
        return parse_options_header(self.headers.get("content-type", ""))[0].lower()

    @property
    def status(self) -> str:
        """Status code and reason, as Flask gives it: ``'201 CREATED'``."""
        reason = HTTP_STATUS_CODES.get(self.status_code, "UNKNOWN").upper()
        return f"{self.status_code} {reason}"


class _BodyStream(httpx.AsyncByteStream):
    def __init__(self, exchange: _Exchange) -> None:
        self._exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._exchange.body:
            yield chunk
        await self._exchange.finish()

    async def aclose(self) -> None:
        await self._exchange.close()


class _Exchange:
    """One request/response between httpx and the app."""

    def __init__(self, app: ASGIApp, scope: Scope, request: httpx.Request, raise_errors: bool):
        self.app = app
        self.scope = scope
        self.raise_errors = raise_errors
        self.request_chunks = request.stream.__aiter__()  # type: ignore[union-attr]
        self.request_done = False
        self.disconnected = anyio.Event()
        self.started = anyio.Event()
        self.start_message: Message | None = None
        self.body_send, self.body = anyio.create_memory_object_stream[bytes](16)
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> Message:
        if not self.request_done and not self.disconnected.is_set():
            try:
                chunk = await self.request_chunks.__anext__()
            except StopAsyncIteration:
                self.request_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": bytes(chunk), "more_body": True}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.disconnected.is_set():
            return
        if message["type"] == "http.response.start":
            self.start_message = message
            self.started.set()
        elif message["type"] == "http.response.body":
            try:
                if message.get("body"):
                    await self.body_send.send(message["body"])
                if not message.get("more_body", False):
                    self.body_send.close()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass

    async def run_app(self) -> None:
        # (httpx's response keeps the exchange, in a cycle: not the app)
        app = self.app
        del self.app
        try:
            await app(self.scope, self.receive, self.send)
        finally:
            self.body_send.close()
            self.started.set()

    async def start(self) -> Message:
        self.task = asyncio.get_running_loop().create_task(self.run_app())
        await self.started.wait()
        if self.start_message is None:
            try:
                await self.task
            finally:
                self.body.close()
            raise RuntimeError("The app returned without starting a response.")
        return self.start_message

    async def finish(self) -> None:
        self.body.close()
        if self.task is not None:
            task, self.task = self.task, None
            try:
                await task
            except Exception:
                if self.raise_errors:
                    raise

    async def close(self) -> None:
        self.disconnected.set()
        self.body.close()
        await self.finish()


class ASGITransport(httpx.AsyncBaseTransport):
    """An httpx transport that calls an ASGI app in-process and streams the
    response: it returns at ``http.response.start``, yields body chunks as
    the app sends them, and closing the response delivers ``http.disconnect``.
    """

    def __init__(
        self,
        app: ASGIApp,
        raise_app_exceptions: bool = True,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 123),
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.root_path = root_path
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Call the app with the request; return once it starts answering."""
        url = request.url
        raw_path = url.raw_path.split(b"?", 1)[0]
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": self.root_path + url.path,
            "raw_path": self.root_path.encode() + raw_path,
            "query_string": url.query,
            "root_path": self.root_path,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": self.client,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        }
        exchange = _Exchange(self.app, scope, request, self.raise_app_exceptions)
        start = await exchange.start()
        return TestResponse(
            status_code=start["status"],
            headers=[(bytes(k), bytes(v)) for k, v in start.get("headers", [])],
            stream=_BodyStream(exchange),
            request=request,
        )


class TestClient(httpx.AsyncClient):
    """An async test client for an app, on httpx.

    Accepts Flask's keywords (``query_string``, ``data``, ``json``,
    ``headers``, ``content_type``, ``follow_redirects``), keeps cookies, and
    runs the lifespan (``before_serving`` / ``after_serving``) when used as
    ``async with``. ``client.stream("GET", url)`` reads a streamed response
    piece by piece; leaving it early disconnects. ``client.websocket(url)``
    opens a websocket.
    """

    __test__ = False

    def __init__(self, app: Flask, use_cookies: bool = True, **kwargs: t.Any) -> None:
        self._base_from_config = "base_url" not in kwargs
        kwargs.setdefault("base_url", "http://localhost")
        kwargs.setdefault("transport", ASGITransport(app))
        super().__init__(**kwargs)
        self.application = app
        self.use_cookies = use_cookies
        self._lifespan: _Lifespan | None = None
        #: Whether ``async with`` runs the lifespan (not for the client of
        #: a :class:`TestApp`, which runs it).
        self.runs_lifespan = True

    def build_request(self, method: str, url: t.Any, **kwargs: t.Any) -> httpx.Request:
        """Build a request, translating Flask's test-client keywords."""
        query_string = kwargs.pop("query_string", None)
        content_type = kwargs.pop("content_type", None)
        data = kwargs.get("data")
        if query_string is not None:
            if not isinstance(query_string, (str, bytes)):
                query_string = urlencode(query_string, doseq=True)
            if isinstance(query_string, bytes):
                query_string = query_string.decode("latin-1")
            url = f"{url}{'&' if '?' in str(url) else '?'}{query_string}"
        if isinstance(data, (str, bytes)):
            kwargs["content"] = kwargs.pop("data")
        elif isinstance(data, dict) and not kwargs.get("files"):
            encoded = _encode_files(data)
            if encoded is not None:
                del kwargs["data"]
                content_type = content_type or encoded[0]
                kwargs["content"] = encoded[1]
        if content_type is not None:
            headers = httpx.Headers(kwargs.get("headers"))
            headers["content-type"] = content_type
            kwargs["headers"] = headers
        if not self.use_cookies:
            self.cookies.clear()
        if self._base_from_config:
            # as Flask's client: PREFERRED_URL_SCHEME://SERVER_NAME (or localhost)
            config = self.application.config
            self.base_url = (
                f"{config['PREFERRED_URL_SCHEME']}://{config['SERVER_NAME'] or 'localhost'}"
            )
        return super().build_request(method, url, **kwargs)

    async def request(self, method: str, url: t.Any, **kwargs: t.Any) -> TestResponse:
        """Send a request; see :class:`TestClient` for the keywords."""
        request = self.build_request(
            method, url, **{k: v for k, v in kwargs.items() if k not in _SEND_KEYS}
        )
        send_kwargs = {k: v for k, v in kwargs.items() if k in _SEND_KEYS}
        return t.cast(TestResponse, await self.send(request, **send_kwargs))

    @asynccontextmanager
    async def session_transaction(self, path: str = "/", **kwargs: t.Any) -> AsyncIterator[t.Any]:
        """Open the session the client's cookies carry, let the block change
        it, and store it back in the cookies (as Flask's)."""
        if not self.use_cookies:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        app = self.application
        headers = dict(kwargs.pop("headers", None) or {})
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.cookies.jar)
        if cookie:
            headers["Cookie"] = cookie
        ctx = app.test_request_context(path, headers=headers, **kwargs)
        async with ctx:
            sess = app.session_interface.open_session(app, ctx.request)  # type: ignore[arg-type]
        if sess is None:
            raise RuntimeError("Session backend did not open a session.")
        yield sess
        if app.session_interface.is_null_session(sess):
            return
        resp = app.response_class()
        async with ctx:
            app.session_interface.save_session(app, sess, resp)  # type: ignore[arg-type]
        self.cookies.extract_cookies(
            httpx.Response(
                200,
                headers=[("set-cookie", v) for v in resp.headers.getlist("Set-Cookie")],
                request=httpx.Request("GET", self.base_url.join(path)),
            )
        )

    async def open(self, path: str = "/", method: str = "GET", **kwargs: t.Any) -> TestResponse:
        """Flask's ``client.open(path, method=...)``."""
        return await self.request(method, path, **kwargs)

    async def get(self, url: t.Any, **kwargs: t.Any) -> TestResponse:
        """A GET request (Flask's keywords accepted)."""
        return await self.request("GET", url, **kwargs)

    async def post(self, url: t.Any, **kwargs: t.Any) -> TestResponse:
        """A POST request (Flask's keywords accepted)."""
        return await self.request("POST", url, **kwargs)

    async def put(self, url: t.Any, **kwargs: t.Any) -> TestResponse:
        """A PUT request (Flask's keywords accepted)."""
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: t.Any, **kwargs: t.Any) -> TestResponse:
        """A PATCH request (Flask's keywords accepted)."""
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: t.Any, **kwargs: t.Any) -> TestResponse:
        """A DELETE request (Flask's keywords accepted)."""
        return await self.request("DELETE", url, **kwargs)

    async def head(self, url: t.Any, **kwargs: t.Any) -> TestResponse:
        """A HEAD request (Flask's keywords accepted)."""
        return await self.request("HEAD", url, **kwargs)

    async def options(self, url: t.Any, **kwargs: t.Any) -> TestResponse:
        """An OPTIONS request (Flask's keywords accepted)."""
        return await self.request("OPTIONS", url, **kwargs)

    @asynccontextmanager
    async def stream(self, method: str, url: t.Any, **kwargs: t.Any) -> AsyncIterator[TestResponse]:
        """Send a request and read its response as it streams; leaving the
        block early disconnects (the app sees ``http.disconnect``)."""
        request = self.build_request(
            method, url, **{k: v for k, v in kwargs.items() if k not in _SEND_KEYS}
        )
        send_kwargs = {k: v for k, v in kwargs.items() if k in _SEND_KEYS}
        response = await self.send(request, stream=True, **send_kwargs)
        try:
            yield t.cast(TestResponse, response)
        finally:
            await response.aclose()

    @asynccontextmanager
    async def websocket(
        self,
        url: t.Any,
        *,
        subprotocols: t.Sequence[str] = (),
        http_response: bool = True,
        **kwargs: t.Any,
    ) -> AsyncIterator[WebsocketSession]:
        """Open a websocket to the app (``async with client.websocket(url)
        as ws``), with the client's cookies and Flask's keywords
        (``headers``, ``query_string``). A refused handshake raises
        ``WebsocketRejected`` (its ``response`` is the app's answer);
        ``http_response=False`` makes the app believe the server cannot
        send one."""
        request = self.build_request("GET", url, **kwargs)
        transport = self._transport
        root_path, peer = "", ("127.0.0.1", 123)
        if isinstance(transport, ASGITransport):
            root_path, peer = transport.root_path, transport.client
        scope = websocket_scope(request, subprotocols, http_response, root_path, peer)
        ws = WebsocketSession(self.application, scope, TestResponse)
        await ws.connect()
        async with ws:
            yield ws

    async def __aenter__(self) -> TestClient:
        await super().__aenter__()
        if self.runs_lifespan:
            self._lifespan = _Lifespan(self.application)
            await self._lifespan.startup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        try:
            if self._lifespan is not None:
                await self._lifespan.shutdown()
        finally:
            await super().__aexit__(exc_type, exc, tb)


_SEND_KEYS = frozenset(("auth", "follow_redirects"))


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


class TestApp:
    """An app with its lifespan, as Quart's ``app.test_app()``: ``async
    with app.test_app() as test_app:`` runs startup (``before_serving``,
    ``while_serving``) on entering, raising if it fails, and shutdown on
    leaving; ``test_app.test_client()`` gives clients that call the app
    meanwhile."""

    __test__ = False

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lifespan: _Lifespan | None = None

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> TestClient:
        """A test client of the app; using it as ``async with`` does not
        run the lifespan again."""
        client = self.app.test_client(use_cookies=use_cookies, **kwargs)
        client.runs_lifespan = False
        return client

    async def startup(self) -> None:
        """Run the app's lifespan startup."""
        if self._lifespan is not None:
            raise RuntimeError("The test app has started already.")
        lifespan = _Lifespan(self.app)
        await lifespan.startup()
        self._lifespan = lifespan

    async def shutdown(self) -> None:
        """Run the app's lifespan shutdown."""
        lifespan, self._lifespan = self._lifespan, None
        if lifespan is None:
            raise RuntimeError("The test app has not started.")
        await lifespan.shutdown()

    async def __aenter__(self) -> TestApp:
        await self.startup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self.shutdown()


class _Lifespan:
    """Drives the app's ASGI lifespan from the test client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.to_app, self.app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        self.from_app_send, self.from_app = anyio.create_memory_object_stream[Message](math.inf)
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async def receive() -> Message:
            return await self.app_inbox.receive()

        async def send(message: Message) -> None:
            await self.from_app_send.send(message)

        await self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)

    async def _step(self, kind: str) -> None:
        await self.to_app.send({"type": f"lifespan.{kind}"})
        message = await self.from_app.receive()
        if message["type"] == f"lifespan.{kind}.failed":
            raise RuntimeError(f"Lifespan {kind} failed: {message.get('message', '')}")

    async def startup(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())
        try:
            await self._step("startup")
        except BaseException:
            await self.task
            for stream in (self.to_app, self.app_inbox, self.from_app_send, self.from_app):
                stream.close()
            raise

    async def shutdown(self) -> None:
        try:
            await self._step("shutdown")
            if self.task is not None:
                await self.task
        finally:
            for stream in (self.to_app, self.app_inbox, self.from_app_send, self.from_app):
                stream.close()


def make_test_scope(
    app: Flask,
    path: str = "/",
    base_url: str | None = None,
    method: str = "GET",
    query_string: str | bytes | dict[str, t.Any] | None = None,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    data: str | bytes | dict[str, t.Any] | None = None,
    json: t.Any = None,
    content_type: str | None = None,
) -> tuple[Scope, ASGIReceive]:
    """An ASGI scope and ``receive`` for ``app.test_request_context()``."""
    if base_url is None:
        server_name = app.config["SERVER_NAME"] or "localhost"
        root = app.config["APPLICATION_ROOT"].rstrip("/")
        base_url = f"{app.config['PREFERRED_URL_SCHEME']}://{server_name}{root}/"
    client = httpx.AsyncClient(base_url=base_url)
    kwargs: dict[str, t.Any] = {"headers": headers}
    if json is not None:
        kwargs["json"] = json
    elif isinstance(data, dict):
        encoded = _encode_files(data)
        if encoded is None:
            kwargs["data"] = data
        else:
            content_type = content_type or encoded[0]
            kwargs["content"] = encoded[1]
    elif data is not None:
        kwargs["content"] = data
    if isinstance(query_string, dict):
        kwargs["params"] = query_string
    elif query_string:
        qs = query_string.decode() if isinstance(query_string, bytes) else query_string
        path = f"{path}?{qs}"
    request = client.build_request(method, path.lstrip("/"), **kwargs)
    if content_type is not None:
        request.headers["content-type"] = content_type
    body = request.read()
    root_path = httpx.URL(base_url).path.rstrip("/")
    url = request.url
    scope: Scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?", 1)[0],
        "query_string": url.query,
        "root_path": root_path,
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "client": ("127.0.0.1", 123),
        "server": (url.host, url.port or 80),
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return scope, receive
