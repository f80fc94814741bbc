"""Application and request contexts: proxies, isolation between concurrent
requests, copied contexts, sync views and teardown timing."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from asyncflask import (
    Flask,
    copy_current_app_context,
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
    jsonify,
    request,
    session,
)
from asyncflask.globals import request_ctx
from asyncflask.testing import ASGITransport, TestClient
from asyncflask.typing import ASGIReceive, ASGISend, Message, Scope

# -- outside any context ------------------------------------------------------------


async def test_request_outside_context() -> None:
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        _ = request.path


async def test_session_outside_context() -> None:
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        _ = session.get("x")


async def test_g_outside_context() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        g.x = 1


async def test_current_app_outside_context() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        _ = current_app.name
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        jsonify(a=1)


async def test_proxies_read_public_private_and_special_attributes(app: Flask) -> None:
    from asyncflask import Request

    async with app.test_request_context("/p?a=1"):
        g.value = 1
        g._private = 2
        assert request.path == "/p"
        assert request.args["a"] == "1"
        assert isinstance(request, Request)
        assert request.__class__ is type(request._get_current_object())  # type: ignore[attr-defined]
        assert request._body is None  # type: ignore[attr-defined]
        assert (g.value, g._private, "value" in g) == (1, 2, True)
        assert current_app.name == app.name
        assert repr(current_app) == repr(app)
        with pytest.raises(AttributeError):
            _ = g.missing
        with pytest.raises(AttributeError):
            _ = request._missing  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        _ = request._body  # type: ignore[attr-defined]
    assert "LocalProxy" in repr(type(request).__mro__)
    assert repr(g) == repr(request) == "<LocalProxy unbound>"


async def test_has_context_functions_outside() -> None:
    assert has_request_context() is False
    assert has_app_context() is False


async def test_copy_current_request_context_outside() -> None:
    async def f() -> None:
        return None

    with pytest.raises(RuntimeError, match="request context"):
        copy_current_request_context(f)


# -- app_context and test_request_context ---------------------------------------------


async def test_async_app_context(app: Flask) -> None:
    torn_down: list[Any] = []

    @app.teardown_appcontext
    async def td(exc: BaseException | None) -> None:
        torn_down.append((exc, g.get("x")))

    async with app.app_context():
        assert has_app_context() is True
        assert has_request_context() is False
        assert current_app.name == "testapp"
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        g.x = 1
        assert g.x == 1
        with pytest.raises(RuntimeError, match="Working outside of request context"):
            _ = request.method
    assert torn_down == [(None, 1)]
    assert has_app_context() is False


async def test_plain_with_app_context(app: Flask) -> None:
    torn_down: list[BaseException | None] = []
    app.teardown_appcontext(torn_down.append)

    with app.app_context():
        assert has_app_context() is True
        assert current_app.config["TESTING"] is False
        g.value = "v"
        assert g.get("value") == "v"
        assert "value" in g
        assert g.pop("value") == "v"
        assert g.get("value", "default") == "default"
        assert g.setdefault("other", 5) == 5
    assert torn_down == [None]
    assert has_app_context() is False


async def test_g_is_fresh_per_app_context(app: Flask) -> None:
    async with app.app_context():
        g.only_here = True
    async with app.app_context():
        assert "only_here" not in g


async def test_async_test_request_context(app: Flask) -> None:
    torn_down: list[BaseException | None] = []

    @app.teardown_request
    async def td(exc: BaseException | None) -> None:
        torn_down.append(exc)

    @app.route("/x")
    async def x() -> str:
        return "x"

    async with app.test_request_context("/x?a=1"):
        assert has_request_context() is True
        assert has_app_context() is True
        assert request.path == "/x"
        assert request.args["a"] == "1"
        assert request.url == "http://localhost/x?a=1"
        assert request.method == "GET"
        assert request.endpoint == "x"
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        g.seen = True
        assert g.seen is True
    assert torn_down == [None]
    assert has_request_context() is False
    assert has_app_context() is False


async def test_plain_with_test_request_context(app: Flask) -> None:
    torn_down: list[BaseException | None] = []
    app.teardown_request(torn_down.append)

    with app.test_request_context("/x?a=1", method="POST", headers={"X-Test": "yes"}):
        assert has_request_context() is True
        assert request.path == "/x"
        assert request.method == "POST"
        assert request.args.get("a", type=int) == 1
        assert request.headers["X-Test"] == "yes"
        assert request.url_rule is None  # no rule for /x
    assert torn_down == [None]
    assert has_request_context() is False


async def test_test_request_context_inside_app_context(app: Flask) -> None:
    async with app.app_context():
        g.outer = 1
        async with app.test_request_context("/"):
            # the existing app context (and its g) is reused
            assert g.outer == 1
        assert has_app_context() is True
        assert has_request_context() is False
    assert has_app_context() is False


async def test_session_in_test_request_context(app: Flask) -> None:
    app.secret_key = "secret"
    async with app.test_request_context("/"):
        assert session.get("missing") is None
        session["a"] = 1
        assert session["a"] == 1


# -- during requests -------------------------------------------------------------------


async def test_contexts_inside_view(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        return {
            "req": has_request_context(),
            "app": has_app_context(),
            "name": current_app.name,
            "same": current_app._get_current_object() is app,  # type: ignore[attr-defined]
        }

    assert (await client.get("/")).get_json() == {
        "req": True,
        "app": True,
        "name": "testapp",
        "same": True,
    }


async def test_app_context_pushed_inside_a_view(app: Flask, client: TestClient) -> None:
    other = Flask("other")

    @app.route("/nested")
    async def nested() -> dict[str, Any]:
        g.level = "request"
        async with app.app_context() as inner:
            inside = {
                "request": has_request_context(),
                "path": request.path,
                "same_ctx": request_ctx.request is request._get_current_object(),  # type: ignore[attr-defined]
                "fresh_g": "level" not in g,
                "app": current_app.name,
                "inner_request": inner.request.path,
            }
            g.level = "inner"
            async with other.app_context():
                inside["other_app"] = current_app.name
                inside["other_request"] = request.path
            inside["back_to"] = current_app.name
        inside["g_after"] = g.level
        return inside

    assert (await client.get("/nested")).get_json() == {
        "request": True,
        "path": "/nested",
        "same_ctx": True,
        "fresh_g": True,
        "app": "testapp",
        "inner_request": "/nested",
        "other_app": "other",
        "other_request": "/nested",
        "back_to": "testapp",
        "g_after": "request",
    }
    async with app.app_context() as ctx:
        with pytest.raises(RuntimeError, match="outside of request context"):
            ctx.request  # noqa: B018
        with pytest.raises(RuntimeError, match="outside of request context"):
            session.get("x")
        assert has_request_context() is False


async def test_copied_request_context_shares_g(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        g.user = "ann"

        @copy_current_request_context
        async def read_g() -> str:
            return f"{g.user} {request.path}"

        return await asyncio.create_task(read_g())

    assert (await client.get("/")).text == "ann /"


async def test_copied_app_context_outlives_the_request(app: Flask, client: TestClient) -> None:
    """A task started in a view, wrapped with ``copy_current_app_context``,
    runs after the response with ``current_app`` and the request's ``g``,
    but no request; its app context is torn down after it."""
    seen: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    release = asyncio.Event()

    @app.teardown_appcontext
    def teardown(exc: BaseException | None) -> None:
        seen.append(("teardown", g.get("user")))

    @app.route("/")
    async def index() -> str:
        g.user = "ann"

        @copy_current_app_context
        async def later(n: int) -> None:
            await release.wait()
            seen.append((current_app.name, g.user, n, has_request_context()))

        tasks.append(asyncio.create_task(later(1)))
        return "ok"

    assert (await client.get("/")).text == "ok"
    assert ("testapp", "ann", 1, False) not in seen  # the response came first
    release.set()
    await tasks[0]
    # the request's app context and the copy's are torn down, the copy's after the task
    assert sorted(seen[:2]) == [("teardown", "ann"), ("testapp", "ann", 1, False)]
    assert seen[2:] == [("teardown", "ann")]


async def test_copy_current_app_context_in_an_app_context(app: Flask) -> None:
    async with app.app_context():
        g.value = 1

        @copy_current_app_context
        def read() -> tuple[str, int]:
            return current_app.name, g.value

    assert await read() == ("testapp", 1)
    assert has_app_context() is False


async def test_copy_current_app_context_outside() -> None:
    def f() -> None:
        return None  # pragma: no cover

    with pytest.raises(RuntimeError, match="app context is active"):
        copy_current_app_context(f)


async def test_g_is_not_shared_between_sequential_requests(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        previous = g.get("value", "unset")
        g.value = request.args["v"]
        return previous

    assert (await client.get("/?v=1")).text == "unset"
    assert (await client.get("/?v=2")).text == "unset"


async def test_concurrent_requests_are_isolated(app: Flask, client: TestClient) -> None:
    n = 20
    barrier = asyncio.Barrier(n)

    @app.before_request
    async def before() -> None:
        g.n = request.args["n"]

    @app.route("/")
    async def index() -> dict[str, Any]:
        # every request is in flight at the same time before any answers
        await barrier.wait()
        await asyncio.sleep(0)
        return {
            "g": g.n,
            "arg": request.args["n"],
            "header": request.headers["X-N"],
            "g_keys": sorted(g),
        }

    async def one(i: int) -> dict[str, Any]:
        r = await client.get(f"/?n={i}", headers={"X-N": str(i)})
        assert r.status_code == 200
        return _as_dict(r.get_json())

    results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), 5)
    for i, result in enumerate(results):
        assert result == {"g": str(i), "arg": str(i), "header": str(i), "g_keys": ["n"]}


def _as_dict(value: Any) -> dict[str, Any]:
    assert isinstance(value, dict)
    return value


async def test_copy_current_request_context_in_threads(app: Flask, client: TestClient) -> None:
    """As in Flask: a plain thread runs the wrapped function in the request's
    context and gets values, for a plain and for an ``async def`` function
    (which runs on the event loop while the thread waits)."""

    @app.route("/threads")
    async def threads() -> dict[str, Any]:
        @copy_current_request_context
        def plain() -> str:
            return f"plain {request.args['id']}"

        @copy_current_request_context
        async def coro() -> str:
            await asyncio.sleep(0)
            return f"async {request.args['id']} {has_request_context()}"

        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = await asyncio.gather(
                loop.run_in_executor(pool, plain), loop.run_in_executor(pool, coro)
            )
        return {"results": results}

    r = await client.get("/threads?id=5")
    assert r.get_json() == {"results": ["plain 5", "async 5 True"]}


async def test_copy_current_request_context_in_task(app: Flask, client: TestClient) -> None:
    results: asyncio.Queue[Any] = asyncio.Queue()
    release = asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []

    @app.route("/work")
    async def work() -> str:
        @copy_current_request_context
        async def background() -> None:
            await release.wait()  # runs after the response was sent
            await results.put((request.path, request.args["id"], has_request_context()))

        @copy_current_request_context
        def sync_background() -> str:
            return f"sync sees {request.args['id']}"

        tasks.append(asyncio.create_task(background()))
        return sync_background()

    r = await client.get("/work?id=7")
    assert r.text == "sync sees 7"
    release.set()
    result = await asyncio.wait_for(results.get(), 5)
    assert result == ("/work", "7", True)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def test_a_task_without_the_copied_context_is_told_the_request_finished(
    app: Flask, client: TestClient
) -> None:
    outcome: asyncio.Future[BaseException | str] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []
    finished: list[str] = []

    @app.route("/work")
    async def work() -> str:
        g.value = "set in the view"

        async def background() -> None:
            await release.wait()  # the response is sent and the request over
            finished.append(repr(request_ctx._get_current_object()))  # type: ignore[attr-defined]
            try:
                finished.append(g.value)
            except RuntimeError as e:
                finished.append(type(e).__name__)
            try:
                g.other = 1
            except RuntimeError as e:
                finished.append(type(e).__name__)
            finished.append(repr(g._get_current_object()))  # type: ignore[attr-defined]
            finished.append(str(hasattr(g, "__html__")))
            try:
                outcome.set_result(request.path)
            except Exception as e:
                outcome.set_result(e)

        tasks.append(asyncio.create_task(background()))
        return "started"

    assert (await client.get("/work")).text == "started"
    release.set()
    error = await asyncio.wait_for(outcome, 5)
    assert isinstance(error, RuntimeError)
    assert "copy_current_request_context" in str(error)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert finished == [
        "<RequestContext (finished)>",
        "RuntimeError",
        "RuntimeError",
        "<finished>",
        "False",
    ]


async def test_sync_view_runs_in_thread_with_context(app: Flask, client: TestClient) -> None:
    loop_thread = threading.get_ident()

    @app.before_request
    async def before() -> None:
        g.from_hook = "hook"

    @app.route("/sync")
    def sync_view() -> dict[str, Any]:
        g.from_view = "view"
        return {
            "other_thread": threading.get_ident() != loop_thread,
            "path": request.path,
            "arg": request.args["q"],
            "g": g.from_hook,
            "app": current_app.name,
        }

    @app.after_request
    async def after(response: Any) -> Any:
        response.headers["X-G"] = g.get("from_view", "missing")
        return response

    r = await client.get("/sync?q=z")
    assert r.status_code == 200
    assert r.get_json() == {
        "other_thread": True,
        "path": "/sync",
        "arg": "z",
        "g": "hook",
        "app": "testapp",
    }
    assert r.headers["X-G"] == "view"


async def test_sync_views_concurrently_isolated(app: Flask, client: TestClient) -> None:
    @app.route("/s")
    def s() -> str:
        g.v = request.args["v"]
        return f"{g.v}:{request.args['v']}"

    results = await asyncio.wait_for(
        asyncio.gather(*(client.get(f"/s?v={i}") for i in range(10))), 5
    )
    assert [r.text for r in results] == [f"{i}:{i}" for i in range(10)]


# -- teardown timing ---------------------------------------------------------------------


def _recording(app: Flask, events: list[str]) -> Any:
    """Wrap the ASGI app to record when the response body finished."""

    async def wrapper(scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("body"):
                    events.append(f"sent {message['body'].decode()}")
                if not message.get("more_body", False):
                    events.append("body complete")
            await send(message)

        await app(scope, receive, recording_send)

    return wrapper


async def test_teardown_after_body_sent(app: Flask) -> None:
    events: list[str] = []

    @app.teardown_request
    async def td(exc: BaseException | None) -> None:
        events.append("teardown request")

    @app.teardown_appcontext
    def td_app(exc: BaseException | None) -> None:
        events.append("teardown app")

    @app.route("/")
    async def index() -> str:
        events.append("view")
        return "body"

    async with TestClient(app, transport=ASGITransport(_recording(app, events))) as client:
        events.clear()  # the lifespan startup had an app context of its own
        r = await client.get("/")
        assert r.text == "body"
        assert events == ["view", "sent body", "body complete", "teardown request", "teardown app"]


async def test_teardown_after_last_chunk_of_stream(app: Flask) -> None:
    events: list[str] = []

    @app.teardown_request
    async def td(exc: BaseException | None) -> None:
        events.append("teardown")

    @app.route("/stream")
    async def stream() -> Any:
        async def gen() -> AsyncIterator[str]:
            for i in range(3):
                # the request context is still there while streaming
                events.append(f"gen {i} {request.args['x']}")
                yield str(i)
            events.append("gen done")

        return gen()

    async with TestClient(app, transport=ASGITransport(_recording(app, events))) as client:
        r = await asyncio.wait_for(client.get("/stream?x=q"), 5)
        assert r.text == "012"
        assert events == [
            "gen 0 q",
            "sent 0",
            "gen 1 q",
            "sent 1",
            "gen 2 q",
            "sent 2",
            "gen done",
            "body complete",
            "teardown",
        ]


async def test_sync_generator_sees_request(app: Flask, client: TestClient) -> None:
    order: list[str] = []

    @app.teardown_request
    def td(exc: BaseException | None) -> None:
        order.append("teardown")

    @app.route("/stream")
    async def stream() -> Any:
        def gen() -> Iterator[str]:
            for part in request.args.getlist("p"):
                order.append(part)
                yield part + ";"

        return gen()

    r = await asyncio.wait_for(client.get("/stream?p=a&p=b"), 5)
    assert r.text == "a;b;"
    assert order == ["a", "b", "teardown"]


# -- re-entering the current contexts (Flask's test_context_refcounts) --------------


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_reentering_the_current_contexts_keeps_them(app: Flask, kind: str) -> None:
    from asyncflask.globals import app_ctx

    called: list[str] = []

    @app.teardown_request
    def teardown_req(error: BaseException | None = None) -> None:
        called.append("request")

    @app.teardown_appcontext
    def teardown_app(error: BaseException | None = None) -> None:
        called.append("app")

    def reenter() -> str:
        with app_ctx, request_ctx, request_ctx:
            pass
        g.after = "still here"
        return f"{request.path} {g.after}"

    if kind == "sync":
        app.add_url_rule("/", view_func=reenter)
    else:

        async def async_view() -> str:
            rv = reenter()
            async with request_ctx:
                pass
            return rv

        app.add_url_rule("/", view_func=async_view)

    async with app.test_client() as client:
        called.clear()  # (the lifespan's app context)
        r = await client.get("/")
        assert r.status_code == 200
        assert r.text == "/ still here"
        assert called == ["request", "app"]


async def test_an_error_inside_a_reentered_context_is_handled_once(app: Flask) -> None:
    called: list[Any] = []

    @app.teardown_request
    def teardown_req(error: BaseException | None = None) -> None:
        called.append(type(error).__name__)

    @app.errorhandler(ValueError)
    async def handle(e: ValueError) -> tuple[str, int]:
        return f"handled {request.path}", 418

    @app.route("/boom")
    async def boom() -> str:
        with request_ctx:
            raise ValueError("boom")

    async with app.test_client() as client:
        r = await client.get("/boom")
        assert (r.status_code, r.text) == (418, "handled /boom")
        # once for the request (the kept context is torn down again when the
        # block ends, as with Flask's client)
        assert called == ["NoneType"]


@pytest.mark.parametrize("observed", [True, False])
def test_a_test_request_context_pushed_twice(app: Flask, observed: bool) -> None:
    popped: list[str] = []
    if observed:

        @app.teardown_appcontext
        def teardown_app(error: BaseException | None = None) -> None:
            popped.append("app")

    ctx = app.test_request_context("/x")
    with ctx:
        with ctx:
            assert request.path == "/x"
        assert request.path == "/x"
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert popped == []
    assert not has_request_context()
    assert popped == (["app"] if observed else [])
