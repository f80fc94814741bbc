"""The async test client: Flask's keywords, cookies, redirects, response
attributes, the lifespan and streamed responses."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from asyncflask import Blueprint, Flask, Response, current_app, redirect, request, session
from asyncflask.testing import TestClient, TestResponse


def _echo_app(app: Flask) -> None:
    @app.route("/echo", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    async def echo() -> dict[str, Any]:
        data = await request.get_data(as_text=True)
        return {
            "method": request.method,
            "args": request.args.to_dict(flat=False),
            "query_string": request.query_string.decode(),
            "content_type": request.content_type,
            "data": data,
            "headers": {k: v for k, v in request.headers.items() if k.startswith("X-")},
        }


# -- request keywords ---------------------------------------------------------------------


async def test_query_string_dict(app: Flask, client: TestClient) -> None:
    _echo_app(app)
    r = await client.get("/echo", query_string={"a": "1", "b": ["x", "y"], "c": "é &"})
    assert r.get_json()["args"] == {"a": ["1"], "b": ["x", "y"], "c": ["é &"]}


async def test_query_string_str_and_bytes(app: Flask, client: TestClient) -> None:
    _echo_app(app)
    r = await client.get("/echo", query_string="a=1&a=2&b=%20")
    assert r.get_json()["args"] == {"a": ["1", "2"], "b": [" "]}
    r = await client.get("/echo", query_string=b"z=9")
    assert r.get_json()["query_string"] == "z=9"


async def test_query_string_with_post(app: Flask, client: TestClient) -> None:
    _echo_app(app)
    r = await client.post("/echo", query_string={"q": "1"}, data="body")
    assert r.get_json()["args"] == {"q": ["1"]}
    assert r.get_json()["data"] == "body"


async def test_query_in_url(app: Flask, client: TestClient) -> None:
    _echo_app(app)
    r = await client.get("/echo?a=1&b=2")
    assert r.get_json()["args"] == {"a": ["1"], "b": ["2"]}


async def test_data_str_and_bytes(app: Flask, client: TestClient) -> None:
    _echo_app(app)
    r = await client.post("/echo", data="plain text")
    assert r.get_json()["data"] == "plain text"
    r = await client.put("/echo", data=b"\xc3\xa9 bytes")
    body = r.get_json()
    assert body["method"] == "PUT"
    assert body["data"] == "é bytes"


async def test_data_dict_is_form_encoded(app: Flask, client: TestClient) -> None:
    _echo_app(app)
    r = await client.post("/echo", data={"a": "1", "b": "x y", "m": ["1", "2"]})
    body = r.get_json()
    assert body["content_type"] == "application/x-www-form-urlencoded"
    assert body["data"] == "a=1&b=x+y&m=1&m=2"


async def test_data_dict_parsed_as_form(app: Flask, client: TestClient) -> None:
    @app.post("/form")
    async def form() -> dict[str, Any]:
        f = await request.form
        return {"a": f["a"], "m": f.getlist("m")}

    r = await client.post("/form", data={"a": "1", "m": ["x", "y"]})
    assert r.status_code == 200
    assert r.get_json() == {"a": "1", "m": ["x", "y"]}


async def test_json_keyword(app: Flask, client: TestClient) -> None:
    @app.post("/json")
    async def as_json() -> dict[str, Any]:
        return {
            "is_json": request.is_json,
            "mimetype": request.mimetype,
            "got": await request.get_json(),
        }

    r = await client.post("/json", json={"a": [1, 2], "b": None})
    assert r.get_json() == {
        "is_json": True,
        "mimetype": "application/json",
        "got": {"a": [1, 2], "b": None},
    }


async def test_headers_keyword(app: Flask, client: TestClient) -> None:
    _echo_app(app)
    r = await client.get("/echo", headers={"X-One": "1", "x-two": "2"})
    assert r.get_json()["headers"] == {"X-One": "1", "X-Two": "2"}
    r = await client.get("/echo", headers=[("X-List", "l")])
    assert r.get_json()["headers"] == {"X-List": "l"}


async def test_content_type_keyword(app: Flask, client: TestClient) -> None:
    _echo_app(app)
    r = await client.post("/echo", data="{}", content_type="application/json")
    assert r.get_json()["content_type"] == "application/json"


async def test_open_and_methods(app: Flask, client: TestClient) -> None:
    _echo_app(app)
    r = await client.open("/echo", method="PATCH", data="p")
    assert (r.get_json()["method"], r.get_json()["data"]) == ("PATCH", "p")
    assert (await client.delete("/echo")).get_json()["method"] == "DELETE"
    assert (await client.head("/echo")).data == b""


# -- responses ----------------------------------------------------------------------------


async def test_response_attributes(app: Flask, client: TestClient) -> None:
    @app.route("/text")
    async def text() -> tuple[str, int, dict[str, str]]:
        return "héllo", 201, {"X-A": "a", "Content-Type": "text/plain; charset=utf-8"}

    @app.route("/json")
    async def as_json() -> dict[str, int]:
        return {"n": 1}

    r = await client.get("/text")
    assert isinstance(r, TestResponse)
    assert r.status_code == 201
    assert r.status == "201 CREATED"
    assert r.headers["X-A"] == "a"
    assert r.headers["x-a"] == "a"
    assert r.data == "héllo".encode()
    assert r.text == "héllo"
    assert r.get_data() == "héllo".encode()
    assert r.get_data(as_text=True) == "héllo"
    assert r.mimetype == "text/plain"
    assert r.get_json() is None
    assert r.is_json is False

    r = await client.get("/json")
    assert r.mimetype == "application/json"
    assert r.is_json is True
    assert r.get_json() == {"n": 1}
    assert r.json == {"n": 1}


async def test_response_get_json_force_and_silent(app: Flask, client: TestClient) -> None:
    @app.route("/plain-json")
    async def plain_json() -> Response:
        return Response('{"a": 1}', mimetype="text/plain")

    @app.route("/bad-json")
    async def bad_json() -> Response:
        return Response("{bad", mimetype="application/json")

    r = await client.get("/plain-json")
    assert r.get_json() is None
    assert r.get_json(force=True) == {"a": 1}
    r = await client.get("/bad-json")
    assert r.get_json(silent=True) is None
    with pytest.raises(ValueError):
        r.get_json()


# -- cookies --------------------------------------------------------------------------------


def _cookie_app(app: Flask) -> None:
    @app.route("/set")
    async def set_cookie() -> Response:
        r = Response("set")
        r.set_cookie("name", request.args.get("v", "value"))
        return r

    @app.route("/sub/set")
    async def set_sub() -> Response:
        r = Response("set")
        r.set_cookie("scoped", "s", path="/sub")
        return r

    @app.route("/sub/get")
    @app.route("/get")
    async def get_cookie() -> dict[str, str]:
        return request.cookies.to_dict()

    @app.route("/delete")
    async def delete() -> Response:
        r = Response("deleted")
        r.delete_cookie("name")
        return r


async def test_cookies_kept_across_requests(app: Flask, client: TestClient) -> None:
    _cookie_app(app)
    assert (await client.get("/get")).get_json() == {}
    await client.get("/set?v=first")
    assert client.cookies["name"] == "first"
    assert (await client.get("/get")).get_json() == {"name": "first"}
    await client.get("/set?v=second")
    assert (await client.get("/get")).get_json() == {"name": "second"}
    await client.get("/delete")
    assert (await client.get("/get")).get_json() == {}


async def test_cookie_path_respected(app: Flask, client: TestClient) -> None:
    _cookie_app(app)
    await client.get("/sub/set")
    assert (await client.get("/sub/get")).get_json() == {"scoped": "s"}
    assert (await client.get("/get")).get_json() == {}


async def test_use_cookies_false(app: Flask) -> None:
    _cookie_app(app)
    async with app.test_client(use_cookies=False) as client:
        r = await client.get("/set")
        assert "name=value" in r.headers["Set-Cookie"]
        assert (await client.get("/get")).get_json() == {}


async def test_session_across_requests(app: Flask, client: TestClient) -> None:
    app.secret_key = "test secret"

    @app.route("/count")
    async def count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    assert [(await client.get("/count")).text for _ in range(3)] == ["1", "2", "3"]
    assert "session" in client.cookies


# -- redirects --------------------------------------------------------------------------------


async def test_follow_redirects(app: Flask, client: TestClient) -> None:
    @app.route("/a")
    async def a() -> Response:
        return redirect("/b")

    @app.route("/b")
    async def b() -> Response:
        return redirect("/c", code=301)

    @app.route("/c")
    async def c() -> str:
        return f"final {request.path}"

    r = await client.get("/a")
    assert r.status_code == 302
    assert r.headers["Location"] == "/b"

    r = await client.get("/a", follow_redirects=True)
    assert r.status_code == 200
    assert r.text == "final /c"
    assert [h.status_code for h in r.history] == [302, 301]
    assert r.request.url.path == "/c"


async def test_follow_redirects_307_keeps_method_and_body(app: Flask, client: TestClient) -> None:
    @app.post("/old")
    async def old() -> Response:
        return redirect("/new", code=307)

    @app.post("/new")
    async def new() -> str:
        return f"{request.method} {await request.get_data(as_text=True)}"

    r = await client.post("/old", data="payload", follow_redirects=True)
    assert r.status_code == 200
    assert r.text == "POST payload"


async def test_follow_redirects_sets_cookie_on_the_way(app: Flask, client: TestClient) -> None:
    @app.route("/login")
    async def login() -> Response:
        r = redirect("/home")
        r.set_cookie("user", "ann")
        return r

    @app.route("/home")
    async def home() -> str:
        return f"hi {request.cookies.get('user')}"

    r = await client.get("/login", follow_redirects=True)
    assert r.text == "hi ann"


# -- lifespan ------------------------------------------------------------------------------------


async def test_lifespan_runs_before_and_after_serving(app: Flask) -> None:
    events: list[str] = []
    bp = Blueprint("bp", __name__)

    @app.before_serving
    async def start() -> None:
        events.append(f"start {current_app.name}")

    @app.before_serving
    def start_sync() -> None:
        events.append("start sync")

    @bp.before_serving
    async def bp_start() -> None:
        events.append("bp start")

    @app.after_serving
    def stop_sync() -> None:
        events.append("stop sync")

    @app.after_serving
    async def stop() -> None:
        events.append("stop")

    @app.route("/")
    async def index() -> str:
        events.append("request")
        return "ok"

    app.register_blueprint(bp)

    async with app.test_client() as client:
        assert events == ["start testapp", "start sync", "bp start"]
        assert (await client.get("/")).text == "ok"
    assert events == ["start testapp", "start sync", "bp start", "request", "stop", "stop sync"]


async def test_no_lifespan_without_async_with(app: Flask) -> None:
    events: list[str] = []
    app.before_serving(lambda: events.append("start"))

    @app.route("/")
    async def index() -> str:
        return "ok"

    client = app.test_client()
    try:
        assert (await client.get("/")).text == "ok"
    finally:
        await client.aclose()
    assert events == []


async def test_failing_before_serving_raises(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    @app.before_serving
    async def broken() -> None:
        raise ValueError("cannot start db")

    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="cannot start db"):
        async with app.test_client():
            pytest.fail("the client must not start")
    assert "cannot start db" in caplog.text


# -- streaming --------------------------------------------------------------------------------


async def test_stream_endless_async_generator_and_disconnect(
    app: Flask, client: TestClient
) -> None:
    generator_closed = asyncio.Event()
    torn_down = asyncio.Event()

    @app.teardown_request
    async def td(exc: BaseException | None) -> None:
        torn_down.set()

    @app.route("/events")
    async def events() -> Any:
        async def gen() -> AsyncIterator[str]:
            i = 0
            try:
                while True:
                    yield f"data: {i}\n\n"
                    i += 1
                    await asyncio.sleep(0.001)
            finally:
                generator_closed.set()

        return gen(), {"Content-Type": "text/event-stream"}

    async def consume() -> list[bytes]:
        chunks: list[bytes] = []
        async with client.stream("GET", "/events") as r:
            assert r.status_code == 200
            assert r.headers["Content-Type"] == "text/event-stream"
            async for chunk in r.aiter_bytes():
                chunks.append(chunk)
                if len(chunks) == 3:
                    break
        return chunks

    chunks = await asyncio.wait_for(consume(), 5)
    assert chunks == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
    await asyncio.wait_for(generator_closed.wait(), 5)
    await asyncio.wait_for(torn_down.wait(), 5)


async def test_stream_endless_sync_generator_and_disconnect(app: Flask, client: TestClient) -> None:
    generator_closed = threading.Event()

    @app.route("/sync-events")
    async def events() -> Any:
        def gen() -> Iterator[bytes]:
            try:
                while True:
                    yield b"tick\n"
            finally:
                generator_closed.set()

        return gen()

    async def consume() -> bytes:
        async with client.stream("GET", "/sync-events") as r:
            async for chunk in r.aiter_bytes():
                return chunk
        return b""

    assert await asyncio.wait_for(consume(), 5) == b"tick\n"
    assert await asyncio.wait_for(asyncio.to_thread(generator_closed.wait, 5), 6)


async def test_stream_reads_chunks_as_they_are_produced(app: Flask, client: TestClient) -> None:
    step = asyncio.Event()

    @app.route("/slow")
    async def slow() -> Any:
        async def gen() -> AsyncIterator[str]:
            yield "first"
            await step.wait()  # only produced after the client saw "first"
            yield "second"

        return gen()

    async def consume() -> list[bytes]:
        seen: list[bytes] = []
        async with client.stream("GET", "/slow") as r:
            async for chunk in r.aiter_bytes():
                seen.append(chunk)
                step.set()
        return seen

    assert await asyncio.wait_for(consume(), 5) == [b"first", b"second"]


async def test_stream_of_buffered_response(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return "whole body"

    async def consume() -> bytes:
        async with client.stream("GET", "/") as r:
            assert r.headers["Content-Length"] == "10"
            return await r.aread()

    assert await asyncio.wait_for(consume(), 5) == b"whole body"


async def test_patch_sends_flask_keywords(app: Flask, client: TestClient) -> None:
    @app.route("/item", methods=["PATCH"])
    async def item() -> Any:
        return {"method": request.method, "json": await request.get_json(), "q": request.args["q"]}

    r = await client.patch("/item", json={"a": 1}, query_string={"q": "x"})
    assert r.get_json() == {"method": "PATCH", "json": {"a": 1}, "q": "x"}
