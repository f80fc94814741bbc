"""Streamed responses: ``StreamingResponse`` and generator return values.

Sync and async iterables of str or bytes, each chunk sent as it is produced,
sync iterators pulled off the event loop, the request context kept alive
for the generator, ``stream_with_context``, the generator closed when the
stream ends / fails / the client goes away, and the test client's streaming
reads. Every test is bounded by ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from asyncflask import (
    Flask,
    Response,
    StreamingResponse,
    current_app,
    g,
    request,
    stream_with_context,
)
from asyncflask.testing import TestClient
from asyncflask.typing import Message, Scope
from tests.support import guarded, http_scope

GUARD = 10.0
#: How long a generator may take to be stopped after the client leaves.
PROMPT = 1.0


class AsgiCall:
    """Calls the app as an ASGI server would and records what it sends.
    ``disconnect()`` makes the next (or pending) ``receive`` return
    ``http.disconnect``."""

    def __init__(self, app: Flask, path: str = "/", method: str = "GET") -> None:
        self.app = app
        self.scope = http_scope(path, method)
        self.messages: list[Message] = []
        self.body_sent = False
        self.gone = asyncio.Event()
        self.new_message = asyncio.Event()

    async def receive(self) -> Message:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.messages.append(message)
        self.new_message.set()

    def disconnect(self) -> None:
        self.gone.set()

    async def run(self) -> None:
        await self.app(self.scope, self.receive, self.send)

    @property
    def body_messages(self) -> list[Message]:
        return [m for m in self.messages if m["type"] == "http.response.body"]

    async def wait_for_body(self, count: int) -> None:
        while len([m for m in self.body_messages if m.get("body")]) < count:
            self.new_message.clear()
            await self.new_message.wait()


# -- what can be streamed ------------------------------------------------------------


@guarded()
async def test_sync_generator_of_str(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        def generate() -> Iterator[str]:
            yield "Hello, "
            yield "streaming "
            yield "world"

        return generate()

    r = await client.get("/")
    assert r.status_code == 200
    assert r.text == "Hello, streaming world"
    assert r.mimetype == "text/html"
    assert "content-length" not in r.headers


@guarded()
async def test_async_generator_of_bytes(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            for i in range(5):
                yield f"{i},".encode()

        return generate()

    r = await client.get("/")
    assert r.status_code == 200
    assert r.content == b"0,1,2,3,4,"


@guarded()
async def test_mixed_str_and_bytes_chunks(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str | bytes]:
            yield "é"
            yield b"\xc3\xa9"
            yield bytearray(b"!")  # type: ignore[misc]

        return StreamingResponse(generate(), mimetype="text/plain")

    r = await client.get("/")
    assert r.content == "éé!".encode()


@guarded()
async def test_streaming_response_of_a_list(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        return StreamingResponse(["a", b"b", "c"], mimetype="text/csv")

    r = await client.get("/")
    assert r.content == b"abc"
    assert r.mimetype == "text/csv"


@guarded()
async def test_streaming_response_of_an_async_iterable_object(
    app: Flask, client: TestClient
) -> None:
    class Numbers:
        def __aiter__(self) -> AsyncIterator[str]:
            return self.gen()

        async def gen(self) -> AsyncIterator[str]:
            for i in range(3):
                await asyncio.sleep(0)
                yield str(i)

    @app.route("/")
    async def index() -> Any:
        return StreamingResponse(Numbers())  # type: ignore[arg-type]

    r = await client.get("/")
    assert r.content == b"012"


@guarded()
async def test_flask_style_response_with_a_generator(app: Flask, client: TestClient) -> None:
    @app.route("/large.csv")
    async def large_csv() -> Any:
        def generate() -> Iterator[str]:
            for row in range(3):
                yield f"{row},{row * 2}\n"

        return Response(generate(), mimetype="text/csv")

    r = await client.get("/large.csv")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert r.text == "0,0\n1,2\n2,4\n"


@guarded()
async def test_generator_in_a_tuple_with_status_and_headers(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "created"

        return generate(), 201, {"X-Kind": "stream", "Content-Type": "text/plain"}

    r = await client.get("/")
    assert r.status_code == 201
    assert r.headers["x-kind"] == "stream"
    assert r.mimetype == "text/plain"
    assert r.text == "created"


def test_streaming_response_refuses_text() -> None:
    with pytest.raises(TypeError):
        StreamingResponse("not an iterable of chunks")  # type: ignore[arg-type]


def test_streaming_response_is_streamed() -> None:
    rv = StreamingResponse(iter([b"chunk"]))
    assert rv.is_streamed
    assert not rv.is_sequence
    assert Response("buffered").is_sequence
    assert not Response("buffered").is_streamed


@guarded()
async def test_after_request_headers_on_a_stream(app: Flask, client: TestClient) -> None:
    @app.after_request
    async def add_header(response: Response) -> Response:
        response.headers["X-After"] = "yes"
        return response

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "x"

        return generate()

    r = await client.get("/")
    assert r.headers["x-after"] == "yes"
    assert r.text == "x"


# -- each chunk is sent as it is produced ---------------------------------------------


@guarded()
async def test_async_chunk_sent_before_the_next_is_produced(app: Flask, client: TestClient) -> None:
    """The generator waits for the client to have the first chunk before it
    produces the second: a buffering server would deadlock here."""
    seen_first = asyncio.Event()

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "first"
            await seen_first.wait()
            yield "second"

        return generate()

    async with client.stream("GET", "/") as r:
        chunks = r.aiter_raw()
        assert await asyncio.wait_for(anext(chunks), 2) == b"first"
        seen_first.set()
        assert await asyncio.wait_for(anext(chunks), 2) == b"second"
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(chunks), 2)


@guarded()
async def test_sync_chunk_sent_before_the_next_is_produced(app: Flask, client: TestClient) -> None:
    seen_first = threading.Event()

    @app.route("/")
    async def index() -> Any:
        def generate() -> Iterator[str]:
            yield "first"
            yield "released" if seen_first.wait(3) else "timed out"

        return generate()

    async with client.stream("GET", "/") as r:
        chunks = r.aiter_bytes()
        assert await asyncio.wait_for(anext(chunks), 2) == b"first"
        seen_first.set()
        assert await asyncio.wait_for(anext(chunks), 4) == b"released"


@guarded()
async def test_each_chunk_is_its_own_asgi_message(app: Flask) -> None:
    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "a"
            yield ""  # empty chunks carry nothing and may be dropped
            yield "bb"
            yield "ccc"

        return generate()

    call = AsgiCall(app)
    await call.run()
    start = call.messages[0]
    assert start["type"] == "http.response.start"
    assert start["status"] == 200
    assert b"content-length" not in dict(start["headers"])
    bodies = call.body_messages
    data = [m["body"] for m in bodies if m.get("body")]
    assert data == [b"a", b"bb", b"ccc"]
    assert all(m.get("more_body") for m in bodies if m.get("body"))
    assert bodies[-1].get("more_body", False) is False


@guarded()
async def test_sync_iterator_pulled_in_a_worker_thread(app: Flask, client: TestClient) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    @app.route("/")
    async def index() -> Any:
        def generate() -> Iterator[str]:
            for i in range(3):
                threads.append(threading.get_ident())
                yield str(i)

        return generate()

    r = await client.get("/")
    assert r.text == "012"
    assert threads
    assert loop_thread not in threads


@guarded()
async def test_blocking_sync_generator_does_not_block_the_loop(
    app: Flask, client: TestClient
) -> None:
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    @app.route("/")
    async def index() -> Any:
        def generate() -> Iterator[str]:
            yield "a"
            time.sleep(0.3)
            yield "b"

        return generate()

    task = asyncio.create_task(ticker())
    try:
        r = await client.get("/")
    finally:
        stop.set()
        await task
    assert r.text == "ab"
    assert ticks >= 5, "the event loop was blocked while the generator slept"


# -- the request context inside the generator ------------------------------------------


@guarded()
async def test_request_context_inside_async_generator(app: Flask, client: TestClient) -> None:
    @app.route("/ctx")
    async def ctx() -> Any:
        g.user = "alice"

        async def generate() -> AsyncIterator[str]:
            await asyncio.sleep(0)
            yield f"{request.path}|{request.args['q']}|"
            await asyncio.sleep(0.01)
            yield f"{g.user}|{current_app.name}|{request.method}"

        return generate()

    r = await client.get("/ctx?q=42")
    assert r.text == "/ctx|42|alice|testapp|GET"


@guarded()
async def test_request_context_inside_sync_generator(app: Flask, client: TestClient) -> None:
    @app.route("/ctx")
    async def ctx() -> Any:
        g.user = "bob"

        def generate() -> Iterator[str]:
            yield f"{request.path}|{request.args['q']}|"
            yield f"{g.user}|{current_app.name}"

        return generate()

    r = await client.get("/ctx?q=7")
    assert r.text == "/ctx|7|bob|testapp"


@guarded()
async def test_request_context_inside_generator_of_a_sync_view(
    app: Flask, client: TestClient
) -> None:
    @app.route("/ctx")
    def ctx() -> Any:
        g.value = "sync-view"

        def generate() -> Iterator[str]:
            yield request.args["q"]
            yield g.value

        return generate()

    r = await client.get("/ctx?q=x")
    assert r.text == "xsync-view"


@guarded()
async def test_stream_with_context_wrapping_a_generator(app: Flask, client: TestClient) -> None:
    """Flask's documented form: ``stream_with_context(generate())``."""

    @app.route("/")
    async def index() -> Any:
        def generate() -> Iterator[str]:
            yield "Hello "
            yield request.args["name"]
            yield "!"

        return stream_with_context(generate())

    r = await client.get("/?name=John")
    assert r.text == "Hello John!"


@guarded()
async def test_stream_with_context_as_a_decorator(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        @stream_with_context
        def generate(greeting: str) -> Iterator[str]:
            yield greeting
            yield request.args["name"]

        return Response(generate("Hi "))

    r = await client.get("/?name=Ann")
    assert r.text == "Hi Ann"


@guarded()
async def test_stream_with_context_on_an_async_generator(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        @stream_with_context
        async def generate() -> AsyncIterator[str]:
            yield request.args["a"]
            await asyncio.sleep(0)
            yield request.args["b"]

        return generate()

    r = await client.get("/?a=1&b=2")
    assert r.text == "12"


@guarded()
async def test_stream_with_context_on_a_list(app: Flask, client: TestClient) -> None:
    """As in Flask, an iterable that is not a generator streams too."""

    @app.route("/")
    async def index() -> Any:
        return Response(stream_with_context(["a", "b", request.args["c"]]))

    assert (await client.get("/?c=z")).text == "abz"


async def test_stream_with_context_on_a_coroutine_function_is_a_clear_error() -> None:
    async def not_a_generator() -> str:
        return "x"

    wrapped = stream_with_context(not_a_generator)
    with pytest.raises(TypeError, match="needs a generator or an iterable"):
        wrapped()


async def test_stream_with_context_on_other_iterables(app: Flask, client: TestClient) -> None:
    """As in Flask, a string or a list is streamed item by item, whether the
    iterable is sync or async."""

    class Parts:
        def __aiter__(self) -> AsyncIterator[str]:
            return self.parts()

        async def parts(self) -> AsyncIterator[str]:
            yield "a"
            yield "sync"

    @app.route("/<kind>")
    async def index(kind: str) -> Any:
        parts = {"str": "hello", "list": ["x", "y"], "async": Parts()}[kind]
        return Response(stream_with_context(parts))

    assert (await client.get("/str")).text == "hello"
    assert (await client.get("/list")).text == "xy"
    assert (await client.get("/async")).text == "async"


@guarded()
async def test_teardown_runs_after_the_stream_ends(app: Flask, client: TestClient) -> None:
    events: list[str] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            events.append("first chunk")
            yield "a"
            await asyncio.sleep(0.01)
            events.append("last chunk")
            yield "b"

        events.append("view returned")
        return generate()

    r = await client.get("/")
    assert r.text == "ab"
    assert events == ["view returned", "first chunk", "last chunk", "teardown"]


# -- closing the generator --------------------------------------------------------------


@guarded()
async def test_async_generator_finally_runs_when_stream_ends(
    app: Flask, client: TestClient
) -> None:
    events: list[str] = []

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            try:
                yield "a"
                yield "b"
            finally:
                events.append("closed")

        return generate()

    r = await client.get("/")
    assert r.text == "ab"
    assert events == ["closed"]


@guarded()
async def test_iterable_with_close_is_closed_when_stream_ends(
    app: Flask, client: TestClient
) -> None:
    """As in WSGI (and Flask), a body iterable's ``close()`` is called once
    it has been sent."""
    closed: list[bool] = []

    class Rows:
        def __init__(self) -> None:
            self.rows = iter(["r1\n", "r2\n"])

        def __iter__(self) -> Rows:
            return self

        def __next__(self) -> str:
            return next(self.rows)

        def close(self) -> None:
            closed.append(True)

    @app.route("/")
    async def index() -> Any:
        return StreamingResponse(Rows(), mimetype="text/plain")

    r = await client.get("/")
    assert r.text == "r1\nr2\n"
    assert closed == [True]


@guarded()
async def test_head_sends_no_body_and_leaves_no_open_generator(
    app: Flask, client: TestClient
) -> None:
    events: list[str] = []

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            events.append("started")
            try:
                yield "body"
            finally:
                events.append("closed")

        return generate()

    r = await client.head("/")
    assert r.status_code == 200
    assert r.content == b""
    # either never started, or started and closed: never left suspended
    assert events in ([], ["started", "closed"])


async def _check_error_mid_stream(
    app: Flask, caplog: pytest.LogCaptureFixture, events: list[str], error: type[Exception]
) -> None:
    """The generator's error ends the body incomplete, closes the generator
    and is logged with its exception."""
    call = AsgiCall(app)
    with caplog.at_level(logging.ERROR):
        await call.run()
    assert events == ["closed"]
    assert call.messages[0]["status"] == 200
    bodies = call.body_messages
    assert [m["body"] for m in bodies if m.get("body")] == [b"partial"]
    # the body is not marked complete: no final more_body=False message
    assert all(m.get("more_body", False) for m in bodies)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "the error was not logged"
    assert any(
        r.exc_info is not None and isinstance(r.exc_info[1], error) and "boom" in str(r.exc_info[1])
        for r in errors
    )


@guarded()
async def test_error_mid_stream_closes_generator_and_is_logged(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            try:
                yield "partial"
                raise RuntimeError("boom in the middle")
            finally:
                events.append("closed")

        return generate()

    await _check_error_mid_stream(app, caplog, events, RuntimeError)


@guarded()
async def test_error_in_sync_generator_mid_stream(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []

    @app.route("/")
    def index() -> Any:
        def generate() -> Iterator[str]:
            try:
                yield "partial"
                raise ValueError("sync boom")
            finally:
                events.append("closed")

        return generate()

    await _check_error_mid_stream(app, caplog, events, ValueError)


@guarded()
async def test_error_mid_stream_through_the_test_client(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "partial"
            raise RuntimeError("boom")

        return generate()

    received = b""
    async with app.test_client() as client:
        with caplog.at_level(logging.ERROR):
            try:
                async with client.stream("GET", "/") as r:
                    async for chunk in r.aiter_raw():
                        received += chunk
            except RuntimeError:
                pass  # the test client may re-raise the app's error
    assert received == b"partial"
    assert any(r.exc_info is not None for r in caplog.records)


# -- disconnects ----------------------------------------------------------------------


async def _disconnect_while(app: Flask, wait: Callable[[], Awaitable[Any]]) -> float:
    """Stream one chunk, make the generator ``wait``, leave, and return how
    long the generator took to run its ``finally`` after the client left."""
    closed = asyncio.Event()
    after_wait: list[str] = []

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            try:
                yield "first"
                await wait()
                after_wait.append("resumed")
                yield "never"
            finally:
                closed.set()

        return generate()

    async with app.test_client() as client:
        async with client.stream("GET", "/") as r:
            chunks = r.aiter_raw()
            assert await asyncio.wait_for(anext(chunks), 2) == b"first"
            await asyncio.sleep(0.05)  # the generator is now waiting
            left = time.monotonic()
        await asyncio.wait_for(closed.wait(), 5)
        took = time.monotonic() - left
    assert after_wait == []
    return took


@guarded()
async def test_disconnect_stops_generator_sleeping_an_hour(app: Flask) -> None:
    took = await _disconnect_while(app, lambda: asyncio.sleep(3600))
    assert took < PROMPT


@guarded()
async def test_disconnect_stops_generator_waiting_on_an_event(app: Flask) -> None:
    never = asyncio.Event()
    took = await _disconnect_while(app, never.wait)
    assert took < PROMPT


@guarded()
async def test_disconnect_stops_generator_waiting_on_a_queue(app: Flask) -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    took = await _disconnect_while(app, queue.get)
    assert took < PROMPT


@guarded()
async def test_disconnect_stops_endless_sync_generator(app: Flask) -> None:
    closed = threading.Event()
    produced = 0

    @app.route("/")
    async def index() -> Any:
        def generate() -> Iterator[str]:
            nonlocal produced
            try:
                while True:
                    produced += 1
                    yield f"{produced}\n"
                    time.sleep(0.02)
            finally:
                closed.set()

        return generate()

    async with app.test_client() as client:
        async with client.stream("GET", "/") as r:
            lines = r.aiter_lines()
            for _ in range(3):
                await asyncio.wait_for(anext(lines), 2)
            left = time.monotonic()
        assert await asyncio.to_thread(closed.wait, 5)
        took = time.monotonic() - left
    assert took < PROMPT
    count = produced
    await asyncio.sleep(0.1)
    assert produced == count, "the generator kept running after the disconnect"


@guarded()
async def test_disconnect_observed_at_asgi_level(app: Flask) -> None:
    """The app stops by itself on ``http.disconnect`` (no send error needed)."""
    closed = asyncio.Event()

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            try:
                yield "one"
                await asyncio.sleep(3600)
            finally:
                closed.set()

        return generate()

    call = AsgiCall(app)
    task = asyncio.create_task(call.run())
    await asyncio.wait_for(call.wait_for_body(1), 2)
    call.disconnect()
    left = time.monotonic()
    await asyncio.wait_for(task, 2)
    assert closed.is_set()
    assert time.monotonic() - left < PROMPT
    assert not any(m.get("body") == b"" and not m.get("more_body") for m in call.body_messages)


@guarded()
async def test_disconnect_runs_teardown(app: Flask) -> None:
    torn_down = asyncio.Event()

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        torn_down.set()

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "x"
            await asyncio.sleep(3600)

        return generate()

    async with app.test_client() as client:
        async with client.stream("GET", "/") as r:
            await asyncio.wait_for(anext(r.aiter_raw()), 2)
        await asyncio.wait_for(torn_down.wait(), PROMPT)


@guarded()
async def test_disconnect_is_not_logged_as_an_error(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await _disconnect_while(app, lambda: asyncio.sleep(3600))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- no default timeout ----------------------------------------------------------------


JUMP = 36_000.0


@guarded(JUMP + 30)  # still 30 real seconds after the clock jumps ahead
async def test_no_default_timeout_cuts_a_long_stream(
    app: Flask, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jump the event loop's clock ten hours ahead in the middle of a
    stream: every timer a default timeout could have set is then due and
    fires, and must not cut the stream."""
    resume = asyncio.Event()
    events: list[str] = []

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            try:
                yield "start|"
                await resume.wait()
                yield "end"
                events.append("completed")
            finally:
                events.append("closed")

        return generate()

    loop = asyncio.get_running_loop()
    real_time = loop.time
    async with client.stream("GET", "/") as r:
        chunks = r.aiter_raw()
        body = await asyncio.wait_for(anext(chunks), 2)
        monkeypatch.setattr(loop, "time", lambda: real_time() + JUMP)
        for _ in range(20):  # let every due timer fire
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        assert events == []
        resume.set()
        async for chunk in chunks:
            body += chunk
    assert body == b"start|end"
    assert events == ["completed", "closed"]


# -- the test client's streaming reads ----------------------------------------------


@guarded()
async def test_client_reads_chunk_by_chunk(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            for i in range(4):
                yield bytes([65 + i]) * (i + 1)
                await asyncio.sleep(0)

        return generate()

    async with client.stream("GET", "/") as r:
        assert r.status_code == 200
        chunks = [c async for c in r.aiter_raw()]
    assert chunks == [b"A", b"BB", b"CCC", b"DDDD"]


@guarded()
async def test_client_reads_lines_and_text(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        def generate() -> Iterator[str]:
            yield "line one\nline "
            yield "two\n"

        return generate()

    async with client.stream("GET", "/") as r:
        lines = [line async for line in r.aiter_lines()]
    assert lines == ["line one", "line two"]
    async with client.stream("GET", "/") as r:
        text = "".join([t async for t in r.aiter_text()])
    assert text == "line one\nline two\n"


@guarded()
async def test_client_stream_status_before_body_is_produced(app: Flask, client: TestClient) -> None:
    """The response (status, headers) is available as soon as it starts,
    while the generator has not produced anything yet."""
    release = asyncio.Event()

    @app.route("/")
    async def index() -> Any:
        async def generate() -> AsyncIterator[str]:
            await release.wait()
            yield "late"

        return generate(), 202, {"X-Early": "1"}

    async with client.stream("GET", "/") as r:
        assert r.status_code == 202
        assert r.headers["x-early"] == "1"
        release.set()
        assert await r.aread() == b"late"


@guarded()
async def test_client_leaving_early_sends_disconnect(app: Flask) -> None:
    """Closing the stream early delivers ``http.disconnect`` to the app."""
    seen: list[str] = []
    got_disconnect = asyncio.Event()

    async def raw_app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello", "more_body": True})
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "http.disconnect":
                got_disconnect.set()
                return

    from asyncflask.testing import ASGITransport

    client = TestClient(app, transport=ASGITransport(raw_app))
    async with client.stream("GET", "/") as r:
        assert await asyncio.wait_for(anext(r.aiter_raw()), 2) == b"hello"
    await asyncio.wait_for(got_disconnect.wait(), 2)
    assert seen[-1] == "http.disconnect"
    await client.aclose()


@guarded()
async def test_many_concurrent_streams_in_process(app: Flask, client: TestClient) -> None:
    """Fifty clients each read their own stream while all are open."""
    all_in = asyncio.Event()
    open_streams = 0

    @app.route("/<int:n>")
    async def numbered(n: int) -> Any:
        async def generate() -> AsyncIterator[str]:
            nonlocal open_streams
            open_streams += 1
            if open_streams == 50:
                all_in.set()
            yield f"{n}:"
            await all_in.wait()
            yield f"{request.view_args['n']}"  # type: ignore[index]

        return generate()

    async def one(n: int) -> bytes:
        return (await client.get(f"/{n}")).content

    bodies = await asyncio.gather(*(one(n) for n in range(50)))
    assert bodies == [f"{n}:{n}".encode() for n in range(50)]
