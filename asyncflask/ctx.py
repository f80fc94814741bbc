"""Application and request contexts, kept in a context variable. The
functions that go with them (``after_this_request``, ``copy_current_*``,
``has_*_context``) are in :mod:`asyncflask.ctxhelpers`, importable from here
too."""

from __future__ import annotations

import contextvars
import functools
import typing as t
from types import TracebackType

from flask.ctx import _AppCtxGlobals
from werkzeug.exceptions import HTTPException

from .ctxhelpers import (
    after_this_request,
    copy_current_app_context,
    copy_current_request_context,
    copy_current_websocket_context,
    has_app_context,
    has_request_context,
)
from .globals import _cv_ctx, _find_request_ctx, _no_req_msg
from .request import _awaits, _getframe
from .signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_tearing_down,
)
from .utils import run_sync_only, without_traceback

if t.TYPE_CHECKING:
    from werkzeug.routing import MapAdapter

    from .app import Flask
    from .request import Request
    from .response import Response
    from .sessions import SessionMixin

AfterRequestCallable = t.Callable[["Response"], t.Any]

__all__ = [
    "AppContext",
    "RequestContext",
    "_AppCtxGlobals",
    "after_this_request",
    "copy_current_app_context",
    "copy_current_request_context",
    "copy_current_websocket_context",
    "has_app_context",
    "has_request_context",
]


class _Finished:
    """Stands in for what a context let go of when its request finished
    (the request, ``g``): using it, from a task started in a view without
    ``copy_current_request_context``, says so."""

    __slots__ = ()

    def __getattr__(self, name: str) -> t.Any:
        if name.startswith("__"):
            raise AttributeError(name)
        _finished()

    def __setattr__(self, name: str, value: t.Any) -> None:
        _finished()

    def __repr__(self) -> str:
        return "<finished>"


def _finished() -> t.NoReturn:
    raise RuntimeError(
        "The request this context belonged to has finished. A task that"
        " outlives its request must be wrapped with"
        " 'copy_current_request_context' to go on using the request."
    )


_FINISHED: t.Any = _Finished()


class _Popped:
    """``pop()`` of both kinds of context."""

    if t.TYPE_CHECKING:

        async def _pop(self, exc: BaseException | None = None) -> None: ...
        def __exit__(self, exc_type: t.Any, exc: BaseException | None, tb: t.Any) -> None: ...

    def pop(self, exc: BaseException | None = None) -> t.Any:
        """Run the teardown functions and leave the context: ``await
        ctx.pop()`` in async code; called from a plain function it runs
        them there (they must be plain functions then), as Flask's."""
        if _awaits(_getframe(1)):
            return self._pop(exc)
        self.__exit__(None, exc, None)
        return None


class AppContext(_Popped):
    """Makes ``current_app`` and ``g`` point at an application.

    Use ``async with app.app_context():`` (or a plain ``with`` when every
    ``teardown_appcontext`` function is synchronous). Pushed inside a
    request, the request stays available in it.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._g: _AppCtxGlobals | None = None
        #: The request context current where this one was pushed, if any.
        self.request_ctx: RequestContext | None = None
        self._tokens: list[tuple[contextvars.Token[t.Any], RequestContext | None]] = []

    @property
    def app_ctx(self) -> AppContext:
        """This context (as for a request context, whose app context it is)."""
        return self

    @property
    def g(self) -> _AppCtxGlobals:
        """The context's ``g`` namespace, made on first use."""
        if self._g is None:
            self._g = self.app.app_ctx_globals_class()
        return self._g

    @g.setter
    def g(self, value: _AppCtxGlobals) -> None:
        self._g = value

    @property
    def request(self) -> Request:
        """The request of the request context this was pushed in."""
        return self._outer_request_ctx().request

    @property
    def session(self) -> SessionMixin:
        """The session of the request context this was pushed in."""
        return self._outer_request_ctx().session

    def _outer_request_ctx(self) -> RequestContext:
        if self.request_ctx is None:
            raise RuntimeError(_no_req_msg)
        return self.request_ctx

    @functools.cached_property
    def url_adapter(self) -> MapAdapter | None:
        """The URL adapter for building URLs outside a request."""
        return self.app.create_url_adapter(None)

    def push(self) -> None:
        """Make this the current application context."""
        outer = _find_request_ctx()
        self._tokens.append((_cv_ctx.set(self), self.request_ctx))
        self.request_ctx = outer
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=_no_async)

    async def _pop(self, exc: BaseException | None = None) -> None:
        try:
            if len(self._tokens) == 1:
                await self.app.do_teardown_appcontext(exc)
        finally:
            self._pop_token()

    def _pop_token(self) -> None:
        ctx = _cv_ctx.get()
        token, self.request_ctx = self._tokens.pop()
        _cv_ctx.reset(token)
        if appcontext_popped.receivers:
            appcontext_popped.send(self.app, _async_wrapper=_no_async)
        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")

    def __enter__(self) -> AppContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if len(self._tokens) == 1:
                for func in reversed(self.app.teardown_appcontext_funcs):
                    run_sync_only(func, exc)
                if appcontext_tearing_down.receivers:
                    appcontext_tearing_down.send(self.app, _async_wrapper=_no_async, exc=exc)
        finally:
            self._pop_token()

    async def __aenter__(self) -> AppContext:
        self.push()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._pop(exc)


class RequestContext(_Popped):
    """Holds everything about one request: the request, its URL adapter,
    the session and the functions registered with ``after_this_request``.

    A routing error is kept without its traceback (raised again by the
    dispatch, it gets one there): the traceback's frames would hold the
    request, and the app, in a reference cycle.

    It has an app context of its own (made when first used, and pushed with
    it when the app has anything to run or report for app contexts), unless
    it is pushed where an app context of the same app is current already.
    """

    def __init__(self, app: Flask, request: Request) -> None:
        self.app = app
        self.request = request
        self.flashes: list[tuple[str, str]] | None = None
        self._session: SessionMixin | None = None
        self._app_ctx: AppContext | None = None
        self._pushed_app_ctx = False
        self._tokens: list[contextvars.Token[t.Any]] = []
        self._url_adapter: MapAdapter | bool | None = False
        self._hooked = app._hooked()
        self._after_request_functions: list[AfterRequestCallable] | tuple[()] = ()
        trusted_hosts = app.config["TRUSTED_HOSTS"]
        if trusted_hosts is not None:
            request.trusted_hosts = trusted_hosts
            try:
                request.host  # noqa: B018 - validates the Host header
            except HTTPException as e:
                request.routing_exception = without_traceback(e)

    @property
    def request_ctx(self) -> RequestContext:
        """This context (as for an app context pushed inside it)."""
        return self

    @property
    def app_ctx(self) -> AppContext:
        """The app context of this request."""
        if self._app_ctx is None:
            self._app_ctx = self.app.app_context()
        return self._app_ctx

    @property
    def g(self) -> _AppCtxGlobals:
        """``g`` of this request's app context."""
        return self.app_ctx.g

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL map bound to this request, made on first use."""
        if self._url_adapter is False:
            self._url_adapter = None
            try:
                self._url_adapter = self.app.create_url_adapter(self.request)
            except HTTPException as e:
                self.request.routing_exception = without_traceback(e)
        return t.cast("MapAdapter | None", self._url_adapter)

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    @property
    def session(self) -> SessionMixin:
        """The session, opened on first access (which marks it accessed, so
        the response gets ``Vary: Cookie``)."""
        session = self._session
        if session is None:
            interface = self.app.session_interface
            session = interface.open_session(self.app, self.request)  # type: ignore[arg-type]
            if session is None:
                session = interface.make_null_session(self.app)  # type: ignore[arg-type]
            self._session = session
        session.accessed = True
        return session

    @session.setter
    def session(self, value: SessionMixin) -> None:
        self._session = value

    def match_request(self) -> None:
        """Match the URL against the app's rules and record the result."""
        request = self.request
        if request.routing_exception is not None:
            return
        matched = self.app.fast_match(request)
        if matched is not None:
            request.url_rule, request.view_args = matched
            return
        self._match_with_adapter()

    def _match_with_adapter(self) -> None:
        """Match with Werkzeug's URL adapter (every rule, every case)."""
        adapter = self.url_adapter
        if adapter is None:
            return
        try:
            rule, view_args = adapter.match(return_rule=True)
            self.request.url_rule = rule
            self.request.view_args = dict(view_args)
        except HTTPException as e:
            self.request.routing_exception = without_traceback(e)

    def push(self) -> None:
        """Make this the current request context. An app context of the same
        app that is current goes on being used; otherwise the request has
        its own. Pushed again while it is pushed (``with request_ctx:`` in a
        view), it keeps its app context: only the outermost pop leaves it."""
        if not self._tokens:
            outer = _cv_ctx.get(None)
            if outer is not None and outer.app is self.app:
                self._app_ctx = outer.app_ctx
            else:
                self._own_app_context()
        self._enter()

    def _own_app_context(self) -> None:
        """Give the request an app context of its own: pushed now when the
        app observes app contexts (signals, teardown), else made on first use."""
        if self.app._observes_app_contexts():
            app_ctx = self._app_ctx = self.app.app_context()
            app_ctx.push()
            self._pushed_app_ctx = True

    def _enter(self) -> None:
        self._tokens.append(_cv_ctx.set(self))
        if self.request.url_rule is None:
            self.match_request()

    async def _pop(self, exc: BaseException | None = None) -> None:
        app = self.app
        try:
            if len(self._tokens) == 1:
                if app._tears_down_requests():
                    await app.do_teardown_request(exc)
                if self.request._cleanups:
                    await self.request.close()
        finally:
            _cv_ctx.reset(self._tokens.pop())
            if self._pushed_app_ctx and not self._tokens:
                self._pushed_app_ctx = False
                app_ctx = self.app_ctx
                if app._tears_down_app_contexts():
                    await app_ctx._pop(exc)
                else:
                    app_ctx._pop_token()

    def _leave(self) -> None:
        """Leave this context and its app context when neither has anything
        to tear down (what :meth:`pop` does then, without awaiting)."""
        _cv_ctx.reset(self._tokens.pop())
        if self._pushed_app_ctx and not self._tokens:
            self._pushed_app_ctx = False
            self.app_ctx._pop_token()

    def _release(self) -> None:
        """Drop what the finished request holds (the request, its body, the
        session, and ``g`` of its app context)."""
        self.request = _FINISHED
        if self._app_ctx is not None:
            self._app_ctx._g = _FINISHED
        self._session = self._url_adapter = self.flashes = None

    def copy(self) -> RequestContext:
        """A new context for the same request and app context, for use in
        another task."""
        app_ctx = self.app_ctx
        ctx = object.__new__(RequestContext)
        ctx.__dict__.update(self.__dict__)
        ctx._tokens = []
        ctx._app_ctx = app_ctx
        ctx._pushed_app_ctx = False
        return ctx

    def __enter__(self) -> RequestContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if len(self._tokens) == 1:
                for name in (*self.request.blueprints, None):
                    for func in reversed(self.app.teardown_request_funcs.get(name, ())):
                        run_sync_only(func, exc)
                if request_tearing_down.receivers:
                    request_tearing_down.send(self.app, _async_wrapper=_no_async, exc=exc)
        finally:
            _cv_ctx.reset(self._tokens.pop())
            if self._pushed_app_ctx and not self._tokens:
                self._pushed_app_ctx = False
                self.app_ctx.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> RequestContext:
        self.push()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._pop(exc)

    def __repr__(self) -> str:
        if self.request is _FINISHED:
            return f"<{type(self).__name__} (finished)>"
        return f"<{type(self).__name__} {self.request.url!r} [{self.request.method}]>"


def _no_async(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    raise TypeError(
        "This signal is sent where nothing can be awaited (a context pushed or"
        " popped with a plain 'with'): its receivers must be plain functions."
    )
