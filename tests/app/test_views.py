"""Class-based views: ``View`` and ``MethodView``."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any, ClassVar

from asyncflask import Flask, Response, make_response, request, session
from asyncflask.testing import TestClient
from asyncflask.views import MethodView, View


async def test_view_with_async_dispatch(app: Flask, client: TestClient) -> None:
    class Hello(View):
        init_every_request = False

        async def dispatch_request(self, name: str) -> str:
            return f"Hello, {name}!"

    app.add_url_rule("/hello/<name>", view_func=Hello.as_view("hello"))
    r = await client.get("/hello/Ann")
    assert r.status_code == 200
    assert r.text == "Hello, Ann!"


async def test_view_with_plain_dispatch_runs_in_a_thread(app: Flask, client: TestClient) -> None:
    seen: list[Any] = []

    class Report(View):
        methods: ClassVar[list[str]] = ["GET", "POST"]

        def __init__(self, label: str) -> None:
            self.label = label

        def dispatch_request(self) -> str:
            seen.append((threading.current_thread() is threading.main_thread(), request.method))
            return self.label

    app.add_url_rule("/report", view_func=Report.as_view("report", "the report"))
    assert (await client.post("/report")).text == "the report"
    assert seen == [(False, "POST")]
    assert (await client.put("/report")).status_code == 405


async def test_view_instance_per_request_and_decorators(app: Flask, client: TestClient) -> None:
    instances: list[object] = []

    def tag(view: Any) -> Any:
        async def wrapper(**kwargs: Any) -> Any:
            rv = await view(**kwargs)
            return f"[{rv}]"

        return wrapper

    class Counter(View):
        decorators: ClassVar[list[Any]] = [tag]

        async def dispatch_request(self) -> str:
            instances.append(self)
            return str(len(instances))

    app.add_url_rule("/count", view_func=Counter.as_view("count"))
    assert (await client.get("/count")).text == "[1]"
    assert (await client.get("/count")).text == "[2]"
    assert instances[0] is not instances[1]


async def test_plain_decorators_of_a_view_get_its_value(app: Flask, client: TestClient) -> None:
    """Flask's decorators are plain functions that use what the view
    returns at once (``make_response(f())``, a cache storing it): they get
    the value, never a coroutine, also when the view waits."""
    stored: list[Any] = []

    def header(view: Any) -> Any:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            response = make_response(view(**kwargs))
            response.headers["X-Decorated"] = "yes"
            return response

        return wrapper

    def remember(view: Any) -> Any:
        def wrapper(**kwargs: Any) -> Any:
            rv = view(**kwargs)
            stored.append(rv)
            return rv

        return wrapper

    class Slow(MethodView):
        decorators: ClassVar[list[Any]] = [remember, header]

        async def get(self, name: str) -> str:
            await asyncio.sleep(0.01)
            return f"hi {name} {request.path}"

    app.add_url_rule("/slow/<name>", view_func=Slow.as_view("slow"))
    r = await client.get("/slow/ann")
    assert (r.status_code, r.text, r.headers["X-Decorated"]) == (200, "hi ann /slow/ann", "yes")
    assert stored == ["hi ann /slow/ann"]


async def test_plain_dispatch_gives_plain_decorators_its_value(
    app: Flask, client: TestClient
) -> None:
    """As in Flask, a plain decorator of a plain ``dispatch_request`` calls
    the view and gets its return value, not a coroutine."""

    def parachute(view: Any) -> Any:
        def wrapper(**kwargs: Any) -> Response:
            rv = make_response(view(**kwargs))
            rv.headers["X-Parachute"] = "awesome"
            return rv

        return wrapper

    for every_request in (False, True):

        class Index(View):
            decorators: ClassVar[list[Any]] = [parachute]
            init_every_request = every_request

            def __init__(self, greeting: str) -> None:
                self.greeting = greeting

            def dispatch_request(self, name: str) -> str:
                return f"{self.greeting} {name}"

        app.add_url_rule(
            f"/{every_request}/<name>", view_func=Index.as_view(f"index{every_request}", "Hi")
        )
    for every_request in (False, True):
        rv = await client.get(f"/{every_request}/Ann")
        assert (rv.status_code, rv.text, rv.headers["X-Parachute"]) == (200, "Hi Ann", "awesome")


async def test_method_view_dispatches_by_method(app: Flask, client: TestClient) -> None:
    app.secret_key = "k"

    class CounterAPI(MethodView):
        async def get(self) -> str:
            return str(session.get("counter", 0))

        def post(self) -> tuple[str, int]:
            session["counter"] = session.get("counter", 0) + 1
            return "added", 201

    app.add_url_rule("/counter", view_func=CounterAPI.as_view("counter"))
    assert CounterAPI.methods == {"GET", "POST"}
    assert (await client.get("/counter")).text == "0"
    r = await client.post("/counter")
    assert (r.status_code, r.text) == (201, "added")
    assert (await client.get("/counter")).text == "1"
    r = await client.head("/counter")
    assert r.status_code == 200
    assert r.content == b""
    r = await client.delete("/counter")
    assert r.status_code == 405
    assert set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}


async def test_method_view_item_api(app: Flask, client: TestClient) -> None:
    items = {1: "one"}

    class ItemAPI(MethodView):
        async def get(self, item_id: int) -> dict[str, Any]:
            return {"id": item_id, "name": items[item_id]}

        async def delete(self, item_id: int) -> tuple[str, int]:
            del items[item_id]
            return "", 204

    app.add_url_rule("/items/<int:item_id>", view_func=ItemAPI.as_view("item"))
    assert (await client.get("/items/1")).get_json() == {"id": 1, "name": "one"}
    assert (await client.delete("/items/1")).status_code == 204
    assert items == {}
    r = await client.options("/items/1")
    assert set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "DELETE", "OPTIONS"}
