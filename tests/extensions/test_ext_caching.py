"""Flask-Caching as its documentation sets it up, on ``async def`` views:
``@cache.cached`` and ``@cache.memoize`` store the view's value (not a
coroutine) and answer from the cache, until it is cleared or expires."""

from __future__ import annotations

import asyncio
import logging

import pytest
from flask_caching import Cache

from asyncflask import Flask, request


def make_app() -> tuple[Flask, Cache, list[str]]:
    app = Flask("cached")
    cache = Cache(app, config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300})
    calls: list[str] = []

    @app.get("/time")
    @cache.cached(timeout=50)
    async def time_view() -> str:
        await asyncio.sleep(0.001)
        calls.append("time")
        return f"computed {len(calls)}"

    @app.get("/search")
    @cache.cached(query_string=True)
    async def search() -> dict[str, str]:
        await asyncio.sleep(0)
        calls.append("search")
        return {"q": request.args.get("q", ""), "n": str(len(calls))}

    @cache.memoize(50)
    async def square(n: int) -> int:
        await asyncio.sleep(0)
        calls.append(f"square {n}")
        return n * n

    @app.get("/square/<int:n>")
    def square_view(n: int) -> dict[str, int]:
        return {"square": square(n)}

    @cache.memoize(50)
    def cube(n: int) -> int:
        calls.append(f"cube {n}")
        return n**3

    @app.get("/cube/<int:n>")
    async def cube_view(n: int) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"cube": cube(n)}

    @app.get("/square-from-async/<int:n>")
    async def square_from_async(n: int) -> dict[str, int]:
        return {"square": square(n)}

    return app, cache, calls


async def test_cached_view_answers_from_the_cache() -> None:
    app, cache, calls = make_app()
    async with app.test_client() as client:
        first = await client.get("/time")
        second = await client.get("/time")
        assert (first.status_code, first.text) == (200, "computed 1")
        assert second.text == "computed 1"
        assert calls == ["time"]
        with app.app_context():
            cache.clear()
        assert (await client.get("/time")).text == "computed 2"


async def test_cached_with_query_string() -> None:
    app, _, calls = make_app()
    async with app.test_client() as client:
        a = (await client.get("/search?q=a")).get_json()
        b = (await client.get("/search?q=b")).get_json()
        again = (await client.get("/search?q=a")).get_json()
    assert a == again == {"q": "a", "n": "1"}
    assert b == {"q": "b", "n": "2"}
    assert calls == ["search", "search"]


async def test_memoize() -> None:
    """``@cache.memoize`` stores a function's value per argument: a plain
    function called from an ``async def`` view, and an ``async def`` one
    called from a plain view (a worker thread, where the memoized wrapper
    gets the coroutine's value, as in Flask)."""
    app, _, calls = make_app()
    async with app.test_client() as client:
        for _ in range(2):
            assert (await client.get("/square/4")).get_json() == {"square": 16}
            assert (await client.get("/cube/3")).get_json() == {"cube": 27}
    assert calls == ["square 4", "cube 3"]


async def test_memoized_async_function_called_on_the_event_loop_is_a_clear_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The memoized wrapper is plain code: called from an ``async def`` view
    it cannot wait for the coroutine, and says so (a 500), never caching a
    coroutine."""
    app, _, calls = make_app()
    async with app.test_client() as client:
        with caplog.at_level(logging.ERROR):
            r = await client.get("/square-from-async/5")
    assert r.status_code == 500
    assert "square is async and had to wait" in caplog.text
    async with app.test_client() as client:
        assert (await client.get("/square/5")).get_json() == {"square": 25}
    assert calls == ["square 5"]
