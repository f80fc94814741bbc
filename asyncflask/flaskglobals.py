"""Flask's own globals bound to asyncflask's contexts.

Inside an asyncflask request or app context, ``flask.request``,
``flask.session``, ``flask.g``, ``flask.current_app``,
``flask.globals.request_ctx`` / ``app_ctx``, ``flask.has_request_context()``
and ``flask.has_app_context()`` see asyncflask's objects, so Flask
extensions (and the Flask helpers built on those names: ``flask.url_for``,
``flask.abort``, ``flask.redirect``, ``flask.flash``,
``flask.stream_with_context``...) work unchanged.

Nothing is done per request: at import, Flask's proxies are taught to look
at asyncflask's context whenever no Flask context is current. A Flask
context, where one is pushed, keeps precedence, so a Flask app in the same
process behaves as before.
"""

from __future__ import annotations

import typing as t
from contextvars import ContextVar, Token

import flask.ctx
import flask.globals as fg
import flask.helpers

from .globals import _cv_ctx

__all__ = ["install"]


def _app_ctx() -> t.Any:
    """asyncflask's current app context (a request's own, made on first
    use), or ``None``."""
    ctx = _cv_ctx.get(None)
    return None if ctx is None else ctx.app_ctx


def _request_ctx() -> t.Any:
    """asyncflask's current request context, or ``None``."""
    ctx = _cv_ctx.get(None)
    return None if ctx is None else ctx.request_ctx


class _Live:
    """What Flask's ``stream_with_context`` sees of an asyncflask context: it
    enters and leaves it around the generator, which need do nothing, since
    asyncflask's request context lasts until the response has been sent."""

    __slots__ = ()

    def __enter__(self) -> _Live:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


_LIVE = _Live()


def _live_app_ctx() -> _Live | None:
    return None if _cv_ctx.get(None) is None else _LIVE


def _live_request_ctx() -> _Live | None:
    return None if _request_ctx() is None else _LIVE


class _BridgedVar:
    """Stands in for one of Flask's context variables where ``flask.ctx``
    reads it (``has_request_context()`` and friends): a read falls back to
    asyncflask's context; ``set`` and ``reset`` are Flask's own."""

    __slots__ = ("_find", "_var")

    def __init__(self, var: ContextVar[t.Any], find: t.Callable[[], t.Any]) -> None:
        self._var = var
        self._find = find

    @property
    def name(self) -> str:
        """The name of Flask's variable."""
        return self._var.name

    def get(self, *default: t.Any) -> t.Any:
        """Flask's context if one is current, else asyncflask's; ``default``
        (or ``LookupError``) when neither is."""
        value = self._var.get(None)
        if value is None:
            value = self._find()
            if value is None:
                if default:
                    return default[0]
                raise LookupError(self._var)
        return value

    def set(self, value: t.Any) -> Token[t.Any]:
        """Set Flask's variable."""
        return self._var.set(value)

    def reset(self, token: Token[t.Any]) -> None:
        """Reset Flask's variable."""
        self._var.reset(token)


def _bridge(
    proxy: t.Any,
    var: ContextVar[t.Any],
    find: t.Callable[[], t.Any],
    attr: str | None,
    unbound: str,
) -> None:
    def _get_current_object() -> t.Any:
        obj = var.get(None)
        if obj is None:
            obj = find()
            if obj is None:
                raise RuntimeError(unbound)
        return obj if attr is None else getattr(obj, attr)

    # werkzeug keeps the lookup function in a slot of the proxy
    object.__setattr__(proxy, "_get_current_object", _get_current_object)


_installed = False


def install() -> None:
    """Bind Flask's globals to asyncflask's contexts (done once, at import
    of asyncflask; calling it again does nothing)."""
    global _installed
    if _installed:
        return
    _installed = True
    app_var, req_var = fg._cv_app, fg._cv_request
    app_proxies: list[tuple[t.Any, str | None]] = [
        (fg.app_ctx, None),
        (fg.current_app, "app"),
        (fg.g, "g"),
    ]
    for proxy, attr in app_proxies:
        _bridge(proxy, app_var, _app_ctx, attr, fg._no_app_msg)
    req_proxies: list[tuple[t.Any, str | None]] = [
        (fg.request_ctx, None),
        (fg.request, "request"),
        (fg.session, "session"),
    ]
    for proxy, attr in req_proxies:
        _bridge(proxy, req_var, _request_ctx, attr, fg._no_req_msg)
    # flask.ctx reads the variables themselves in has_request_context() and
    # has_app_context()
    setattr(flask.ctx, "_cv_app", _BridgedVar(app_var, _app_ctx))  # noqa: B010
    setattr(flask.ctx, "_cv_request", _BridgedVar(req_var, _request_ctx))  # noqa: B010
    # and flask.helpers in stream_with_context(), which pushes them around
    # the generator
    setattr(flask.helpers, "_cv_app", _BridgedVar(app_var, _live_app_ctx))  # noqa: B010
    setattr(flask.helpers, "_cv_request", _BridgedVar(req_var, _live_request_ctx))  # noqa: B010


install()
