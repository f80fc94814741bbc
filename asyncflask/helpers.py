"""Flask's helper functions, synchronous as in Flask."""

from __future__ import annotations

import typing as t
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine, Iterable, Iterator
from functools import wraps

from werkzeug.exceptions import abort as _wz_abort
from werkzeug.utils import redirect as _wz_redirect

from .files import send_file, send_from_directory
from .globals import _current_app, _cv_ctx, _request_ctx, current_app, request_ctx, session
from .response import Response
from .utils import is_async_callable, quote_controls

_Response = Response

__all__ = [
    "abort",
    "flash",
    "get_flashed_messages",
    "jsonify",
    "load_body",
    "make_response",
    "redirect",
    "send_file",
    "send_from_directory",
    "stream_with_context",
    "url_for",
]

G = t.TypeVar("G", bound=Iterator[t.Any] | AsyncIterator[t.Any])
V = t.TypeVar("V", bound=Callable[..., t.Any])


def make_response(*args: t.Any) -> Response:
    """Turn view-style return values into a response, to add headers or
    cookies before returning it: ``make_response(body, status, headers)``."""
    if not args:
        return current_app.response_class()
    return current_app.make_response(args[0] if len(args) == 1 else args)


def jsonify(*args: t.Any, **kwargs: t.Any) -> Response:
    """A JSON response of the arguments, through ``app.json``."""
    response: Response = _current_app().json.response(*args, **kwargs)  # type: ignore[assignment]
    return response


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: t.Any,
) -> str:
    """The URL of ``endpoint`` with ``values`` (unknown keys become the
    query string). A leading ``.`` means the current blueprint."""
    return current_app.url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )


def redirect(location: str, code: int = 302, Response: type[_Response] | None = None) -> _Response:
    """A redirect response to ``location`` (302 by default); control
    characters in ``location`` (CR, LF, ...) are percent-encoded."""
    ctx = _cv_ctx.get(None)
    if ctx is not None:
        return t.cast(_Response, ctx.app.redirect(location, code=code))
    cls = t.cast(t.Any, Response or _Response)
    return t.cast(_Response, _wz_redirect(quote_controls(location), code=code, Response=cls))


def abort(code: int | Response, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    """Raise the HTTP error for ``code`` (or stop with a given response)."""
    ctx = _cv_ctx.get(None)
    if ctx is not None:
        ctx.app.aborter(code, *args, **kwargs)
    _wz_abort(code, *args, **kwargs)


def stream_with_context(gen: G | Callable[..., G]) -> t.Any:
    """Kept for Flask code: the request context already lives until a
    streamed response ends, so this returns an iterator over an iterable
    (a generator unchanged) or, for a generator function, a function that
    does. A function whose result is not iterable (an ``async def`` that is
    not a generator) is a ``TypeError`` when called."""
    if isinstance(gen, AsyncIterable):
        return aiter(gen)
    if not callable(gen):
        return iter(gen)

    @wraps(gen)
    def decorator(*args: t.Any, **kwargs: t.Any) -> G:
        rv = gen(*args, **kwargs)
        if not isinstance(rv, (Iterable, AsyncIterable)) or isinstance(rv, Coroutine):
            if isinstance(rv, Coroutine):
                rv.close()
            raise TypeError(
                f"stream_with_context needs a generator or an iterable; {gen!r}"
                f" returned {type(rv).__name__}."
            )
        return t.cast(G, stream_with_context(rv))

    return decorator


def flash(message: str, category: str = "message") -> None:
    """Store a message in the session for the next request to show."""
    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    ctx = _request_ctx()
    from .signals import message_flashed

    if message_flashed.receivers:
        message_flashed.send(ctx.app, message=message, category=category)


def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """The messages flashed by the previous request(s), removed from the
    session; the same list for the rest of this request."""
    flashes = request_ctx.flashes
    if flashes is None:
        flashes = session.pop("_flashes") if "_flashes" in session else []
        request_ctx.flashes = flashes
    if category_filter:
        flashes = [f for f in flashes if f[0] in category_filter]
    if not with_categories:
        return [f[1] for f in flashes]
    return flashes


def load_body(view: V) -> V:
    """Decorate an async view so that a form or JSON body is loaded before
    it runs: code in it that cannot await (a Flask extension's form, a
    plain function) then reads ``request.form``, ``files``, ``values``,
    ``json`` and ``get_json()`` without ``await``. Body limits apply as
    usual. Plain ``def`` views get this without the decorator."""
    if not is_async_callable(view):
        return view

    @wraps(view)
    async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        await _request_ctx().request._load_for_sync()
        return await view(*args, **kwargs)

    return t.cast(V, wrapper)
