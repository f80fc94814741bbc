"""The benchmark apps: the same endpoints written for each framework.

Each module ``bench.apps.<framework>_app`` exposes ``app`` (the scenario
endpoints) and ``routes_app()``, a factory for the route-table app whose size
is read from ``$BENCH_ROUTES``. What lives here is framework-free data and
helpers shared by all of them, so every app does the same work.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator

#: ``asyncflask+speedups`` is asyncflask with the ``speedups`` extra's JSON
#: provider (``bench/apps/asyncflask_speedups_app.py``).
FRAMEWORKS = (
    "asyncflask",
    "asyncflask+speedups",
    "starlette",
    "quart",
    "blacksheep",
    "litestar",
    "raw",
)

PLAINTEXT = b"Hello, World!"
CHUNK_SIZE = 64 * 1024
#: The download body is this chunk repeated (the last one cut short).
CHUNK = bytes(range(256)) * (CHUNK_SIZE // 256)


def app_module(framework: str) -> str:
    """The module of ``framework``'s bench app."""
    return f"bench.apps.{framework.replace('+', '_')}_app"


async def download_chunks(size: int) -> AsyncIterator[bytes]:
    """``size`` bytes as 64 KiB chunks."""
    full, rest = divmod(size, CHUNK_SIZE)
    for _ in range(full):
        yield CHUNK
    if rest:
        yield CHUNK[:rest]


def sse_event(i: int) -> bytes:
    """The ``i``-th server-sent event."""
    return b"data: event %d\n\n" % i


async def sse_events(count: int) -> AsyncIterator[bytes]:
    """``count`` events, produced as fast as the server takes them."""
    for i in range(count):
        yield sse_event(i)


def route_count() -> int:
    """How many rules the route-table app has (``$BENCH_ROUTES``)."""
    return int(os.environ.get("BENCH_ROUTES", "10"))


def route_body(i: int, item_id: int) -> bytes:
    """What rule ``i`` of the route table answers."""
    return b"route %d item %d" % (i, item_id)


def upload_path() -> str:
    """A fresh path in ``$BENCH_UPLOAD_DIR`` to save an upload to."""
    directory = os.environ.get("BENCH_UPLOAD_DIR") or "/tmp"
    return os.path.join(directory, f"upload-{uuid.uuid4().hex}.bin")


def saved_file_summary(path: str, digest: bool) -> dict[str, object]:
    """Size (and, when checking, the MD5) of a saved upload, which is then
    deleted so runs do not fill the disk."""
    try:
        result: dict[str, object] = {"size": os.path.getsize(path)}
        if digest:
            with open(path, "rb") as f:
                result["md5"] = hashlib.file_digest(f, "md5").hexdigest()
        return result
    finally:
        os.remove(path)
