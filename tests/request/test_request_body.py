"""Reading the request body: ``request.stream``, ``get_data`` / ``data`` and
``get_json`` / ``json``, with the body limits and client disconnects.

Most tests go through the in-process test client. Where the exact ASGI
messages matter (what was received, when the client went away) a raw ASGI
driver, :func:`call_asgi`, calls the app directly; the form and upload test
modules use it too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import typing as t
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import flask
import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from asyncflask import ClientDisconnected, Flask, Request, abort, request
from asyncflask.testing import TestClient
from tests.support import http_scope

TIMEOUT = 5.0
JSON = "application/json"

# -- a raw ASGI driver ---------------------------------------------------------

DISCONNECT: dict[str, t.Any] = {"type": "http.disconnect"}


def body_messages(*chunks: bytes, end: bool = True) -> list[dict[str, t.Any]]:
    """``http.request`` messages carrying ``chunks`` (``more_body=True``), and
    with ``end`` a last empty one with ``more_body=False``."""
    messages = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    if end:
        messages.append({"type": "http.request", "body": b"", "more_body": False})
    return messages


@dataclass
class ASGIResult:
    """What the app did with one request driven by :func:`call_asgi`."""

    sent: list[dict[str, t.Any]]
    #: How many times the app called ``receive``.
    receive_calls: int
    #: How many of the given messages the app never received.
    unread: int
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


async def call_asgi(
    app: Flask,
    messages: Sequence[dict[str, t.Any]],
    *,
    method: str = "POST",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    seconds: float = TIMEOUT,
) -> ASGIResult:
    """Call ``await app(scope, receive, send)`` for one HTTP request whose
    ``receive`` hands out ``messages`` in order. Once they are used up,
    ``receive`` blocks (the client is still there and sends nothing more),
    so an app that reads past them hangs and ``seconds`` fail the test."""
    pending = list(messages)
    sent: list[dict[str, t.Any]] = []
    calls = 0
    never = asyncio.Event()

    async def receive() -> dict[str, t.Any]:
        nonlocal calls
        calls += 1
        if pending:
            return pending.pop(0)
        await never.wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)

    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    scope = http_scope(path, method, headers=raw_headers)
    await asyncio.wait_for(app(scope, receive, send), seconds)
    result = ASGIResult(sent=sent, receive_calls=calls, unread=len(pending))
    for message in sent:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            result.body += message.get("body", b"")
    return result


def assert_no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


# -- body readers, for the tests that apply to every way of reading -----------


async def read_stream() -> t.Any:
    return len(b"".join([chunk async for chunk in request.stream]))


async def read_get_data() -> t.Any:
    return len(await request.get_data())


async def read_data() -> t.Any:
    return len(await request.data)


async def read_get_json() -> t.Any:
    return await request.get_json()


async def read_json() -> t.Any:
    return await request.json


READERS: dict[str, Callable[[], Awaitable[t.Any]]] = {
    "stream": read_stream,
    "get_data": read_get_data,
    "data": read_data,
    "get_json": read_get_json,
    "json": read_json,
}


def add_reader_view(app: Flask, reader: Callable[[], Awaitable[t.Any]]) -> None:
    @app.post("/")
    async def view() -> t.Any:
        return {"result": await reader()}


async def gen_body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


# -- request.stream --------------------------------------------------------------


async def test_stream_yields_the_body_as_it_arrives(app: Flask, client: TestClient) -> None:
    first_seen = asyncio.Event()

    @app.post("/")
    async def view() -> t.Any:
        chunks = []
        async for chunk in request.stream:
            chunks.append(chunk.decode())
            first_seen.set()
        return {"chunks": chunks}

    async def body() -> AsyncIterator[bytes]:
        yield b"first"
        # The next chunk exists only after the view has seen the first one:
        # a server that buffered the whole body first would wait forever.
        await asyncio.wait_for(first_seen.wait(), TIMEOUT)
        yield b"second"
        yield b"third"

    r = await client.post("/", content=body())
    assert r.status_code == 200
    assert r.get_json() == {"chunks": ["first", "second", "third"]}


async def test_stream_does_not_read_ahead_of_the_consumer(app: Flask, client: TestClient) -> None:
    pulled = 0
    seen_at_first_chunk: list[int] = []

    @app.post("/")
    async def view() -> t.Any:
        async for _chunk in request.stream:
            if not seen_at_first_chunk:
                await asyncio.sleep(0.05)
                seen_at_first_chunk.append(pulled)
        return "ok"

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(5):
            pulled += 1
            yield b"x" * 100

    r = await client.post("/", content=body())
    assert r.status_code == 200
    assert seen_at_first_chunk == [1]
    assert pulled == 5


async def test_stream_of_an_empty_body_yields_nothing(app: Flask, client: TestClient) -> None:
    @app.route("/", methods=["GET", "POST"])
    async def view() -> t.Any:
        return {"chunks": [c.decode() async for c in request.stream]}

    assert (await client.get("/")).get_json() == {"chunks": []}
    assert (await client.post("/", content=b"")).get_json() == {"chunks": []}


async def test_stream_after_get_data_yields_the_cached_body(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        data = await request.get_data()
        streamed = b"".join([c async for c in request.stream])
        again = b"".join([c async for c in request.stream])
        return {"data": data.decode(), "streamed": streamed.decode(), "again": again.decode()}

    r = await client.post("/", content=gen_body(b"abc", b"def", b"ghi"))
    assert r.get_json() == {"data": "abcdefghi", "streamed": "abcdefghi", "again": "abcdefghi"}


async def test_reading_a_consumed_uncached_stream_again_raises(
    app: Flask, client: TestClient
) -> None:
    errors: list[BaseException] = []

    @app.post("/")
    async def view() -> t.Any:
        first = b"".join([c async for c in request.stream])
        with pytest.raises(RuntimeError, match="already") as info:
            async for _chunk in request.stream:
                pass
        errors.append(info.value)
        return {"first": first.decode()}

    r = await client.post("/", content=b"payload")
    assert r.status_code == 200
    assert r.get_json() == {"first": "payload"}
    assert len(errors) == 1


async def test_stream_after_uncached_get_data_raises(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        data = await request.get_data(cache=False)
        with pytest.raises(RuntimeError, match="already"):
            async for _chunk in request.stream:
                pass
        return {"data": data.decode()}

    r = await client.post("/", content=b"payload")
    assert r.status_code == 200
    assert r.get_json() == {"data": "payload"}


# -- get_data / data -------------------------------------------------------------


async def test_get_data_returns_the_body_and_caches_it(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        first = await request.get_data()
        second = await request.get_data()
        prop = await request.data
        assert isinstance(first, bytes)
        return {"first": first.decode(), "same": first == second == prop}

    r = await client.post("/", content=gen_body(b"hello ", b"world"))
    assert r.get_json() == {"first": "hello world", "same": True}


async def test_get_data_on_a_bodyless_request_is_empty(app: Flask, client: TestClient) -> None:
    @app.get("/")
    async def view() -> t.Any:
        return {"data": (await request.get_data()).decode(), "prop": (await request.data).decode()}

    assert (await client.get("/")).get_json() == {"data": "", "prop": ""}


async def test_get_data_without_cache_is_empty_the_second_time_like_flask(
    app: Flask, client: TestClient
) -> None:
    @app.post("/")
    async def view() -> t.Any:
        a = await request.get_data(cache=False)
        b = await request.get_data()
        return {"a": a.decode(), "b": b.decode()}

    ref = flask.Flask("ref")

    @ref.post("/")
    def ref_view() -> t.Any:
        a = flask.request.get_data(cache=False)
        b = flask.request.get_data()
        return {"a": a.decode(), "b": b.decode()}

    expected = ref.test_client().post("/", data=b"hello").get_json()
    assert expected == {"a": "hello", "b": ""}
    assert (await client.post("/", content=b"hello")).get_json() == expected


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (None, "héllo wörld ✓".encode(), "héllo wörld ✓"),
        ("text/plain; charset=utf-8", "✓".encode(), "✓"),
        ("text/plain", b"ok \xff\xfe end", "ok \ufffd\ufffd end"),
        ("text/plain; charset=latin-1", b"caf\xe9", "café"),
        ("text/plain; charset=ISO-8859-1", b"\xe0 la carte", "à la carte"),
        ("text/plain; charset=utf-16-le", "hi ✓".encode("utf-16-le"), "hi ✓"),
    ],
)
async def test_get_data_as_text_decodes_with_the_request_charset(
    app: Flask, client: TestClient, content_type: str | None, body: bytes, expected: str
) -> None:
    @app.post("/")
    async def view() -> t.Any:
        text = await request.get_data(as_text=True)
        assert isinstance(text, str)
        return {"text": text}

    headers = {"Content-Type": content_type} if content_type else {}
    r = await client.post("/", content=body, headers=headers)
    assert r.status_code == 200
    assert r.get_json() == {"text": expected}


async def test_get_data_as_text_with_an_unknown_charset_is_not_a_server_error(
    app: Flask, client: TestClient
) -> None:
    """The charset comes from the client: an unknown one must not be a 500;
    the text is decoded as UTF-8 (the default), bad bytes replaced."""

    @app.post("/")
    async def view() -> t.Any:
        return {"text": await request.get_data(as_text=True)}

    r = await client.post(
        "/",
        content="ok ✓ ".encode() + b"\xff",
        headers={"Content-Type": "text/plain; charset=no-such"},
    )
    assert r.status_code == 200
    assert r.get_json() == {"text": "ok ✓ \ufffd"}


async def test_get_data_after_form_was_parsed_matches_flask(app: Flask, client: TestClient) -> None:
    """After the form was parsed, a form body's raw data is gone (Flask
    gives ``b''``), while any other body is still there."""

    @app.post("/")
    async def view() -> t.Any:
        form = await request.form
        return {"form": form.to_dict(), "data": (await request.get_data()).decode()}

    ref = flask.Flask("ref")

    @ref.post("/")
    def ref_view() -> t.Any:
        form = flask.request.form
        return {"form": form.to_dict(), "data": flask.request.get_data().decode()}

    ref_client = ref.test_client()
    expected_form = ref_client.post("/", data={"a": "1"}).get_json()
    expected_json = ref_client.post("/", json={"a": 1}).get_json()
    expected_text = ref_client.post("/", data=b"a=1", content_type="text/plain").get_json()
    assert expected_form == {"form": {"a": "1"}, "data": ""}
    assert expected_json == {"form": {}, "data": '{"a": 1}'}
    assert expected_text == {"form": {}, "data": "a=1"}

    assert (await client.post("/", data={"a": "1"})).get_json() == expected_form
    r = await client.post("/", content=b'{"a": 1}', headers={"Content-Type": "application/json"})
    assert r.get_json() == expected_json
    r = await client.post("/", content=b"a=1", headers={"Content-Type": "text/plain"})
    assert r.get_json() == expected_text


async def test_get_data_before_form_keeps_both_like_flask(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        data = await request.get_data()
        return {"data": data.decode(), "form": (await request.form).to_dict()}

    ref = flask.Flask("ref")

    @ref.post("/")
    def ref_view() -> t.Any:
        data = flask.request.get_data()
        return {"data": data.decode(), "form": flask.request.form.to_dict()}

    expected = ref.test_client().post("/", data={"a": "1", "b": "x y"}).get_json()
    assert expected == {"data": "a=1&b=x+y", "form": {"a": "1", "b": "x y"}}
    assert (await client.post("/", data={"a": "1", "b": "x y"})).get_json() == expected


async def test_get_data_parse_form_data_matches_flask(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        data = await request.get_data(parse_form_data=True)
        return {"data": data.decode(), "form": (await request.form).to_dict()}

    ref = flask.Flask("ref")

    @ref.post("/")
    def ref_view() -> t.Any:
        data = flask.request.get_data(parse_form_data=True)
        return {"data": data.decode(), "form": flask.request.form.to_dict()}

    ref_client = ref.test_client()
    expected_form = ref_client.post("/", data={"b": "2"}).get_json()
    expected_json = ref_client.post("/", data=b'{"b": "2"}', content_type=JSON).get_json()
    assert expected_form == {"data": "", "form": {"b": "2"}}
    assert expected_json == {"data": '{"b": "2"}', "form": {}}
    assert (await client.post("/", data={"b": "2"})).get_json() == expected_form
    r = await client.post("/", content=b'{"b": "2"}', headers={"Content-Type": JSON})
    assert r.get_json() == expected_json


# -- get_json / json --------------------------------------------------------------


async def test_get_json_and_json_parse_the_body(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        first = await request.get_json()
        prop = await request.json
        return {"value": first, "cached": first is prop}

    payload = {"name": "ünïcode ✓", "items": [1, 2.5, None, True], "nested": {"k": "v"}}
    r = await client.post("/", json=payload)
    assert r.status_code == 200
    assert r.get_json() == {"value": payload, "cached": True}


async def test_get_json_reads_a_chunked_body(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        return {"value": await request.get_json()}

    r = await client.post(
        "/",
        content=gen_body(b'{"a": [1, ', b"2, 3], ", b'"b": "c"}'),
        headers={"Content-Type": "application/json"},
    )
    assert r.get_json() == {"value": {"a": [1, 2, 3], "b": "c"}}


@pytest.mark.parametrize(
    ("mimetype", "is_json"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("APPLICATION/JSON", True),
        ("application/vnd.api+json", True),
        ("application/problem+json", True),
        ("text/plain", False),
        ("text/json", False),
        ("application/jsonp", False),
        ("application/x-www-form-urlencoded", False),
        (None, False),
    ],
)
async def test_is_json_and_get_json_by_content_type(
    app: Flask, client: TestClient, mimetype: str | None, is_json: bool
) -> None:
    @app.post("/")
    async def view() -> t.Any:
        return {"is_json": request.is_json, "value": await request.get_json(silent=True)}

    headers = {"Content-Type": mimetype} if mimetype else {}
    r = await client.post("/", content=b'{"x": 1}', headers=headers)
    assert r.status_code == 200
    assert r.get_json() == {"is_json": is_json, "value": {"x": 1} if is_json else None}

    ref = flask.Flask("ref")

    @ref.post("/")
    def ref_view() -> t.Any:
        return {"is_json": flask.request.is_json}

    ref_headers = {"Content-Type": mimetype} if mimetype else {}
    assert ref.test_client().post("/", data=b"{}", headers=ref_headers).get_json() == {
        "is_json": is_json
    }


async def test_non_json_content_type_is_415_unless_forced(app: Flask, client: TestClient) -> None:
    @app.post("/plain")
    async def plain() -> t.Any:
        return {"value": await request.get_json()}

    @app.post("/prop")
    async def prop() -> t.Any:
        return {"value": await request.json}

    @app.post("/force")
    async def force() -> t.Any:
        return {"value": await request.get_json(force=True)}

    @app.post("/silent")
    async def silent() -> t.Any:
        return {"value": await request.get_json(silent=True)}

    headers = {"Content-Type": "text/plain"}
    assert (await client.post("/plain", content=b'{"a": 1}', headers=headers)).status_code == 415
    assert (await client.post("/prop", content=b'{"a": 1}', headers=headers)).status_code == 415
    assert (await client.post("/plain", content=b'{"a": 1}')).status_code == 415
    r = await client.post("/force", content=b'{"a": 1}', headers=headers)
    assert r.get_json() == {"value": {"a": 1}}
    r = await client.post("/silent", content=b'{"a": 1}', headers=headers)
    assert r.status_code == 200
    assert r.get_json() == {"value": None}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"a": 1',
        b"",
        b"[1, 2,]",
        b'{"a": "\xff\xfe"}',
        b"\xc3\x28",
        b"\xef\xbb\xbf\xff",
    ],
    ids=["syntax", "truncated", "empty", "trailing-comma", "bad-utf8", "bad-utf8-2", "bom-bad"],
)
async def test_invalid_json_is_400_and_none_when_silent(
    app: Flask, client: TestClient, body: bytes
) -> None:
    @app.post("/")
    async def view() -> t.Any:
        return {"value": await request.get_json()}

    @app.post("/prop")
    async def prop() -> t.Any:
        return {"value": await request.json}

    @app.post("/silent")
    async def silent() -> t.Any:
        return {"value": await request.get_json(silent=True)}

    headers = {"Content-Type": "application/json"}
    assert (await client.post("/", content=body, headers=headers)).status_code == 400
    assert (await client.post("/prop", content=body, headers=headers)).status_code == 400
    r = await client.post("/silent", content=body, headers=headers)
    assert r.status_code == 200
    assert r.get_json() == {"value": None}


async def test_invalid_json_in_debug_mode_says_why(app: Flask, client: TestClient) -> None:
    app.debug = True
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.post("/")
    async def view() -> t.Any:
        return {"value": await request.get_json()}

    r = await client.post("/", content=b"{oops", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "Failed to decode JSON object" in r.text


async def test_silent_and_loud_results_are_cached_separately_like_flask(
    app: Flask, client: TestClient
) -> None:
    @app.post("/")
    async def view() -> t.Any:
        quiet = await request.get_json(silent=True)
        try:
            await request.get_json()
        except Exception as e:
            return {"quiet": quiet, "loud": type(e).__name__}
        return {"quiet": quiet, "loud": "no error"}

    ref = flask.Flask("ref")

    @ref.post("/")
    def ref_view() -> t.Any:
        quiet = flask.request.get_json(silent=True)
        try:
            flask.request.get_json()
        except Exception as e:
            return {"quiet": quiet, "loud": type(e).__name__}
        return {"quiet": quiet, "loud": "no error"}

    expected = ref.test_client().post("/", data=b"{bad", content_type="application/json")
    assert expected.get_json() == {"quiet": None, "loud": "BadRequest"}
    r = await client.post("/", content=b"{bad", headers={"Content-Type": "application/json"})
    assert r.get_json() == expected.get_json()


async def test_get_json_after_get_data_and_data_after_get_json(
    app: Flask, client: TestClient
) -> None:
    @app.post("/")
    async def view() -> t.Any:
        raw = await request.get_data()
        value = await request.get_json()
        again = await request.get_data()
        return {"raw": raw.decode(), "value": value, "again": again.decode()}

    body = '{"k": [1, 2]}'
    r = await client.post("/", content=body.encode(), headers={"Content-Type": JSON})
    assert r.get_json() == {"raw": body, "value": {"k": [1, 2]}, "again": body}


class FallbackRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        return {"fallback": "invalid" if e is not None else "not json"}


class StrictRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        abort(422)


async def test_on_json_loading_failed_can_return_a_value(app: Flask, client: TestClient) -> None:
    app.request_class = FallbackRequest

    @app.post("/")
    async def view() -> t.Any:
        assert isinstance(request._get_current_object(), FallbackRequest)  # type: ignore[attr-defined]
        return {"value": await request.get_json(), "prop": await request.json}

    r = await client.post("/", content=b"{bad", headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    assert r.get_json() == {"value": {"fallback": "invalid"}, "prop": {"fallback": "invalid"}}
    r = await client.post("/", content=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 200
    assert r.get_json() == {"value": {"fallback": "not json"}, "prop": {"fallback": "not json"}}
    r = await client.post("/", json={"ok": True})
    assert r.get_json() == {"value": {"ok": True}, "prop": {"ok": True}}


async def test_on_json_loading_failed_can_raise_its_own_error(
    app: Flask, client: TestClient
) -> None:
    app.request_class = StrictRequest

    @app.post("/")
    async def view() -> t.Any:
        return {"value": await request.get_json()}

    r = await client.post("/", content=b"{bad", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    r = await client.post("/", content=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 422


async def test_get_json_uses_the_app_json_provider(app: Flask, client: TestClient) -> None:
    calls: list[bytes] = []
    provider = app.json
    original = provider.loads

    def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
        calls.append(s if isinstance(s, bytes) else s.encode())
        return original(s, **kwargs)

    provider.loads = loads  # type: ignore[method-assign]

    @app.post("/")
    async def view() -> t.Any:
        return {"value": await request.get_json()}

    r = await client.post("/", content=b"[1, 2]", headers={"Content-Type": JSON})
    assert r.get_json() == {"value": [1, 2]}
    assert calls == [b"[1, 2]"]


@pytest.mark.parametrize(
    "data",
    [
        '{"a": [1, "\u00e9"]}'.encode(),
        '\ufeff{"a": 1}'.encode(),
        '{"a": 1}'.encode("utf-16-le"),
        '{"a": 1}'.encode("utf-16"),
        '{"a": 1}'.encode("utf-32-be"),
        "[1]".encode("utf-16-be"),
        b"1",
        b'"\xff"',
        b"[1,",
        "\ufeff[1]",
        "[1.5]",
    ],
)
def test_the_default_provider_loads_as_json_loads(data: str | bytes) -> None:
    def outcome(loads: Callable[..., t.Any], **kwargs: t.Any) -> t.Any:
        try:
            return loads(data, **kwargs)
        except ValueError as e:
            return type(e), str(e)

    provider = Flask("loads").json
    assert outcome(provider.loads) == outcome(json.loads)
    assert outcome(provider.loads, parse_int=str) == outcome(json.loads, parse_int=str)


# -- forgetting await --------------------------------------------------------------

USES: dict[str, Callable[[t.Any], t.Any]] = {
    "getitem": lambda obj: obj["x"],
    "contains": lambda obj: "x" in obj,
    "get": lambda obj: obj.get("x"),
    "getlist": lambda obj: obj.getlist("x"),
    "bool": lambda obj: bool(obj),
    "iter": lambda obj: list(obj),
    "len": lambda obj: len(obj),
    "to_dict": lambda obj: obj.to_dict(),
}


@pytest.mark.parametrize("name", ["data", "json", "form", "files", "values"])
@pytest.mark.parametrize("use", list(USES))
async def test_using_the_body_without_await_says_to_await(
    app: Flask, client: TestClient, name: str, use: str
) -> None:
    messages: list[str] = []

    @app.post("/")
    async def view() -> t.Any:
        with pytest.raises(TypeError) as info:
            USES[use](getattr(request, name))
        messages.append(str(info.value))
        # and awaiting it still works afterwards
        return {"value": await getattr(request, name) is not None}

    if name in ("data", "json"):
        r = await client.post("/", json={"x": 1})
    else:
        r = await client.post("/", data={"x": "1"})
    assert r.status_code == 200
    assert r.get_json() == {"value": True}
    assert len(messages) == 1
    assert f"await request.{name}" in messages[0]


# -- MAX_CONTENT_LENGTH -------------------------------------------------------------


@pytest.mark.parametrize("reader", list(READERS))
async def test_content_length_over_the_limit_is_413_before_reading(
    app: Flask, reader: str, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100
    add_reader_view(app, READERS[reader])
    body = b'{"a": "' + b"x" * 200 + b'"}'
    result = await call_asgi(
        app,
        body_messages(body),
        headers=[("content-type", "application/json"), ("content-length", str(len(body)))],
    )
    assert result.status == 413
    assert result.receive_calls == 0
    assert_no_errors_logged(caplog)


@pytest.mark.parametrize("reader", list(READERS))
async def test_chunked_body_over_the_limit_is_413_by_counting(app: Flask, reader: str) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100
    add_reader_view(app, READERS[reader])
    chunks = [b'{"a": "' + b"x" * 53, *[b"x" * 60] * 20, b'"}']
    result = await call_asgi(
        app,
        body_messages(*chunks),
        headers=[("content-type", "application/json"), ("transfer-encoding", "chunked")],
    )
    assert result.status == 413
    # 60 + 60 bytes passed the limit: nothing after that was received.
    assert result.receive_calls == 2
    assert result.unread == len(chunks) + 1 - 2


@pytest.mark.parametrize("reader", list(READERS))
async def test_body_at_the_limit_is_accepted(app: Flask, client: TestClient, reader: str) -> None:
    body = json.dumps({"a": "x" * 90}).encode()
    app.config["MAX_CONTENT_LENGTH"] = len(body)
    add_reader_view(app, READERS[reader])
    headers = {"Content-Type": "application/json"}
    r = await client.post("/", content=body, headers=headers)
    assert r.status_code == 200
    r = await client.post("/", content=gen_body(body[:50], body[50:]), headers=headers)
    assert r.status_code == 200
    r = await client.post("/", content=gen_body(body, b" "), headers=headers)
    assert r.status_code == 413


@pytest.mark.parametrize("reader", list(READERS))
async def test_over_the_limit_through_the_test_client(
    app: Flask, client: TestClient, reader: str
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    add_reader_view(app, READERS[reader])
    body = json.dumps({"a": "x" * 2000}).encode()
    headers = {"Content-Type": "application/json"}
    assert (await client.post("/", content=body, headers=headers)).status_code == 413
    chunks = [body[i : i + 100] for i in range(0, len(body), 100)]
    r = await client.post("/", content=gen_body(*chunks), headers=headers)
    assert r.status_code == 413


async def test_endless_chunked_body_gets_413_without_being_read_to_the_end(
    app: Flask, client: TestClient
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    pulled = 0

    @app.post("/")
    async def view() -> t.Any:
        return {"size": len(await request.get_data())}

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < 100_000:  # bounded, in case it is read on and on
            pulled += 1
            yield b"x" * 1000

    r = await asyncio.wait_for(client.post("/", content=endless()), TIMEOUT)
    assert r.status_code == 413
    assert pulled <= 12


@pytest.mark.parametrize("where", ["before_request", "view"])
async def test_max_content_length_can_be_lowered_per_request(
    app: Flask, client: TestClient, where: str
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = None

    def lower() -> None:
        if request.path == "/small":
            request.max_content_length = 10

    if where == "before_request":
        app.before_request(lower)

    @app.post("/small")
    @app.post("/big")
    async def view() -> t.Any:
        if where == "view":
            lower()
        return {"size": len(await request.get_data()), "limit": request.max_content_length}

    body = b"x" * 50
    assert (await client.post("/small", content=body)).status_code == 413
    assert (await client.post("/small", content=gen_body(body))).status_code == 413
    assert (await client.post("/small", content=b"x" * 10)).get_json() == {"size": 10, "limit": 10}
    assert (await client.post("/big", content=body)).get_json() == {"size": 50, "limit": None}


@pytest.mark.parametrize("where", ["before_request", "view"])
async def test_max_content_length_can_be_raised_per_request(
    app: Flask, client: TestClient, where: str
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10

    def raise_limit() -> None:
        if request.path == "/upload":
            request.max_content_length = 1000

    if where == "before_request":
        app.before_request(raise_limit)

    @app.post("/upload")
    @app.post("/other")
    async def view() -> t.Any:
        if where == "view":
            raise_limit()
        return {"size": len(await request.get_data())}

    body = b"x" * 500
    assert (await client.post("/upload", content=body)).get_json() == {"size": 500}
    assert (await client.post("/upload", content=gen_body(body[:250], body[250:]))).get_json() == {
        "size": 500
    }
    assert (await client.post("/upload", content=b"x" * 1001)).status_code == 413
    assert (await client.post("/other", content=body)).status_code == 413


async def test_the_413_can_be_caught_and_handled(app: Flask, client: TestClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.errorhandler(413)
    async def too_large(e: RequestEntityTooLarge) -> t.Any:
        return {"error": "too large", "limit": request.max_content_length}, 413

    @app.post("/")
    async def view() -> t.Any:
        return {"size": len(await request.get_data())}

    r = await client.post("/", content=b"x" * 11)
    assert r.status_code == 413
    assert r.get_json() == {"error": "too large", "limit": 10}


# -- the client going away ----------------------------------------------------------


@pytest.mark.parametrize("reader", list(READERS))
async def test_disconnect_while_reading_raises_client_disconnected_quietly(
    app: Flask, reader: str, caplog: pytest.LogCaptureFixture
) -> None:
    caught: list[BaseException] = []
    teardown: list[BaseException | None] = []

    @app.post("/")
    async def view() -> t.Any:
        try:
            await READERS[reader]()
        except Exception as e:
            caught.append(e)
            raise
        return "read it all?"

    @app.teardown_request
    def on_teardown(exc: BaseException | None) -> None:
        teardown.append(exc)

    result = await call_asgi(
        app,
        [*body_messages(b'{"a": "partial', end=False), DISCONNECT],
        headers=[("content-type", "application/json"), ("content-length", "1000")],
    )
    assert len(caught) == 1
    assert isinstance(caught[0], ClientDisconnected)
    assert result.receive_calls == 2
    assert result.sent == []
    assert len(teardown) == 1
    assert_no_errors_logged(caplog)


async def test_disconnect_before_any_body_arrives(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caught: list[BaseException] = []

    @app.post("/")
    async def view() -> t.Any:
        try:
            await request.get_data()
        except ClientDisconnected as e:
            caught.append(e)
            raise
        return "no"

    result = await call_asgi(app, [DISCONNECT], headers=[("content-length", "10")])
    assert len(caught) == 1
    assert result.sent == []
    assert_no_errors_logged(caplog)


async def test_disconnect_with_a_view_that_does_not_catch_it(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    @app.post("/")
    async def view() -> t.Any:
        async for _chunk in request.stream:
            pass
        return "done"

    result = await call_asgi(
        app,
        [*body_messages(b"a", b"b", end=False), DISCONNECT],
        headers=[("transfer-encoding", "chunked")],
    )
    assert result.status is None
    assert result.receive_calls == 3
    assert_no_errors_logged(caplog)


async def test_client_disconnected_is_exported_and_documented() -> None:
    import asyncflask

    assert asyncflask.ClientDisconnected is ClientDisconnected
    assert "ClientDisconnected" in asyncflask.__all__
    assert issubclass(ClientDisconnected, Exception)
    assert ClientDisconnected.__doc__


async def test_json_nested_too_deeply_is_400_not_500(app: Flask, client: TestClient) -> None:
    @app.post("/deep")
    async def deep() -> dict[str, object]:
        silent = await request.get_json(silent=True)
        return {"silent": silent}

    @app.post("/deep-loud")
    async def deep_loud() -> dict[str, object]:
        return {"json": await request.get_json()}

    body = b"[" * 200_000 + b"]" * 200_000
    headers = {"Content-Type": "application/json"}
    r = await client.post("/deep", content=body, headers=headers)
    assert r.status_code == 200
    assert r.get_json() == {"silent": None}
    r = await client.post("/deep-loud", content=body, headers=headers)
    assert r.status_code == 400
