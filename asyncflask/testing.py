"""The test client: Flask's test client, on httpx talking to the app
in-process over ASGI. Awaited in async code; called from a plain function
(a plain ``def`` test) it runs the request on an event loop of its own."""

from __future__ import annotations

import asyncio
import functools
import importlib.metadata
import typing as t
import weakref
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from copy import copy
from types import TracebackType
from urllib.parse import urlencode

import httpx
import werkzeug.test
from flask.testing import EnvironBuilder
from werkzeug.sansio.request import Request as SansIORequest

from .globals import _cv_ctx
from .request import ENVIRON_EXTRA, _awaits, _getframe
from .testbuild import builder_kwargs, builder_scope, environ_to_scope, scope_url
from .testcookies import CookiesMixin
from .testctx import Handover, SessionTransaction, leave_kept, teardown_kept
from .testloop import Pending, close_loop, loop_running, settle
from .testtransport import (
    HANDOVER,
    SCOPE_EXTENSION,
    ASGITransport,
    Lifespan,
    TestApp,
    TestRequest,
    TestResponse,
)
from .wstesting import WebsocketRejected, WebsocketSession, websocket_scope

if t.TYPE_CHECKING:
    from .app import Flask
    from .ctx import AppContext, RequestContext
    from .typing import Scope

T = t.TypeVar("T")

__all__ = [
    "ASGITransport",
    "EnvironBuilder",
    "TestApp",
    "TestClient",
    "TestResponse",
    "WebsocketRejected",
    "WebsocketSession",
]

#: Keywords only httpx knows: a request with one is built by httpx alone.
_HTTPX_ONLY = frozenset(("content", "params", "files", "cookies", "timeout", "extensions"))
_WERKZEUG = importlib.metadata.version("werkzeug")


class TestClient(CookiesMixin):
    """Flask's test client for an app, on httpx.

    ``client.get(...)`` and friends take Flask's keywords (``query_string``,
    ``data``, ``json``, ``headers``, ``content_type``, ``follow_redirects``,
    ``environ_base``, ``environ_overrides``, ``url_scheme``, ``subdomain``,
    ``base_url``). Awaited in async code; called from a plain function with
    no event loop running, they return the response. Cookies are kept (also
    ``Secure`` ones over ``http://``). ``with client:`` (or ``async with``)
    keeps the last request's context until the block ends; ``async with``
    also runs the lifespan. ``client.stream("GET", url)`` reads a streamed
    response piece by piece; ``client.websocket(url)`` opens a websocket.
    """

    __test__ = False

    def __init__(self, app: Flask, use_cookies: bool = True, **kwargs: t.Any) -> None:
        self._base_from_config = "base_url" not in kwargs
        kwargs.setdefault("base_url", "http://localhost")
        transport = kwargs.setdefault("transport", ASGITransport(app))
        super().__init__(**kwargs)
        self.application = app
        self.use_cookies = use_cookies
        #: Defaults for every request's environ, as Flask's client has them
        #: (the address, that of an ``ASGITransport(app, client=...)`` given).
        self.environ_base: dict[str, t.Any] = {
            "REMOTE_ADDR": getattr(transport, "client", ("127.0.0.1",))[0],
            "HTTP_USER_AGENT": f"Werkzeug/{_WERKZEUG}",
        }
        #: Whether requests hand their contexts to the client (inside ``with``).
        self.preserve_context = False
        self._new_contexts: list[tuple[RequestContext, bool]] = []
        self._kept: list[tuple[RequestContext, bool]] = []
        self._pushed: weakref.WeakSet[AppContext | RequestContext] = weakref.WeakSet()
        self._lifespan: Lifespan | None = None
        #: Whether ``async with`` runs the lifespan (not for the client of
        #: a :class:`TestApp`, which runs it).
        self.runs_lifespan = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_closer: weakref.finalize | None = None  # type: ignore[type-arg]

    # -- building requests ---------------------------------------------------

    def build_request(self, method: str, url: t.Any, **kwargs: t.Any) -> httpx.Request:
        """Build a request with httpx, translating Flask's test-client
        keywords (``query_string``, ``data``, ``content_type``) and adding
        the defaults of :attr:`environ_base`."""
        query_string = kwargs.pop("query_string", None)
        content_type = kwargs.pop("content_type", None)
        if query_string is not None:
            if not isinstance(query_string, (str, bytes)):
                query_string = urlencode(query_string, doseq=True)
            if isinstance(query_string, bytes):
                query_string = query_string.decode("latin-1")
            url = f"{url}{'&' if '?' in str(url) else '?'}{query_string}"
        if isinstance(kwargs.get("data"), (str, bytes)):
            kwargs["content"] = kwargs.pop("data")
        headers = httpx.Headers(kwargs.get("headers"))
        if content_type is not None:
            headers["content-type"] = content_type
        extensions = dict(kwargs.pop("extensions", None) or {})
        for key, value in self.environ_base.items():
            if key.startswith("HTTP_"):
                headers.setdefault(key[5:].replace("_", "-"), value)
            elif key == "REMOTE_ADDR":
                extensions.setdefault(SCOPE_EXTENSION, {"client": (value, 123)})
        kwargs["headers"] = headers
        self._prepare()
        request = super().build_request(method, url, extensions=extensions, **kwargs)
        request.__class__ = TestRequest  # (adds properties only)
        return request

    def _prepare(self) -> None:
        if not self.use_cookies:
            self.cookies.clear()
        if self._base_from_config:
            # as Flask's client: PREFERRED_URL_SCHEME://SERVER_NAME (or localhost)
            config = self.application.config
            self.base_url = (
                f"{config['PREFERRED_URL_SCHEME']}://{config['SERVER_NAME'] or 'localhost'}"
            )

    def _build_redirect_request(
        self, request: httpx.Request, response: httpx.Response
    ) -> httpx.Request:
        redirect = super()._build_redirect_request(request, response)
        redirect.__class__ = TestRequest
        return redirect

    def _copy_environ(self, other: dict[str, t.Any]) -> dict[str, t.Any]:
        return {**self.environ_base, **other}

    def _scope(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> tuple[Scope, bytes]:
        """The scope and body of the WSGI environ Flask's client would make
        of these arguments."""
        first = args[0] if args else None
        if isinstance(first, werkzeug.test.EnvironBuilder):
            builder = copy(first)
            builder.environ_base = self._copy_environ(dict(builder.environ_base or {}))
            return builder_scope(builder)  # type: ignore[arg-type]
        if isinstance(first, dict):
            return environ_to_scope({**self._copy_environ({}), **first})
        if isinstance(first, SansIORequest) and hasattr(first, "environ"):
            return environ_to_scope(self._copy_environ(first.environ))
        kwargs = builder_kwargs(kwargs)
        kwargs["environ_base"] = self._copy_environ(kwargs.get("environ_base") or {})
        if not self._base_from_config and not kwargs.keys() & {"subdomain", "url_scheme"}:
            kwargs.setdefault("base_url", str(self.base_url))
        builder = EnvironBuilder(self.application, *args, **kwargs)  # type: ignore[arg-type]
        try:
            return builder_scope(builder)
        finally:
            builder.close()

    def _request_for(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> httpx.Request:
        if _HTTPX_ONLY & kwargs.keys():
            method = kwargs.pop("method", "GET")
            request = self.build_request(method, args[0] if args else "/", **kwargs)
        else:
            self._prepare()
            scope, body = self._scope(args, kwargs)
            fields = {k: scope[k] for k in ("client", "http_version", ENVIRON_EXTRA) if k in scope}
            if scope["root_path"]:  # else the transport's
                fields["root_path"] = scope["root_path"]
            request = super().build_request(
                scope["method"],
                scope_url(scope),
                content=body,
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
                extensions={SCOPE_EXTENSION: fields},
            )
            request.__class__ = TestRequest
        request.extensions[HANDOVER] = Handover(self)
        return request

    # -- sending ---------------------------------------------------------------

    def open(
        self, *args: t.Any, buffered: bool = False, follow_redirects: bool = False, **kwargs: t.Any
    ) -> t.Any:
        """Flask's ``client.open(path, method=..., **kwargs)``: also takes an
        ``EnvironBuilder`` or a WSGI environ. Awaitable from async code; the
        response itself from a plain function."""
        if _awaits(_getframe(1)):
            return self._open(args, kwargs, follow_redirects)
        if loop_running():
            return Pending("open", functools.partial(self._open, args, kwargs, follow_redirects))
        return self._open_sync(args, kwargs, follow_redirects)

    async def _open(
        self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], follow_redirects: bool
    ) -> TestResponse:
        await self._pop_kept()
        request = self._request_for(args, kwargs)
        response = await self.send(request, follow_redirects=follow_redirects)
        self._push_new()
        return t.cast(TestResponse, response)

    def _open_sync(
        self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], follow_redirects: bool
    ) -> TestResponse:
        self._pop_kept_sync()
        request = self._request_for(args, kwargs)
        response = self._run(self.send(request, follow_redirects=follow_redirects))
        self._push_new()
        return t.cast(TestResponse, response)

    def request(self, method: str, url: t.Any = "/", **kwargs: t.Any) -> t.Any:
        """Send a request (Flask's keywords accepted); awaitable from async
        code, the response from a plain function."""
        return self.open(url, method=method, **kwargs)

    def get(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """A GET request (see :meth:`open`)."""
        return self.open(*args, method="GET", **kwargs)

    def post(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """A POST request (see :meth:`open`)."""
        return self.open(*args, method="POST", **kwargs)

    def put(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """A PUT request (see :meth:`open`)."""
        return self.open(*args, method="PUT", **kwargs)

    def patch(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """A PATCH request (see :meth:`open`)."""
        return self.open(*args, method="PATCH", **kwargs)

    def delete(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """A DELETE request (see :meth:`open`)."""
        return self.open(*args, method="DELETE", **kwargs)

    def head(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """A HEAD request (see :meth:`open`)."""
        return self.open(*args, method="HEAD", **kwargs)

    def options(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """An OPTIONS request (see :meth:`open`)."""
        return self.open(*args, method="OPTIONS", **kwargs)

    def trace(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """A TRACE request (see :meth:`open`)."""
        return self.open(*args, method="TRACE", **kwargs)

    # -- the client's event loop, for plain code -------------------------------

    def _run(self, coro: Coroutine[t.Any, t.Any, T]) -> T:
        loop = self._loop
        if loop is None or loop.is_closed():
            loop = self._loop = asyncio.new_event_loop()
            self._loop_closer = weakref.finalize(self, close_loop, loop)
        try:
            return loop.run_until_complete(coro)
        finally:
            settle(loop)

    def _close_loop(self) -> None:
        if self._loop_closer is not None:
            self._loop_closer()
        self._loop = self._loop_closer = None

    # -- contexts kept inside ``with client:`` ---------------------------------

    def _push_new(self) -> None:
        """Push the contexts the app handed over (in the caller's context)."""
        new, self._new_contexts = self._new_contexts, []
        for ctx, own_app_ctx in new:
            if own_app_ctx:
                ctx.app_ctx.push()
                ctx._pushed_app_ctx = True
                self._pushed.add(ctx.app_ctx)
            ctx._tokens.append(_cv_ctx.set(ctx))
            self._pushed.add(ctx)
            self._kept.append((ctx, own_app_ctx))
            if ctx._session is None:
                # as Flask's push does, without marking the session accessed
                app = ctx.app
                interface = app.session_interface
                session = interface.open_session(app, ctx.request)  # type: ignore[arg-type]
                ctx._session = session or interface.make_null_session(app)  # type: ignore[arg-type]

    async def _pop_kept(self) -> None:
        while self._kept:
            ctx, own_app_ctx = self._kept.pop()
            try:
                await teardown_kept(ctx, own_app_ctx)
            finally:
                leave_kept(ctx, own_app_ctx)

    def _pop_kept_sync(self) -> None:
        while self._kept:
            ctx, own_app_ctx = self._kept.pop()
            try:
                if ctx.app._tears_down():
                    self._run(teardown_kept(ctx, own_app_ctx))
            finally:
                leave_kept(ctx, own_app_ctx)

    def __enter__(self) -> TestClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        self.preserve_context = False
        try:
            self._pop_kept_sync()
        finally:
            self._close_loop()

    async def __aenter__(self) -> TestClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        await super().__aenter__()
        if self.runs_lifespan:
            self._lifespan = Lifespan(self.application)
            await self._lifespan.startup()
        self.preserve_context = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        self.preserve_context = False
        try:
            await self._pop_kept()
            if self._lifespan is not None:
                await self._lifespan.shutdown()
        finally:
            await super().__aexit__(exc_type, exc, tb)

    def session_transaction(self, *args: t.Any, **kwargs: t.Any) -> SessionTransaction:
        """``with client.session_transaction() as session:`` (or ``async
        with``): open the session the client's cookies carry, let the block
        change it, and store it back in the cookies. Takes the arguments of
        ``app.test_request_context()``."""
        self._need_cookies()
        return SessionTransaction(self, args, kwargs)

    # -- sessions, streams and websockets ----------------------------------------------------

    @asynccontextmanager
    async def stream(self, method: str, url: t.Any, **kwargs: t.Any) -> AsyncIterator[TestResponse]:
        """Send a request and read its response as it streams; leaving the
        block early disconnects (the app sees ``http.disconnect``)."""
        follow = kwargs.pop("follow_redirects", False)
        request = self.build_request(method, url, **kwargs)
        response = await self.send(request, stream=True, follow_redirects=follow)
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
