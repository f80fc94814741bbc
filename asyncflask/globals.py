"""Context-local proxies: ``current_app``, ``g``, ``request`` and ``session``."""

from __future__ import annotations

import typing as t
from contextvars import ContextVar

from werkzeug.local import LocalProxy

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
    """Werkzeug's ``LocalProxy`` over a context variable, with public
    attributes read straight from the proxied object: reading them
    (``request.args``) is the common use, and the generic lookup first fails
    on the proxy, building an ``AttributeError`` each time. Names starting
    with ``_`` take ``LocalProxy``'s own path."""

    __slots__ = ("_attr", "_var")

    def __init__(
        self, var: ContextVar[t.Any], name: str | None = None, *, unbound_message: str
    ) -> None:
        super().__init__(var, name, unbound_message=unbound_message)
        object.__setattr__(self, "_var", var)
        object.__setattr__(self, "_attr", name)

    def __getattribute__(self, name: str) -> t.Any:
        if name[0] == "_":
            return _get_own(self, name)
        try:
            obj = _get_own(self, "_var").get()
        except LookupError:
            obj = _get_own(self, "_get_current_object")()  # raises the unbound message
        attr = _get_own(self, "_attr")
        return getattr(obj if attr is None else getattr(obj, attr), name)


_get_own = object.__getattribute__

_cv_app: ContextVar[AppContext] = ContextVar("asyncflask.app_ctx")
_cv_request: ContextVar[RequestContext] = ContextVar("asyncflask.request_ctx")


def _current_app() -> Flask:
    """The current app itself, not a proxy (for helpers called per request)."""
    try:
        return _cv_app.get().app
    except LookupError:
        raise RuntimeError(_no_app_msg) from None


app_ctx: AppContext = _Proxy(  # type: ignore[assignment]
    _cv_app, unbound_message=_no_app_msg
)
current_app: Flask = _Proxy(  # type: ignore[assignment]
    _cv_app, "app", unbound_message=_no_app_msg
)
g: _AppCtxGlobals = _Proxy(  # type: ignore[assignment]
    _cv_app, "g", unbound_message=_no_app_msg
)
request_ctx: RequestContext = _Proxy(  # type: ignore[assignment]
    _cv_request, unbound_message=_no_req_msg
)
request: Request = _Proxy(  # type: ignore[assignment]
    _cv_request, "request", unbound_message=_no_req_msg
)
session: SessionMixin = _Proxy(  # type: ignore[assignment]
    _cv_request, "session", unbound_message=_no_req_msg
)
