"""Websockets end to end: uvicorn (its ``websockets`` and ``wsproto``
implementations) and hypercorn, with the ``websockets`` client."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.server import Server, run_server
from tests.support import guarded

APP = """
import asyncio
import json
from asyncflask import Blueprint, Flask, WebSocketDisconnect, abort, session, url_for, websocket

app = Flask(__name__)
app.secret_key = "e2e"
app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = 1000
seen = []

@app.websocket("/ws/echo")
async def echo():
    while True:
        await websocket.send(await websocket.receive())

@app.websocket("/ws/json/<int:n>")
async def json_view(n):
    data = await websocket.receive_json()
    await websocket.send_json({"n": n, "got": data, "q": websocket.args.get("q"),
                               "user": session.get("user"), "path": websocket.path})

@app.websocket("/ws/private")
async def private():
    if websocket.headers.get("X-Key") != "k":
        abort(403)
    await websocket.accept(subprotocol="v2", headers={"X-Accepted": "1"})
    await websocket.send("welcome")

@app.websocket("/ws/wait")
async def wait():
    try:
        await websocket.receive()
    except WebSocketDisconnect as e:
        seen.append(e.code)
        raise

@app.websocket("/ws/boom")
async def boom():
    await websocket.send("hi")
    raise ZeroDivisionError("boom")

@app.websocket("/ws/bye")
async def bye():
    await websocket.accept()
    await websocket.close(4000, "bye")

@app.errorhandler(LookupError)
def lookup(e):
    return "no such thing", 409

@app.after_websocket
def after(response):
    if response is not None:
        response.headers["X-After"] = "1"
    return response

@app.websocket("/ws/lookup")
async def lookup_view():
    raise KeyError("thing")

@app.websocket("/ws/url")
async def url_view():
    await websocket.send(url_for("echo") + " " + url_for("get_seen"))

@app.get("/seen")
async def get_seen():
    return {"seen": seen}

@app.post("/login")
async def login():
    session["user"] = "ann"
    return "ok"

bp = Blueprint("bp", __name__, url_prefix="/bp")

@bp.before_websocket
def refuse():
    if websocket.args.get("deny"):
        return "denied", 429

@bp.websocket("/ws")
async def bp_ws():
    await websocket.send("bp")

app.register_blueprint(bp)


async def bare(scope, receive, send):
    # the app behind a server without the websocket.http.response extension
    await app({**scope, "extensions": {}}, receive, send)
"""

UVICORN = [sys.executable, "-m", "uvicorn", "--host", "{host}", "--port", "{port}"]

#: name -> (argv, whether the app can answer a handshake over HTTP, whether
#: the server tells the app the client's close code)
SERVERS: dict[str, tuple[list[str], bool, bool]] = {
    "uvicorn-websockets": ([*UVICORN, "--ws", "websockets", "app:app"], True, True),
    "uvicorn-wsproto": ([*UVICORN, "--ws", "wsproto", "app:app"], True, True),
    "uvicorn-no-http-response": ([*UVICORN, "--ws", "websockets", "app:bare"], False, True),
    # hypercorn reports every client close as 1006
    "hypercorn": (
        [sys.executable, "-m", "hypercorn", "app:app", "--bind", "{host}:{port}"],
        True,
        False,
    ),
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Server, bool, bool]]:
    argv, http_response, close_codes = SERVERS[request.param]
    with run_server(APP, command=argv) as server:
        yield server, http_response, close_codes


def _ws(server: Server, path: str, **kwargs: Any) -> Any:
    url = f"ws://{server.host}:{server.port}{path}"
    return connect(url, open_timeout=5, close_timeout=5, **kwargs)


async def _rejected_status(server: Server, path: str, **kwargs: Any) -> tuple[int, bytes]:
    with pytest.raises(InvalidStatus) as info:
        async with _ws(server, path, **kwargs):
            pass
    response = info.value.response
    return response.status_code, response.body or b""


@guarded(30)
async def test_echo_and_json(served: tuple[Server, bool, bool]) -> None:
    server, *_ = served
    async with _ws(server, "/ws/echo") as ws:
        for message in ["hello", b"\x00\x01", "é" * 400]:
            await ws.send(message)
            assert await ws.recv() == message
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        cookie = (await http.post("/login")).headers["set-cookie"].split(";")[0]
    async with _ws(server, "/ws/json/3?q=x", additional_headers={"Cookie": cookie}) as ws:
        await ws.send('{"a": 1}')
        assert json.loads(await ws.recv()) == {
            "got": {"a": 1},
            "n": 3,
            "path": "/ws/json/3",
            "q": "x",
            "user": "ann",
        }
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


@guarded(30)
async def test_refusals(served: tuple[Server, bool, bool]) -> None:
    server, http_response, _ = served
    status, body = await _rejected_status(server, "/ws/private")
    assert status == 403
    assert (b"Forbidden" in body) is http_response
    status, body = await _rejected_status(server, "/ws/nowhere")
    assert status == (404 if http_response else 403)
    status, body = await _rejected_status(server, "/bp/ws?deny=1")
    assert (status, body) == ((429, b"denied") if http_response else (403, b""))
    async with _ws(
        server, "/ws/private", additional_headers={"X-Key": "k"}, subprotocols=["v1", "v2"]
    ) as ws:
        assert ws.subprotocol == "v2"
        assert ws.response is not None and ws.response.headers["X-Accepted"] == "1"
        assert await ws.recv() == "welcome"
    async with _ws(server, "/bp/ws") as ws:
        assert await ws.recv() == "bp"
    # an error handler's response, changed by after_websocket
    with pytest.raises(InvalidStatus) as info:
        async with _ws(server, "/ws/lookup"):
            pass
    response = info.value.response
    if http_response:
        assert (response.status_code, response.body) == (409, b"no such thing")
        assert response.headers["X-After"] == "1"
    else:
        assert response.status_code == 403
    async with _ws(server, "/ws/url") as ws:
        assert await ws.recv() == f"ws://{server.host}:{server.port}/ws/echo /seen"
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        assert (await http.get("/ws/echo")).status_code == 400


@guarded(30)
async def test_closes(served: tuple[Server, bool, bool]) -> None:
    server, *_ = served
    async with _ws(server, "/ws/bye") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4000, "bye")
    mark = len(server.stderr)
    async with _ws(server, "/ws/boom") as ws:
        assert await ws.recv() == "hi"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    err = server.wait_for_stderr("Exception on websocket /ws/boom", start=mark)
    assert "ZeroDivisionError: boom" in err
    async with _ws(server, "/ws/echo") as ws:
        await ws.send("x" * 1000)
        assert await ws.recv() == "x" * 1000
        await ws.send(b"x" * 1001)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


@guarded(30)
async def test_client_disconnect_reaches_the_view(served: tuple[Server, bool, bool]) -> None:
    server, _, close_codes = served
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        before = len((await http.get("/seen")).json()["seen"])
        async with _ws(server, "/ws/wait") as ws:
            await ws.close(4001, "going")
        for _ in range(100):
            seen = (await http.get("/seen")).json()["seen"]
            if len(seen) > before:
                break
            await asyncio.sleep(0.05)
        assert seen[before:] == [4001 if close_codes else 1006]
    assert "Traceback" not in server.stderr.replace(_boom_part(server.stderr), "")


def _boom_part(err: str) -> str:
    """The logged traceback of /ws/boom, which another test causes."""
    start = err.find("Exception on websocket /ws/boom")
    if start < 0:
        return ""
    end = err.find("ZeroDivisionError: boom", start)
    return err[start : end + len("ZeroDivisionError: boom")]


@guarded(30)
async def test_bad_input(served: tuple[Server, bool, bool]) -> None:
    server, *_ = served
    # not JSON where JSON is expected: closed with 1008
    async with _ws(server, "/ws/json/1") as ws:
        await ws.send("{not json")
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    # a handshake without its key: the server answers 400 before the app
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    status = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status.split()[1:2] == [b"400"], status
    # a client that drops the TCP connection without a close frame
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        before = len((await http.get("/seen")).json()["seen"])
        ws = await _ws(server, "/ws/wait")
        ws.transport.abort()
        for _ in range(100):
            seen = (await http.get("/seen")).json()["seen"]
            if len(seen) > before:
                break
            await asyncio.sleep(0.05)
        # 1006 (abnormal closure); uvicorn's wsproto says 1005 (no status)
        assert len(seen[before:]) == 1 and seen[before] in (1005, 1006)
    assert "Traceback" not in server.stderr.replace(_boom_part(server.stderr), "")
