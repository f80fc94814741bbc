"""Websockets over the test client: routing, the ``websocket`` object, hooks,
errors, refusals, closes and size limits."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from flask.sessions import SecureCookieSession, SessionInterface

from asyncflask import (
    Blueprint,
    Flask,
    Response,
    WebSocketDisconnect,
    abort,
    copy_current_websocket_context,
    g,
    has_websocket_context,
    request,
    session,
    url_for,
    websocket,
)
from asyncflask.signals import got_request_exception
from asyncflask.testing import TestClient
from asyncflask.wstesting import WebsocketRejected, WebsocketSession, websocket_scope
from tests.support import guarded


@guarded()
async def test_echo_text_bytes_and_json(app: Flask, client: TestClient) -> None:
    @app.websocket("/ws/echo")
    async def echo() -> None:
        while True:
            data = await websocket.receive()
            await websocket.send(data)

    async with client.websocket("/ws/echo") as ws:
        await ws.send("hello")
        assert await ws.receive_text() == "hello"
        await ws.send(b"\x00\xff")
        assert await ws.receive_bytes() == b"\x00\xff"
        await ws.send_json({"a": [1, 2]})
        assert await ws.receive_json() == {"a": [1, 2]}
        await ws.send("text")
        with pytest.raises(TypeError, match="expected a binary message"):
            await ws.receive_bytes()
        await ws.send(b"bin")
        with pytest.raises(TypeError, match="expected a text message"):
            await ws.receive_text()


@guarded()
async def test_handshake_attributes_and_converters(app: Flask, client: TestClient) -> None:
    @app.websocket("/ws/<room>/<int:n>")
    async def room(room: str, n: int) -> None:
        await websocket.send_json(
            {
                "room": room,
                "n": n,
                "path": websocket.path,
                "args": websocket.args.getlist("x"),
                "header": websocket.headers.get("X-Token"),
                "cookie": websocket.cookies.get("c"),
                "scheme": websocket.scheme,
                "endpoint": websocket.endpoint,
                "same": request._get_current_object() is websocket._get_current_object(),  # type: ignore[attr-defined]
                "has": has_websocket_context(),
            }
        )

    client.cookies.set("c", "cv")
    async with client.websocket(
        "/ws/lobby/7", query_string={"x": ["1", "2"]}, headers={"X-Token": "t"}
    ) as ws:
        assert await ws.receive_json() == {
            "room": "lobby",
            "n": 7,
            "path": "/ws/lobby/7",
            "args": ["1", "2"],
            "header": "t",
            "cookie": "cv",
            "scheme": "ws",
            "endpoint": "room",
            "same": True,
            "has": True,
        }
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.receive()
        assert info.value.code == 1000
        assert ws.close_code == 1000
    # a converter that does not match: 404
    with pytest.raises(WebsocketRejected) as rejected:
        async with client.websocket("/ws/lobby/seven"):
            pass
    assert rejected.value.status_code == 404


async def test_websocket_outside_a_websocket() -> None:
    assert not has_websocket_context()
    with pytest.raises(RuntimeError, match="outside of websocket context"):
        websocket.path  # noqa: B018
    app = Flask(__name__)
    async with app.test_request_context("/"):
        assert not has_websocket_context()
        with pytest.raises(RuntimeError, match="outside of websocket context"):
            websocket.path  # noqa: B018


def test_a_websocket_view_must_be_async(app: Flask) -> None:
    with pytest.raises(TypeError, match="must be an 'async def'"):

        @app.websocket("/ws")
        def view() -> None:
            pass


@guarded()
async def test_session_is_read_from_the_cookie(app: Flask, client: TestClient) -> None:
    app.secret_key = "s3cret"

    @app.post("/login")
    async def login() -> str:
        session["user"] = "ann"
        return "ok"

    @app.websocket("/ws/me")
    async def me() -> None:
        await websocket.send(session.get("user", "nobody"))

    async with client.websocket("/ws/me") as ws:
        assert await ws.receive() == "nobody"
    await client.post("/login")
    async with client.websocket("/ws/me") as ws:
        assert await ws.receive() == "ann"


class ServerSideSessions(SessionInterface):
    """Sessions kept in a dict on the server; the cookie holds their id."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, Any]] = {}

    def open_session(self, app: Any, request: Any) -> SecureCookieSession:
        sid = request.cookies.get("sid") or uuid.uuid4().hex
        session = SecureCookieSession(self.store.get(sid, {}))
        session.sid = sid  # type: ignore[attr-defined]
        return session

    def save_session(self, app: Any, session: Any, response: Any) -> None:
        self.store[session.sid] = dict(session)
        response.set_cookie("sid", session.sid)


@pytest.fixture
def server_sessions(app: Flask) -> ServerSideSessions:
    interface = ServerSideSessions()
    app.session_interface = interface

    @app.post("/login")
    async def login() -> str:
        session["user"] = "ann"
        return "ok"

    @app.get("/me")
    async def me() -> dict[str, Any]:
        return dict(session)

    @app.websocket("/ws/visit")
    async def visit() -> None:
        session["visits"] = session.get("visits", 0) + 1
        await websocket.send(str(session["visits"]))
        if await websocket.receive() == "stay":
            await websocket.receive()  # until the client goes away

    return interface


@guarded()
@pytest.mark.parametrize("ending", ["view-returns", "client-leaves"])
async def test_a_session_changed_in_a_websocket_is_saved_server_side(
    server_sessions: ServerSideSessions, client: TestClient, ending: str
) -> None:
    await client.post("/login")
    for expected in ("1", "2"):
        async with client.websocket("/ws/visit") as ws:
            assert await ws.receive() == expected
            await ws.send("stay" if ending == "client-leaves" else "bye")
            if ending == "view-returns":
                with pytest.raises(WebSocketDisconnect) as closed:
                    await ws.receive()
                assert closed.value.code == 1000
    r = await client.get("/me")
    assert r.get_json() == {"user": "ann", "visits": 2}


@guarded()
async def test_a_websocket_that_does_not_touch_the_session_saves_nothing(
    server_sessions: ServerSideSessions, app: Flask, client: TestClient
) -> None:
    @app.websocket("/ws/quiet")
    async def quiet() -> None:
        await websocket.send("hi")

    async with client.websocket("/ws/quiet") as ws:
        assert await ws.receive() == "hi"
    assert server_sessions.store == {}


@guarded()
async def test_a_cookie_session_changed_in_a_websocket_is_not_saved_and_says_so(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.secret_key = "s3cret"

    @app.get("/me")
    async def me() -> dict[str, Any]:
        return dict(session)

    @app.websocket("/ws/set")
    async def set_user() -> None:
        session["user"] = "bob"
        await websocket.send("set")

    @app.websocket("/ws/read")
    async def read_user() -> None:
        await websocket.send(session.get("user", "nobody"))

    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        async with client.websocket("/ws/set") as ws:
            assert await ws.receive() == "set"
        async with client.websocket("/ws/read") as ws:
            assert await ws.receive() == "nobody"
    assert (await client.get("/me")).get_json() == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "/ws/set is not saved" in warnings[0]


@guarded()
async def test_a_websocket_reading_a_null_session_saves_nothing(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.websocket("/ws/read")
    async def read_user() -> None:
        await websocket.send(session.get("user", "nobody"))

    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        async with client.websocket("/ws/read") as ws:
            assert await ws.receive() == "nobody"
    assert caplog.records == []


@guarded()
async def test_copy_current_websocket_context_sends_from_another_task(
    app: Flask, client: TestClient
) -> None:
    @app.websocket("/ws/ticker/<name>")
    async def ticker(name: str) -> None:
        g.prefix = name

        @copy_current_websocket_context
        async def tick() -> None:
            for n in range(3):
                await websocket.send(f"{g.prefix} {websocket.path} {n}")

        task = asyncio.create_task(tick())
        assert await websocket.receive() == "stop"
        await task

    async with client.websocket("/ws/ticker/t") as ws:
        assert [await ws.receive() for _ in range(3)] == [
            "t /ws/ticker/t 0",
            "t /ws/ticker/t 1",
            "t /ws/ticker/t 2",
        ]
        await ws.send("stop")


@guarded()
async def test_copy_current_websocket_context_outside_a_websocket(
    app: Flask, client: TestClient
) -> None:
    async def f() -> None:
        pass  # pragma: no cover

    @app.get("/")
    async def index() -> str:
        with pytest.raises(RuntimeError, match="websocket context"):
            copy_current_websocket_context(f)
        return "refused"

    assert (await client.get("/")).text == "refused"
    with pytest.raises(RuntimeError, match="websocket context"):
        copy_current_websocket_context(f)


@guarded()
async def test_http_and_websocket_rules_at_one_path_and_url_for(
    app: Flask, client: TestClient
) -> None:
    @app.get("/chat/<room>")
    async def page(room: str) -> str:
        # werkzeug builds websocket URLs in full (ws:// or wss://)
        return url_for("chat", room=room) + " " + url_for("chat", room=room, _scheme="https")

    @app.websocket("/chat/<room>", endpoint="chat")
    async def chat(room: str) -> None:
        await websocket.send(url_for("page", room=room))

    @app.websocket("/only-ws")
    async def only_ws() -> None:
        pass

    @app.get("/both")
    async def both_http() -> str:
        return "http"

    @app.websocket("/both")
    async def both_ws() -> None:
        await websocket.send("ws")

    for _ in range(2):  # the second time from the matcher's cache
        assert (await client.get("/both")).text == "http"
        async with client.websocket("/both") as ws:
            assert await ws.receive() == "ws"

    assert (await client.get("/chat/a")).text == "ws://localhost/chat/a wss://localhost/chat/a"
    async with client.websocket("/chat/b") as ws:
        assert await ws.receive() == "/chat/b"
    # HTTP to a websocket-only rule, and a websocket to an HTTP-only rule
    assert (await client.get("/only-ws")).status_code == 400
    with pytest.raises(WebsocketRejected) as rejected:
        async with client.websocket("/nowhere"):
            pass
    assert rejected.value.status_code == 404


@guarded()
async def test_blueprint_websocket_and_hooks_in_order(app: Flask, client: TestClient) -> None:
    calls: list[str] = []
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @app.before_websocket
    async def app_before() -> None:
        calls.append("app before")
        g.user = "u"

    @bp.before_websocket
    def bp_before() -> None:
        calls.append("bp before")

    @bp.after_websocket
    def bp_after(response: object) -> object:
        calls.append(f"bp after {response}")
        return response

    @app.after_websocket
    async def app_after(response: object) -> object:
        calls.append("app after")
        return response

    @app.before_request
    def http_before() -> None:
        calls.append("http before")

    @bp.websocket("/ws/<name>")
    async def hello(name: str) -> None:
        calls.append("view")
        await websocket.send(f"{name} {g.user} {url_for('.hello', name='x')}")

    app.register_blueprint(bp)
    async with client.websocket("/bp/ws/ann") as ws:
        assert await ws.receive() == "ann u ws://localhost/bp/ws/x"
    assert calls == ["app before", "bp before", "view", "bp after None", "app after"]


@guarded()
async def test_abort_before_accept_is_an_http_answer(app: Flask, client: TestClient) -> None:
    @app.websocket("/ws/private")
    async def private() -> None:
        if websocket.headers.get("Authorization") != "yes":
            abort(403)
        await websocket.send("secret")

    with pytest.raises(WebsocketRejected) as rejected:
        async with client.websocket("/ws/private"):
            pass
    assert rejected.value.status_code == 403
    assert b"Forbidden" in rejected.value.response.content
    # a server without the websocket.http.response extension: the close
    # before accept, which servers answer with 403
    with pytest.raises(WebsocketRejected) as rejected:
        async with client.websocket("/ws/private", http_response=False):
            pass
    assert rejected.value.status_code == 403
    assert rejected.value.response.content == b""
    async with client.websocket("/ws/private", headers={"Authorization": "yes"}) as ws:
        assert await ws.receive() == "secret"


@guarded()
async def test_before_websocket_response_and_error_handler(app: Flask, client: TestClient) -> None:
    @app.before_websocket
    def gate() -> object:
        if websocket.args.get("deny"):
            return "go away", 429, {"Retry-After": "5"}
        return None

    @app.errorhandler(LookupError)
    def lookup(e: LookupError) -> tuple[str, int]:
        return f"missing {e}", 409

    @app.websocket("/ws")
    async def view() -> None:
        if websocket.args.get("missing"):
            raise KeyError("thing")
        await websocket.send("in")

    with pytest.raises(WebsocketRejected) as rejected:
        async with client.websocket("/ws?deny=1"):
            pass
    response = rejected.value.response
    assert (response.status_code, response.text) == (429, "go away")
    assert response.headers["Retry-After"] == "5"
    with pytest.raises(WebsocketRejected) as rejected:
        async with client.websocket("/ws?missing=1"):
            pass
    assert (rejected.value.status_code, rejected.value.response.text) == (409, "missing 'thing'")
    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "in"


@guarded()
async def test_http_error_after_accept_closes_with_1008(app: Flask, client: TestClient) -> None:
    @app.websocket("/ws")
    async def view() -> None:
        await websocket.accept()
        await websocket.receive_json()
        abort(400)

    async with client.websocket("/ws") as ws:
        await ws.send("{not json")
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.receive()
    assert (info.value.code, info.value.reason) == (1008, "BAD REQUEST")
    async with client.websocket("/ws") as ws:
        await ws.send("[]")
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.receive()
    assert info.value.code == 1008


@guarded()
async def test_unhandled_error_closes_with_1011_and_is_logged(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.websocket("/ws/<when>")
    async def view(when: str) -> None:
        if when == "after":
            await websocket.send("hi")
        raise ZeroDivisionError("boom")

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        async with client.websocket("/ws/after") as ws:
            assert await ws.receive() == "hi"
            with pytest.raises(WebSocketDisconnect) as info:
                await ws.receive()
        assert info.value.code == 1011
        with pytest.raises(WebsocketRejected) as rejected:
            async with client.websocket("/ws/before"):
                pass
        assert rejected.value.status_code == 500
    records = [r for r in caplog.records if "Exception on websocket /ws/" in r.getMessage()]
    assert len(records) == 2
    assert all(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in records)


@guarded()
async def test_testing_mode_propagates_the_error(app: Flask) -> None:
    app.testing = True

    @app.websocket("/ws")
    async def view() -> None:
        await websocket.accept()
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError):
        async with app.test_client().websocket("/ws") as ws:
            with pytest.raises(WebSocketDisconnect):
                await ws.receive()


@guarded()
async def test_client_disconnect_reaches_the_view(app: Flask, client: TestClient) -> None:
    seen: list[tuple[str, int]] = []
    sent = asyncio.Event()

    @app.websocket("/ws/read")
    async def read() -> None:
        try:
            await websocket.receive()
        except WebSocketDisconnect as e:
            seen.append(("read", e.code))
            raise

    @app.websocket("/ws/write")
    async def write() -> None:
        try:
            for i in range(10_000):
                await websocket.send(str(i))
                sent.set()
                await asyncio.sleep(0)
        except WebSocketDisconnect as e:
            seen.append(("write", e.code))

    async with client.websocket("/ws/read") as ws:
        await ws.close(4001, "bye")
    async with client.websocket("/ws/write") as ws:
        await sent.wait()
        await ws.close()
    assert seen == [("read", 4001), ("write", 1006)]


@guarded()
async def test_accept_with_subprotocol_and_headers_and_close_code(
    app: Flask, client: TestClient
) -> None:
    @app.websocket("/ws")
    async def view() -> None:
        offered = websocket.requested_subprotocols
        await websocket.accept(subprotocol=offered[-1], headers={"X-Hello": "there"})
        await websocket.accept()  # a second accept does nothing
        await websocket.close(4000, "done here")
        await websocket.close(1000)  # a second close does nothing
        assert websocket.closed and websocket.close_code == 4000
        with pytest.raises(WebSocketDisconnect):
            await websocket.send("late")

    async with client.websocket("/ws", subprotocols=["chat.v1", "chat.v2"]) as ws:
        assert ws.subprotocol == "chat.v2"
        assert ws.accept_headers["x-hello"] == "there"
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.receive()
        assert (info.value.code, info.value.reason) == (4000, "done here")
        assert str(info.value) == "websocket closed with code 4000: done here"
        with pytest.raises(WebSocketDisconnect):
            await ws.send("too late")


@guarded()
async def test_view_that_never_accepts_refuses(app: Flask, client: TestClient) -> None:
    @app.websocket("/ws")
    async def view() -> None:
        pass

    with pytest.raises(WebsocketRejected) as rejected:
        async with client.websocket("/ws"):
            pass
    assert rejected.value.status_code == 403


@guarded()
@pytest.mark.parametrize("kind", ["text", "bytes"])
async def test_message_size_limit(app: Flask, client: TestClient, kind: str) -> None:
    seen: list[int] = []

    @app.websocket("/ws")
    async def view() -> None:
        try:
            while True:
                data = await websocket.receive()
                await websocket.send(str(len(data)))
        except WebSocketDisconnect as e:
            seen.append(e.code)
            raise

    def message(size: int) -> str | bytes:
        return "é" * (size // 2) if kind == "text" else b"x" * size

    async with client.websocket("/ws") as ws:
        await ws.send(message(1024 * 1024))
        assert int(await ws.receive()) in (512 * 1024, 1024 * 1024)
        await ws.send(message(1024 * 1024 + 2))
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.receive()
    assert info.value.code == 1009
    assert seen == [1009]
    app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = 10
    async with client.websocket("/ws") as ws:
        await ws.send(message(10))
        assert await ws.receive() in ("5", "10")
        await ws.send(message(12))
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.receive()
    assert info.value.code == 1009


@guarded()
async def test_after_websocket_changes_a_refusal_and_teardown_runs(
    app: Flask, client: TestClient
) -> None:
    torn: list[object] = []

    @app.after_websocket
    def stamp(response: Response | None) -> Response | None:
        if response is not None:
            response.headers["X-Stamped"] = "1"
        return response

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn.append(exc)

    @app.websocket("/ws")
    async def view() -> None:
        if websocket.args.get("stream"):

            async def parts() -> AsyncIterator[bytes]:
                yield b"no "
                yield b"entry"

            abort(Response(parts(), status=401))
        await websocket.send("ok")

    with pytest.raises(WebsocketRejected) as rejected:
        async with client.websocket("/ws?stream=1"):
            pass
    response = rejected.value.response
    assert (response.status_code, response.text) == (401, "no entry")
    assert response.headers["X-Stamped"] == "1"
    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "ok"
    assert torn == [None, None]


@guarded()
async def test_url_value_preprocessor_and_signal(app: Flask, client: TestClient) -> None:
    bp = Blueprint("lang", __name__, url_prefix="/<lang>")
    errors: list[BaseException] = []

    @bp.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, str] | None) -> None:
        assert values is not None
        g.lang = values.pop("lang")

    @bp.websocket("/ws")
    async def view() -> None:
        await websocket.send(g.lang)
        raise RuntimeError("after the send")

    app.register_blueprint(bp)

    def record(sender: Flask, exception: BaseException) -> None:
        errors.append(exception)

    got_request_exception.connect(record, app)
    try:
        async with client.websocket("/fr/ws") as ws:
            assert await ws.receive() == "fr"
            with pytest.raises(WebSocketDisconnect):
                await ws.receive()
    finally:
        got_request_exception.disconnect(record, app)
    assert [str(e) for e in errors] == ["after the send"]


@guarded()
async def test_untrusted_host_is_refused_with_400(app: Flask, client: TestClient) -> None:
    app.config["TRUSTED_HOSTS"] = ["example.com"]

    @app.websocket("/ws")
    async def view() -> None:
        await websocket.send("in")

    with pytest.raises(WebsocketRejected) as rejected:
        async with client.websocket("/ws"):
            pass
    assert rejected.value.status_code == 400
    async with client.websocket("http://example.com/ws") as ws:
        assert await ws.receive() == "in"


@guarded()
async def test_a_scope_that_disconnects_before_connecting(app: Flask) -> None:
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "websocket.disconnect", "code": 1006}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = websocket_scope(httpx.Request("GET", "http://localhost/ws"))
    await app(scope, receive, send)
    assert sent == []


@guarded()
async def test_the_test_session_reports_an_app_that_breaks_the_protocol() -> None:
    async def silent(scope: dict[str, object], receive: object, send: object) -> None:
        pass

    async def chatty(scope: dict[str, object], receive: object, send: Any) -> None:
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.http.response.start", "status": 200})

    async def early(scope: dict[str, object], receive: object, send: Any) -> None:
        await send({"type": "websocket.send", "text": "too soon"})

    scope = websocket_scope(httpx.Request("GET", "http://localhost/ws"))
    with pytest.raises(RuntimeError, match="without closing it"):
        await WebsocketSession(silent, scope).connect()
    ws = WebsocketSession(chatty, scope)
    await ws.connect()
    with pytest.raises(RuntimeError, match="Unexpected ASGI message"):
        await ws.receive()
    await ws.close()
    with pytest.raises(RuntimeError, match="at the handshake"):
        await WebsocketSession(early, scope).connect()
