"""A broadcast channel for server-sent events: ``Broadcast(url)``.

Events published to a room reach every subscriber of that room, in this
process (``memory://``) or in every worker and machine that shares a Redis
(``redis://host:port/db``). Each event gets an id that grows within its room,
and the last ``history`` events of a room are kept, so a client that
reconnects with ``Last-Event-ID`` gets what it missed, then the live ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import time
import typing as t
from collections import deque
from collections.abc import AsyncGenerator

from .globals import _cv_ctx
from .sse import ServerSentEvent

__all__ = ["Broadcast"]

logger = logging.getLogger("asyncflask.broadcast")

#: What ``publish`` takes: an event, a dict of its fields, or its data.
Publishable = ServerSentEvent | dict[str, t.Any] | str

#: A parsed event id, comparable within one room.
_Key = tuple[int, int]

#: Seconds between reconnection attempts to Redis: doubled up to the cap.
RETRY_FIRST = 0.1
RETRY_CAP = 2.0
#: How long one blocking read waits for new events, in milliseconds.
BLOCK_MS = 5000
#: How far ahead of this machine's clock Redis's may be, in milliseconds.
CLOCK_SKEW_MS = 60_000


def _fields(event: Publishable) -> dict[str, t.Any]:
    """The event's fields with its data as text (JSON for anything but a
    string, through the app's JSON provider when there is an app)."""
    if isinstance(event, str):
        event = ServerSentEvent(event)
    elif isinstance(event, dict):
        event = ServerSentEvent(**event)
    event.encode()  # a newline in the event name raises here, not in a subscriber
    fields = {k: v for k, v in dataclasses.asdict(event).items() if v is not None and k != "id"}
    data = fields.get("data")
    if data is not None and not isinstance(data, str):
        ctx = _cv_ctx.get(None)
        fields["data"] = ctx.app.json.dumps(data) if ctx is not None else json.dumps(data)
    return fields


class _Subscriber:
    """One subscription's queue of ``(key, event)``; it ends when it falls
    more than ``maxsize`` events behind, or when the channel closes."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.items: deque[tuple[_Key, ServerSentEvent]] = deque()
        self.ended = False
        self._wake = asyncio.Event()

    def push(self, key: _Key, event: ServerSentEvent) -> None:
        if self.ended:
            return
        if len(self.items) >= self.maxsize:
            self.ended = True  # the client reconnects and replays what it missed
        else:
            self.items.append((key, event))
        self._wake.set()

    def end(self) -> None:
        self.ended = True
        self._wake.set()

    async def get(self) -> tuple[_Key, ServerSentEvent] | None:
        while not self.items:
            if self.ended:
                return None
            self._wake.clear()
            await self._wake.wait()
        return self.items.popleft()


class _Backend(t.Protocol):
    async def publish(self, room: str, fields: dict[str, t.Any]) -> str: ...
    def parse_id(self, text: str) -> _Key | None: ...
    def issued(self, room: str, key: _Key) -> bool: ...
    def register(self, room: str, sub: _Subscriber) -> None: ...
    def unregister(self, room: str, sub: _Subscriber) -> None: ...
    def local_subscribers(self, room: str) -> int: ...
    async def ready(self, room: str) -> None: ...
    async def replay(self, room: str, after: _Key) -> list[tuple[_Key, ServerSentEvent]]: ...
    async def close(self) -> None: ...


class Broadcast:
    """A channel of rooms: ``await channel.publish(room, event)`` sends an
    event to every ``channel.subscribe(room)`` of every process that uses
    the same ``url``.

    - ``url``: ``"memory://"`` (one process, the default) or
      ``"redis://host:port/db"`` (needs the ``redis`` package:
      ``pip install asyncflask[redis]``).
    - ``history``: how many of a room's latest events are kept for clients
      that reconnect with ``Last-Event-ID``.
    - ``queue_size``: how far a subscriber may fall behind before its stream
      ends (its client reconnects and replays what it missed).
    - ``prefix``: the Redis keys' prefix (one stream per room).
    """

    def __init__(
        self,
        url: str = "memory://",
        *,
        history: int = 100,
        queue_size: int = 1000,
        prefix: str = "asyncflask:broadcast:",
    ) -> None:
        if history < 1 or queue_size < 1:
            raise ValueError("history and queue_size must be at least 1")
        self.url = url
        self.history = history
        self.queue_size = queue_size
        scheme = url.partition("://")[0]
        self._backend: _Backend
        if scheme == "memory":
            self._backend = _Memory(history)
        elif scheme in ("redis", "rediss", "unix"):
            self._backend = _Redis(url, history, prefix)
        else:
            raise ValueError(f"unknown broadcast URL {url!r}: use memory:// or redis://")

    def init_app(self, app: t.Any) -> None:
        """Close the channel when ``app`` stops serving (``after_serving``)."""
        app.after_serving(self.close)

    async def publish(self, room: str, event: Publishable) -> str:
        """Send ``event`` (a :class:`ServerSentEvent`, a dict of its fields,
        or a string of data) to the room's subscribers and keep it for
        replay. The channel sets the event's id; it is returned. Raises
        :class:`ConnectionError` when Redis cannot be reached."""
        return await self._backend.publish(room, _fields(event))

    async def subscribe(
        self, room: str, last_event_id: str | None = None
    ) -> AsyncGenerator[ServerSentEvent]:
        """The room's events as they are published: first those after
        ``last_event_id`` that are still kept (an id this channel did not
        give is ignored), then live ones. Give it to ``EventStream``; closing
        the generator (the client went away) unsubscribes."""
        backend = self._backend
        sub = _Subscriber(self.queue_size)
        backend.register(room, sub)
        try:
            await backend.ready(room)
            last: _Key | None = None
            after = backend.parse_id(last_event_id) if last_event_id else None
            if after is not None and backend.issued(room, after):
                # what the room's reader hands over late is not repeated
                last = after
                for key, event in await backend.replay(room, after):
                    last = key
                    yield event
            while (item := await sub.get()) is not None:
                key, event = item
                if last is None or key > last:
                    yield event
        finally:
            backend.unregister(room, sub)

    def local_subscribers(self, room: str) -> int:
        """How many subscribers the room has in this process."""
        return self._backend.local_subscribers(room)

    async def close(self) -> None:
        """End this process's subscriptions and close the connections."""
        await self._backend.close()


_DIGITS = re.compile(r"[0-9]{1,19}")


class _Memory:
    """Rooms in this process: a counter and the last events of each."""

    def __init__(self, history: int) -> None:
        self.history = history
        self.counters: dict[str, int] = {}
        self.kept: dict[str, deque[tuple[_Key, ServerSentEvent]]] = {}
        self.subscribers: dict[str, set[_Subscriber]] = {}

    async def publish(self, room: str, fields: dict[str, t.Any]) -> str:
        n = self.counters.get(room, 0) + 1
        self.counters[room] = n
        event = ServerSentEvent(id=str(n), **fields)
        key = (n, 0)
        self.kept.setdefault(room, deque(maxlen=self.history)).append((key, event))
        for sub in list(self.subscribers.get(room, ())):
            sub.push(key, event)
        return str(n)

    def parse_id(self, text: str) -> _Key | None:
        return (int(text), 0) if _DIGITS.fullmatch(text) else None

    def issued(self, room: str, key: _Key) -> bool:
        # a process that restarted counts from 1 again
        return key[0] <= self.counters.get(room, 0)

    def register(self, room: str, sub: _Subscriber) -> None:
        self.subscribers.setdefault(room, set()).add(sub)

    def unregister(self, room: str, sub: _Subscriber) -> None:
        subs = self.subscribers.get(room)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.subscribers[room]

    def local_subscribers(self, room: str) -> int:
        return len(self.subscribers.get(room, ()))

    async def ready(self, room: str) -> None:
        return None

    async def replay(self, room: str, after: _Key) -> list[tuple[_Key, ServerSentEvent]]:
        return [(key, event) for key, event in self.kept.get(room, ()) if key > after]

    async def close(self) -> None:
        for subs in self.subscribers.values():
            for sub in subs:
                sub.end()


_STREAM_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")


def _stream_key(text: str) -> _Key:
    ms, _, seq = text.partition("-")
    return (int(ms), int(seq or 0))


class _Reader:
    """The task that follows one room's stream for this process."""

    def __init__(self) -> None:
        self.subscribers: set[_Subscriber] = set()
        self.ready = asyncio.Event()
        self.last: str | None = None
        self.task: asyncio.Task[None] | None = None


class _Redis:
    """Rooms as Redis streams: ``XADD`` with ``MAXLEN`` gives each event its
    id and keeps the last ``history``; one task per room and process follows
    the stream with a blocking ``XREAD`` and hands events to the local
    subscribers. Stream ids come from the server's clock, so they keep
    growing after a Redis restart that lost the streams."""

    def __init__(self, url: str, history: int, prefix: str) -> None:
        import redis.asyncio  # noqa: F401  (fail early when the extra is missing)

        self.url = url
        self.history = history
        self.prefix = prefix
        self.readers: dict[str, _Reader] = {}
        self._client: t.Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _redis(self) -> t.Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import redis.asyncio
            from redis.asyncio.retry import Retry
            from redis.backoff import ExponentialBackoff

            self._client = redis.asyncio.from_url(
                self.url,
                decode_responses=True,
                socket_connect_timeout=5,
                socket_timeout=BLOCK_MS / 1000 + 5,
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
            )
            self._loop = loop
            self.readers = {}
        return self._client

    async def publish(self, room: str, fields: dict[str, t.Any]) -> str:
        import redis.exceptions

        client = self._redis()
        try:
            event_id = await client.xadd(
                self.prefix + room,
                {"event": json.dumps(fields)},
                maxlen=self.history,
                approximate=False,
            )
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as e:
            raise ConnectionError(f"cannot publish to {room!r}: {e}") from e
        return str(event_id)

    def parse_id(self, text: str) -> _Key | None:
        match = _STREAM_ID.fullmatch(text)
        if match is None:
            return None
        key = (int(match[1]), int(match[2]))
        return key if max(key) < 2**64 else None

    def issued(self, room: str, key: _Key) -> bool:
        # ids are the Redis server's clock: none is far ahead of ours
        return key[0] <= time.time() * 1000 + CLOCK_SKEW_MS

    def register(self, room: str, sub: _Subscriber) -> None:
        self._redis()
        reader = self.readers.get(room)
        if reader is None:
            reader = self.readers[room] = _Reader()
            reader.task = asyncio.create_task(self._follow(room, reader))
        reader.subscribers.add(sub)

    def unregister(self, room: str, sub: _Subscriber) -> None:
        reader = self.readers.get(room)
        if reader is not None:
            reader.subscribers.discard(sub)
            if not reader.subscribers:
                del self.readers[room]
                if reader.task is not None:
                    reader.task.cancel()

    def local_subscribers(self, room: str) -> int:
        reader = self.readers.get(room)
        return len(reader.subscribers) if reader is not None else 0

    async def ready(self, room: str) -> None:
        reader = self.readers.get(room)
        if reader is not None:
            await reader.ready.wait()

    async def replay(self, room: str, after: _Key) -> list[tuple[_Key, ServerSentEvent]]:
        start = f"({after[0]}-{after[1]}"
        entries = await self._retrying(
            room, lambda: self._redis().xrange(self.prefix + room, min=start, count=self.history)
        )
        return [_decoded(entry) for entry in entries]

    async def _retrying(self, room: str, command: t.Callable[[], t.Awaitable[t.Any]]) -> t.Any:
        """Run ``command`` until Redis answers, waiting longer between tries."""
        import redis.exceptions

        delay = RETRY_FIRST
        failed = False
        while True:
            try:
                result = await command()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as e:
                if not failed:
                    logger.warning("Redis unreachable for room %r, retrying: %s", room, e)
                    failed = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_CAP)
                continue
            if failed:
                logger.info("Redis reachable again for room %r", room)
            return result

    async def _follow(self, room: str, reader: _Reader) -> None:
        try:
            await self._read_stream(room, reader)
        except Exception:
            # not a lost connection (say, the key holds something else):
            # end the subscriptions rather than leave them waiting
            logger.exception("Cannot follow the broadcast room %r", room)
            if self.readers.get(room) is reader:
                del self.readers[room]
            reader.ready.set()
            for sub in reader.subscribers:
                sub.end()

    async def _read_stream(self, room: str, reader: _Reader) -> None:
        key = self.prefix + room
        if reader.last is None:
            latest = await self._retrying(room, lambda: self._redis().xrevrange(key, count=1))
            reader.last = str(latest[0][0]) if latest else "0-0"
            reader.ready.set()
        while True:
            reply = await self._retrying(
                room,
                lambda: self._redis().xread({key: reader.last}, count=self.history, block=BLOCK_MS),
            )
            for entry in _entries(reply):
                reader.last = str(entry[0])
                event_key, event = _decoded(entry)
                for sub in list(reader.subscribers):
                    sub.push(event_key, event)

    async def close(self) -> None:
        readers, self.readers = self.readers, {}
        tasks = [r.task for r in readers.values() if r.task is not None]
        for reader in readers.values():
            for sub in reader.subscribers:
                sub.end()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()


def _entries(reply: t.Any) -> list[t.Any]:
    """The entries of an ``XREAD`` reply for one stream."""
    if isinstance(reply, dict):  # RESP3: {stream: [entries]}
        return [entry for value in reply.values() for entry in value[0]]
    return [entry for _, entries in reply or () for entry in entries]


def _decoded(entry: t.Any) -> tuple[_Key, ServerSentEvent]:
    event_id, values = str(entry[0]), entry[1]
    try:
        fields = json.loads(values["event"])
        event = ServerSentEvent(id=event_id, **fields)
    except (KeyError, TypeError, ValueError):
        # written by someone else: pass the id on, without a body
        event = ServerSentEvent(id=event_id, comment="unreadable event")
    return _stream_key(event_id), event
