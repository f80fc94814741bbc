"""The application object: Flask's ``App`` as an ASGI callable (dispatch, hooks,
errors); the rest of ``Flask`` comes from the mixins it lists."""

from __future__ import annotations

import os
import sys
import typing as t
from itertools import chain
from types import TracebackType

from flask.app import Flask as _WSGIFlask
from flask.cli import AppGroup
from flask.sessions import SecureCookieSessionInterface, SessionInterface
from werkzeug.exceptions import BadRequestKeyError, HTTPException, InternalServerError
from werkzeug.routing import RoutingException

from . import signals
from .appcontexts import ContextsMixin
from .appfiles import AppFilesMixin
from .apptesting import AppTestingMixin
from .asgi import handle_lifespan
from .ctx import RequestContext
from .globals import _request_ctx
from .jsonprovider import JSONProvider
from .makeresponse import MakeResponseMixin
from .request import ClientDisconnected, Request
from .response import Response
from .routing import RoutingMixin, URLMap
from .serving import ServingMixin
from .signals import got_request_exception, request_finished, request_started, send
from .templating import TemplatesMixin, default_context_processor
from .utils import call_maybe_async, caller_awaits, wait_for, without_traceback
from .viewcalls import ViewCallsMixin
from .websocket import WebsocketScaffold
from .wsdispatch import handle_websocket

if t.TYPE_CHECKING:
    from .typing import ASGIApp, ASGIReceive, ASGISend, ResponseReturnValue, Scope


class Flask(
    AppFilesMixin,
    RoutingMixin,
    MakeResponseMixin,
    ContextsMixin,
    ServingMixin,
    AppTestingMixin,
    ViewCallsMixin,
    TemplatesMixin,
    WebsocketScaffold,
):
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
        self._add_static_route(static_host, host_matching)

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
            if request._body is not None and request._body.abandoned():
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


async def _load_request_body() -> None:
    await _request_ctx().request._load_for_sync()


__all__ = ["Flask"]
