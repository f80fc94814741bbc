"""Server-sent events: ``ServerSentEvent`` and the ``EventStream`` response."""

from __future__ import annotations

import json
import re
import typing as t
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass

from .globals import _cv_ctx
from .response import StreamingResponse
from .typing import HeadersValue

__all__ = ["EventStream", "ServerSentEvent"]


@dataclass
class ServerSentEvent:
    """One event of an ``text/event-stream``.

    ``data`` may be text (several lines become several ``data:`` lines) or
    anything JSON can encode; ``comment`` gives ``:`` lines that clients
    ignore.
    """

    data: t.Any = None
    event: str | None = None
    id: str | int | None = None
    retry: int | None = None
    comment: str | None = None

    def encode(self) -> bytes:
        """The event in the wire format, ending with a blank line."""
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(f": {line}" for line in _LINES.split(self.comment))
        if self.event is not None:
            lines.append(f"event: {_one_line(self.event, 'event')}")
        if self.id is not None:
            lines.append(f"id: {_one_line(str(self.id), 'id')}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        if self.data is not None:
            data = self.data
            if not isinstance(data, str):
                ctx = _cv_ctx.get(None)
                data = ctx.app.json.dumps(data) if ctx is not None else json.dumps(data)
            lines.extend(f"data: {line}" for line in _LINES.split(data))
        return ("\n".join(lines) + "\n\n").encode()


_LINES = re.compile(r"\r\n|\r|\n")


def _one_line(value: str, field: str) -> str:
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError(f"An event's {field} cannot contain a newline or NUL.")
    return value


EventItem = ServerSentEvent | dict[str, t.Any] | str | bytes


def _encode(item: EventItem) -> bytes:
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, dict):
        return ServerSentEvent(**item).encode()
    if isinstance(item, str):
        return item.encode() if item.endswith("\n\n") else ServerSentEvent(item).encode()
    return bytes(item)


class EventStream(StreamingResponse):
    """A ``text/event-stream`` response from a sync or async generator of
    :class:`ServerSentEvent`, dicts (its fields) or strings (a string that
    already ends with a blank line is sent as it is, any other becomes an
    event's data).

    A keep-alive comment is sent after ``ping`` seconds without an event
    (``None`` turns it off). ``Last-Event-ID`` is in
    ``request.headers.get("Last-Event-ID")``.
    """

    default_mimetype = "text/event-stream"

    def __init__(
        self,
        events: Iterable[EventItem] | AsyncIterable[EventItem],
        ping: float | None = 15,
        status: int | str | None = None,
        headers: HeadersValue | None = None,
    ) -> None:
        super().__init__(t.cast(AsyncIterable[bytes], events), status, headers)
        self.headers.setdefault("Cache-Control", "no-cache")
        self.headers.setdefault("X-Accel-Buffering", "no")
        if ping is not None:
            self.keepalive = (ping, b": ping\n\n")

    def encode_chunk(self, item: t.Any) -> bytes:
        """Encode one event (a ``ServerSentEvent``, dict or string)."""
        return _encode(item)
