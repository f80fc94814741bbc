"""Application and request contexts, kept in a context variable."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import typing as t
from types import TracebackType

from flask.ctx import _AppCtxGlobals
from werkzeug.exceptions import HTTPException

from .globals import _cv_ctx, _find_request_ctx, _no_req_msg
from .request import _awaits, _getframe
from .signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_tearing_down,
)
from .utils import (
    async_callable,
    call_maybe_async,
    caller_awaits,
    run_sync_only,
    wait_for,
    without_traceback,
)
from .websocket import has_websocket_context

if t.TYPE_CHECKING:
    from werkzeug.routing import MapAdapter

    from .app import Flask
    from .request import Request
    from .response import Response
    from .sessions import SessionMixin

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
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


def has_request_context() -> bool:
    """``True`` inside a request (where ``request`` can be used)."""
    return _find_request_ctx() is not None


def has_app_context() -> bool:
    """``True`` inside an application context (where ``current_app`` works)."""
    return _cv_ctx.get(None) is not None


def after_this_request(f: F) -> F:
    """Run ``f(response)`` after this request, before the app's
    ``after_request`` functions. It may be sync or async."""
    ctx = _find_request_ctx()
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request"
            " context is active, such as in a view function."
        )
    if isinstance(ctx._after_request_functions, tuple):
        ctx._after_request_functions = []
    ctx._after_request_functions.append(f)
    return f


def copy_current_request_context(f: F) -> F:
    """Wrap ``f`` so that it runs in a copy of the current request context:
    in a task started with ``asyncio.create_task`` (an ``async def`` ``f``),
    or in another thread (a plain ``f``). As in Flask, plain code that calls
    the wrapper of an ``async def`` ``f``, from a thread, gets its value
    (see ``asyncflask.utils.wait_for``); async code gets the coroutine."""
    ctx = _find_request_ctx()
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a"
            " request context is active, such as in a view function."
        )
    return _run_in(ctx.copy(), f)


def _run_in(ctx: t.Any, f: F) -> F:
    """``f`` wrapped to run with ``ctx`` as the current context."""
    if not async_callable(f):  # (not cached: f is often made per request)

        @functools.wraps(f)
        def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
            token = _cv_ctx.set(ctx)
            try:
                return f(*args, **kwargs)
            finally:
                _cv_ctx.reset(token)

        return call  # type: ignore[return-value]

    async def run(*args: t.Any, **kwargs: t.Any) -> t.Any:
        token = _cv_ctx.set(ctx)
        try:
            return await f(*args, **kwargs)
        finally:
            _cv_ctx.reset(token)

    loop = _running_loop()

    @functools.wraps(f)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if caller_awaits():
            return run(*args, **kwargs)
        return wait_for(run(*args, **kwargs), loop)

    return wrapper  # type: ignore[return-value]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def copy_current_app_context(f: F) -> F:
    """Wrap ``f`` so that it runs in an app context of the current app that
    shares the current ``g`` (and no request), for example in a task
    started with ``asyncio.create_task``. Each call pushes a new one, which
    its ``teardown_appcontext`` functions end. The wrapped function is a
    coroutine function."""
    ctx = _cv_ctx.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_app_context' can only be used when an app context"
            " is active, such as in a view function or in 'app.app_context()'."
        )
    app, g = ctx.app, ctx.g

    @functools.wraps(f)
    async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        # pushed outside any request, as in a task of its own
        token = _cv_ctx.set(t.cast(t.Any, None))
        app_ctx = app.app_context()
        app_ctx.g = g
        try:
            async with app_ctx:
                return await call_maybe_async(f, *args, **kwargs)
        finally:
            _cv_ctx.reset(token)

    return wrapper  # type: ignore[return-value]


def copy_current_websocket_context(f: F) -> F:
    """Wrap ``f`` so that it runs in a copy of the current websocket
    context (``websocket``, ``session``, ``g``), for example in a task that
    sends messages while the view receives; wrapped as
    :func:`copy_current_request_context` wraps."""
    if not has_websocket_context():
        raise RuntimeError(
            "'copy_current_websocket_context' can only be used when a websocket"
            " context is active, such as in a websocket view."
        )
    return copy_current_request_context(f)
