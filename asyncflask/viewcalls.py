"""How the app calls a view: an ``async def`` one awaited on the event
loop, a plain one in a worker thread (with the body loaded first); and
Flask's ``ensure_sync`` and ``async_to_sync`` for code that cannot await."""

from __future__ import annotations

import inspect
import typing as t

from flask.sansio.app import App
from werkzeug.exceptions import InternalServerError

from .utils import async_callable, async_to_sync, is_async_callable, run_in_thread, wraps_async

if t.TYPE_CHECKING:
    from .ctx import RequestContext
    from .request import Request
    from .response import Response

__all__ = ["ViewCallsMixin"]

T = t.TypeVar("T", bound=t.Callable[..., t.Any])


class ViewCallsMixin(App):
    """Calling views, async or plain."""

    if t.TYPE_CHECKING:

        def raise_routing_exception(self, request: Request) -> t.NoReturn: ...
        def make_default_options_response(self, ctx: RequestContext | None = None) -> Response: ...

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # what kind of function a view is, remembered by the app (a global
        # cache would keep views, and the apps they refer to, alive)
        self._view_kinds: dict[t.Callable[..., t.Any], str] = {}

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


_ASYNC_VIEW = "async"
_WRAPS_ASYNC_VIEW = "plain, wrapping an async one"
_SYNC_VIEW = "plain"


def _view_kind(view: t.Callable[..., t.Any]) -> str:
    if async_callable(view):
        return _ASYNC_VIEW
    return _WRAPS_ASYNC_VIEW if wraps_async(view) else _SYNC_VIEW


async def _ready(value: t.Any) -> t.Any:
    return value
