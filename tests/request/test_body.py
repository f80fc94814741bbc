"""The request body as one object, ``request.stream``: awaited whole and
kept, iterated once, read within the limits the request has when the read
starts; and what plain code gets from every body read (never a coroutine)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import typing as t

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from asyncflask import ClientDisconnected, Flask, Request, request
from asyncflask.body import Body
from asyncflask.testing import TestClient
from tests.support import http_scope

# (``asyncflask.request`` is the proxy)
request_module = importlib.import_module("asyncflask.request")
READS = ["form", "files", "values", "data", "json", "get_json()", "get_data()"]


def read_sync(name: str) -> t.Any:
    """A body read as plain code (an extension's function) does it."""
    if name == "get_json()":
        return request.get_json()
    if name == "get_data()":
        return request.get_data()
    return getattr(request, name)


def receiving(*messages: dict[str, t.Any]) -> t.Callable[[], t.Awaitable[dict[str, t.Any]]]:
    """An ASGI ``receive`` that gives ``messages`` in turn, then waits."""
    pending = list(messages)

    async def receive() -> dict[str, t.Any]:
        if pending:
            return pending.pop(0)
        await asyncio.sleep(60)
        raise AssertionError("read past the end")

    return receive


def chunk(body: bytes, more: bool = False) -> dict[str, t.Any]:
    return {"type": "http.request", "body": body, "more_body": more}


def post_request(
    *messages: dict[str, t.Any], headers: list[tuple[bytes, bytes]] | None = None
) -> Request:
    scope = http_scope(method="POST", headers=headers or [(b"content-length", b"6")])
    return Request(scope, receiving(*messages))


async def test_the_names_stay_where_they_were() -> None:
    req = post_request(chunk(b"abcdef"))
    assert request_module.ClientDisconnected is ClientDisconnected
    assert isinstance(req.stream, request_module.RequestStream)
    assert req.stream is req.stream
    assert set(request_module.__all__) == {"ClientDisconnected", "Request", "RequestStream"}


async def test_awaiting_the_stream_reads_the_whole_body_and_keeps_it() -> None:
    req = post_request(chunk(b"abc", more=True), chunk(b"def"))
    assert await req.stream == b"abcdef"
    assert await req.stream == b"abcdef"
    assert await req.get_data() == b"abcdef"
    assert [c async for c in req.stream] == [b"abcdef"]
    assert await req.stream.read() == b"abcdef"


async def test_a_body_not_kept_is_read_once() -> None:
    req = post_request(chunk(b"abc", more=True), chunk(b"def"))
    assert await req.stream.read() == b"abcdef"
    with pytest.raises(RuntimeError, match="already read"):
        await req.stream.read()
    # read to its end, it counts as empty for what comes after
    assert await req.get_data() == b""


async def test_a_request_with_nothing_to_receive_has_an_empty_body() -> None:
    req = Request(http_scope(method="POST"))
    assert [c async for c in req.stream] == []
    assert await Request(http_scope(method="POST")).stream.read() == b""
    assert await Request(http_scope(method="POST")).get_data() == b""


async def test_an_empty_kept_body_iterates_as_nothing() -> None:
    req = post_request(chunk(b""), headers=[(b"content-length", b"0")])
    assert await req.get_data() == b""
    assert [c async for c in req.stream] == []


async def test_a_limit_set_after_taking_the_stream_applies_to_its_read() -> None:
    req = post_request(chunk(b"abcdef"))
    stream = req.stream
    req.max_content_length = 3
    with pytest.raises(RequestEntityTooLarge):
        await stream.read()
    # refused on the declared length, before anything was received
    assert req.stream.received == 0
    req.max_content_length = 100  # too late: the read has started
    assert req.stream.limit == 3


async def test_the_limit_counts_the_bytes_of_an_unsized_body() -> None:
    chunked = [(b"transfer-encoding", b"chunked")]
    req = post_request(chunk(b"abc", more=True), chunk(b"def", more=True), headers=chunked)
    req.max_content_length = 5
    with pytest.raises(RequestEntityTooLarge):
        await req.get_data()
    assert req.stream.received == 6
    # an unknown remainder is not worth draining: the connection closes
    assert req.body_abandoned is True


async def test_a_small_known_remainder_is_left_to_drain() -> None:
    req = post_request(chunk(b"abcd", more=True), headers=[(b"content-length", b"10")])
    req.max_content_length = 10
    chunks = aiter(req.stream)
    assert await anext(chunks) == b"abcd"
    assert req.body_abandoned is False  # 6 bytes left
    assert Request(http_scope(method="POST")).body_abandoned is False


async def test_a_client_gone_mid_body_is_client_disconnected() -> None:
    req = post_request(chunk(b"abc", more=True), {"type": "http.disconnect"})
    with pytest.raises(ClientDisconnected):
        await req.get_data()
    # nothing more will come: nothing is left to drain
    assert req.body_abandoned is False


async def test_a_timeout_set_after_taking_the_stream_applies_to_its_read() -> None:
    app = Flask(__name__)
    app.config["BODY_TIMEOUT"] = 30

    async def slow() -> t.AsyncIterator[bytes]:
        yield b"first "
        await asyncio.sleep(0.5)
        yield b"second"

    @app.post("/")
    async def view() -> t.Any:
        stream = request.stream
        request.body_timeout = 0.1
        return {"body": (await stream.read()).decode()}

    async with app.test_client() as client:
        r = await client.post("/", content=slow(), headers={"Content-Length": "12"})
    assert r.status_code == 408


def test_a_body_is_its_own_type() -> None:
    body = Body(None, None, unsized=False)
    assert body.ready() == b""
    body.set_timeout(5)  # not started: only noted for the read
    assert (body.timeout, body.started) == (5, False)


@pytest.mark.parametrize("loaded", [False, True])
async def test_plain_code_never_gets_a_coroutine(
    app: Flask, client: TestClient, loaded: bool
) -> None:
    seen: dict[str, t.Any] = {}

    def extension_code() -> None:
        for name in READS:
            seen[name] = read_sync(name)

    @app.post("/")
    async def view() -> t.Any:
        if loaded:
            await request.load_body()
        extension_code()
        return {name: inspect.iscoroutine(value) for name, value in seen.items()}

    r = await client.post("/", json={"x": 1})
    assert r.get_json() == dict.fromkeys(READS, False)
    if loaded:
        assert seen["json"] == seen["get_json()"] == {"x": 1}
        assert seen["data"] == seen["get_data()"] == b'{"x": 1}'
    else:
        for name in READS:
            with pytest.raises(TypeError, match="must be awaited"):
                bool(seen[name])


async def test_plain_get_data_that_parses_the_form_waits_for_the_form(
    app: Flask, client: TestClient
) -> None:
    def extension_code() -> t.Any:
        return request.get_data(parse_form_data=True)

    @app.post("/")
    async def view() -> t.Any:
        with pytest.raises(TypeError, match="must be awaited"):
            bool(extension_code())
        await request.load_body()
        # the form parser took the body: the raw data is empty, as in Flask
        return {"data": extension_code().decode(), "form": (await request.form).to_dict()}

    r = await client.post("/", data={"a": "1"})
    assert r.get_json() == {"data": "", "form": {"a": "1"}}
