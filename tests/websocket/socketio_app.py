"""An asyncflask app with a python-socketio server beside it, served as one
ASGI app: ``uvicorn socketio_app:asgi`` (tests/websocket/test_socketio.py runs it).

``SOCKETIO_REDIS_URL`` (with ``SOCKETIO_CHANNEL``) shares rooms between
processes through python-socketio's Redis manager; without it, each
process keeps its own. ``STARTED_FILE`` / ``STOPPED_FILE`` are written by the
app's ``before_serving`` / ``after_serving`` functions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import socketio

from asyncflask import (
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
    websocket,
)

app = Flask(__name__)
app.config["SECRET_KEY"] = "a key for the socket.io tests"
app.config["GREETING"] = "hello from the app's config"

_redis_url = os.environ.get("SOCKETIO_REDIS_URL")
manager = (
    socketio.AsyncRedisManager(_redis_url, channel=os.environ.get("SOCKETIO_CHANNEL", "socketio"))
    if _redis_url
    else None
)
sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager)
#: What the server serves: Socket.IO at /socket.io/, everything else (and
#: the lifespan) goes to the asyncflask app.
asgi = socketio.ASGIApp(sio, other_asgi_app=app)

_serving: list[int] = []


def _mark(variable: str) -> None:
    path = os.environ.get(variable)
    if path:
        Path(path, str(os.getpid())).touch()


@app.before_serving
async def start() -> None:
    _serving.append(os.getpid())
    _mark("STARTED_FILE")


@app.after_serving
async def stop() -> None:
    _mark("STOPPED_FILE")


# -- the asyncflask side ---------------------------------------------------------------


@app.get("/")
async def index() -> dict[str, Any]:
    return {"pid": os.getpid(), "serving": _serving == [os.getpid()]}


@app.post("/login")
async def login() -> str:
    session["user"] = (await request.form)["name"]
    return "logged in"


@app.websocket("/echo")
async def echo() -> None:
    while True:
        await websocket.send(await websocket.receive())


# -- the Socket.IO side -----------------------------------------------------------------


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
    # the handshake's ASGI scope makes a request context: its cookies, and
    # so the asyncflask session, are readable here (not writable)
    async with app.request_context(environ["asgi.scope"]):
        user = session.get("user", "anonymous")
        handshake = f"{request.scope['type']} {request.path}"
    await sio.save_session(sid, {"user": user, "handshake": handshake})


@sio.event
async def whoami(sid: str) -> dict[str, Any]:
    saved = await sio.get_session(sid)
    return {**saved, "pid": os.getpid()}


@sio.event
async def contexts(sid: str) -> dict[str, Any]:
    outside: dict[str, Any] = {
        "request_context": has_request_context(),
        "app_context": has_app_context(),
    }
    try:
        session.get("user")
    except RuntimeError as e:
        outside["session_error"] = str(e)
    async with app.app_context():
        g.sid = sid
        inside = {
            "app_context": has_app_context(),
            "request_context": has_request_context(),
            "greeting": current_app.config["GREETING"],
            "g": g.sid,
        }
    return {"outside": outside, "inside": inside}


@sio.event
async def join(sid: str, room: str) -> str:
    await sio.enter_room(sid, room)
    return "joined"


@sio.event
async def leave(sid: str, room: str) -> str:
    await sio.leave_room(sid, room)
    return "left"


@sio.event
async def say(sid: str, data: dict[str, str]) -> str:
    user = (await sio.get_session(sid))["user"]
    message = {"from": user, "text": data["text"], "pid": os.getpid()}
    await sio.emit("said", message, room=data["room"])
    return "sent"
