"""Subscribing with the id of an event just published: that event and the
ones before it are not repeated, even when the room's Redis reader hands
them over after the subscription took its place; an id the channel has not
given yet (a process that restarted counts again from 1) is still ignored."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from asyncflask import Broadcast
from tests.debian import ensure_program
from tests.support import guarded
from tests.websocket.test_broadcast_redis import RedisServer


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = ensure_program("redis-server", "redis-server")
    redis = RedisServer(binary, tmp_path_factory.mktemp("resume-redis"))
    redis.start()
    try:
        yield redis.url
    finally:
        redis.kill()


@guarded(30)
async def test_resuming_at_a_fresh_id_repeats_nothing_over_redis(redis_url: str) -> None:
    import redis

    prefix = f"test:{uuid.uuid4().hex}:"
    channel = Broadcast(redis_url, prefix=prefix)
    first = channel.subscribe("r")  # the room's reader follows the stream
    following = asyncio.create_task(anext(first))
    await asyncio.sleep(0.2)
    await channel.publish("r", "start")
    await asyncio.wait_for(following, 5)
    plain = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for n in range(5):
            # published while the event loop is held: the reader can only
            # hand the marker over once the new subscription is in place
            marker = str(plain.xadd(prefix + "r", {"event": json.dumps({"data": f"m{n}"})}))
            sub = channel.subscribe("r", last_event_id=marker)
            pending = asyncio.create_task(anext(sub))
            assert (await asyncio.wait_for(anext(first), 5)).id == marker
            sent = await channel.publish("r", f"after {n}")
            event = await asyncio.wait_for(pending, 5)
            assert (event.id, event.data) == (sent, f"after {n}")
            assert (await asyncio.wait_for(anext(first), 5)).id == sent
            await sub.aclose()
    finally:
        plain.close()
        await first.aclose()
        await channel.close()


@guarded(30)
async def test_an_id_far_ahead_of_the_clock_is_ignored_over_redis(redis_url: str) -> None:
    channel = Broadcast(redis_url, prefix=f"test:{uuid.uuid4().hex}:")
    await channel.publish("r", "old")
    ahead = f"{int(time.time() * 1000) + 3_600_000}-0"
    sub = channel.subscribe("r", last_event_id=ahead)
    pending = asyncio.create_task(anext(sub))
    await asyncio.sleep(0.3)
    await channel.publish("r", "new")
    assert (await asyncio.wait_for(pending, 5)).data == "new"
    await sub.aclose()
    await channel.close()


@guarded()
async def test_an_id_not_given_yet_is_ignored_in_memory() -> None:
    channel = Broadcast()
    await channel.publish("r", "one")  # id 1: the client had seen 57 before a restart
    sub = channel.subscribe("r", last_event_id="57")
    pending = asyncio.create_task(anext(sub))
    await asyncio.sleep(0.01)
    await channel.publish("r", "two")
    event = await asyncio.wait_for(pending, 5)
    assert (event.id, event.data) == ("2", "two")
    await sub.aclose()


@guarded()
async def test_resuming_at_the_newest_id_in_memory_gives_what_follows() -> None:
    channel = Broadcast()
    marker = await channel.publish("r", "marker")
    sub = channel.subscribe("r", last_event_id=marker)
    pending = asyncio.create_task(anext(sub))
    await asyncio.sleep(0.01)
    await channel.publish("r", "next")
    assert (await asyncio.wait_for(pending, 5)).data == "next"
    await sub.aclose()
