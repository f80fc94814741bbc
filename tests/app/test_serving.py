"""Serving, as Quart users know it: ``while_serving``, background tasks
(run in an app context, awaited at shutdown) and ``app.test_app()``."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from asyncflask import Blueprint, Flask, current_app, g, has_request_context, request
from asyncflask.testing import TestApp
from tests.server import run_server


@pytest.fixture
def app() -> Flask:
    app = Flask("servingapp")
    app.freeze_gc_on_startup = False
    return app


# -- while_serving ------------------------------------------------------------------------------


async def test_while_serving_runs_around_serving(app: Flask) -> None:
    events: list[str] = []
    bp = Blueprint("bp", __name__)

    @app.before_serving
    def before() -> None:
        events.append("before")

    @app.while_serving
    async def db() -> AsyncIterator[None]:
        events.append(f"open db ({current_app.name})")
        g.db = "db"
        yield
        events.append("close db")

    @bp.while_serving
    async def cache() -> AsyncIterator[None]:
        events.append("open cache")
        try:
            yield
        finally:
            events.append("close cache")

    @app.after_serving
    def after() -> None:
        events.append("after")

    @app.get("/")
    async def index() -> str:
        events.append("request")
        return "ok"

    app.register_blueprint(bp)
    async with app.test_app() as test_app:
        assert events == ["before", "open db (servingapp)", "open cache"]
        async with test_app.test_client() as client:
            assert (await client.get("/")).text == "ok"
        assert events[-1] == "request"  # the client did not run the lifespan again
    assert events[3:] == ["request", "close cache", "close db", "after"]


async def test_while_serving_starts_anew_each_time(app: Flask) -> None:
    runs: list[str] = []

    @app.while_serving
    async def resource() -> AsyncIterator[None]:
        runs.append("open")
        yield
        runs.append("close")

    for _ in range(2):
        async with app.test_app():
            pass
    assert runs == ["open", "close", "open", "close"]


async def test_while_serving_takes_only_async_generator_functions(app: Flask) -> None:
    async def not_a_generator() -> None:
        pass

    def sync_generator() -> Any:
        yield

    for func in (not_a_generator, sync_generator):
        with pytest.raises(TypeError, match="async generator function"):
            app.while_serving(func)
        with pytest.raises(TypeError, match="async generator function"):
            Blueprint("bp", __name__).while_serving(func)


async def test_a_failing_while_serving_stops_startup_and_closes_those_started(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []

    @app.while_serving
    async def first() -> AsyncIterator[None]:
        try:
            yield
        finally:
            events.append("first closed")

    @app.while_serving
    async def broken() -> AsyncIterator[None]:
        raise ConnectionError("no database")
        yield  # pragma: no cover

    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="no database"):
        async with app.test_app():
            pytest.fail("the app must not start")
    assert events == ["first closed"]
    assert "no database" in caplog.text


@pytest.mark.parametrize(
    ("times", "message"),
    [(0, "returned without yielding"), (2, "yielded more than once")],
)
async def test_a_while_serving_generator_must_yield_once(
    app: Flask, caplog: pytest.LogCaptureFixture, times: int, message: str
) -> None:
    @app.while_serving
    async def odd() -> AsyncIterator[None]:
        for _ in range(times):
            yield

    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="failed"):
        async with app.test_app():
            pass
    assert message in caplog.text


# -- background tasks ---------------------------------------------------------------------------


async def test_background_tasks_run_in_an_app_context_outside_the_request(app: Flask) -> None:
    seen: list[Any] = []
    thread_done = threading.Event()

    async def notify(user: str, *, via: str) -> None:
        await asyncio.sleep(0.05)  # the response is sent meanwhile
        seen.append((user, via, current_app.name, has_request_context(), g.get("user")))

    def write_log(user: str) -> None:
        seen.append(("sync", user, current_app.name, threading.current_thread().name))
        thread_done.set()

    @app.post("/signup")
    async def signup() -> str:
        g.user = "request's g"
        app.add_background_task(notify, request.args["user"], via="mail")
        app.add_background_task(write_log, request.args["user"])
        return "welcome"

    async with app.test_app() as test_app, test_app.test_client() as client:
        r = await client.post("/signup", query_string={"user": "ann"})
        assert r.text == "welcome"
        assert not any(s[0] == "ann" for s in seen)  # answered before the task ran
    assert ("ann", "mail", "servingapp", False, None) in seen
    sync = [s for s in seen if s[0] == "sync"]
    assert sync[0][:3] == ("sync", "ann", "servingapp")
    assert sync[0][3] != threading.main_thread().name


async def test_a_plain_view_adds_a_background_task(app: Flask) -> None:
    done: list[str] = []

    async def task() -> None:
        done.append(current_app.name)

    @app.get("/")
    def view() -> str:  # runs in a worker thread
        app.add_background_task(task)
        return "ok"

    async with app.test_app() as test_app, test_app.test_client() as client:
        assert (await client.get("/")).text == "ok"
    assert done == ["servingapp"]


async def test_shutdown_waits_for_background_tasks(app: Flask) -> None:
    events: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(0.3)
        events.append("task done")
        app.add_background_task(follow_up)  # started by a task, during shutdown

    async def follow_up() -> None:
        await asyncio.sleep(0.05)
        events.append("follow-up done")

    @app.after_serving
    def stop() -> None:
        events.append("after_serving")

    async with app.test_app():
        app.add_background_task(slow)
        start = time.monotonic()
    assert time.monotonic() - start >= 0.3
    assert events == ["task done", "follow-up done", "after_serving"]
    assert app.background_tasks == set()


async def test_shutdown_cancels_background_tasks_after_the_timeout(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0.1
    events: list[str] = []

    async def endless() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        async with app.test_app():
            app.add_background_task(endless)
            start = time.monotonic()
    assert 0.1 <= time.monotonic() - start < 2
    assert events == ["cancelled"]
    assert "Cancelling 1 background task(s)" in caplog.text


async def test_an_error_in_a_background_task_is_logged_and_serving_goes_on(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise ValueError("mail server down")

    @app.get("/")
    async def index() -> str:
        app.add_background_task(broken)
        return "ok"

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        async with app.test_app() as test_app, test_app.test_client() as client:
            assert (await client.get("/")).text == "ok"
            await asyncio.wait(set(app.background_tasks))
            assert (await client.get("/")).text == "ok"
    records = [r for r in caplog.records if "Exception in background task" in r.getMessage()]
    assert len(records) == 2
    assert "mail server down" in caplog.text


async def test_a_plain_task_may_return_an_awaitable(app: Flask) -> None:
    done: list[str] = []

    async def finish() -> None:
        done.append("finished")

    async with app.test_app():
        app.add_background_task(lambda: finish())
    assert done == ["finished"]


def test_add_background_task_outside_an_event_loop_says_what_to_do(app: Flask) -> None:
    async def task() -> None:
        pass  # pragma: no cover

    with pytest.raises(RuntimeError, match="needs a running asyncio event loop"):
        app.add_background_task(task)


# -- test_app -----------------------------------------------------------------------------------


async def test_test_app_startup_and_shutdown_by_hand(app: Flask) -> None:
    events: list[str] = []
    app.before_serving(lambda: events.append("start"))
    app.after_serving(lambda: events.append("stop"))
    test_app = app.test_app()
    assert isinstance(test_app, TestApp)
    with pytest.raises(RuntimeError, match="has not started"):
        await test_app.shutdown()
    await test_app.startup()
    with pytest.raises(RuntimeError, match="has started already"):
        await test_app.startup()
    await test_app.shutdown()
    assert events == ["start", "stop"]


async def test_test_app_raises_when_startup_fails(app: Flask) -> None:
    @app.before_serving
    def broken() -> None:
        raise OSError("port in use")

    with pytest.raises(RuntimeError, match=r"Lifespan startup failed.*port in use"):
        async with app.test_app():
            pytest.fail("must not start")  # pragma: no cover


# -- over a real server -------------------------------------------------------------------------

SERVED_APP = """
import asyncio
import os

from asyncflask import Flask, current_app

app = Flask(__name__)


async def slow(path):
    await asyncio.sleep(1)
    with open(path, "a") as f:
        f.write(f"done in {current_app.name}\\n")


def broken():
    raise ValueError("task failed")


@app.get("/slow")
async def start_slow():
    app.add_background_task(slow, os.environ["MARKERS"])
    return "started"


@app.get("/broken")
async def start_broken():
    app.add_background_task(broken)
    return "started"


@app.get("/ping")
async def ping():
    return "pong"
"""


def test_over_a_server_a_failing_task_is_logged_and_shutdown_waits_for_tasks(
    tmp_path: Path,
) -> None:
    markers = tmp_path / "markers.txt"
    with run_server(SERVED_APP, env={"MARKERS": str(markers)}) as server:
        assert httpx.get(server.url + "/broken", timeout=5).text == "started"
        server.wait_for_stderr("ValueError: task failed")
        assert httpx.get(server.url + "/ping", timeout=5).text == "pong"
        assert httpx.get(server.url + "/slow", timeout=5).text == "started"
        assert not markers.exists()
        server.stop()  # SIGTERM: the lifespan shutdown waits for the task
    assert markers.read_text() == "done in app\n"
    assert "Exception in background task broken" in server.stderr
