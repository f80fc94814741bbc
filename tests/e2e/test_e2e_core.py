"""End to end: the core request/response cycle over a real uvicorn on
127.0.0.1 (``python -m asyncflask --app app:app run``), with httpx."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.server import Server, run_server, server_fixture

TIMEOUT = httpx.Timeout(10.0)

CORE_APP = """
import asyncio
import random
import time

from asyncflask import Flask, g, jsonify, make_response, redirect, request, session, url_for

app = Flask(__name__)
app.config["SECRET_KEY"] = "e2e-core-secret"


@app.route("/")
async def hello():
    return "Hello, World!"


@app.route("/json")
async def json_dict():
    return {"message": "hi", "items": [1, 2, 3]}


@app.route("/jsonify")
async def json_list():
    return jsonify([{"id": 1}, {"id": 2}])


@app.route("/users/<int:user_id>/posts/<slug>")
async def post(user_id, slug):
    return {
        "user_id": user_id,
        "slug": slug,
        "q": request.args.get("q"),
        "page": request.args.get("page", 1, type=int),
        "tags": request.args.getlist("tag"),
    }


@app.route("/files/<path:name>")
async def file_name(name):
    return {"name": name, "path": request.path}


@app.route("/cookie/set")
async def cookie_set():
    response = make_response("cookie set")
    response.set_cookie("flavour", request.args["value"])
    return response


@app.route("/cookie/get")
async def cookie_get():
    return {"flavour": request.cookies.get("flavour")}


@app.route("/cookie/delete")
async def cookie_delete():
    response = make_response("cookie deleted")
    response.delete_cookie("flavour")
    return response


@app.route("/session/count")
async def session_count():
    session["count"] = session.get("count", 0) + 1
    return {"count": session["count"]}


@app.route("/old")
async def old():
    return redirect(url_for("hello"))


@app.route("/boom")
async def boom():
    raise RuntimeError("kaboom-" + "secret-detail")


@app.before_request
async def remember_token():
    g.token = request.headers.get("X-Token")


def _echo():
    return {
        "token": request.headers.get("X-Token"),
        "x_headers": sorted(k for k in request.headers.keys() if k.lower().startswith("x-")),
        "args": request.args.to_dict(flat=False),
        "g_token": g.token,
        "full_path": request.full_path,
    }


@app.route("/echo")
async def echo():
    await asyncio.sleep(random.uniform(0, 0.05))
    return _echo()


@app.route("/echo-sync")
def echo_sync():
    time.sleep(random.uniform(0, 0.01))
    return _echo()
"""

server = server_fixture(CORE_APP)


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        yield client


async def test_hello_world(http: httpx.AsyncClient) -> None:
    r = await http.get("/")
    assert r.status_code == 200
    assert r.text == "Hello, World!"
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-length"] == "13"


async def test_json_responses(http: httpx.AsyncClient) -> None:
    r = await http.get("/json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"message": "hi", "items": [1, 2, 3]}
    r = await http.get("/jsonify")
    assert r.headers["content-type"] == "application/json"
    assert r.json() == [{"id": 1}, {"id": 2}]


async def test_path_converters_and_query_args(http: httpx.AsyncClient) -> None:
    r = await http.get("/users/42/posts/hello-world?q=flask&page=3&tag=a&tag=b")
    assert r.status_code == 200
    assert r.json() == {
        "user_id": 42,
        "slug": "hello-world",
        "q": "flask",
        "page": 3,
        "tags": ["a", "b"],
    }
    r = await http.get("/users/42/posts/x", params={"page": "not-a-number"})
    assert r.json()["page"] == 1
    assert r.json()["q"] is None


async def test_int_converter_rejects_non_int(http: httpx.AsyncClient) -> None:
    r = await http.get("/users/abc/posts/x")
    assert r.status_code == 404


async def test_path_converter_decodes_percent_escapes(http: httpx.AsyncClient) -> None:
    r = await http.get("/files/a%20b/c%C3%A9.txt")
    assert r.status_code == 200
    assert r.json() == {"name": "a b/cé.txt", "path": "/files/a b/cé.txt"}


async def test_404_and_405(http: httpx.AsyncClient) -> None:
    r = await http.get("/no/such/page")
    assert r.status_code == 404
    assert "Not Found" in r.text
    r = await http.post("/", content=b"x")
    assert r.status_code == 405
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert allowed == {"GET", "HEAD", "OPTIONS"}


async def test_head(http: httpx.AsyncClient) -> None:
    r = await http.head("/")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == "13"
    assert r.headers["content-type"] == "text/html; charset=utf-8"


async def test_options(http: httpx.AsyncClient) -> None:
    r = await http.options("/json")
    assert r.status_code == 200
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}


async def test_cookie_round_trip(http: httpx.AsyncClient) -> None:
    r = await http.get("/cookie/set", params={"value": "chocolate"})
    assert r.status_code == 200
    assert r.headers["set-cookie"].startswith("flavour=chocolate;")
    assert "Path=/" in r.headers["set-cookie"]
    r = await http.get("/cookie/get")
    assert r.json() == {"flavour": "chocolate"}
    r = await http.get("/cookie/delete")
    assert "Max-Age=0" in r.headers["set-cookie"]
    r = await http.get("/cookie/get")
    assert r.json() == {"flavour": None}


async def test_session_round_trip(http: httpx.AsyncClient) -> None:
    for expected in (1, 2, 3):
        r = await http.get("/session/count")
        assert r.json() == {"count": expected}
    assert "HttpOnly" in r.headers["set-cookie"]


async def test_redirect(http: httpx.AsyncClient) -> None:
    r = await http.get("/old")
    assert r.status_code == 302
    assert r.headers["location"] == "/"
    r = await http.get("/old", follow_redirects=True)
    assert r.status_code == 200
    assert r.text == "Hello, World!"
    assert [h.status_code for h in r.history] == [302]


async def test_500_traceback_logged_not_sent(server: Server, http: httpx.AsyncClient) -> None:
    mark = len(server.stderr)
    r = await http.get("/boom")
    assert r.status_code == 500
    assert "Internal Server Error" in r.text
    assert "kaboom" not in r.text
    assert "Traceback" not in r.text
    assert "RuntimeError" not in r.text
    err = server.wait_for_stderr("kaboom-secret-detail", start=mark)
    assert "Traceback (most recent call last)" in err
    assert "Exception on /boom [GET]" in err
    # The server still works.
    assert (await http.get("/")).status_code == 200


def _recv_head(sock: socket.socket) -> bytes:
    data = b""
    for _ in range(100):
        if b"\r\n\r\n" in data:
            break
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_websocket_handshake_to_an_unknown_path_is_404(server: Server) -> None:
    mark = len(server.stderr)
    request = (
        b"GET /ws HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"\r\n"
    )
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.settimeout(5)
        sock.sendall(request)
        head = _recv_head(sock)
    status_line = head.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 404"), head
    time.sleep(0.2)  # anything logged after the rejection
    err = server.stderr[mark:]
    assert "Traceback" not in err
    assert "Exception" not in err
    assert "ERROR" not in err


@pytest.mark.parametrize("path", ["/echo", "/echo-sync"])
async def test_200_concurrent_requests_see_only_their_own_values(
    http: httpx.AsyncClient, path: str
) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=str(http.base_url), timeout=20, limits=limits) as c:

        async def one(i: int) -> None:
            token = f"token-{i}-{i * 7919}"
            r = await c.get(path, params={"i": str(i)}, headers={"X-Token": token})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body == {
                "token": token,
                "x_headers": ["X-Token"],
                "args": {"i": [str(i)]},
                "g_token": token,
                "full_path": f"{path}?i={i}",
            }

        async with asyncio.timeout(40):
            await asyncio.gather(*(one(i) for i in range(200)))


LIFESPAN_APP = """
import asyncio
import os

from asyncflask import Flask

app = Flask(__name__)
EVENTS = []


@app.before_serving
async def open_resources():
    await asyncio.sleep(0.01)
    EVENTS.append("async-startup")


@app.before_serving
def sync_startup():
    EVENTS.append("sync-startup")


@app.after_serving
async def close_resources():
    await asyncio.sleep(0.01)
    EVENTS.append("shutdown")
    with open(os.environ["AFTER_SERVING_FILE"], "w") as f:
        f.write(",".join(EVENTS))


@app.route("/events")
async def events():
    return {"events": EVENTS}
"""


async def test_lifespan_before_and_after_serving(tmp_path: Path) -> None:
    marker = tmp_path / "after_serving.txt"
    with run_server(LIFESPAN_APP, env={"AFTER_SERVING_FILE": str(marker)}) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as client:
            r = await client.get("/events")
        assert r.json() == {"events": ["async-startup", "sync-startup"]}
        assert not marker.exists()
        srv.stop()  # SIGTERM
        assert marker.read_text() == "async-startup,sync-startup,shutdown"
    assert "Application shutdown complete" in srv.stderr
    assert "Traceback" not in srv.stderr


FAILING_STARTUP_APP = """
from asyncflask import Flask

app = Flask(__name__)


@app.before_serving
async def connect():
    raise RuntimeError("boom-startup: database unreachable")


@app.route("/")
async def index():
    return "should never be served"
"""


def test_failing_before_serving_stops_the_server() -> None:
    with run_server(FAILING_STARTUP_APP, wait=False) as srv:
        status = srv.wait(timeout=15)
    assert status != 0
    assert "boom-startup: database unreachable" in srv.stderr
    assert "Application startup complete" not in srv.stderr
    assert "Uvicorn running" not in srv.stderr


DATE_APP = """
from asyncflask import Flask, make_response, request, send_file

app = Flask(__name__)


@app.route("/file")
async def file():
    return send_file("static/hello.txt")


@app.route("/conditional")
async def conditional():
    response = make_response("a buffered body")
    response.set_etag("buffered")
    return response.make_conditional(request, accept_ranges=True)
"""


def test_one_date_header_per_response() -> None:
    """uvicorn adds ``Date`` to every response: the app sends none of its
    own, so a file response (200, 304, 206), a conditional buffered one and
    a static file each carry exactly one."""
    files = {"static/hello.txt": "hello, file"}
    with (
        run_server(DATE_APP, files=files) as server,
        httpx.Client(base_url=server.url, timeout=TIMEOUT) as client,
    ):
        responses = []
        for url in ("/file", "/static/hello.txt", "/conditional"):
            r = client.get(url)
            assert r.status_code == 200
            responses.append(r)
            responses.append(client.get(url, headers={"If-None-Match": r.headers["ETag"]}))
            responses.append(client.get(url, headers={"Range": "bytes=0-4"}))
    assert [r.status_code for r in responses] == [200, 304, 206] * 3
    assert [r.content for r in responses[2::3]] == [b"hello", b"hello", b"a buf"]
    for r in responses:
        assert len(r.headers.get_list("date")) == 1, (r.url, r.headers.raw)
        assert r.headers.get_list("date")[0].endswith(" GMT")
