"""The application object: Flask's ``App`` as an ASGI callable."""

from __future__ import annotations

import inspect
import os
import sys
import typing as t
import weakref
from collections.abc import AsyncIterator, Iterator
from itertools import chain
from types import TracebackType

from flask.app import Flask as _WSGIFlask
from flask.cli import AppGroup
from flask.debughelpers import FormDataRoutingRedirect
from flask.sessions import SecureCookieSessionInterface, SessionInterface
from flask.testing import FlaskCliRunner
from werkzeug.datastructures import Headers
from werkzeug.exceptions import (
    BadRequestKeyError,
    HTTPException,
    InternalServerError,
)
from werkzeug.routing import MapAdapter, RequestRedirect, RoutingException, Rule
from werkzeug.sansio.response import Response as SansIOResponse

from . import signals
from .asgi import handle_lifespan
from .ctx import AppContext, RequestContext
from .files import StaticFilesMixin, open_resource
from .globals import _request_ctx
from .jsonprovider import JSONProvider
from .request import ClientDisconnected, Request
from .response import Response, from_werkzeug
from .routing import RoutingMixin, URLMap
from .serving import ServingMixin
from .signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    got_request_exception,
    request_finished,
    request_started,
    request_tearing_down,
    send,
)
from .templating import (
    Environment,
    create_environment,
    default_context_processor,
    update_template_context_sync,
)
from .utils import (
    async_callable,
    async_to_sync,
    call_maybe_async,
    caller_awaits,
    is_async_callable,
    run_in_thread,
    wait_for,
    without_traceback,
    wraps_async,
)
from .websocket import WebsocketScaffold
from .wsdispatch import handle_websocket

if t.TYPE_CHECKING:
    from .testing import TestApp, TestClient
    from .typing import ASGIApp, ASGIReceive, ASGISend, ResponseReturnValue, Scope

T = t.TypeVar("T", bound=t.Callable[..., t.Any])


class Flask(StaticFilesMixin, RoutingMixin, ServingMixin, WebsocketScaffold):
    """The application: a Flask app that is an ASGI callable.

    ``app = Flask(__name__)`` takes the same arguments as Flask's. Serve it
    with ``app.run()``, ``asyncflask --app module:app run`` or any ASGI server
    (``uvicorn module:app``).
    """

    default_config = _WSGIFlask.default_config
    request_class: type[Request] = Request
    response_class: type[Response] = Response
    session_interface: SessionInterface = SecureCookieSessionInterface()
    json_provider_class = JSONProvider
    #: The class of ``jinja_env``; a subclass may set a Flask ``Environment``
    #: subclass of its own.
    jinja_environment = Environment
    url_map_class = URLMap

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(
            import_name=import_name,
            static_url_path=static_url_path,
            static_folder=static_folder,
            static_host=static_host,
            host_matching=host_matching,
            subdomain_matching=subdomain_matching,
            template_folder=template_folder,
            instance_path=instance_path,
            instance_relative_config=instance_relative_config,
            root_path=root_path,
        )
        self.template_context_processors[None] = [default_context_processor]
        #: Click commands registered by the app and its blueprints.
        self.cli = AppGroup(self.name)
        # hooks a subclass overrides are always called; others only when needed
        self._overridden = frozenset(
            name
            for name in (
                "preprocess_request",
                "dispatch_request",
                "process_response",
                "finalize_request",
                "do_teardown_request",
                "do_teardown_appcontext",
            )
            if getattr(type(self), name) is not getattr(Flask, name)
        )
        # whether requests go through ``asgi_app`` (middleware, or a method
        # of a subclass) before reaching the app
        self._wrapped = type(self).asgi_app is not Flask.asgi_app
        # requests skip full_dispatch_request's choice for plain callers
        # unless a subclass overrides it
        self._own_dispatch = type(self).full_dispatch_request is Flask.full_dispatch_request
        self._view_kinds: dict[t.Callable[..., t.Any], str] = {}
        # (path, method) -> rule, for rules without arguments
        self._static_routes: dict[tuple[str, str], Rule] = {}
        self._static_routes_version = -1
        #: Functions run at server startup (ASGI lifespan), in order.
        self.before_serving_funcs: list[t.Callable[[], t.Any]] = []
        #: Functions run at server shutdown, in reverse order.
        self.after_serving_funcs: list[t.Callable[[], t.Any]] = []
        self.while_serving_funcs = []
        self._serving_gens = []
        self.background_tasks = set()
        if self.has_static_folder:
            if bool(static_host) != host_matching:
                # Flask's own exception for it
                raise AssertionError("Invalid static_host/host_matching combination")
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=_static_view(weakref.ref(self)),
            )

    def create_jinja_environment(self) -> Environment:
        """The Jinja environment (async mode) with Flask's globals."""
        return create_environment(self)

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add what the context processors give to ``context`` (the values
        already in it win), for code that renders synchronously, such as
        Flask's ``render_template``."""
        update_template_context_sync(self, context)

    # -- ASGI ----------------------------------------------------------------

    @property
    def asgi_app(self) -> ASGIApp:
        """The ASGI application that ``app`` runs: the place for ASGI
        middleware, as Flask's ``wsgi_app`` is for WSGI middleware
        (``app.asgi_app = ProxyFix(app.asgi_app, x_for=1)``), so that ``app``
        stays the app and servers go on serving it. A subclass may override
        it as a method, calling ``super().asgi_app(...)``."""
        return self.__dict__.get("_asgi_app") or self._unwrapped_app

    @asgi_app.setter
    def asgi_app(self, value: ASGIApp) -> None:
        self._asgi_app = value
        self._wrapped = True

    async def _unwrapped_app(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        await self.__call__(scope, receive, send, _inner=True)

    async def __call__(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, _inner: bool = False
    ) -> None:
        """The ASGI entry point: handle one HTTP request (dispatch it, send
        the response, and tear the context down after the last byte), the
        lifespan, or a websocket; through :attr:`asgi_app` when middleware
        was put there."""
        if self._wrapped and not _inner:
            await self.asgi_app(scope, receive, send)
            return
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await handle_lifespan(self, receive, send)
            elif scope["type"] == "websocket":
                await handle_websocket(self, scope, receive, send)
            return
        request = self.request_class(scope, receive)
        ctx = RequestContext(self, request)
        # An app context of its own, never one inherited from the server's
        # task: uvicorn starts a pipelined request from inside the previous
        # one's last send, so its task starts with the previous request's
        # contexts.
        # (the test client's: the caller's app context, and ``with client:``)
        handover = scope.get("asyncflask.handover")
        if handover is not None:
            handover.start(ctx)
        elif ctx._hooked:
            ctx._own_app_context()
        error: BaseException | None = None
        ctx._enter()
        try:
            try:
                response = await (
                    self._full_dispatch_request(ctx)
                    if self._own_dispatch
                    else self.full_dispatch_request(ctx)
                )
            except ClientDisconnected as e:
                error = e
                return
            except Exception as e:
                error = e
                # (call_maybe_async: an extension may wrap it in a plain function)
                response = await call_maybe_async(self.handle_exception, e)
            if request._body_started and request.body_abandoned:
                response.headers["Connection"] = "close"
            try:
                await response(scope, receive, send)
            except ClientDisconnected:
                pass
            except Exception as e:
                error = e
                self.logger.error(
                    f"Error while sending the response to {request.path} [{request.method}]",
                    exc_info=sys.exc_info(),
                )
        except BaseException as e:
            error = e
            raise
        finally:
            if error is not None and self.should_ignore_error(error):
                error = None
            try:
                if request._cleanups or (ctx._hooked and self._tears_down()):
                    await ctx._pop(error)
                else:
                    ctx._leave()
            finally:
                # uvicorn's keep-alive timer keeps a copy of the context
                # variables taken in the last send, until the connection's
                # next request: empty the contexts it refers to
                if handover is None or not handover.keep(ctx):
                    ctx._release()
                if error is not None and sys.exc_info()[1] is None:
                    without_traceback(error)  # dealt with; its frames hold the app

    # -- dispatch --------------------------------------------------------------

    def full_dispatch_request(self, ctx: RequestContext | None = None) -> t.Any:
        """Run the ``before_request`` hooks, the view and the error handlers,
        and finalize the result into a response: awaited by async code;
        plain code (``app.full_dispatch_request()`` inside ``with
        app.request_context(...)``, as in Flask's tests) gets the response."""
        if ctx is None:
            ctx = _request_ctx()
            if not caller_awaits():
                return wait_for(self._full_dispatch_request(ctx))
        return self._full_dispatch_request(ctx)

    async def _full_dispatch_request(self, ctx: RequestContext) -> Response:
        if not self._got_first_request:
            self._first_request(ctx)
        hooked = ctx._hooked
        try:
            rv: t.Any = None
            if hooked:
                if request_started.receivers:
                    await send(request_started, self)
                if (
                    self.before_request_funcs
                    or self.url_value_preprocessors
                    or "preprocess_request" in self._overridden
                ):
                    rv = await self.preprocess_request(ctx)
            if rv is None:
                if hooked and "dispatch_request" in self._overridden:
                    rv = await self.dispatch_request(ctx)
                else:
                    rv = await self._call_view(ctx)
        except Exception as e:
            rv = await call_maybe_async(self.handle_user_exception, e)
            # handled: its traceback (whose frames hold ``rv``, the request
            # and the app) is of no more use, and would make a cycle
            without_traceback(e)
        if (
            hooked
            or ctx._after_request_functions
            or ctx._session is not None
            or self._session_needs_refresh(ctx.request)
        ):
            return await self.finalize_request(rv)
        return self.make_response(rv)

    async def preprocess_request(
        self, ctx: RequestContext | None = None
    ) -> ResponseReturnValue | None:
        """Call the URL value preprocessors and ``before_request`` functions
        of the app and the current blueprints; a non-``None`` return value
        stops the request there."""
        req = (ctx or _request_ctx()).request
        if not (self.url_value_preprocessors or self.before_request_funcs):
            return None
        names = (None, *reversed(req.blueprints))
        for name in names:
            for url_func in self.url_value_preprocessors.get(name, ()):
                url_func(req.endpoint, req.view_args)
        for name in names:
            for before_func in self.before_request_funcs.get(name, ()):
                rv = await call_maybe_async(before_func)
                if rv is not None:
                    return t.cast("ResponseReturnValue", rv)
        return None

    async def dispatch_request(self, ctx: RequestContext | None = None) -> ResponseReturnValue:
        """Call the view for the matched rule (a plain ``def`` view runs in a
        worker thread) and return its value."""
        return t.cast("ResponseReturnValue", await self._call_view(ctx or _request_ctx()))

    def _call_view(self, ctx: RequestContext) -> t.Awaitable[t.Any]:
        """The awaitable that runs the matched view (or raises the routing
        error, or answers an automatic ``OPTIONS``)."""
        req = ctx.request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)
        rule = req.url_rule
        if rule is None:  # pragma: no cover - a bound adapter always matches or raises
            raise InternalServerError()
        if req.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return _ready(self.make_default_options_response(ctx))
        view: t.Callable[..., t.Any] = self.view_functions[rule.endpoint]
        kwargs = req.view_args or {}
        # what kind of function a view is, remembered by the app (a global
        # cache would keep views, and the apps they refer to, alive)
        kind = self._view_kinds.get(view)
        if kind is None:
            kind = self._view_kinds[view] = _view_kind(view)
        if kind is _ASYNC_VIEW:
            awaitable: t.Awaitable[t.Any] = view(**kwargs)
            return awaitable
        return self._call_sync_view(req, view, kwargs, kind is _WRAPS_ASYNC_VIEW)

    async def _call_sync_view(
        self,
        req: Request,
        view: t.Callable[..., t.Any],
        kwargs: dict[str, t.Any],
        wrapping_async: bool,
    ) -> t.Any:
        # A plain decorator around an async view (Flask-Login's
        # login_required) runs in the thread too, where its
        # ensure_sync(view)(...) gets the view's value; the async view may
        # still stream the body, so it is not loaded for it.
        if not wrapping_async:
            await req._load_for_sync()
        rv = await run_in_thread(view, **kwargs)
        if inspect.isawaitable(rv):  # a decorator that returns view(...) itself
            rv = await rv
        return rv

    def raise_routing_exception(self, request: Request) -> t.NoReturn:
        """Raise the request's routing error. In debug mode a redirect that
        would make the browser drop a form's body (a 301 or 302 answering a
        ``POST``) raises Flask's ``FormDataRoutingRedirect`` instead."""
        exc = t.cast(Exception, request.routing_exception)
        if (
            not self.debug
            or not isinstance(exc, RequestRedirect)
            or exc.code in {307, 308}
            or request.method in {"GET", "HEAD", "OPTIONS"}
        ):
            raise exc
        raise FormDataRoutingRedirect(request)  # type: ignore[arg-type]

    def ensure_sync(self, func: T) -> T:
        """``func`` itself if it is a plain function; for an async one, a
        plain function that returns its value (:meth:`async_to_sync`), as in
        Flask. Code that cannot await never gets a coroutine from it."""
        if is_async_callable(func):
            return t.cast(T, self.async_to_sync(func))
        return func

    def async_to_sync(
        self, func: t.Callable[..., t.Coroutine[t.Any, t.Any, t.Any]]
    ) -> t.Callable[..., t.Any]:
        """A plain function that runs the async ``func`` and returns its
        value. Called in a worker thread (a plain view, or a decorator
        around an async view), the coroutine runs on the event loop while
        the thread waits. Called by plain code on the event loop itself, it
        can only finish a coroutine that never waits, and otherwise raises a
        ``TypeError`` that names the fix: never a coroutine in place of the
        value."""
        return async_to_sync(func)

    def make_default_options_response(self, ctx: RequestContext | None = None) -> Response:
        """The answer to an automatic ``OPTIONS`` request: an empty 200 with
        ``Allow``."""
        adapter = t.cast(MapAdapter, (ctx or _request_ctx()).url_adapter)
        rv = self.response_class()
        rv.allow.update(adapter.allowed_methods())
        return rv

    async def finalize_request(
        self, rv: ResponseReturnValue | HTTPException, from_error_handler: bool = False
    ) -> Response:
        """Turn a view's return value into a response and run the
        ``after_request`` functions on it."""
        response = self.make_response(rv)
        try:
            if self._processes_response(_request_ctx()):
                response = await self.process_response(response)
            if request_finished.receivers:
                await send(request_finished, self, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def _first_request(self, ctx: RequestContext) -> None:
        """Settle what the config decides once: with ``LOAD_REQUEST_BODY``,
        a form or JSON body is loaded before the ``before_request``
        functions (by one of them, run first), so requests of other apps
        pay nothing for it."""
        self._got_first_request = True
        if self.config.get("LOAD_REQUEST_BODY"):
            funcs = self.before_request_funcs.setdefault(None, [])
            if _load_request_body not in funcs:
                funcs.insert(0, _load_request_body)
            ctx._hooked = True

    def _hooked(self) -> bool:
        """Whether a request runs anything besides its view: hook or teardown
        functions, receivers of the request and app context signals, or
        steps a subclass overrides. Requests of an app without any skip
        every check for them."""
        return bool(
            self.before_request_funcs
            or self.after_request_funcs
            or self.teardown_request_funcs
            or self.teardown_appcontext_funcs
            or self.url_value_preprocessors
            or self._overridden
            or signals.listened
        )

    def _processes_response(self, ctx: RequestContext) -> bool:
        return bool(
            ctx._after_request_functions
            or self.after_request_funcs
            or ctx._session is not None
            or "process_response" in self._overridden
            or self._session_needs_refresh(ctx.request)
        )

    async def process_response(self, response: Response) -> Response:
        """Run ``after_this_request`` and ``after_request`` functions and save
        the session."""
        ctx = _request_ctx()
        for func in ctx._after_request_functions:
            response = await call_maybe_async(func, response)
        if self.after_request_funcs:
            for name in chain(ctx.request.blueprints, (None,)):
                for func in reversed(self.after_request_funcs.get(name, ())):
                    response = await call_maybe_async(func, response)
        session = ctx._session
        if session is None and self._session_needs_refresh(ctx.request):
            session = self.session_interface.open_session(self, ctx.request)  # type: ignore[arg-type]
        if session is not None and not self.session_interface.is_null_session(session):
            self.session_interface.save_session(self, session, response)  # type: ignore[arg-type]
        return response

    def _session_needs_refresh(self, request: Request) -> bool:
        """A session nobody touched is still re-sent when it is permanent and
        ``SESSION_REFRESH_EACH_REQUEST`` is on (Flask does that by opening
        every session); only requests that carry the cookie pay for it."""
        if not self.config["SESSION_REFRESH_EACH_REQUEST"]:
            return False
        for name, _ in request.scope["headers"]:
            if name == b"cookie":
                cookie_name = self.session_interface.get_cookie_name(self)  # type: ignore[arg-type]
                return cookie_name in request.cookies
        return False

    def _tears_down(self) -> bool:
        """Whether leaving a request's contexts has anything to run."""
        return self._tears_down_requests() or self._tears_down_app_contexts()

    def _tears_down_requests(self) -> bool:
        return bool(
            self.teardown_request_funcs
            or request_tearing_down.receivers
            or "do_teardown_request" in self._overridden
        )

    def _observes_app_contexts(self) -> bool:
        """Whether anything runs or is told when an app context is pushed or
        popped (else a request's app context is made only when used)."""
        return bool(
            appcontext_pushed.receivers
            or appcontext_popped.receivers
            or self._tears_down_app_contexts()
        )

    def _tears_down_app_contexts(self) -> bool:
        return bool(
            self.teardown_appcontext_funcs
            or appcontext_tearing_down.receivers
            or "do_teardown_appcontext" in self._overridden
        )

    async def do_teardown_request(self, exc: BaseException | None = None) -> None:
        """Call the ``teardown_request`` functions (after the response was
        sent)."""
        if self.teardown_request_funcs:
            ctx = _request_ctx()
            for name in chain(ctx.request.blueprints, (None,)):
                for func in reversed(self.teardown_request_funcs.get(name, ())):
                    await call_maybe_async(func, exc)
        if request_tearing_down.receivers:
            await send(request_tearing_down, self, exc=exc)

    async def do_teardown_appcontext(self, exc: BaseException | None = None) -> None:
        """Call the ``teardown_appcontext`` functions."""
        for func in reversed(self.teardown_appcontext_funcs):
            await call_maybe_async(func, exc)
        if appcontext_tearing_down.receivers:
            await send(appcontext_tearing_down, self, exc=exc)

    # -- errors ----------------------------------------------------------------

    async def handle_http_exception(self, e: HTTPException) -> HTTPException | ResponseReturnValue:
        """Pass an HTTP error to its registered handler, if there is one."""
        if e.code is None or isinstance(e, RoutingException):
            return e
        handler = self._find_error_handler(e, _request_ctx().request.blueprints)
        if handler is None:
            return e
        return t.cast("ResponseReturnValue", await call_maybe_async(handler, e))

    async def handle_user_exception(self, e: Exception) -> HTTPException | ResponseReturnValue:
        """Find the error handler for an exception raised by a hook or view;
        re-raise it when there is none."""
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return await self.handle_http_exception(e)
        handler = self._find_error_handler(e, _request_ctx().request.blueprints)
        if handler is None:
            raise e
        return t.cast("ResponseReturnValue", await call_maybe_async(handler, e))

    async def handle_exception(self, e: Exception) -> Response:
        """Answer an unhandled exception with a 500 (logging the traceback),
        or re-raise it when ``PROPAGATE_EXCEPTIONS`` (or testing) says so."""
        if got_request_exception.receivers:
            await send(got_request_exception, self, exception=e)
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            raise e
        self.log_exception((type(e), e, e.__traceback__))
        server_error: InternalServerError | ResponseReturnValue
        server_error = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, _request_ctx().request.blueprints)
        if handler is not None:
            server_error = await call_maybe_async(handler, server_error)
        return await self.finalize_request(server_error, from_error_handler=True)

    def log_exception(
        self, exc_info: tuple[type[BaseException], BaseException, TracebackType | None]
    ) -> None:
        """Log an unhandled exception (with its traceback) on ``app.logger``."""
        req = _request_ctx().request
        self.logger.error(f"Exception on {req.path} [{req.method}]", exc_info=exc_info)

    # -- responses -------------------------------------------------------------

    def make_response(self, rv: ResponseReturnValue | HTTPException) -> Response:
        """Convert a view's return value into a response, following Flask's
        rules (str, bytes, dict, list, generators, responses and the
        ``(body, status)``, ``(body, headers)``, ``(body, status, headers)``
        tuples)."""
        if type(rv) is str:
            return self.response_class(rv)
        if isinstance(rv, self.response_class):
            return rv
        status: t.Any = None
        headers: t.Any = None
        if isinstance(rv, tuple):
            if len(rv) == 3:
                rv, status, headers = rv
            elif len(rv) == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple."
                    " The tuple must have the form (body, status, headers),"
                    " (body, status), or (body, headers)."
                )
        if rv is None:
            endpoint = _request_ctx().request.endpoint
            raise TypeError(
                f"The view function for {endpoint!r} did not return a valid"
                " response. The function either returned None or ended"
                " without a return statement."
            )
        if not isinstance(rv, self.response_class):
            if isinstance(rv, (dict, list)):
                rv = t.cast(Response, self.json.response(rv))
            elif isinstance(rv, (str, bytes, bytearray, Iterator, AsyncIterator)):
                rv = self.response_class(rv, status=status, headers=headers)
                status = headers = None
            elif isinstance(rv, (HTTPException, SansIOResponse)):
                rv = self._coerce_response(rv)
            elif inspect.iscoroutine(rv):
                # a plain function called an async one (Flask-CORS wraps the
                # error handlers so): its value, as ensure_sync gives it
                rv = self.make_response(wait_for(rv))
            else:
                raise TypeError(
                    "The view function did not return a valid response. The"
                    " return type must be a string, dict, list, tuple with"
                    " headers or status, Response instance, or generator, but"
                    f" it was a {type(rv).__name__}."
                )
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                rv.status = status if isinstance(status, str) else status.decode()
            else:
                rv.status_code = status
        if headers:
            rv.headers.update(headers)
        return rv

    def _coerce_response(self, rv: HTTPException | SansIOResponse) -> Response:
        if isinstance(rv, HTTPException):
            rv = rv.get_response()
            if isinstance(rv, self.response_class):
                return rv
        if isinstance(rv, Response):  # asyncflask's own, of another class
            return rv
        return from_werkzeug(self.response_class, rv)

    # -- contexts, files, testing, serving -------------------------------------

    def app_context(self) -> AppContext:
        """A new application context (``async with app.app_context():``)."""
        return AppContext(self)

    def request_context(self, scope: Scope, receive: ASGIReceive | None = None) -> RequestContext:
        """A request context for an ASGI scope, or (as Flask's, in tests) for
        a WSGI environ such as Flask's ``EnvironBuilder`` makes, whose body
        is then in memory. A ``websocket`` scope gives a request context of
        its handshake (a ``GET``: headers, cookies, the session)."""
        if "type" not in scope and "REQUEST_METHOD" in scope:
            from .testbuild import environ_to_scope, load_test_body, receive_of

            scope, body = environ_to_scope(scope)
            ctx = RequestContext(self, self.request_class(scope, receive_of(body)))
            load_test_body(self, ctx.request, body)
            return ctx
        if scope.get("type") == "websocket" and "method" not in scope:
            scope = {**scope, "method": "GET"}
        return RequestContext(self, self.request_class(scope, receive))

    def test_request_context(self, *args: t.Any, **kwargs: t.Any) -> RequestContext:
        """A request context for a made-up request, as Flask's (the arguments
        of Flask's ``EnvironBuilder``: ``path``, ``method``, ``query_string``,
        ``headers``, ``data``, ``json``, ``url_scheme``, ...). Its body is in
        memory, so plain code reads ``form`` or ``get_json()`` without
        ``await``."""
        from .testbuild import load_test_body, make_test_request

        scope, receive, body = make_test_request(self, *args, **kwargs)
        ctx = self.request_context(scope, receive)
        load_test_body(self, ctx.request, body)
        return ctx

    def test_cli_runner(self, **kwargs: t.Any) -> FlaskCliRunner:
        """A click runner for the app's commands (``app.cli``): an instance
        of :attr:`test_cli_runner_class`, by default Flask's
        ``FlaskCliRunner``."""
        cls = self.test_cli_runner_class or FlaskCliRunner
        return cls(self, **kwargs)  # type: ignore[arg-type]

    def open_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = None
    ) -> t.IO[t.Any]:
        """Open a file relative to :attr:`root_path` for reading, as Flask's
        (``with app.open_resource("schema.sql") as f:``). ``mode`` is
        ``"rb"``, ``"r"`` or ``"rt"``; ``encoding`` applies in text mode. It
        blocks: in an async view, call it through a worker thread."""
        return open_resource(self.root_path, resource, mode, encoding)

    def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.Any]:
        """Open a file relative to :attr:`instance_path`, in any mode
        (writing too), as Flask's."""
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> TestClient:
        """A test client that calls the app in-process (``test_client_class``
        if set): awaited in async code, synchronous in plain functions."""
        from .testing import TestClient

        cls = self.test_client_class or TestClient
        return t.cast("TestClient", cls(self, use_cookies=use_cookies, **kwargs))

    def test_app(self) -> TestApp:
        """The app with its lifespan, for tests: ``async with app.test_app()
        as test_app:`` runs startup on entering and shutdown (which waits for
        background tasks) on leaving; ``test_app.test_client()`` calls it."""
        from .testing import TestApp

        return TestApp(self)

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Serve the app with uvicorn (``127.0.0.1:5000`` by default). Extra
        keyword arguments go to ``uvicorn.run``. In debug mode an unhandled
        error shows its traceback in the browser. Does nothing when called
        by an ``asyncflask`` (or ``flask``) command importing the app."""
        import uvicorn

        from .debug import DebugTraceback

        if os.environ.get("FLASK_RUN_FROM_CLI") == "true":
            return
        if debug is not None:
            self.debug = bool(debug)
        options.setdefault("log_level", "debug" if self.debug else "info")
        app = DebugTraceback(self, self.logger) if self.debug else self
        uvicorn.run(app, host=host or "127.0.0.1", port=port or 5000, **options)


_ASYNC_VIEW = "async"
_WRAPS_ASYNC_VIEW = "plain, wrapping an async one"
_SYNC_VIEW = "plain"


def _view_kind(view: t.Callable[..., t.Any]) -> str:
    if async_callable(view):
        return _ASYNC_VIEW
    return _WRAPS_ASYNC_VIEW if wraps_async(view) else _SYNC_VIEW


def _static_view(app_ref: weakref.ref[Flask]) -> t.Callable[..., t.Any]:
    """The ``static`` view, holding the app weakly: a bound method in
    ``view_functions`` would keep the app alive in a reference cycle."""

    def send_static_file(filename: str) -> t.Any:
        return t.cast(Flask, app_ref()).send_static_file(filename)

    return send_static_file


async def _ready(value: t.Any) -> t.Any:
    return value


async def _load_request_body() -> None:
    await _request_ctx().request._load_for_sync()


__all__ = ["Flask"]
