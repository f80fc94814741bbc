"""Helpers shared by the test modules."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from asyncflask.typing import Scope

#: The example app that ``make run`` serves.
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "app.py"

#: The default bound on a streaming test, in seconds.
GUARD = 10.0


def guarded(seconds: float = GUARD) -> Callable[[Callable[..., Awaitable[None]]], Any]:
    """Bound a test coroutine with ``asyncio.wait_for``, so a stream that
    never ends fails the test instead of hanging the suite."""

    def decorator(fn: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> None:
            await asyncio.wait_for(fn(*args, **kwargs), seconds)

        return wrapper

    return decorator


def http_scope(
    path: str = "/",
    method: str = "GET",
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Scope:
    """An HTTP scope as uvicorn gives it (``Host: localhost`` by default)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers if headers is not None else [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
    }


#: URL-encoded strings (a query or a form body) that parse in unusual ways:
#: repeated and empty keys, escapes, a broken escape, non-ASCII bytes.
URLENCODED_EDGE_CASES = [
    b"",
    b"a=1&b=2&a=3",
    b"a&b=&=c&&d=1=2",
    b"x=%20y&z=+&w=a+b",
    b"q=caf\xc3\xa9",
    b"q=%C3%A9%ZZ",
    b"&&",
    b"=",
]
