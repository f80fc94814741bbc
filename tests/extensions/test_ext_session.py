"""Flask-Session on asyncflask, set up as its documentation shows: server-side
sessions in cachelib's ``FileSystemCache`` (the data on disk) and in a real
redis-server, only an id in the cookie, read and written by ``async def``
views through ``session``."""

from __future__ import annotations

import asyncio
import json
import typing as t
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cachelib.file import FileSystemCache
from flask_session import Session
from redis import Redis

from asyncflask import Flask, request, session
from tests.debian import ensure_program
from tests.websocket.test_broadcast_redis import RedisServer

#: What the backend holds for a session id, or None.
Stored = Callable[[str], t.Any]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(
        ensure_program("redis-server", "redis-server"), tmp_path_factory.mktemp("redis")
    )
    server.start()
    try:
        yield server.url
    finally:
        server.kill()


@pytest.fixture(params=["cachelib", "redis"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[dict[str, t.Any], Stored]]:
    """The settings of the backend and a way to read what it stores."""
    if request.param == "cachelib":
        directory = str(tmp_path / "sessions")
        settings = {
            "SESSION_TYPE": "cachelib",
            "SESSION_CACHELIB": FileSystemCache(threshold=500, cache_dir=directory),
        }
        # a fresh cache on the same directory reads what the app wrote to disk
        yield settings, lambda sid: FileSystemCache(directory).get(f"session:{sid}")
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"session:{uuid.uuid4().hex[:8]}:"
    settings = {"SESSION_TYPE": "redis", "SESSION_REDIS": client, "SESSION_KEY_PREFIX": prefix}

    def stored(sid: str) -> t.Any:
        raw = client.get(prefix + sid)
        return None if raw is None else json.loads(t.cast(bytes, raw))

    yield settings, stored
    client.close()


@pytest.fixture
def stored(backend: tuple[dict[str, t.Any], Stored]) -> Stored:
    return backend[1]


@pytest.fixture
def session_app(backend: tuple[dict[str, t.Any], Stored]) -> Flask:
    app = Flask("sessionapp")
    app.config.update(backend[0], SESSION_SERIALIZATION_FORMAT="json", SECRET_KEY="secret")
    Session(app)

    @app.post("/cart")
    async def add() -> t.Any:
        item = (await request.form)["item"]
        await asyncio.sleep(0)
        session["cart"] = [*session.get("cart", []), item]
        return {"cart": session["cart"]}

    @app.get("/cart")
    async def show() -> t.Any:
        return {"cart": session.get("cart", []), "sid_set": bool(session.sid)}

    @app.post("/logout")
    async def logout() -> t.Any:
        session.clear()
        return "bye"

    @app.post("/regenerate")
    async def regenerate() -> t.Any:
        app.session_interface.regenerate(session)  # type: ignore[attr-defined]
        return "new id"

    return app


async def test_the_session_lives_on_disk_and_the_cookie_holds_its_id(
    session_app: Flask, stored: Stored
) -> None:
    async with session_app.test_client() as client:
        r = await client.post("/cart", data={"item": "tea"})
        assert r.get_json() == {"cart": ["tea"]}
        sid = client.cookies.get("session")
        assert sid and "tea" not in sid
        assert "HttpOnly" in r.headers["Set-Cookie"]
        assert r.headers["Vary"] == "Cookie"
        r = await client.post("/cart", data={"item": "cake"})
        assert r.get_json() == {"cart": ["tea", "cake"]}
        assert client.cookies.get("session") == sid
        assert (await client.get("/cart")).get_json() == {"cart": ["tea", "cake"], "sid_set": True}
    assert stored(sid)["cart"] == ["tea", "cake"]
    # the same id from another client reads the same server-side data
    async with session_app.test_client() as other:
        other.cookies.set("session", sid)
        assert (await other.get("/cart")).get_json()["cart"] == ["tea", "cake"]


async def test_a_cookie_with_an_unknown_id_is_a_new_empty_session(session_app: Flask) -> None:
    async with session_app.test_client() as client:
        client.cookies.set("session", "made-up-id")
        r = await client.get("/cart")
        assert (r.status_code, r.get_json()["cart"]) == (200, [])


async def test_clearing_deletes_the_data_and_the_cookie(session_app: Flask, stored: Stored) -> None:
    async with session_app.test_client() as client:
        await client.post("/cart", data={"item": "tea"})
        sid = client.cookies.get("session")
        assert sid and stored(sid)
        r = await client.post("/logout")
        assert "session=;" in r.headers["Set-Cookie"]
        assert client.cookies.get("session") is None
        assert stored(sid) is None
        assert (await client.get("/cart")).get_json()["cart"] == []


async def test_regenerate_gives_a_new_id_with_the_same_data(session_app: Flask) -> None:
    async with session_app.test_client() as client:
        await client.post("/cart", data={"item": "tea"})
        old = client.cookies.get("session")
        await client.post("/regenerate")
        new = client.cookies.get("session")
        assert new and new != old
        assert (await client.get("/cart")).get_json()["cart"] == ["tea"]


async def test_session_transaction_reads_and_writes_the_server_side_session(
    session_app: Flask,
) -> None:
    async with session_app.test_client() as client:
        async with client.session_transaction() as sess:
            sess["cart"] = ["bread"]
        assert (await client.get("/cart")).get_json()["cart"] == ["bread"]
        await client.post("/cart", data={"item": "jam"})
        async with client.session_transaction() as sess:
            assert sess["cart"] == ["bread", "jam"]
