"""Context-local proxies: ``current_app``, ``g``, ``request`` and ``session``."""

from __future__ import annotations

import functools
import typing as t
from contextvars import ContextVar

from werkzeug.local import LocalProxy, _ProxyLookup

if t.TYPE_CHECKING:
    from .app import Flask
    from .ctx import AppContext, RequestContext, _AppCtxGlobals
    from .request import Request
    from .sessions import SessionMixin

_no_app_msg = """\
Working outside of application context.

This typically means that you attempted to use functionality that needed
the current application. To solve this, set up an application context
with app.app_context(). See the documentation for more information.\
"""
_no_req_msg = """\
Working outside of request context.

This typically means that you attempted to use functionality that needed
an active HTTP request. Consult the documentation on testing for
information about how to avoid this problem.\
"""


class _Proxy(LocalProxy):  # type: ignore[type-arg]
    """Werkzeug's ``LocalProxy`` for an attribute of the current context,
    with public attributes read straight from the proxied object: reading
    them (``request.args``) is the common use, and the generic lookup first
    fails on the proxy, building an ``AttributeError`` each time. Names
    starting with ``_`` take ``LocalProxy``'s own path."""

    __slots__ = ("_attr", "_unbound")

    # an unbound proxy shows as Flask's do: ``<LocalProxy unbound>``
    __repr__ = _ProxyLookup(repr, fallback=lambda self: "<LocalProxy unbound>")

    def __init__(self, attr: str, unbound_message: str) -> None:
        super().__init__(functools.partial(_resolve, attr, unbound_message))
        object.__setattr__(self, "_attr", attr)
        object.__setattr__(self, "_unbound", unbound_message)

    def __getattribute__(self, name: str) -> t.Any:
        if name[0] == "_":
            return _get_own(self, name)
        try:
            obj = getattr(_cv_ctx.get(), _get_own(self, "_attr"))
        except LookupError:
            obj = None
        if obj is None:
            raise RuntimeError(_get_own(self, "_unbound"))
        return getattr(obj, name)


_get_own = object.__getattribute__

#: The innermost context: a request context, or an app context pushed on its
#: own or inside a request. Both kinds have ``app``, ``app_ctx``, ``g``,
#: ``request_ctx``, ``request`` and ``session``.
_cv_ctx: ContextVar[AppContext | RequestContext] = ContextVar("asyncflask.ctx")


def _resolve(attr: str, unbound_message: str) -> t.Any:
    try:
        obj = getattr(_cv_ctx.get(), attr)
    except LookupError:
        obj = None
    if obj is None:
        raise RuntimeError(unbound_message)
    return obj


def _current_app() -> Flask:
    """The current app itself, not a proxy (for helpers called per request)."""
    try:
        return _cv_ctx.get().app
    except LookupError:
        raise RuntimeError(_no_app_msg) from None


def _find_request_ctx() -> RequestContext | None:
    """The current request context, or ``None`` outside a request."""
    ctx = _cv_ctx.get(None)
    return None if ctx is None else ctx.request_ctx


def _request_ctx() -> RequestContext:
    """The current request context; a ``RuntimeError`` outside a request."""
    return t.cast("RequestContext", _resolve("request_ctx", _no_req_msg))


app_ctx: AppContext = _Proxy("app_ctx", _no_app_msg)  # type: ignore[assignment]
#: The application handling the current request or app context.
current_app: Flask = _Proxy("app", _no_app_msg)  # type: ignore[assignment]
#: Storage for the current app context, as Flask's ``g``.
g: _AppCtxGlobals = _Proxy("g", _no_app_msg)  # type: ignore[assignment]
request_ctx: RequestContext = _Proxy("request_ctx", _no_req_msg)  # type: ignore[assignment]
#: The current request (in a request context).
request: Request = _Proxy("request", _no_req_msg)  # type: ignore[assignment]
#: The current request's session (in a request context).
session: SessionMixin = _Proxy("session", _no_req_msg)  # type: ignore[assignment]
