"""The ASGI side: lifespan and the disconnect watch."""

from __future__ import annotations

import typing as t

from .typing import ASGIReceive, ASGISend

if t.TYPE_CHECKING:
    from .app import Flask


async def wait_for_disconnect(receive: ASGIReceive) -> None:
    """Return once the client has gone away (``http.disconnect``).

    Request body messages that arrive meanwhile are unread by anyone and are
    dropped.
    """
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def handle_lifespan(app: Flask, receive: ASGIReceive, send: ASGISend) -> None:
    """Run ``before_serving`` at startup and ``after_serving`` at shutdown,
    reporting a failure to the server instead of raising."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await app.startup()
            except Exception as e:
                app.logger.exception("Startup failed")
                await send({"type": "lifespan.startup.failed", "message": repr(e)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await app.shutdown()
            except Exception as e:
                app.logger.exception("Shutdown failed")
                await send({"type": "lifespan.shutdown.failed", "message": repr(e)})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return
