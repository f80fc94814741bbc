"""Server-sent events: ``ServerSentEvent``'s wire format (checked with a
parser that follows the HTML standard's event-stream rules), and the
``EventStream`` response: headers, event by event reading, keep-alive
pings, ``Last-Event-ID``, disconnects, and the plain Flask way of writing
``data:`` lines by hand. Every streaming test is bounded by
``asyncio.wait_for``."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from asyncflask import EventStream, Flask, Response, ServerSentEvent, request
from asyncflask.testing import TestClient
from asyncflask.typing import Message
from tests.support import guarded

GUARD = 10.0
PROMPT = 1.0


# -- a parser that follows the standard -----------------------------------------------


@dataclass
class Event:
    data: str
    event: str = "message"
    id: str = ""
    retry: int | None = None


@dataclass
class Parsed:
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


_LINE_END = re.compile(r"\r\n|\r|\n")


def parse_sse(text: str) -> Parsed:
    """Parse a complete ``text/event-stream`` as a browser would
    (https://html.spec.whatwg.org/multipage/server-sent-events.html)."""
    out = Parsed()
    data: list[str] = []
    event_type = ""
    last_id = ""
    retry: int | None = None
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the text ends with a line end
    for line in lines:
        if line == "":
            if data:
                out.events.append(Event("\n".join(data), event_type or "message", last_id, retry))
            data, event_type, retry = [], "", None
            continue
        if line.startswith(":"):
            out.comments.append(line[1:].removeprefix(" "))
            continue
        name, sep, value = line.partition(":")
        value = value.removeprefix(" ") if sep else ""
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id":
            if "\0" not in value:
                last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            retry = int(value)
    return out


def test_parser_itself() -> None:
    parsed = parse_sse(": hi\nevent: e\nid: 1\ndata: a\ndata:b\n\ndata\n\nretry: 5\n\n")
    assert parsed.comments == ["hi"]
    assert parsed.events == [Event("a\nb", "e", "1"), Event("", "message", "1")]


class EventReader:
    """Reads a streamed response event by event (blocks separated by a
    blank line); comment-only blocks are kept as comments."""

    def __init__(self, response: httpx.Response) -> None:
        self.chunks = response.aiter_text()
        self.buffer = ""
        self.comments: list[str] = []

    async def next_block(self) -> str:
        while "\n\n" not in self.buffer:
            self.buffer += await anext(self.chunks)
        block, self.buffer = self.buffer.split("\n\n", 1)
        return block + "\n\n"

    async def next_event(self) -> Event:
        while True:
            parsed = parse_sse(await self.next_block())
            self.comments += parsed.comments
            if parsed.events:
                return parsed.events[0]


# -- ServerSentEvent's encoding ----------------------------------------------------------


def test_data_only() -> None:
    assert ServerSentEvent("hello").encode() == b"data: hello\n\n"


def test_all_fields() -> None:
    raw = ServerSentEvent("payload", event="update", id=7, retry=3000).encode()
    assert raw.endswith(b"\n\n")
    assert raw.count(b"\n\n") == 1
    assert sorted(raw.decode().split("\n")[:-2]) == [
        "data: payload",
        "event: update",
        "id: 7",
        "retry: 3000",
    ]
    assert parse_sse(raw.decode()).events == [Event("payload", "update", "7", 3000)]


def test_zero_id_and_retry_are_sent() -> None:
    lines = ServerSentEvent("x", id=0, retry=0).encode().decode().split("\n")
    assert "id: 0" in lines
    assert "retry: 0" in lines


def test_multi_line_data() -> None:
    raw = ServerSentEvent("line1\nline2\nline3").encode()
    assert raw == b"data: line1\ndata: line2\ndata: line3\n\n"


def test_comment_lines() -> None:
    assert ServerSentEvent(comment="keep me").encode() == b": keep me\n\n"
    assert ServerSentEvent(comment="one\ntwo").encode() == b": one\n: two\n\n"
    parsed = parse_sse(ServerSentEvent(comment="one\ntwo").encode().decode())
    assert parsed.events == []
    assert parsed.comments == ["one", "two"]


def test_comment_with_data() -> None:
    parsed = parse_sse(ServerSentEvent("d", comment="c").encode().decode())
    assert parsed.comments == ["c"]
    assert parsed.events == [Event("d")]


@pytest.mark.parametrize(
    "data",
    [
        "",
        "plain",
        "two\nlines",
        "crlf\r\nline",
        "cr\rline",
        "trailing newline\n",
        "\n",
        "\nleading newline",
        "blank\n\nline inside",
        " leading space",
        "  two leading spaces",
        ":starts with a colon",
        "data: looks like a field",
        "unicode é ✓ \U0001f600",
        "line\u2028separator",
        "paragraph\u2029separator",
        "vertical\x0btab",
        "form\x0cfeed",
        "file\x1cseparator",
        "next\x85line",
    ],
)
def test_data_round_trips_through_a_standard_parser(data: str) -> None:
    """What a browser's EventSource gives as ``event.data`` is the data sent,
    with CR and CRLF read as LF (the only change the format forces)."""
    raw = ServerSentEvent(data, event="e", id="1").encode().decode()
    parsed = parse_sse(raw)
    expected = data.replace("\r\n", "\n").replace("\r", "\n")
    assert parsed.events == [Event(expected, "e", "1")]


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\r\nb", "\n", "end\n"])
@pytest.mark.parametrize("field_name", ["id", "event"])
def test_newline_in_id_or_event_is_refused(field_name: str, value: str) -> None:
    with pytest.raises(ValueError):
        ServerSentEvent("x", **{field_name: value}).encode()


def test_json_data() -> None:
    parsed = parse_sse(ServerSentEvent({"a": [1, 2], "b": "é"}).encode().decode())
    assert json.loads(parsed.events[0].data) == {"a": [1, 2], "b": "é"}


def test_json_data_uses_the_app_provider(app: Flask) -> None:
    app.json.sort_keys = True  # type: ignore[attr-defined]
    with app.app_context():
        raw = ServerSentEvent({"b": 1, "a": 2}).encode().decode()
    data = parse_sse(raw).events[0].data
    assert json.loads(data) == {"a": 2, "b": 1}
    assert data.index('"a"') < data.index('"b"')


# -- EventStream ----------------------------------------------------------------------------


@guarded()
async def test_event_stream_headers(app: Flask, client: TestClient) -> None:
    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent("hi")

        return EventStream(generate())

    r = await client.get("/events")
    assert r.status_code == 200
    assert r.mimetype == "text/event-stream"
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-accel-buffering"] == "no"
    assert "content-length" not in r.headers
    assert parse_sse(r.text).events == [Event("hi")]


@guarded()
async def test_event_stream_status_and_headers(app: Flask, client: TestClient) -> None:
    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "x"

        return EventStream(generate(), status=201, headers={"X-Channel": "news"})

    r = await client.get("/events")
    assert r.status_code == 201
    assert r.headers["x-channel"] == "news"
    assert r.mimetype == "text/event-stream"


@guarded()
async def test_yield_events_dicts_and_strings(app: Flask, client: TestClient) -> None:
    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[Any]:
            yield ServerSentEvent("from an event", event="a", id="1")
            yield {"data": "from a dict", "event": "b", "id": "2", "retry": 1500}
            yield "from a string"
            yield "multi\nline string"
            yield "event: raw\ndata: already framed\n\n"

        return EventStream(generate(), ping=None)

    r = await client.get("/events")
    assert parse_sse(r.text).events == [
        Event("from an event", "a", "1"),
        Event("from a dict", "b", "2", 1500),
        Event("from a string", "message", "2"),
        Event("multi\nline string", "message", "2"),
        Event("already framed", "raw", "2"),
    ]


@guarded()
async def test_sync_generator_with_request_context(app: Flask, client: TestClient) -> None:
    @app.route("/events")
    def events() -> Any:
        def generate() -> Iterator[ServerSentEvent]:
            for i in range(int(request.args["n"])):
                yield ServerSentEvent(f"{request.args['who']} {i}", id=i)

        return EventStream(generate())

    r = await client.get("/events?n=3&who=ann")
    assert [e.data for e in parse_sse(r.text).events] == ["ann 0", "ann 1", "ann 2"]


@guarded()
async def test_read_endless_stream_event_by_event_and_close(app: Flask, client: TestClient) -> None:
    closed = asyncio.Event()
    produced = 0

    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            nonlocal produced
            try:
                while True:
                    yield ServerSentEvent(f"tick {produced}", event="tick", id=produced)
                    produced += 1
                    await asyncio.sleep(0.01)
            finally:
                closed.set()

        return EventStream(generate())

    async with client.stream("GET", "/events") as r:
        reader = EventReader(r)
        for i in range(5):
            assert await asyncio.wait_for(reader.next_event(), 2) == Event(
                f"tick {i}", "tick", str(i)
            )
        left = time.monotonic()
    await asyncio.wait_for(closed.wait(), 5)
    assert time.monotonic() - left < PROMPT
    count = produced
    await asyncio.sleep(0.05)
    assert produced == count


@guarded()
async def test_disconnect_while_waiting_between_events(app: Flask, client: TestClient) -> None:
    closed = asyncio.Event()

    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            try:
                yield ServerSentEvent("only")
                await asyncio.sleep(3600)
            finally:
                closed.set()

        return EventStream(generate())

    async with client.stream("GET", "/events") as r:
        assert (await asyncio.wait_for(EventReader(r).next_event(), 2)).data == "only"
        left = time.monotonic()
    await asyncio.wait_for(closed.wait(), 5)
    assert time.monotonic() - left < PROMPT


@guarded()
async def test_disconnect_stops_the_keepalive_too(app: Flask) -> None:
    """At the ASGI level: after ``http.disconnect`` the app returns (the
    keep-alive task does not keep it alive) and sends nothing more."""
    closed = asyncio.Event()
    gone = asyncio.Event()
    first = asyncio.Event()
    sent: list[Message] = []

    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[str]:
            try:
                yield "first"
                await asyncio.Event().wait()
            finally:
                closed.set()

        return EventStream(generate(), ping=0.02)

    received = False

    async def receive() -> Message:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message.get("body"):
            first.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/events",
        "raw_path": b"/events",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1),
        "server": ("localhost", 80),
    }
    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(first.wait(), 2)
    await asyncio.sleep(0.1)  # a few pings
    assert any(m.get("body") == b": ping\n\n" for m in sent)
    gone.set()
    await asyncio.wait_for(task, PROMPT)
    assert closed.is_set()
    count = len(sent)
    await asyncio.sleep(0.1)
    assert len(sent) == count


# -- keep-alive ----------------------------------------------------------------------------


@guarded()
async def test_ping_after_silence(app: Flask, client: TestClient) -> None:
    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent("hello")
            await asyncio.sleep(3600)

        return EventStream(generate(), ping=0.2)

    async with client.stream("GET", "/events") as r:
        reader = EventReader(r)
        assert (await asyncio.wait_for(reader.next_event(), 2)).data == "hello"
        started = time.monotonic()
        blocks = [await asyncio.wait_for(reader.next_block(), 2) for _ in range(3)]
        elapsed = time.monotonic() - started
    assert blocks == [": ping\n\n"] * 3
    assert 0.4 <= elapsed < 2.0  # about one ping every 0.2 s


@guarded()
async def test_no_ping_while_events_flow(app: Flask, client: TestClient) -> None:
    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            for i in range(15):
                yield ServerSentEvent(str(i))
                await asyncio.sleep(0.04)

        return EventStream(generate(), ping=0.5)

    r = await client.get("/events")
    parsed = parse_sse(r.text)
    assert [e.data for e in parsed.events] == [str(i) for i in range(15)]
    assert parsed.comments == []


@guarded()
async def test_ping_none_turns_keepalive_off(app: Flask, client: TestClient) -> None:
    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent("a")
            await asyncio.sleep(0.4)
            yield ServerSentEvent("b")

        return EventStream(generate(), ping=None)

    r = await client.get("/events")
    assert r.text == "data: a\n\ndata: b\n\n"


@guarded(60)
async def test_default_ping_is_fifteen_seconds(
    app: Flask, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Move the event loop's clock instead of waiting 15 real seconds."""

    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent("hello")
            await asyncio.sleep(3600)

        return EventStream(generate())

    loop = asyncio.get_running_loop()
    real_time = loop.time
    async with client.stream("GET", "/events") as r:
        reader = EventReader(r)
        assert (await asyncio.wait_for(reader.next_event(), 2)).data == "hello"
        monkeypatch.setattr(loop, "time", lambda: real_time() + 14.0)
        await asyncio.sleep(0.2)
        assert reader.buffer == ""
        pending = asyncio.ensure_future(reader.next_block())
        await asyncio.sleep(0.1)
        assert not pending.done(), "a ping came before 15 s of silence"
        monkeypatch.setattr(loop, "time", lambda: real_time() + 15.5)
        assert await asyncio.wait_for(pending, 2) == ": ping\n\n"


@guarded()
async def test_pings_never_split_an_event(app: Flask, client: TestClient) -> None:
    """Pings interleave with events only between whole events."""
    text = "\n".join(f"line {i} " + "x" * 200 for i in range(20))

    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            for i in range(100):
                yield ServerSentEvent(text, id=i)
                if i % 10 == 0:
                    await asyncio.sleep(0.005)

        return EventStream(generate(), ping=0.001)

    r = await client.get("/events")
    parsed = parse_sse(r.text)
    assert [(e.id, e.data) for e in parsed.events] == [(str(i), text) for i in range(100)]
    assert set(parsed.comments) <= {"ping"}


# -- Last-Event-ID ----------------------------------------------------------------------------


@guarded()
async def test_last_event_id_resumes(app: Flask, client: TestClient) -> None:
    @app.route("/events")
    async def events() -> Any:
        start = int(request.headers.get("Last-Event-ID", "-1")) + 1

        async def generate() -> AsyncIterator[ServerSentEvent]:
            for i in range(start, start + 3):
                yield ServerSentEvent(f"event {i}", id=i)

        return EventStream(generate())

    r = await client.get("/events")
    assert [e.id for e in parse_sse(r.text).events] == ["0", "1", "2"]
    r = await client.get("/events", headers={"Last-Event-ID": "41"})
    assert [e.id for e in parse_sse(r.text).events] == ["42", "43", "44"]


@guarded()
async def test_last_event_id_inside_the_generator(app: Flask, client: TestClient) -> None:
    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent(request.headers.get("Last-Event-ID", "none"))

        return EventStream(generate())

    r = await client.get("/events", headers={"last-event-id": "abc-9"})
    assert parse_sse(r.text).events[0].data == "abc-9"


# -- the plain Flask way ------------------------------------------------------------------


@guarded()
async def test_flask_style_hand_written_event_stream(app: Flask, client: TestClient) -> None:
    @app.route("/stream")
    async def stream() -> Any:
        def event_stream() -> Iterator[str]:
            for x in range(3):
                yield f"data: {x}\n\n"

        return Response(event_stream(), mimetype="text/event-stream")

    async with client.stream("GET", "/stream") as r:
        assert r.mimetype == "text/event-stream"
        reader = EventReader(r)
        got = [await asyncio.wait_for(reader.next_event(), 2) for _ in range(3)]
    assert [e.data for e in got] == ["0", "1", "2"]


@guarded()
async def test_flask_style_generator_with_headers_tuple(app: Flask, client: TestClient) -> None:
    @app.route("/stream")
    async def stream() -> Any:
        async def event_stream() -> AsyncIterator[str]:
            for x in ("a", "b"):
                yield f"event: letter\ndata: {x}\n\n"
                await asyncio.sleep(0)

        return event_stream(), {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}

    r = await client.get("/stream")
    assert r.mimetype == "text/event-stream"
    assert r.headers["cache-control"] == "no-cache"
    assert parse_sse(r.text).events == [Event("a", "letter"), Event("b", "letter")]


@guarded()
async def test_flask_style_endless_stream_closes_on_disconnect(
    app: Flask, client: TestClient
) -> None:
    closed = asyncio.Event()

    @app.route("/stream")
    async def stream() -> Any:
        async def event_stream() -> AsyncIterator[str]:
            n = 0
            try:
                while True:
                    yield f"data: {n}\n\n"
                    n += 1
                    await asyncio.sleep(0.01)
            finally:
                closed.set()

        return Response(event_stream(), mimetype="text/event-stream")

    async with client.stream("GET", "/stream") as r:
        reader = EventReader(r)
        assert [(await asyncio.wait_for(reader.next_event(), 2)).data for _ in range(3)] == [
            "0",
            "1",
            "2",
        ]
    await asyncio.wait_for(closed.wait(), PROMPT)
