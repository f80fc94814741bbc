"""The test client's wire: an httpx transport that calls the app in-process
over ASGI and streams, the responses it gives (with Flask's test-response
names), the lifespan driver and the test app that runs it."""

from __future__ import annotations

import asyncio
import contextlib
import json as _json
import math
import typing as t
from collections.abc import AsyncIterator
from types import TracebackType
from urllib.parse import parse_qsl

import anyio
import httpx
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.http import HTTP_STATUS_CODES, parse_options_header
from werkzeug.sansio.response import Response as SansIOResponse

from .request import ENVIRON_EXTRA
from .typing import ASGIApp, Message, Scope

if t.TYPE_CHECKING:
    from .app import Flask
    from .testing import TestClient

__all__ = [
    "ASGITransport",
    "Lifespan",
    "ResponseHeaders",
    "TestApp",
    "TestRequest",
    "TestResponse",
]

#: httpx request extensions the client uses to reach the transport: the
#: scope fields an environ decided (``client``, ``root_path``), and the
#: object through which the app hands its contexts to the client.
SCOPE_EXTENSION = "asyncflask.scope"
HANDOVER = "asyncflask.handover"


class ResponseHeaders(httpx.Headers):
    """httpx's headers with Werkzeug's ``getlist(key, type=)`` and
    ``get(key, default, type=)``, as Flask's test responses have them."""

    def get(
        self, key: str, default: t.Any = None, type: t.Callable[[str], t.Any] | None = None
    ) -> t.Any:
        """The first value of ``key`` (converted by ``type``; ``default`` if
        missing or if ``type`` raises ``ValueError``)."""
        values = self.get_list(key)
        if not values:
            return default
        if type is None:
            return values[0]
        try:
            return type(values[0])
        except ValueError:
            return default

    def getlist(self, key: str, type: t.Callable[[str], t.Any] | None = None) -> list[t.Any]:
        """Every value of ``key``, each converted by ``type`` (those it
        rejects with ``ValueError`` left out)."""
        values = self.get_list(key)
        if type is None:
            return values
        result = []
        for value in values:
            with contextlib.suppress(ValueError):
                result.append(type(value))
        return result

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` (Werkzeug's name for ``getlist``)."""
        return self.get_list(key)


class TestRequest(httpx.Request):
    """An httpx request with the names Flask's ``response.request`` has:
    ``path``, ``full_path``, ``args``, ``query_string``, ``host``."""

    __test__ = False

    @property
    def path(self) -> str:
        """The URL path, decoded."""
        return self.url.path

    @property
    def query_string(self) -> bytes:
        """The raw query string."""
        return self.url.query

    @property
    def full_path(self) -> str:
        """The path and the query string (``/p?a=1``)."""
        return f"{self.path}?{self.url.query.decode('latin-1')}"

    @property
    def args(self) -> MultiDict[str, str]:
        """The parsed query string."""
        return MultiDict(parse_qsl(self.url.query.decode("latin-1"), keep_blank_values=True))

    @property
    def host(self) -> str:
        """The host (and port, if not the default) the request went to."""
        return self.url.netloc.decode("ascii")


class TestResponse(httpx.Response):
    """An httpx response with Flask's test-response names: ``data``,
    ``get_data()``, ``json``, ``get_json()``, ``status``, ``mimetype``,
    ``headers.getlist()``, and Werkzeug's header properties (``vary``,
    ``location``, ``content_length``, ``cache_control``, ...)."""

    __test__ = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = ResponseHeaders(self.headers)

    @property
    def data(self) -> bytes:
        """The body as bytes."""
        return self.content

    def get_data(self, as_text: bool = False) -> bytes | str:
        """The body as bytes, or as text with ``as_text``."""
        return self.text if as_text else self.content

    @property
    def json(self) -> t.Any:
        """The body parsed as JSON, as Flask's ``response.json`` (``None`` if
        the mimetype is not JSON)."""
        return self.get_json()

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

    def close(self) -> None:
        """Flask's ``response.close()``: a response read whole has nothing
        open any more; one read with ``client.stream()`` is closed with
        ``await response.aclose()``."""
        if not self.is_closed:
            super().close()

    def __getattr__(self, name: str) -> t.Any:
        # Werkzeug's header properties, read from a response made of these headers
        if name.startswith("_") or not hasattr(SansIOResponse, name):
            raise AttributeError(name)
        view = SansIOResponse(status=self.status_code, headers=Headers(self.headers.multi_items()))
        return getattr(view, name)


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
        task = self.task = asyncio.get_running_loop().create_task(self.run_app())
        try:
            await self.started.wait()
        except BaseException:
            # cancelled: the loop was stopped (a KeyboardInterrupt in the
            # app goes straight out of it) with this request unfinished
            self.body.close()
            if task.done() and not task.cancelled():
                task.exception()  # raised already, where the loop stopped
            raise
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
        fields: dict[str, t.Any] = request.extensions.get(SCOPE_EXTENSION, {})
        root_path = fields.get("root_path")
        if root_path is None:  # the URL's path is below the transport's root path
            root_path = self.root_path
            path, raw_path = root_path + url.path, root_path.encode() + raw_path
        else:  # it includes the root path
            path = url.path
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": fields.get("http_version", "1.1"),
            "method": request.method,
            "scheme": url.scheme,
            "path": path,
            "raw_path": raw_path,
            "query_string": url.query,
            "root_path": root_path,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": fields.get("client", self.client),
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        }
        if ENVIRON_EXTRA in fields:
            scope[ENVIRON_EXTRA] = fields[ENVIRON_EXTRA]
        handover = request.extensions.get(HANDOVER)
        if handover is not None:
            scope[HANDOVER] = handover
        exchange = _Exchange(self.app, scope, request, self.raise_app_exceptions)
        start = await exchange.start()
        return TestResponse(
            status_code=start["status"],
            headers=[(bytes(k), bytes(v)) for k, v in start.get("headers", [])],
            stream=_BodyStream(exchange),
            request=request,
        )


class Lifespan:
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
        """Send ``lifespan.startup``; raise if the app reports a failure."""
        self.task = asyncio.get_running_loop().create_task(self._run())
        try:
            await self._step("startup")
        except BaseException:
            await self.task
            for stream in (self.to_app, self.app_inbox, self.from_app_send, self.from_app):
                stream.close()
            raise

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait for the app to finish it."""
        try:
            await self._step("shutdown")
            if self.task is not None:
                await self.task
        finally:
            for stream in (self.to_app, self.app_inbox, self.from_app_send, self.from_app):
                stream.close()


class TestApp:
    """An app with its lifespan, as Quart's ``app.test_app()``: ``async
    with app.test_app() as test_app:`` runs startup (``before_serving``,
    ``while_serving``) on entering, raising if it fails, and shutdown on
    leaving; ``test_app.test_client()`` gives clients that call the app
    meanwhile."""

    __test__ = False

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lifespan: Lifespan | None = None

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
        lifespan = Lifespan(self.app)
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
