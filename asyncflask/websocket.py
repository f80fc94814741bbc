"""The websocket object: a connection's handshake (the request's attributes)
and its messages, and the ``websocket`` decorators of apps and blueprints."""

from __future__ import annotations

import contextlib
import typing as t

from flask.sansio.blueprints import Blueprint as SansIOBlueprint
from flask.sansio.blueprints import BlueprintSetupState
from flask.sansio.scaffold import setupmethod
from werkzeug.exceptions import BadRequest
from werkzeug.local import LocalProxy

from .globals import _cv_ctx
from .request import Request
from .utils import is_async_callable

if t.TYPE_CHECKING:
    from .typing import ASGIReceive, ASGISend, Message, Scope

T = t.TypeVar("T", bound=t.Callable[..., t.Any])

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "WebSocketDisconnect",
    "Websocket",
    "WebsocketScaffold",
    "has_websocket_context",
    "websocket",
]

#: ``WEBSOCKET_MAX_MESSAGE_SIZE`` when the config does not set it: 1 MiB.
DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024


class WebSocketDisconnect(Exception):
    """The websocket is closed: the client went away (or closed it), or a
    message was too big (code 1009). ``code`` and ``reason`` are the close
    frame's. Raised by ``receive`` and ``send``; the framework handles it
    quietly when a view lets it through."""

    def __init__(self, code: int = 1005, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"websocket closed with code {self.code}" + (
            f": {self.reason}" if self.reason else ""
        )


class Websocket(Request):
    """One websocket connection.

    Everything about the handshake reads as on a request (``path``, ``args``,
    ``headers``, ``cookies``, ``view_args``, ...). The messages are awaited:
    ``receive``, ``receive_json``, ``send``, ``send_json``; ``accept`` and
    ``close`` control the connection. The first ``send`` or ``receive``
    accepts the connection when the view has not.
    """

    def __init__(
        self,
        scope: Scope,
        receive: ASGIReceive,
        send: ASGISend,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        super().__init__({**scope, "method": "GET"})
        self._ws_receive = receive
        self._ws_send = send
        #: Bigger messages close the connection with 1009.
        self.max_message_size = max_message_size
        #: Whether the handshake was accepted.
        self.accepted = False
        #: The close code once the connection is closed, by either side.
        self.close_code: int | None = None

    @property
    def requested_subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self.scope.get("subprotocols") or ())

    @property
    def closed(self) -> bool:
        """Whether the connection is closed."""
        return self.close_code is not None

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: t.Mapping[str, str] | t.Iterable[tuple[str, str]] | None = None,
    ) -> None:
        """Accept the handshake, choosing ``subprotocol`` and adding
        ``headers`` to the server's answer. Does nothing once accepted."""
        if self.accepted:
            return
        self._check_open()
        items = headers.items() if isinstance(headers, t.Mapping) else headers or ()
        # marked first: a task that sends while the view receives accepts once
        self.accepted = True
        await self._send(
            {
                "type": "websocket.accept",
                "subprotocol": subprotocol,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in items],
            }
        )

    async def receive(self) -> str | bytes:
        """The next message, text or bytes; ``WebSocketDisconnect`` once
        the connection is closed."""
        if not self.accepted:
            await self.accept()
        self._check_open()
        message = await self._ws_receive()
        if message["type"] == "websocket.disconnect":
            self.close_code = message.get("code") or 1005
            raise WebSocketDisconnect(self.close_code, message.get("reason") or "")
        data: str | bytes | None = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        limit = self.max_message_size
        if limit is not None and len(data) * (4 if isinstance(data, str) else 1) > limit:
            size = len(data.encode()) if isinstance(data, str) else len(data)
            if size > limit:
                await self.close(1009, "Message too big")
                raise WebSocketDisconnect(1009, "Message too big")
        return data

    async def receive_json(self) -> t.Any:
        """The next message parsed as JSON; a ``BadRequest`` (which closes
        the connection with 1008) when it is not JSON."""
        data = await self.receive()
        try:
            return _json().loads(data)
        except ValueError as e:
            raise BadRequest(f"The message is not valid JSON: {e}") from None

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message."""
        if not self.accepted:
            await self.accept()
        self._check_open()
        if isinstance(data, str):
            await self._send({"type": "websocket.send", "text": data})
        else:
            await self._send({"type": "websocket.send", "bytes": bytes(data)})

    async def send_json(self, obj: t.Any) -> None:
        """Send ``obj`` as a JSON text message."""
        await self.send(_json().dumps(obj))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection. Before ``accept`` this refuses the
        handshake, which the server answers with HTTP 403."""
        if self.closed:
            return
        self.close_code = code
        with contextlib.suppress(OSError):  # the client may have gone away first
            await self._ws_send({"type": "websocket.close", "code": code, "reason": reason})

    async def _send(self, message: Message) -> None:
        try:
            await self._ws_send(message)
        except OSError:
            # ASGI servers raise an OSError when the client has gone away
            self.close_code = 1006
            raise WebSocketDisconnect(1006) from None

    def _check_open(self) -> None:
        if self.close_code is not None:
            raise WebSocketDisconnect(self.close_code)


def _json() -> t.Any:
    return _cv_ctx.get().app.json


def _current_websocket() -> Websocket:
    ws = _find_websocket()
    if ws is None:
        raise RuntimeError(
            "Working outside of websocket context. 'websocket' can only be"
            " used in a websocket view or its hooks."
        )
    return ws


def _find_websocket() -> Websocket | None:
    ctx = _cv_ctx.get(None)
    request = None if ctx is None or ctx.request_ctx is None else ctx.request_ctx.request
    return request if isinstance(request, Websocket) else None


def has_websocket_context() -> bool:
    """``True`` inside a websocket view (where ``websocket`` can be used)."""
    return _find_websocket() is not None


#: The current websocket connection (in a websocket view and its hooks).
websocket: Websocket = LocalProxy(_current_websocket)  # type: ignore[assignment]


class WebsocketScaffold:
    """``websocket``, ``before_websocket`` and ``after_websocket`` for apps
    and blueprints."""

    add_url_rule: t.Callable[..., None]

    def websocket(self, rule: str, **options: t.Any) -> t.Callable[[T], T]:
        """Register an ``async def`` view for websocket connections to
        ``rule`` (URL rules and converters as for ``route``)."""

        def decorator(f: T) -> T:
            if not is_async_callable(f):
                raise TypeError(f"The websocket view {f.__name__!r} must be an 'async def'.")
            endpoint = options.pop("endpoint", None)
            options.setdefault("provide_automatic_options", False)
            self.add_url_rule(rule, endpoint, f, websocket=True, **options)
            return f

        return decorator

    @setupmethod
    def before_websocket(self, f: T) -> T:
        """Run ``f()`` before each websocket view (of this blueprint, on a
        blueprint); a non-``None`` return value refuses the connection with
        that response."""
        self._add_websocket_hook("before_websocket_funcs", f)
        return f

    @setupmethod
    def after_websocket(self, f: T) -> T:
        """Run ``f(response)`` after each websocket view; ``response`` is
        ``None`` unless the view (or a hook) answered with one. It returns
        the response (or ``None``)."""
        self._add_websocket_hook("after_websocket_funcs", f)
        return f

    def _add_websocket_hook(self, attr: str, f: t.Callable[..., t.Any]) -> None:
        if isinstance(self, SansIOBlueprint):

            def register(state: BlueprintSetupState) -> None:
                name = f"{state.name_prefix}.{state.name}".lstrip(".")
                websocket_hooks(state.app, attr).setdefault(name, []).append(f)

            self.record(register)
        else:
            websocket_hooks(self, attr).setdefault(None, []).append(f)


def websocket_hooks(app: t.Any, attr: str) -> dict[str | None, list[t.Callable[..., t.Any]]]:
    """The app's ``before_websocket_funcs`` or ``after_websocket_funcs``
    (blueprint name, or ``None`` for the app -> functions)."""
    hooks: dict[str | None, list[t.Callable[..., t.Any]]] = app.__dict__.setdefault(attr, {})
    return hooks
