"""The app's side of its contexts: ``app_context()``,
``request_context()``, and the teardown functions run when they are left."""

from __future__ import annotations

import typing as t
from itertools import chain

from flask.sansio.app import App

from .ctx import AppContext, RequestContext
from .globals import _request_ctx
from .signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_tearing_down,
    send,
)
from .utils import call_maybe_async

if t.TYPE_CHECKING:
    from .app import Flask
    from .request import Request
    from .typing import ASGIReceive, Scope

__all__ = ["ContextsMixin"]


class ContextsMixin(App):
    """Making the app's contexts, and tearing them down."""

    request_class: type[Request]
    #: The teardown methods a subclass overrides (always called then).
    _overridden: frozenset[str]

    def app_context(self) -> AppContext:
        """A new application context (``async with app.app_context():``)."""
        return AppContext(self)  # type: ignore[arg-type]

    def request_context(self, scope: Scope, receive: ASGIReceive | None = None) -> RequestContext:
        """A request context for an ASGI scope, or (as Flask's, in tests) for
        a WSGI environ such as Flask's ``EnvironBuilder`` makes, whose body
        is then in memory. A ``websocket`` scope gives a request context of
        its handshake (a ``GET``: headers, cookies, the session)."""
        if "type" not in scope and "REQUEST_METHOD" in scope:
            from .testbuild import environ_to_scope, load_test_body, receive_of

            scope, body = environ_to_scope(scope)
            app = t.cast("Flask", self)
            ctx = RequestContext(app, self.request_class(scope, receive_of(body)))
            load_test_body(app, ctx.request, body)
            return ctx
        if scope.get("type") == "websocket" and "method" not in scope:
            scope = {**scope, "method": "GET"}
        return RequestContext(self, self.request_class(scope, receive))  # type: ignore[arg-type]

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
