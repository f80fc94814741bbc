"""The broadcast channel's Redis backend against a real redis-server on a
free loopback port: in process (two channels standing for two processes),
then two uvicorn workers sharing one Redis, a reconnect that replays, and a
Redis restart under open event streams."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from asyncflask import Broadcast, ServerSentEvent
from tests.debian import ensure_program
from tests.response.test_sse import EventReader
from tests.server import HOST, Server, free_port, run_server, wait_for_port
from tests.support import EXAMPLE, guarded

TIMEOUT = httpx.Timeout(10.0)


class RedisServer:
    """A redis-server without persistence, which a test may kill and start
    again on the same port."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        argv = [self.binary, "--bind", HOST, "--port", str(self.port)]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        with open(self.workdir / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        if not wait_for_port(HOST, self.port, 10, self.proc):
            self.kill()
            raise RuntimeError((self.workdir / "redis.log").read_text()[-2000:])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = ensure_program("redis-server", "redis-server")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def channels(redis_server: RedisServer) -> AsyncIterator[tuple[Broadcast, Broadcast]]:
    """Two channels on one Redis, as two workers would have, with keys of
    their own test."""
    prefix = f"test:{uuid.uuid4().hex}:"
    a = Broadcast(redis_server.url, history=5, prefix=prefix)
    b = Broadcast(redis_server.url, history=5, prefix=prefix)
    yield a, b
    await a.close()
    await b.close()


async def take(events: AsyncGenerator[ServerSentEvent], n: int) -> list[ServerSentEvent]:
    return [await asyncio.wait_for(anext(events), 5) for _ in range(n)]


# -- in process ------------------------------------------------------------------------


@guarded(20)
async def test_an_event_reaches_the_subscribers_of_both_channels(
    channels: tuple[Broadcast, Broadcast],
) -> None:
    a, b = channels
    # resuming after a marker, the subscriptions miss nothing published after it
    marker = await a.publish("room", "start")
    subs = [a.subscribe("room", marker), b.subscribe("room", marker), b.subscribe("room", marker)]
    sent = [await a.publish("room", {"data": {"n": 1}, "event": "chat"})]
    sent.append(await b.publish("room", "2"))
    for sub in subs:
        got = await take(sub, 2)
        assert [e.id for e in got] == sent
        assert got[0].encode() == f'event: chat\nid: {sent[0]}\ndata: {{"n": 1}}\n\n'.encode()
        assert got[1].data == "2"
    assert a.local_subscribers("room") == 1
    assert b.local_subscribers("room") == 2
    for sub in subs:
        await sub.aclose()
    assert a.local_subscribers("room") == b.local_subscribers("room") == 0


@guarded(20)
async def test_ids_grow_and_a_reconnect_replays_from_the_bounded_buffer(
    channels: tuple[Broadcast, Broadcast],
) -> None:
    a, b = channels
    ids = [await a.publish("r", f"m{n}") for n in range(8)]
    keys = [tuple(int(part) for part in i.split("-")) for i in ids]
    assert keys == sorted(keys) and len(set(keys)) == 8
    # history=5: the three oldest are gone
    sub = b.subscribe("r", last_event_id="0-0")
    assert [e.data for e in await take(sub, 5)] == ["m3", "m4", "m5", "m6", "m7"]
    await sub.aclose()
    sub = b.subscribe("r", last_event_id=ids[5])
    assert [e.data for e in await take(sub, 2)] == ["m6", "m7"]
    pending = asyncio.create_task(anext(sub))
    await asyncio.sleep(0.2)
    assert not pending.done()
    new = await a.publish("r", "live")
    assert (await asyncio.wait_for(pending, 5)).id == new
    await sub.aclose()


@guarded(20)
@pytest.mark.parametrize(
    "bad", ["abc", "1-2-3", "-1", "1", f"{2**64}-0", "1-" + "9" * 30, "1 -0", ""]
)
async def test_a_last_event_id_redis_did_not_give_is_ignored(
    channels: tuple[Broadcast, Broadcast], bad: str
) -> None:
    a, b = channels
    await a.publish("r", "old")
    sub = b.subscribe("r", last_event_id=bad)
    pending = asyncio.create_task(anext(sub))
    await asyncio.sleep(0.3)  # time to subscribe: "old" is not replayed
    await a.publish("r", "new")
    assert (await asyncio.wait_for(pending, 5)).data == "new"
    await sub.aclose()


@guarded(20)
async def test_closing_the_channel_ends_its_subscriptions(
    channels: tuple[Broadcast, Broadcast],
) -> None:
    a, _ = channels
    marker = await a.publish("r", "start")
    sub = a.subscribe("r", last_event_id="0-0")
    assert (await take(sub, 1))[0].id == marker
    await a.close()
    assert [e async for e in sub] == []
    assert a.local_subscribers("r") == 0


@guarded(20)
async def test_publishing_without_redis_is_a_connection_error() -> None:
    channel = Broadcast(f"redis://{HOST}:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(ConnectionError):
        await channel.publish("r", "nobody listens")
    assert time.monotonic() - started < 5
    await channel.close()


@guarded(20)
async def test_resp3_replies_are_read_too(redis_server: RedisServer) -> None:
    channel = Broadcast(redis_server.url + "?protocol=3", prefix=f"test:{uuid.uuid4().hex}:")
    marker = await channel.publish("r", "start")
    sub = channel.subscribe("r", last_event_id=marker)
    pending = asyncio.create_task(anext(sub))
    await asyncio.sleep(0.2)
    sent = await channel.publish("r", "over resp3")
    event = await asyncio.wait_for(pending, 5)
    assert (event.id, event.data) == (sent, "over resp3")
    await sub.aclose()
    await channel.close()


@guarded(20)
async def test_an_entry_written_by_someone_else_passes_as_a_comment(
    redis_server: RedisServer,
) -> None:
    import redis.asyncio

    prefix = f"test:{uuid.uuid4().hex}:"
    channel = Broadcast(redis_server.url, prefix=prefix)
    marker = await channel.publish("r", "start")
    client = redis.asyncio.from_url(redis_server.url, decode_responses=True)
    foreign = await client.xadd(prefix + "r", {"something": "else"})
    await client.xadd(prefix + "r", {"event": "not json"})
    await client.aclose()
    sub = channel.subscribe("r", last_event_id=marker)
    got = await take(sub, 2)
    assert got[0].encode() == f": unreadable event\nid: {foreign}\n\n".encode()
    assert got[1].comment == "unreadable event"
    await sub.aclose()
    await channel.close()


@guarded(20)
async def test_a_room_whose_key_is_not_a_stream_ends_its_subscribers(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    import redis.asyncio

    prefix = f"test:{uuid.uuid4().hex}:"
    client = redis.asyncio.from_url(redis_server.url, decode_responses=True)
    await client.set(prefix + "r", "a string, not a stream")
    await client.aclose()
    channel = Broadcast(redis_server.url, prefix=prefix)
    sub = channel.subscribe("r")
    assert [e async for e in sub] == []
    assert channel.local_subscribers("r") == 0
    assert "Cannot follow the broadcast room 'r'" in caplog.text
    await channel.close()


@guarded(30)
async def test_a_subscriber_waits_for_redis_and_gets_what_follows(tmp_path: Path) -> None:
    binary = ensure_program("redis-server", "redis-server")
    own = RedisServer(binary, tmp_path)
    channel = Broadcast(own.url)
    sub = channel.subscribe("r")
    pending = asyncio.create_task(anext(sub))  # Redis is not there yet
    await asyncio.sleep(0.5)
    assert not pending.done()
    own.start()
    try:
        for _ in range(100):
            with contextlib.suppress(ConnectionError):
                await channel.publish("r", "first")
                break
            await asyncio.sleep(0.05)
        # the subscription took its place once Redis answered: what it
        # publishes from then on arrives
        for n in range(100):
            if pending.done():
                break
            await channel.publish("r", f"again {n}")
            await asyncio.sleep(0.05)
        assert (await asyncio.wait_for(pending, 5)).data.startswith(("first", "again"))
        await sub.aclose()
    finally:
        await channel.close()
        own.kill()


# -- two uvicorn workers ------------------------------------------------------------------

APP = """
import os

from asyncflask import Broadcast, EventStream, Flask, request

app = Flask(__name__)
channel = Broadcast(os.environ["BROADCAST_URL"], history=50, prefix=os.environ["PREFIX"])
channel.init_app(app)


@app.post("/say")
async def say():
    text = (await request.form)["text"]
    try:
        event_id = await channel.publish("chat", {"data": text, "event": "chat"})
    except ConnectionError:
        return {"error": "the channel is unavailable"}, 503
    return {"id": event_id, "pid": os.getpid()}


@app.get("/events")
async def events():
    last = request.headers.get("Last-Event-ID")
    stream = channel.subscribe("chat", last_event_id=last)
    return EventStream(stream, ping=1, headers={"X-Pid": str(os.getpid())})
"""


@pytest.fixture(scope="module")
def workers(redis_server: RedisServer) -> Iterator[Server]:
    env = {"BROADCAST_URL": redis_server.url, "PREFIX": f"test:{uuid.uuid4().hex}:"}
    with run_server(APP, env=env, cli_args=["--workers", "2"], startup_timeout=30) as server:
        yield server


@pytest.fixture
async def http(workers: Server) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=workers.url, timeout=TIMEOUT, limits=limits) as client:
        yield client


class Stream:
    def __init__(self, response: httpx.Response) -> None:
        self.pid = int(response.headers["x-pid"])
        self.reader = EventReader(response)

    async def next_data(self) -> str:
        return (await asyncio.wait_for(self.reader.next_event(), 15)).data


async def say(http: httpx.AsyncClient, text: str) -> dict[str, Any]:
    r = await http.post("/say", data={"text": text})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@contextlib.asynccontextmanager
async def streams_on_both_workers(
    http: httpx.AsyncClient, after: str
) -> AsyncIterator[list[Stream]]:
    """Event streams (each on its own connection, resuming after ``after``)
    until both workers serve at least one."""
    async with contextlib.AsyncExitStack() as stack:
        streams: list[Stream] = []
        for _ in range(40):
            headers = {"Last-Event-ID": after}
            r = await stack.enter_async_context(http.stream("GET", "/events", headers=headers))
            assert r.status_code == 200
            streams.append(Stream(r))
            if len({s.pid for s in streams}) == 2:
                break
        assert len({s.pid for s in streams}) == 2, "every stream went to one worker"
        yield streams


def count_connections(port: int, seconds: float) -> int:
    """Listen on ``port`` for ``seconds``, closing each connection at once;
    how many came."""
    count = 0
    with socket.create_server((HOST, port), reuse_port=False) as listener:
        listener.settimeout(0.05)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.close()
            count += 1
    return count


@guarded(60)
async def test_an_event_published_through_one_worker_reaches_both(
    http: httpx.AsyncClient,
) -> None:
    start = await say(http, "start")
    async with streams_on_both_workers(http, start["id"]) as streams:
        publishers: set[int] = set()
        for n in range(20):
            sent = await say(http, f"hello {n}")
            publishers.add(sent["pid"])
            for stream in streams:
                assert await stream.next_data() == f"hello {n}"
            if len(publishers) == 2 and n >= 1:
                break
        assert len(publishers) == 2, "every publish went to one worker"


@guarded(60)
async def test_a_reconnect_with_last_event_id_resumes_on_any_worker(
    http: httpx.AsyncClient,
) -> None:
    first = await say(http, "first")
    async with http.stream("GET", "/events", headers={"Last-Event-ID": first["id"]}) as r:
        stream = Stream(r)
        second = await say(http, "second")
        assert await stream.next_data() == "second"
    # gone; three more events, then back with the id it had last
    for text in ("third", "fourth", "fifth"):
        await say(http, text)
    async with streams_on_both_workers(http, second["id"]) as streams:
        for stream in streams:
            assert [await stream.next_data() for _ in range(3)] == ["third", "fourth", "fifth"]


@guarded(90)
async def test_open_streams_survive_a_redis_restart(
    http: httpx.AsyncClient, redis_server: RedisServer, workers: Server
) -> None:
    start = await say(http, "start")
    async with streams_on_both_workers(http, start["id"]) as streams:
        await say(http, "before")
        for stream in streams:
            assert await stream.next_data() == "before"
        redis_server.kill()
        try:
            r = await http.post("/say", data={"text": "lost"})
            assert r.status_code == 503
            # no busy loop while Redis is away: a listener that hangs up at
            # once counts how often the workers try again in two seconds
            attempts = await asyncio.to_thread(count_connections, redis_server.port, 2.0)
            assert 1 <= attempts <= 50
        finally:
            redis_server.start()
        for _ in range(100):
            r = await http.post("/say", data={"text": "after"})
            if r.status_code == 200:
                break
            assert r.status_code == 503
            await asyncio.sleep(0.1)
        assert r.status_code == 200
        for stream in streams:
            assert await stream.next_data() == "after"
    assert "Traceback" not in workers.stderr
    assert "unreachable" in workers.stderr


@guarded(60)
async def test_the_example_chat_over_redis_with_two_workers(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    env = {"BROADCAST_URL": redis_server.url, "UPLOAD_FOLDER": str(tmp_path)}
    limits = httpx.Limits(max_keepalive_connections=0)
    json = {"Accept": "application/json"}
    with run_server(app_path=EXAMPLE, env=env, cli_args=["--workers", "2"]) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT, limits=limits) as http:
            r = await http.post("/chat", data={"name": "Ada", "text": "marker"}, headers=json)
            marker = r.json()["id"]
            async with contextlib.AsyncExitStack() as stack:
                readers = []
                for _ in range(6):
                    stream = http.stream("GET", "/chat/events", headers={"Last-Event-ID": marker})
                    readers.append(EventReader(await stack.enter_async_context(stream)))
                r = await http.post("/chat", data={"name": "Ada", "text": "hi all"}, headers=json)
                assert r.status_code == 200
                for reader in readers:
                    event = await asyncio.wait_for(reader.next_event(), 15)
                    assert (event.event, event.id) == ("chat", r.json()["id"])
                    assert event.data == '{"name": "Ada", "text": "hi all"}'
    assert "Traceback" not in server.stderr
