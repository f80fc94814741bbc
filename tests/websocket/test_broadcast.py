"""The broadcast channel with its in-memory backend: fan-out, ids, replay
from a bounded buffer, cleanup, slow subscribers, and through an app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from asyncflask import Broadcast, EventStream, Flask, ServerSentEvent, request
from asyncflask.testing import TestClient
from tests.response.test_sse import Event, EventReader
from tests.support import guarded


async def take(events: AsyncGenerator[ServerSentEvent], n: int) -> list[ServerSentEvent]:
    """The next ``n`` events, failing when they do not come within 2 s."""
    return [await asyncio.wait_for(anext(events), 2) for _ in range(n)]


async def started(channel: Broadcast, room: str, events: AsyncGenerator[Any]) -> asyncio.Task[Any]:
    """Start reading ``events`` in a task and wait until it has subscribed."""
    before = channel.local_subscribers(room)
    task = asyncio.create_task(anext(events))
    for _ in range(200):
        if channel.local_subscribers(room) > before and not task.done():
            return task
        await asyncio.sleep(0.005)
    raise AssertionError("the subscriber did not subscribe")


@guarded()
async def test_every_subscriber_gets_every_event_in_order() -> None:
    channel = Broadcast()
    a, b = channel.subscribe("room"), channel.subscribe("room")
    first_a, first_b = await started(channel, "room", a), await started(channel, "room", b)
    assert channel.local_subscribers("room") == 2
    ids = [await channel.publish("room", f"m{n}") for n in range(3)]
    assert ids == ["1", "2", "3"]
    for first, gen in ((first_a, a), (first_b, b)):
        got = [await first, *await take(gen, 2)]
        assert [(e.id, e.data) for e in got] == [("1", "m0"), ("2", "m1"), ("3", "m2")]
        await gen.aclose()
    assert channel.local_subscribers("room") == 0


@guarded()
async def test_rooms_are_separate_and_count_their_own_ids() -> None:
    channel = Broadcast()
    other = channel.subscribe("other")
    pending = await started(channel, "other", other)
    assert await channel.publish("room", "not for you") == "1"
    assert await channel.publish("other", "for you") == "1"
    assert (await pending).data == "for you"
    await other.aclose()


@guarded()
async def test_publish_takes_an_event_a_dict_or_a_string() -> None:
    channel = Broadcast()
    sub = channel.subscribe("r")
    pending = await started(channel, "r", sub)
    await channel.publish("r", ServerSentEvent({"n": 1}, event="tick", id="mine", retry=500))
    await channel.publish("r", {"data": "x\ny", "event": "chat"})
    await channel.publish("r", "plain")
    events = [await pending, *await take(sub, 2)]
    # the channel's ids replace the publisher's; data that is not text is JSON
    assert [e.encode() for e in events] == [
        b'event: tick\nid: 1\nretry: 500\ndata: {"n": 1}\n\n',
        b"event: chat\nid: 2\ndata: x\ndata: y\n\n",
        b"id: 3\ndata: plain\n\n",
    ]
    await sub.aclose()


async def test_bad_events_are_refused_at_publish() -> None:
    channel = Broadcast()
    with pytest.raises(ValueError):
        await channel.publish("r", ServerSentEvent("x", event="two\nlines"))
    with pytest.raises(TypeError):
        await channel.publish("r", {"data": "x", "colour": "red"})
    assert await channel.publish("r", "fine") == "1"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown broadcast URL"):
        Broadcast("kafka://localhost")
    with pytest.raises(ValueError):
        Broadcast(history=0)


@guarded()
async def test_last_event_id_replays_what_was_missed_then_goes_live() -> None:
    channel = Broadcast()
    for n in range(1, 6):
        await channel.publish("r", f"m{n}")
    sub = channel.subscribe("r", last_event_id="3")
    assert [e.data for e in await take(sub, 2)] == ["m4", "m5"]
    pending = asyncio.create_task(anext(sub))
    await asyncio.sleep(0.01)
    assert not pending.done()
    await channel.publish("r", "m6")
    assert (await pending).id == "6"
    await sub.aclose()


@guarded()
async def test_without_last_event_id_only_live_events_come() -> None:
    channel = Broadcast()
    await channel.publish("r", "old")
    sub = channel.subscribe("r")
    pending = await started(channel, "r", sub)
    await channel.publish("r", "new")
    assert (await pending).data == "new"
    await sub.aclose()


@guarded()
async def test_the_replay_buffer_keeps_only_the_latest_events() -> None:
    channel = Broadcast(history=3)
    for n in range(1, 8):
        await channel.publish("r", f"m{n}")
    sub = channel.subscribe("r", last_event_id="0")
    assert [e.id for e in await take(sub, 3)] == ["5", "6", "7"]
    await sub.aclose()


@guarded()
@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "1-0", " 2", "9" * 40, "", "2\n"])
async def test_a_last_event_id_it_did_not_give_is_ignored(bad: str) -> None:
    channel = Broadcast()
    await channel.publish("r", "old")
    sub = channel.subscribe("r", last_event_id=bad)
    pending = await started(channel, "r", sub)
    await channel.publish("r", "new")
    assert (await pending).data == "new"
    await sub.aclose()


@guarded()
async def test_a_slow_subscriber_is_ended_and_replays_on_reconnect() -> None:
    channel = Broadcast(queue_size=2)
    slow = channel.subscribe("r")
    pending = await started(channel, "r", slow)
    for n in range(1, 6):
        await channel.publish("r", f"m{n}")
    got = [await pending]
    got += [e async for e in slow]  # what it had queued, then the end
    assert [e.id for e in got] == ["1", "2"]
    assert channel.local_subscribers("r") == 0
    again = channel.subscribe("r", last_event_id=got[-1].id)
    assert [e.id for e in await take(again, 3)] == ["3", "4", "5"]
    await again.aclose()


@guarded()
async def test_close_ends_the_subscriptions() -> None:
    channel = Broadcast()
    sub = channel.subscribe("r")
    pending = await started(channel, "r", sub)
    await channel.close()
    with pytest.raises(StopAsyncIteration):
        await pending
    assert channel.local_subscribers("r") == 0


# -- through an app ------------------------------------------------------------------


def chat_app(app: Flask, channel: Broadcast) -> None:
    channel.init_app(app)

    @app.post("/say")
    async def say() -> Any:
        return {"id": await channel.publish("chat", (await request.form)["text"])}

    @app.get("/events")
    async def events() -> Any:
        last = request.headers.get("Last-Event-ID")
        return EventStream(channel.subscribe("chat", last_event_id=last), ping=15)


async def wait_for_subscribers(channel: Broadcast, n: int) -> None:
    for _ in range(400):
        if channel.local_subscribers("chat") == n:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{channel.local_subscribers('chat')} subscribers, not {n}")


@guarded()
async def test_an_event_stream_of_a_room(app: Flask, client: TestClient) -> None:
    channel = Broadcast()
    chat_app(app, channel)
    async with client.stream("GET", "/events") as r1, client.stream("GET", "/events") as r2:
        assert r1.status_code == 200
        assert r1.headers["content-type"].startswith("text/event-stream")
        await wait_for_subscribers(channel, 2)
        assert (await client.post("/say", data={"text": "hi"})).get_json() == {"id": "1"}
        for r in (r1, r2):
            assert await asyncio.wait_for(EventReader(r).next_event(), 2) == Event("hi", id="1")
    # the client went away: the generators closed and unsubscribed
    await wait_for_subscribers(channel, 0)


@guarded()
async def test_a_reconnect_with_last_event_id_gets_the_missed_events(
    app: Flask, client: TestClient
) -> None:
    channel = Broadcast()
    chat_app(app, channel)
    for text in ("one", "two", "three"):
        await client.post("/say", data={"text": text})
    async with client.stream("GET", "/events", headers={"Last-Event-ID": "1"}) as r:
        reader = EventReader(r)
        assert [await asyncio.wait_for(reader.next_event(), 2) for _ in range(2)] == [
            Event("two", id="2"),
            Event("three", id="3"),
        ]
        await client.post("/say", data={"text": "four"})
        assert await asyncio.wait_for(reader.next_event(), 2) == Event("four", id="4")


@guarded()
@pytest.mark.parametrize("bad", ["nonsense", "1" * 5000, "-3", "\u00e9"])
async def test_a_bad_last_event_id_header_is_not_an_error(
    app: Flask, client: TestClient, bad: str
) -> None:
    channel = Broadcast()
    chat_app(app, channel)
    await client.post("/say", data={"text": "before"})
    headers = {"Last-Event-ID": bad.encode()}
    async with client.stream("GET", "/events", headers=headers) as r:
        assert r.status_code == 200
        await wait_for_subscribers(channel, 1)
        await client.post("/say", data={"text": "after"})
        assert await asyncio.wait_for(EventReader(r).next_event(), 2) == Event("after", id="2")


async def test_publishing_needs_the_form_field(app: Flask, client: TestClient) -> None:
    chat_app(app, Broadcast())
    assert (await client.post("/say", data={})).status_code == 400


async def test_after_serving_closes_the_channel(app: Flask) -> None:
    channel = Broadcast()
    chat_app(app, channel)
    ended = asyncio.Event()

    async def watch() -> None:
        async for _ in channel.subscribe("chat"):
            pass
        ended.set()

    async with app.test_client():
        task = asyncio.create_task(watch())
        await wait_for_subscribers(channel, 1)
    await asyncio.wait_for(ended.wait(), 2)
    await task
