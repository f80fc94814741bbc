"""Serving a websocket: its context, hooks, view, errors and how it closes."""

from __future__ import annotations

import contextlib
import typing as t
from itertools import chain

from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import InternalServerError

from .ctx import RequestContext
from .signals import got_request_exception, send
from .utils import call_maybe_async
from .websocket import DEFAULT_MAX_MESSAGE_SIZE, Websocket, WebSocketDisconnect, websocket_hooks

if t.TYPE_CHECKING:
    from .app import Flask
    from .response import Response
    from .typing import ASGIReceive, ASGISend, Message, Scope

__all__ = ["WebsocketContext", "handle_websocket"]

ViewFunc = t.Callable[..., t.Awaitable[t.Any]]


class WebsocketContext(RequestContext):
    """The request context of a websocket: ``request`` is the
    :class:`~asyncflask.websocket.Websocket`, and its URL is matched against
    the websocket rules."""

    request: Websocket

    def match_request(self) -> None:
        """Match the handshake's URL (``ws://`` or ``wss://``) with the URL
        adapter, which picks websocket rules."""
        if self.request.routing_exception is None:
            self._match_with_adapter()


async def handle_websocket(app: Flask, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
    """Serve one websocket connection (an ASGI ``websocket`` scope)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    limit = app.config.get("WEBSOCKET_MAX_MESSAGE_SIZE", DEFAULT_MAX_MESSAGE_SIZE)
    ws = Websocket(scope, receive, send, limit)
    ctx = WebsocketContext(app, ws)
    ctx._own_app_context()
    ctx._enter()
    error: BaseException | None = None
    try:
        try:
            try:
                rv = await _dispatch(app, ws)
            except WebSocketDisconnect:
                rv = None
            _save_session(app, ctx, rv)
        except Exception as e:
            error = e
            await _server_error(app, ws, e)
            return
        await _finish(app, ws, rv)
    except BaseException as e:
        error = e
        raise
    finally:
        try:
            await ctx.pop(error)
        finally:
            ctx._release()


async def _dispatch(app: Flask, ws: Websocket) -> Response | None:
    """The hooks, the view and the error handlers; the response to refuse
    (or close) the connection with, or ``None``."""
    rv: t.Any = None
    try:
        rv = await _before(app, ws)
        if rv is None:
            if ws.routing_exception is not None:
                raise ws.routing_exception
            view = t.cast(ViewFunc, app.view_functions[t.cast(str, ws.endpoint)])
            rv = await view(**(ws.view_args or {}))
    except WebSocketDisconnect:
        raise
    except Exception as e:
        rv = await app.handle_user_exception(e)
    response = None if rv is None else app.make_response(rv)
    after = websocket_hooks(app, "after_websocket_funcs")
    for name in chain(ws.blueprints, (None,)):
        for func in reversed(after.get(name, ())):
            response = await call_maybe_async(func, response)
    return response


def _save_session(app: Flask, ctx: WebsocketContext, response: Response | None) -> None:
    """Save the session the view used, where the session interface keeps it
    on the server. Flask's cookie session cannot be saved: no response
    carries its cookie to the client."""
    session = ctx._session
    interface = app.session_interface
    if session is None or interface.is_null_session(session):
        return
    if isinstance(interface, SecureCookieSessionInterface):
        if session.modified:
            app.logger.warning(
                f"The session changed in the websocket view of {ctx.request.path} is not"
                " saved: a cookie session is saved only by an HTTP response."
            )
        return
    interface.save_session(app, session, response or app.response_class())  # type: ignore[arg-type]


async def _before(app: Flask, ws: Websocket) -> t.Any:
    names = (None, *reversed(ws.blueprints))
    for name in names:
        for url_func in app.url_value_preprocessors.get(name, ()):
            url_func(ws.endpoint, ws.view_args)
    before = websocket_hooks(app, "before_websocket_funcs")
    for name in names:
        for func in before.get(name, ()):
            rv = await call_maybe_async(func)
            if rv is not None:
                return rv
    return None


async def _finish(app: Flask, ws: Websocket, response: Response | None) -> None:
    """Close the connection: 1000 after the view returned, or the response
    it was refused with: as an HTTP answer when the server can send one,
    else a close (HTTP 403 before accept; 1008, or 1011 for a 5xx, after)."""
    if ws.closed:
        return
    if response is None:
        await ws.close(1000)
        return
    if not ws.accepted and "websocket.http.response" in ws.scope.get("extensions", {}):
        await _send_http_response(ws, response)
        return
    status = response.status_code
    reason = response.status.partition(" ")[2]
    await ws.close(1011 if status >= 500 else 1008, reason)


async def _send_http_response(ws: Websocket, response: Response) -> None:
    """Refuse the handshake with ``response``, sent as the response does
    over HTTP, in ``websocket.http.response`` messages."""

    async def send(message: Message) -> None:
        await ws._ws_send({**message, "type": f"websocket.{message['type']}"})

    async def receive() -> Message:
        message = await ws._ws_receive()
        if message["type"] == "websocket.disconnect":
            return {"type": "http.disconnect"}
        return message  # pragma: no cover - a client sends nothing before accept

    ws.close_code = 1006  # the connection ends without a close frame
    with contextlib.suppress(OSError):
        await response(ws.scope, receive, send)


async def _server_error(app: Flask, ws: Websocket, e: Exception) -> None:
    """An unhandled error: log it, answer 500 (before accept) or close with
    1011, and re-raise it when the app propagates exceptions (testing)."""
    if got_request_exception.receivers:
        await send(got_request_exception, app, exception=e)
    app.logger.error(f"Exception on websocket {ws.path}", exc_info=(type(e), e, e.__traceback__))
    response = app.make_response(InternalServerError(original_exception=e))
    try:
        await _finish(app, ws, response)
    except Exception:  # pragma: no cover - the close failed too
        app.logger.exception("Closing the websocket failed")
    propagate = app.config["PROPAGATE_EXCEPTIONS"]
    if propagate is None:
        propagate = app.testing or app.debug
    if propagate:
        raise e
