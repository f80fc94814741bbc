"""The test client's websockets: a connection to the app, in-process."""

from __future__ import annotations

import asyncio
import base64
import json as _json
import math
import os
import typing as t
from types import TracebackType

import anyio
import httpx

from .typing import ASGIApp, Message, Scope
from .websocket import WebSocketDisconnect

__all__ = ["WebsocketRejected", "WebsocketSession", "websocket_scope"]


class WebsocketRejected(Exception):
    """The app refused the handshake. ``response`` is its HTTP answer (a
    403 with no body when it closed the websocket before accepting it);
    ``status_code`` is the response's."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"the websocket handshake was refused with {response.status_code}")
        self.response = response
        self.status_code = response.status_code


def websocket_scope(
    request: httpx.Request,
    subprotocols: t.Sequence[str] = (),
    http_response: bool = True,
    root_path: str = "",
    client: tuple[str, int] = ("127.0.0.1", 123),
) -> Scope:
    """The ASGI scope of a websocket handshake for ``request`` (its URL,
    headers and cookies). ``http_response=False`` leaves out the
    ``websocket.http.response`` extension, as some servers do."""
    url = request.url
    headers = [
        (k.lower(), v)
        for k, v in request.headers.raw
        if k.lower() not in (b"connection", b"accept-encoding")
    ]
    key = base64.b64encode(os.urandom(16))
    headers += [
        (b"connection", b"upgrade"),
        (b"upgrade", b"websocket"),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-key", key),
    ]
    if subprotocols:
        headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "wss" if url.scheme == "https" else "ws",
        "path": root_path + url.path,
        "raw_path": root_path.encode() + url.raw_path.split(b"?", 1)[0],
        "query_string": url.query,
        "root_path": root_path,
        "headers": headers,
        "client": client,
        "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        "subprotocols": list(subprotocols),
        "extensions": {"websocket.http.response": {}} if http_response else {},
    }


class WebsocketSession:
    """The client's end of a websocket to the app: ``send``, ``send_json``,
    ``receive``, ``receive_text``, ``receive_bytes``, ``receive_json`` and
    ``close``. Once the app has closed it, ``receive`` raises
    ``WebSocketDisconnect`` and ``close_code`` / ``close_reason`` say how."""

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        response_class: type[httpx.Response] = httpx.Response,
        raise_errors: bool = True,
    ) -> None:
        self.app = app
        self.scope = scope
        self.response_class = response_class
        self.raise_errors = raise_errors
        #: The subprotocol and the headers the app accepted with.
        self.subprotocol: str | None = None
        self.accept_headers = httpx.Headers()
        #: How the app closed the websocket (``None`` while open).
        self.close_code: int | None = None
        self.close_reason = ""
        self._to_app_send, self._to_app = anyio.create_memory_object_stream[Message](math.inf)
        self._from_app_send, self._from_app = anyio.create_memory_object_stream[Message](math.inf)
        self._client_closed = False
        self._client_code = 1000
        self._task: asyncio.Task[None] | None = None

    # -- the app's side --------------------------------------------------------

    async def _app_receive(self) -> Message:
        try:
            return await self._to_app.receive()
        except anyio.EndOfStream:  # pragma: no cover - the stream closes after the task
            return {"type": "websocket.disconnect", "code": 1006}

    async def _app_send(self, message: Message) -> None:
        if self._client_closed:
            raise OSError("the client closed the websocket")
        await self._from_app_send.send(message)

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._app_receive, self._app_send)
        finally:
            self._from_app_send.close()

    # -- the client's side -----------------------------------------------------

    async def connect(self) -> None:
        """Open the handshake; ``WebsocketRejected`` when the app refuses."""
        self._to_app_send.send_nowait({"type": "websocket.connect"})
        self._task = asyncio.get_running_loop().create_task(self._run())
        message = await self._next()
        if message["type"] == "websocket.accept":
            self.subprotocol = message.get("subprotocol")
            self.accept_headers = httpx.Headers(list(message.get("headers") or ()))
            return
        if message["type"] == "websocket.close":
            response = self.response_class(403, request=self._request())
        elif message["type"] == "websocket.http.response.start":
            body = b""
            while True:
                part = await self._next()
                body += part.get("body", b"")
                if not part.get("more_body", False):
                    break
            response = self.response_class(
                message["status"],
                headers=[(bytes(k), bytes(v)) for k, v in message.get("headers", [])],
                content=body,
                request=self._request(),
            )
        else:
            self._client_closed = True
            await self._finish()
            raise RuntimeError(f"Unexpected ASGI message {message['type']!r} at the handshake.")
        self._client_closed = True
        await self._finish()
        raise WebsocketRejected(response)

    def _request(self) -> httpx.Request:
        scope = self.scope
        host, port = scope["server"]
        query = f"?{scope['query_string'].decode()}" if scope["query_string"] else ""
        return httpx.Request("GET", f"http://{host}:{port}{scope['path']}{query}")

    async def _next(self) -> Message:
        try:
            return await self._from_app.receive()
        except anyio.EndOfStream:
            await self._finish()
            raise RuntimeError("The app ended the websocket without closing it.") from None

    async def receive(self) -> str | bytes:
        """The app's next message (text or bytes); ``WebSocketDisconnect``
        once the app has closed the websocket."""
        if self.close_code is not None:
            raise WebSocketDisconnect(self.close_code, self.close_reason)
        if self._client_closed:
            raise WebSocketDisconnect(self._client_code)
        message = await self._next()
        if message["type"] == "websocket.close":
            self.close_code = message.get("code") or 1000
            self.close_reason = message.get("reason") or ""
            raise WebSocketDisconnect(self.close_code, self.close_reason)
        if message["type"] != "websocket.send":
            raise RuntimeError(f"Unexpected ASGI message {message['type']!r}.")
        text: str | None = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")

    async def receive_text(self) -> str:
        """The next message, which must be text."""
        data = await self.receive()
        if not isinstance(data, str):
            raise TypeError("expected a text message, got a binary one")
        return data

    async def receive_bytes(self) -> bytes:
        """The next message, which must be binary."""
        data = await self.receive()
        if not isinstance(data, bytes):
            raise TypeError("expected a binary message, got a text one")
        return data

    async def receive_json(self) -> t.Any:
        """The next message parsed as JSON."""
        return _json.loads(await self.receive())

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the app."""
        if self._client_closed or self.close_code is not None:
            raise WebSocketDisconnect(self.close_code or 1000, self.close_reason)
        key = "text" if isinstance(data, str) else "bytes"
        await self._to_app_send.send({"type": "websocket.receive", key: data})

    async def send_json(self, obj: t.Any) -> None:
        """Send ``obj`` as a JSON text message."""
        await self.send(_json.dumps(obj))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the websocket (the app sees ``websocket.disconnect`` with
        ``code``) and wait for the app to finish."""
        if not self._client_closed:
            self._client_closed = True
            self._client_code = code
            message = {"type": "websocket.disconnect", "code": code, "reason": reason}
            await self._to_app_send.send(message)
        await self._finish()

    async def _finish(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await task
        except Exception:
            if self.raise_errors:
                raise
        finally:
            for stream in (self._to_app_send, self._to_app, self._from_app_send, self._from_app):
                stream.close()

    async def __aenter__(self) -> WebsocketSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
