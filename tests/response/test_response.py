"""Responses: Flask's make_response table, Response attributes, cookies,
jsonify, redirect and bodiless statuses, compared with Flask 3.1."""

from __future__ import annotations

import asyncio
import dataclasses
import decimal
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import flask
import pytest
from werkzeug.datastructures import Headers

from asyncflask import (
    Flask,
    JSONResponse,
    Response,
    StreamingResponse,
    jsonify,
    make_response,
    redirect,
    request,
)
from asyncflask.testing import TestClient

# -- make_response table: what a view may return ---------------------------------------


async def test_return_str(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return "héllo"

    r = await client.get("/")
    assert r.status_code == 200
    assert r.status == "200 OK"
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Content-Length"] == str(len("héllo".encode()))
    assert r.data == "héllo".encode()
    assert r.text == "héllo"


async def test_return_bytes(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> bytes:
        return b"\x00\x01raw"

    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Content-Length"] == "5"
    assert r.data == b"\x00\x01raw"


async def test_return_dict(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        return {"b": 1, "a": [1, None, "x"]}

    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.mimetype == "application/json"
    assert r.data == b'{"a":[1,null,"x"],"b":1}\n'
    assert r.headers["Content-Length"] == str(len(r.data))
    assert r.get_json() == {"b": 1, "a": [1, None, "x"]}


async def test_return_list(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> list[Any]:
        return [1, "two", {"three": 3}]

    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.data == b'[1,"two",{"three":3}]\n'


async def test_return_response(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Response:
        return Response("made", status=201, headers={"X-Made": "1"}, mimetype="text/plain")

    r = await client.get("/")
    assert r.status_code == 201
    assert r.text == "made"
    assert r.headers["X-Made"] == "1"
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_return_body_status(app: Flask, client: TestClient) -> None:
    @app.route("/int")
    async def as_int() -> tuple[str, int]:
        return "created", 201

    @app.route("/str")
    async def as_str() -> tuple[str, str]:
        return "accepted", "202 ACCEPTED"

    @app.route("/dict")
    async def as_dict() -> tuple[dict[str, int], int]:
        return {"a": 1}, 400

    @app.route("/unknown")
    async def unknown() -> tuple[str, int]:
        return "odd", 599

    r = await client.get("/int")
    assert (r.status_code, r.status, r.text) == (201, "201 CREATED", "created")
    r = await client.get("/str")
    assert (r.status_code, r.status, r.text) == (202, "202 ACCEPTED", "accepted")
    r = await client.get("/dict")
    assert (r.status_code, r.get_json()) == (400, {"a": 1})
    assert r.headers["Content-Type"] == "application/json"
    r = await client.get("/unknown")
    assert (r.status_code, r.status) == (599, "599 UNKNOWN")


async def test_return_body_status_headers(app: Flask, client: TestClient) -> None:
    @app.route("/dict-headers")
    async def dict_headers() -> Any:
        return "body", 203, {"X-One": "1", "Content-Type": "text/plain"}

    @app.route("/list-headers")
    async def list_headers() -> Any:
        return {"a": 1}, 201, [("X-L", "1"), ("X-Other", "o")]

    @app.route("/headers-object")
    async def headers_object() -> Any:
        return "body", 200, Headers([("X-H", "h")])

    r = await client.get("/dict-headers")
    assert r.status_code == 203
    assert r.text == "body"
    assert r.headers["X-One"] == "1"
    assert r.headers["Content-Type"] == "text/plain"
    r = await client.get("/list-headers")
    assert r.status_code == 201
    assert r.get_json() == {"a": 1}
    assert r.headers["X-L"] == "1"
    assert r.headers["X-Other"] == "o"
    r = await client.get("/headers-object")
    assert r.headers["X-H"] == "h"


async def test_return_body_headers(app: Flask, client: TestClient) -> None:
    @app.route("/dict")
    async def with_dict() -> Any:
        return "body", {"X-A": "a"}

    @app.route("/list")
    async def with_list() -> Any:
        return "body", [("X-B", "b")]

    r = await client.get("/dict")
    assert (r.status_code, r.text, r.headers["X-A"]) == (200, "body", "a")
    r = await client.get("/list")
    assert (r.status_code, r.text, r.headers["X-B"]) == (200, "body", "b")


async def test_tuple_with_response_object(app: Flask, client: TestClient) -> None:
    @app.route("/status")
    async def status() -> Any:
        return Response("x"), 404

    @app.route("/headers")
    async def headers() -> Any:
        # headers from the tuple replace the response's, as in Flask
        return Response("x", headers={"X-A": "1"}), {"X-A": "2", "X-B": "3"}

    r = await client.get("/status")
    assert (r.status_code, r.text) == (404, "x")
    r = await client.get("/headers")
    assert r.headers.get_list("X-A") == ["2"]
    assert r.headers["X-B"] == "3"


async def test_return_sync_generator(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        def gen() -> Iterator[str | bytes]:
            yield "a"
            yield b"b"
            yield "é"

        return gen(), 201, {"X-Gen": "sync"}

    r = await asyncio.wait_for(client.get("/"), 5)
    assert r.status_code == 201
    assert r.headers["X-Gen"] == "sync"
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Content-Length" not in r.headers
    assert r.data == "abé".encode()


async def test_return_async_generator(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        async def gen() -> AsyncIterator[str]:
            for i in range(3):
                await asyncio.sleep(0)
                yield f"{i},"

        return gen(), {"Content-Type": "text/plain"}

    r = await asyncio.wait_for(client.get("/"), 5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain"
    assert "Content-Length" not in r.headers
    assert r.text == "0,1,2,"


async def test_sync_view_returning_generator(app: Flask, client: TestClient) -> None:
    @app.route("/")
    def index() -> Any:
        def gen() -> Iterator[str]:
            yield from ("x", "y")

        return gen()

    r = await asyncio.wait_for(client.get("/"), 5)
    assert r.text == "xy"


async def test_streaming_response_class(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Response:
        async def gen() -> AsyncIterator[bytes]:
            yield b"data: 1\n\n"
            yield b"data: 2\n\n"

        return StreamingResponse(gen(), mimetype="text/event-stream")

    r = await asyncio.wait_for(client.get("/"), 5)
    assert r.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert r.text == "data: 1\n\ndata: 2\n\n"
    with pytest.raises(TypeError):
        StreamingResponse("not an iterable of chunks")  # type: ignore[arg-type]


async def test_make_response_helper(app: Flask, client: TestClient) -> None:
    @app.route("/empty")
    async def empty() -> Response:
        rv = make_response()
        rv.headers["X-Empty"] = "1"
        return rv

    @app.route("/one")
    async def one() -> Response:
        rv = make_response("body")
        rv.set_cookie("c", "v")
        return rv

    @app.route("/three")
    async def three() -> Response:
        return make_response("body", 201, {"X-Three": "3"})

    @app.route("/tuple")
    async def tuple_arg() -> Response:
        return make_response(("body", 202))

    @app.route("/dict")
    async def dict_arg() -> Response:
        rv = make_response({"k": "v"})
        assert rv.mimetype == "application/json"
        return rv

    r = await client.get("/empty")
    assert (r.status_code, r.data, r.headers["X-Empty"]) == (200, b"", "1")
    assert r.headers["Content-Length"] == "0"
    r = await client.get("/one")
    assert r.text == "body"
    assert r.headers["Set-Cookie"] == "c=v; Path=/"
    r = await client.get("/three")
    assert (r.status_code, r.headers["X-Three"]) == (201, "3")
    assert (await client.get("/tuple")).status_code == 202
    assert (await client.get("/dict")).get_json() == {"k": "v"}


# -- Response attributes -----------------------------------------------------------------


def test_response_defaults() -> None:
    r = Response("hello")
    assert r.status_code == 200
    assert r.status == "200 OK"
    assert r.mimetype == "text/html"
    assert r.content_type == "text/html; charset=utf-8"
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Content-Length"] == "5"
    assert r.content_length == 5
    assert r.data == b"hello"
    assert r.get_data() == b"hello"
    assert r.get_data(as_text=True) == "hello"


def test_response_empty() -> None:
    r = Response()
    assert r.data == b""
    assert r.status_code == 200
    assert r.mimetype == "text/html"


def test_response_status_setters() -> None:
    r = Response("x", status=201)
    assert r.status == "201 CREATED"
    r.status = "404 NOT FOUND"
    assert r.status_code == 404
    r.status_code = 418
    assert r.status == "418 I'M A TEAPOT"
    r = Response("x", status="202 ACCEPTED")
    assert r.status_code == 202
    assert Response(status=599).status == "599 UNKNOWN"


def test_response_set_data_updates_content_length() -> None:
    r = Response("hi")
    assert r.headers["Content-Length"] == "2"
    r.set_data("hi there")
    assert r.headers["Content-Length"] == "8"
    assert r.content_length == 8
    r.data = "é".encode() * 3
    assert r.headers["Content-Length"] == "6"
    assert r.get_data(as_text=True) == "ééé"
    r.set_data("ü")
    assert r.data == "ü".encode()
    assert r.headers["Content-Length"] == "2"


def test_response_mimetype_and_content_type() -> None:
    assert Response(mimetype="text/plain").content_type == "text/plain; charset=utf-8"
    r = Response(content_type="application/x-foo")
    assert (r.content_type, r.mimetype) == ("application/x-foo", "application/x-foo")
    r = Response(mimetype="application/json")
    assert r.content_type == "application/json"
    r = Response("x")
    r.mimetype = "text/csv"
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_response_headers_argument() -> None:
    r = Response("x", headers={"X-A": "1"})
    assert r.headers["X-A"] == "1"
    r = Response("x", headers=[("X-B", "1"), ("X-B", "2")])
    assert r.headers.getlist("X-B") == ["1", "2"]
    r.headers.add("X-C", "c")
    assert r.headers["x-c"] == "c"


async def test_response_headers_replaced_or_changed_are_sent() -> None:
    changed = Response("x", mimetype="text/plain")
    changed.headers["X-A"] = "1"
    replaced = Response("x", mimetype="text/plain")
    replaced.headers = Headers([("X-B", "2")])
    replaced.headers.add("X-C", "3")
    assert changed.asgi_headers() == [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"1"),
        (b"x-a", b"1"),
    ]
    assert replaced.asgi_headers() == [(b"x-b", b"2"), (b"x-c", b"3"), (b"content-length", b"1")]
    untouched = Response("héllo", mimetype="text/csv")
    assert untouched.asgi_headers() == [
        (b"content-type", b"text/csv; charset=utf-8"),
        (b"content-length", b"6"),
    ]
    untouched.status_code = 204
    assert untouched.asgi_headers() == [(b"content-type", b"text/csv; charset=utf-8")]


def test_response_get_json() -> None:
    r = Response('{"a": [1, 2]}', mimetype="application/json")
    assert r.is_json is True
    assert r.get_json() == {"a": [1, 2]}
    assert r.json == {"a": [1, 2]}
    plain = Response('{"a": 1}')
    assert plain.get_json() is None
    assert plain.get_json(force=True) == {"a": 1}
    bad = Response("{nope", mimetype="application/json")
    assert bad.get_json(silent=True) is None
    with pytest.raises(ValueError):
        bad.get_json()


def test_response_list_of_str_and_bytes() -> None:
    # Flask's Response takes any iterable of str or bytes, a list included.
    r = Response(["a", b"b", "c"])
    assert r.get_data() == b"abc"


def test_response_sync_iterator_body() -> None:
    r = Response(iter(["a", b"b"]))
    assert r.get_data() == b"ab"


async def test_response_list_body_is_sent(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Response:
        return Response(["a", b"b", "c"])

    r = await client.get("/")
    assert r.status_code == 200
    assert r.text == "abc"


# -- cookies ------------------------------------------------------------------------------


def test_set_cookie_every_option() -> None:
    r = Response()
    r.set_cookie(
        "full",
        "value",
        max_age=60,
        expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        path="/p",
        domain="example.com",
        secure=True,
        httponly=True,
        samesite="Lax",
        partitioned=True,
    )
    assert r.headers["Set-Cookie"] == (
        "full=value; Domain=example.com; Expires=Wed, 02 Jan 2030 03:04:05 GMT;"
        " Max-Age=60; Secure; HttpOnly; Path=/p; SameSite=Lax; Partitioned"
    )


async def test_set_cookie_in_view(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Response:
        r = Response("x")
        r.set_cookie("plain", "1")
        r.set_cookie("quoted", "v a;l")
        r.set_cookie("strict", "s", samesite="Strict", secure=True)
        r.set_cookie("none", "n", samesite="None", secure=True)
        r.set_cookie("aged", "a", max_age=timedelta(hours=1))
        r.set_cookie("expiring", "e", expires=datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC))
        r.set_cookie("ts", "t", expires=0)
        r.set_cookie(
            "full",
            "value",
            max_age=60,
            expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
            path="/p",
            domain="localhost.local",
            secure=True,
            httponly=True,
            samesite="Lax",
            partitioned=True,
        )
        return r

    r = await client.get("/")
    cookies = r.headers.get_list("Set-Cookie")
    assert cookies[0] == "plain=1; Path=/"
    assert cookies[1] == 'quoted="v a\\073l"; Path=/'
    assert cookies[2] == "strict=s; Secure; Path=/; SameSite=Strict"
    assert cookies[3] == "none=n; Secure; Path=/; SameSite=None"
    assert cookies[4].startswith("aged=a; Expires=")
    assert cookies[4].endswith("; Max-Age=3600; Path=/")
    assert cookies[5] == "expiring=e; Expires=Tue, 06 May 2031 07:08:09 GMT; Path=/"
    assert cookies[6] == "ts=t; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
    assert cookies[7] == (
        "full=value; Domain=localhost.local; Expires=Wed, 02 Jan 2030 03:04:05 GMT;"
        " Max-Age=60; Secure; HttpOnly; Path=/p; SameSite=Lax; Partitioned"
    )
    assert len(cookies) == 8


async def test_delete_cookie(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Response:
        r = Response("x")
        r.delete_cookie("gone")
        r.delete_cookie(
            "gone2",
            path="/x",
            domain="example.com",
            secure=True,
            httponly=True,
            samesite="Strict",
        )
        return r

    r = await client.get("/")
    assert r.headers.get_list("Set-Cookie") == [
        "gone=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
        "gone2=; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0;"
        " Secure; HttpOnly; Path=/x; SameSite=Strict",
    ]


async def test_max_cookie_size_follows_config(app: Flask) -> None:
    app.config["MAX_COOKIE_SIZE"] = 100
    async with app.app_context():
        r = Response()
        assert r.max_cookie_size == 100
        r.set_cookie("small", "x" * 50)
        with pytest.warns(UserWarning, match="The 'big' cookie is too large"):
            r.set_cookie("big", "x" * 200)
        assert r.headers.getlist("Set-Cookie")[1].startswith("big=xxxx")
    app.config["MAX_COOKIE_SIZE"] = 0
    async with app.app_context():
        Response().set_cookie("huge", "x" * 10000)  # 0 disables the warning


def test_max_cookie_size_default_outside_app() -> None:
    assert Response().max_cookie_size == 4093


# -- Location header ----------------------------------------------------------------------


async def test_redirect_default_302(app: Flask, client: TestClient) -> None:
    @app.route("/r")
    async def r_view() -> Response:
        return redirect("/target")

    r = await client.get("/r")
    assert r.status_code == 302
    assert r.status == "302 FOUND"
    assert r.headers["Location"] == "/target"
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>Redirecting...</title>" in r.text
    assert '<a href="/target">/target</a>' in r.text


async def test_redirect_with_code(app: Flask, client: TestClient) -> None:
    @app.route("/r")
    async def r_view() -> Response:
        return redirect("http://other.example/x?y=1", code=301)

    @app.route("/iri")
    async def iri() -> Response:
        return redirect("/café")

    r = await client.get("/r")
    assert r.status_code == 301
    assert r.status == "301 MOVED PERMANENTLY"
    assert r.headers["Location"] == "http://other.example/x?y=1"
    r = await client.get("/iri")
    assert r.headers["Location"] == "/caf%C3%A9"


def test_redirect_outside_app_context() -> None:
    r = redirect("/somewhere", code=303)
    assert r.status_code == 303
    assert r.headers["Location"] == "/somewhere"
    assert isinstance(r, Response)


async def test_autocorrect_location_header(app: Flask, client: TestClient) -> None:
    @app.route("/relative")
    async def relative() -> Response:
        return redirect("/target")

    @app.route("/dir/absolute")
    async def absolute() -> Response:
        r = redirect("target")
        r.autocorrect_location_header = True
        return r

    assert Response.autocorrect_location_header is False
    assert (await client.get("/relative")).headers["Location"] == "/target"
    r = await client.get("/dir/absolute")
    assert r.headers["Location"] == "http://localhost/dir/target"


# -- jsonify and JSON ----------------------------------------------------------------------


async def test_jsonify(app: Flask, client: TestClient) -> None:
    @app.route("/kwargs")
    async def kwargs() -> Response:
        return jsonify(b=1, a=[1, 2])

    @app.route("/list")
    async def as_list() -> Response:
        return jsonify([1, "x", None])

    @app.route("/dict")
    async def as_dict() -> Response:
        return jsonify({"z": 1, "a": {"y": 2, "b": 3}})

    @app.route("/args")
    async def args() -> Response:
        return jsonify(1, 2)

    @app.route("/scalar")
    async def scalar() -> Response:
        return jsonify("s")

    @app.route("/nothing")
    async def nothing() -> Response:
        return jsonify()

    @app.route("/both")
    async def both() -> Response:
        return jsonify(1, a=2)

    r = await client.get("/kwargs")
    assert r.headers["Content-Type"] == "application/json"
    assert r.data == b'{"a":[1,2],"b":1}\n'
    assert r.headers["Content-Length"] == str(len(r.data))
    assert (await client.get("/list")).data == b'[1,"x",null]\n'
    assert (await client.get("/dict")).data == b'{"a":{"b":3,"y":2},"z":1}\n'
    assert (await client.get("/args")).data == b"[1,2]\n"
    assert (await client.get("/scalar")).data == b'"s"\n'
    assert (await client.get("/nothing")).data == b"null\n"
    assert (await client.get("/both")).status_code == 500
    with pytest.raises(TypeError, match="either args or kwargs"):
        app.json.response(1, a=2)


async def test_json_provider_settings(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Response:
        return jsonify({"z": 1, "a": {"y": 2, "b": 3}})

    @app.route("/dict")
    async def as_dict() -> dict[str, int]:
        return {"z": 1, "a": 2}

    app.json.sort_keys = False  # type: ignore[attr-defined]
    assert (await client.get("/")).data == b'{"z":1,"a":{"y":2,"b":3}}\n'
    assert (await client.get("/dict")).data == b'{"z":1,"a":2}\n'
    app.json.compact = False  # type: ignore[attr-defined]
    assert (
        await client.get("/")
    ).data == b'{\n  "z": 1,\n  "a": {\n    "y": 2,\n    "b": 3\n  }\n}\n'
    app.json.compact = None  # type: ignore[attr-defined]
    app.json.sort_keys = True  # type: ignore[attr-defined]
    app.debug = True
    assert (
        await client.get("/")
    ).data == b'{\n  "a": {\n    "b": 3,\n    "y": 2\n  },\n  "z": 1\n}\n'


async def test_json_response(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Response:
        return JSONResponse({"b": [1, 2], "a": None}, status=201, headers={"X-J": "1"})

    r = await client.get("/")
    assert r.status_code == 201
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["X-J"] == "1"
    assert r.get_json() == {"b": [1, 2], "a": None}
    # serialized by app.json: keys sorted, one trailing newline
    assert r.data.index(b'"a"') < r.data.index(b'"b"')
    assert r.data.endswith(b"}\n")


def test_json_response_outside_app() -> None:
    r = JSONResponse([1, 2])
    assert r.mimetype == "application/json"
    assert r.get_json() == [1, 2]


# -- statuses without a body ------------------------------------------------------------------


async def test_204_has_no_body_or_content_length(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Response:
        return Response("ignored body", status=204)

    @app.route("/tuple")
    async def as_tuple() -> tuple[str, int]:
        return "", 204

    for path in ("/", "/tuple"):
        r = await client.get(path)
        assert r.status_code == 204
        assert r.data == b""
        assert "Content-Length" not in r.headers


async def test_304_has_no_body_or_entity_headers(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Response:
        return Response(
            "ignored body",
            status=304,
            headers={
                "ETag": '"x"',
                "X-K": "k",
                "Expires": "Thu, 01 Dec 1994 16:00:00 GMT",
                "Last-Modified": "Thu, 01 Dec 1994 16:00:00 GMT",
                "Content-Language": "de",
            },
        )

    r = await client.get("/")
    assert r.status_code == 304
    assert r.data == b""
    assert "Content-Length" not in r.headers
    assert "Content-Type" not in r.headers
    assert "Last-Modified" not in r.headers
    assert "Content-Language" not in r.headers
    assert r.headers["ETag"] == '"x"'
    assert r.headers["X-K"] == "k"
    assert r.headers["Expires"] == "Thu, 01 Dec 1994 16:00:00 GMT"


async def test_etag_and_make_conditional(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Response:
        r = Response("cached body")
        r.set_etag("v1")
        return r.make_conditional(request)

    @app.route("/add")
    async def add() -> Response:
        r = Response("hashed")
        r.add_etag()
        return r

    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["ETag"] == '"v1"'
    assert r.text == "cached body"
    r = await client.get("/", headers={"If-None-Match": '"v1"'})
    assert r.status_code == 304
    assert r.data == b""
    assert r.headers["ETag"] == '"v1"'
    r = await client.get("/add")
    assert r.headers["ETag"].startswith('"') and len(r.headers["ETag"]) > 2


async def test_calculate_content_length_buffered_and_streamed() -> None:
    from asyncflask import Response

    assert Response("héllo").calculate_content_length() == 6
    assert Response(iter([b"a", b"b"])).calculate_content_length() is None


@dataclasses.dataclass
class _Point:
    x: int
    y: float


class _Markup:
    def __html__(self) -> str:
        return "<b>é</b>"


JSON_VALUES: list[Any] = [
    {"b": 1, "a": [1, 2.5, None, True], "é": "ü\u2028\U0001f600"},
    [datetime(2026, 11, 21, 12, 0, tzinfo=UTC), uuid.UUID(int=7), decimal.Decimal("1.10")],
    {"p": _Point(1, -0.0), "m": _Markup(), "n": float("nan"), "i": float("-inf")},
    "plain",
    {3: "int keys", 1: [{}], 2.5: False},
]


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("sort_keys", [True, False])
@pytest.mark.parametrize("compact", [None, True, False])
def test_json_output_is_flasks(ensure_ascii: bool, sort_keys: bool, compact: bool | None) -> None:
    ours, theirs = Flask(__name__), flask.Flask(__name__)
    for provider in (ours.json, theirs.json):
        provider.ensure_ascii = ensure_ascii  # type: ignore[attr-defined]
        provider.sort_keys = sort_keys  # type: ignore[attr-defined]
        provider.compact = compact  # type: ignore[attr-defined]
    for value in JSON_VALUES:
        assert ours.json.dumps(value) == theirs.json.dumps(value)
        with ours.app_context(), theirs.app_context():
            assert ours.json.response(value).get_data() == theirs.json.response(value).get_data()


def test_json_errors_are_flasks() -> None:
    ours, theirs = Flask(__name__), flask.Flask(__name__)
    circular: list[Any] = []
    circular.append(circular)
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    for bad in (circular, {"x": object()}, {(1, 2): 3}, deep):
        with pytest.raises(Exception) as expected:
            theirs.json.dumps(bad)
        with pytest.raises(type(expected.value)) as got:
            ours.json.dumps(bad)
        with ours.app_context(), pytest.raises(type(expected.value)):
            ours.json.response(bad)
        assert str(got.value) == str(expected.value)
    # the encoder still works after a failure
    assert ours.json.dumps({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'


# -- Werkzeug's body API, for extensions ------------------------------------------------


def test_direct_passthrough_keeps_a_streamed_body_unread() -> None:
    body = iter([b"a", b"b"])
    r = Response(body, direct_passthrough=True, headers={"X-A": "1"})
    assert r.direct_passthrough is True
    assert r.is_streamed and not r.is_sequence
    with pytest.raises(RuntimeError, match="direct passthrough"):
        r.get_data()
    r.direct_passthrough = False  # what a compressing extension does first
    assert r.get_data() == b"ab"
    assert r.is_sequence
    assert Response("x").direct_passthrough is False


def test_implicit_sequence_conversion_off() -> None:
    r = Response(iter(["a", "b"]))
    r.implicit_sequence_conversion = False
    with pytest.raises(RuntimeError, match="make_sequence"):
        r.get_data()
    r.make_sequence()
    assert r.response == [b"a", b"b"]
    assert r.get_data() == b"ab"
    r.make_sequence()  # already one
    assert r.response == [b"a", b"b"]


def test_iter_encoded_and_freeze() -> None:
    assert list(Response(["a", b"b"]).iter_encoded()) == [b"a", b"b"]
    assert list(Response(iter(["é", b"x"])).iter_encoded()) == ["é".encode(), b"x"]
    r = Response(iter(["ab", "c"]))
    r.freeze()
    assert r.response == [b"ab", b"c"]
    assert r.headers["Content-Length"] == "3"
    assert r.headers["ETag"]
    assert r.calculate_content_length() == 3


def test_close_and_call_on_close() -> None:
    closed: list[str] = []

    def body() -> Iterator[bytes]:
        try:
            yield b"x"
        finally:
            closed.append("body")

    r = Response(body())

    @r.call_on_close
    def done() -> None:
        closed.append("func")

    with r:
        assert next(iter(r.response)) == b"x"  # type: ignore[arg-type]
    assert closed == ["body", "func"]


def test_make_sequence_closes_the_iterable_on_close() -> None:
    class Body:
        closed = False

        def __iter__(self) -> Iterator[bytes]:
            return iter([b"a"])

        def close(self) -> None:
            self.closed = True

    body = Body()
    r = Response(body)
    assert r.get_data() == b"a"
    assert not body.closed
    r.close()
    assert body.closed


async def test_async_body_through_iter_encoded() -> None:
    import anyio.to_thread

    async def gen() -> AsyncIterator[str]:
        for part in ("a", "b"):
            await asyncio.sleep(0)
            yield part

    r = StreamingResponse(gen())
    chunks = r.iter_encoded()
    # on the event loop's thread it cannot wait for the body
    with pytest.raises(RuntimeError, match="worker thread"):
        next(chunks)
    # in a worker thread each item is fetched on the loop
    assert await anyio.to_thread.run_sync(list, chunks) == [b"a", b"b"]
    # a thread that is not one of the loop's workers: the same error
    stray = StreamingResponse(gen()).iter_encoded()
    errors: list[BaseException] = []

    def pull() -> None:
        try:
            next(stray)
        except RuntimeError as e:
            errors.append(e)

    thread = threading.Thread(target=pull)
    thread.start()
    await anyio.to_thread.run_sync(thread.join)
    assert "worker thread" in str(errors[0])


async def test_call_on_close_runs_after_sending(app: Flask, client: TestClient) -> None:
    events: list[str] = []

    @app.route("/<kind>", methods=["GET", "HEAD"])
    async def index(kind: str) -> Response:
        r = Response("body") if kind == "buffered" else Response(iter(["s", "t"]))
        r.call_on_close(lambda: events.append(f"{kind} sync"))

        async def later() -> None:
            events.append(f"{kind} async")

        r.call_on_close(later)
        return r

    assert (await client.get("/buffered")).text == "body"
    assert (await client.get("/streamed")).text == "st"
    assert (await client.head("/streamed")).status_code == 200
    assert events == [
        "buffered sync",
        "buffered async",
        "streamed sync",
        "streamed async",
        "streamed sync",
        "streamed async",
    ]


def _environ(**headers: str) -> dict[str, Any]:
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET"}
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return environ


def test_make_conditional_with_an_environ() -> None:
    r = Response("0123456789")
    r.set_etag("e")
    assert r.make_conditional(_environ(if_none_match='"e"')).status_code == 304
    r = Response("0123456789")
    assert r.make_conditional(_environ(range="bytes=2-4"), accept_ranges=True).status_code == 206
    assert r.get_data() == b"234"
    assert r.headers["Content-Range"] == "bytes 2-4/10"
    posted = Response("x").make_conditional({"REQUEST_METHOD": "POST", "HTTP_IF_NONE_MATCH": "*"})
    assert posted.status_code == 200


def test_make_conditional_ranges_a_streamed_body_with_its_length() -> None:
    import io

    from werkzeug.exceptions import RequestedRangeNotSatisfiable
    from werkzeug.wsgi import FileWrapper

    def file_response() -> Response:
        return Response(FileWrapper(io.BytesIO(b"0123456789")), direct_passthrough=True)

    r = file_response().make_conditional(_environ(range="bytes=3-5"), True, complete_length=10)
    assert r.status_code == 206
    assert r.headers["Content-Range"] == "bytes 3-5/10"
    assert r.headers["Content-Length"] == "3"
    assert b"".join(r.iter_encoded()) == b"345"
    # without the length, or for several ranges, the whole body
    r = file_response().make_conditional(_environ(range="bytes=3-5"), True)
    assert r.status_code == 200
    r = file_response().make_conditional(_environ(range="bytes=0-1,4-5"), True, 10)
    assert r.status_code == 200
    with pytest.raises(RequestedRangeNotSatisfiable):
        file_response().make_conditional(_environ(range="bytes=20-30"), True, 10)
    empty = Response(iter([])).make_conditional(_environ(range="bytes=0-1"), True, 0)
    assert empty.status_code == 200


async def test_make_conditional_leaves_an_async_body_whole(app: Flask, client: TestClient) -> None:
    async def gen() -> AsyncIterator[bytes]:
        yield b"0123456789"

    @app.route("/")
    async def index() -> Response:
        r = StreamingResponse(gen())
        return r.make_conditional(request, accept_ranges=True, complete_length=10)

    r = await client.get("/", headers={"Range": "bytes=0-1"})
    assert r.status_code == 200
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.data == b"0123456789"


async def test_werkzeug_responses_are_streamed(app: Flask, client: TestClient) -> None:
    import io

    import werkzeug.wrappers
    from werkzeug.wsgi import FileWrapper

    class Tracked(io.BytesIO):
        pass

    files: list[Tracked] = []
    pulled: list[int] = []

    @app.route("/file")
    def file() -> Any:
        f = Tracked(b"file data " * 1000)
        files.append(f)
        return werkzeug.wrappers.Response(
            FileWrapper(f, 4096), mimetype="text/plain", direct_passthrough=True
        )

    @app.route("/gen")
    async def gen() -> Any:
        def produce() -> Iterator[str]:
            for i in range(3):
                pulled.append(i)
                yield f"{i},"

        rv = werkzeug.wrappers.Response(produce(), status=201, headers={"X-W": "w"})
        assert pulled == []
        return rv

    @app.route("/flask")
    async def flask_response() -> Any:
        return flask.Response(["a", b"b"], status=202, mimetype="text/plain")

    r = await client.get("/file")
    assert r.status_code == 200
    assert r.data == b"file data " * 1000
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert files[0].closed
    r = await client.get("/gen")
    assert (r.status_code, r.text, r.headers["X-W"]) == (201, "0,1,2,", "w")
    r = await client.get("/flask")
    assert (r.status_code, r.text, r.headers["Content-Length"]) == (202, "ab", "2")


async def test_own_responses_of_another_class_pass_through(app: Flask) -> None:
    from asyncflask import FileResponse

    class Custom(Response):
        pass

    app.response_class = Custom
    async with app.app_context():
        rv = FileResponse(__file__)
        assert app.make_response(rv) is rv
        assert isinstance(app.make_response("x"), Custom)


def test_more_of_the_body_api() -> None:
    async def gen() -> AsyncIterator[bytes]:
        yield b"x"

    with pytest.raises(RuntimeError, match="async iterable"):
        StreamingResponse(gen()).get_data()

    r = Response("x")

    async def later() -> None:
        pass

    r.call_on_close(later)
    r.close()  # an async function cannot be awaited here: skipped, no warning

    # a buffered empty body has no range to give; If-Range that does not match
    empty = Response("").make_conditional(_environ(range="bytes=0-1"), True)
    assert empty.status_code == 200
    changed = Response(iter([b"0123"]))
    changed.set_etag("new")
    changed.make_conditional(_environ(range="bytes=0-1", if_range='"old"'), True, 4)
    assert changed.status_code == 200


async def test_async_iterable_without_aclose_through_iter_encoded() -> None:
    import anyio.to_thread

    class Items:
        def __init__(self) -> None:
            self.left = [b"a", "b"]

        def __aiter__(self) -> Items:
            return self

        async def __anext__(self) -> bytes | str:
            if not self.left:
                raise StopAsyncIteration
            return self.left.pop(0)

    r = StreamingResponse(Items())
    assert await anyio.to_thread.run_sync(list, r.iter_encoded()) == [b"a", b"b"]
    await r._run_on_close()


async def test_a_sansio_response_from_a_view(app: Flask, client: TestClient) -> None:
    from werkzeug.sansio.response import Response as SansIOResponse

    @app.route("/")
    async def index() -> Any:
        return SansIOResponse(status=204, headers={"X-S": "s"})

    r = await client.get("/")
    assert (r.status_code, r.headers["X-S"], r.content) == (204, "s", b"")
