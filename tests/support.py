"""Helpers shared by the test modules."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

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
