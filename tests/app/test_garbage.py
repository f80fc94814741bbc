"""Serving a request leaves no reference cycles behind: everything it made
is freed by reference counting, so the garbage collector has nothing to do
(cycles are what make it run, and its passes show up as latency).

Error responses are not covered: an exception's traceback refers to the
frames that handled it, which refer back to the exception, as in Flask.
Once a request is over, though, its errors' tracebacks are dropped, so the
app itself is freed as soon as nothing refers to it (Flask's
``test_app_freed_on_zero_refcount``, here after serving too).
"""

from __future__ import annotations

import functools
import gc
import json
import typing as t
import weakref

import anyio.to_thread
import pytest

from asyncflask import Flask, abort, jsonify, render_template_string, request
from tests.support import http_scope

if t.TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def make_app() -> Flask:
    app = Flask(__name__)

    @app.get("/plain")
    async def plain() -> str:
        return "Hello"

    @app.get("/users/<int:user_id>")
    async def user(user_id: int) -> t.Any:
        return jsonify(id=user_id, fields=request.args.getlist("fields"))

    @app.get("/files/<path:name>")
    async def files(name: str) -> t.Any:
        return {"name": name}

    @app.post("/form")
    async def form() -> t.Any:
        return (await request.form).to_dict()

    @app.post("/echo")
    async def echo() -> t.Any:
        return jsonify(await request.get_json())

    return app


CASES = [
    ("GET", "/plain", b"", b"", None),
    ("GET", "/users/42", b"fields=name&fields=id", b"", None),
    ("GET", "/files/a/b.txt", b"", b"", None),
    ("POST", "/form", b"", b"a=1&b=%C3%A9", b"application/x-www-form-urlencoded"),
    ("POST", "/echo", b"", json.dumps({"a": [1, 2, {"b": None}]}).encode(), b"application/json"),
]


@pytest.mark.parametrize(("method", "path", "query", "body", "ctype"), CASES)
async def test_a_request_leaves_no_cycles(
    collector_off: None, method: str, path: str, query: bytes, body: bytes, ctype: bytes | None
) -> None:
    app = make_app()
    headers = [(b"host", b"localhost")]
    if ctype:
        headers += [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    sent: list[dict[str, t.Any]] = []

    async def receive() -> dict[str, t.Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)

    async def one_request() -> None:
        scope = http_scope(path, method, query, headers)
        await app(scope, receive, send)

    await one_request()  # first-request setup (caches, the route table) is not garbage
    gc.collect()
    for _ in range(20):
        await one_request()
    assert gc.collect() == 0
    assert sent[0]["status"] == 200
    assert len(sent) == 2 * 21


def test_a_new_app_is_freed_by_reference_counting(collector_off: None) -> None:
    app = Flask(__name__)
    assert app.view_functions["static"]
    weak = weakref.ref(app)
    del app
    assert weak() is None


async def test_an_app_that_served_and_rendered_is_freed_by_reference_counting(
    collector_off: None,
) -> None:
    app = make_app()
    app.config["TESTING"] = False
    app.logger.disabled = True

    @app.get("/page")
    async def page() -> str:
        return await render_template_string("{{ url_for('page') }}|{{ '<' }}")

    @app.get("/boom")
    async def boom() -> str:
        raise ValueError("boom")

    @app.get("/teapot")
    async def teapot() -> str:
        abort(418)

    @app.errorhandler(418)
    async def handled(e: Exception) -> tuple[str, int]:
        return "handled", 418

    @app.get("/slash/")
    async def slash() -> str:
        return "slash"

    sent: list[dict[str, t.Any]] = []

    async def receive() -> dict[str, t.Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)

    # (no plain ``def`` view: anyio's idle worker thread keeps the context
    # of the last function it ran, and so the app, until it runs another)
    for path in ["/plain", "/page", "/nope", "/slash", "/boom", "/teapot"]:
        await app(http_scope(path), receive, send)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [
        200, 200, 404, 308, 500, 418,
    ]  # fmt: skip
    assert sent[3]["body"] == b"/page|&lt;"
    async with app.test_client() as client:
        assert (await client.get("/plain")).text == "Hello"
        assert (await client.get("/nope")).status_code == 404
    weak = weakref.ref(app)
    del app, client, page, boom, teapot, handled, slash
    assert weak() is None


async def test_an_app_whose_views_refer_to_it_is_freed_by_the_collector() -> None:
    """Views that refer to their app (a closure in a factory) make a cycle,
    as in Flask, that the collector frees: no cache of asyncflask's keeps
    the views, and so the app, alive."""

    def create_app() -> Flask:
        app = Flask(__name__)

        @app.get("/")
        async def index() -> str:
            return app.name

        @app.get("/wrapped", endpoint="wrapped")
        @functools.wraps(index)
        def wrapped() -> t.Any:
            return index()

        return app

    app = create_app()
    app.testing = True  # (else the server's startup freezes it for good: gc.freeze)
    async with app.test_client() as client:
        assert (await client.get("/")).text == app.name
        assert (await client.get("/wrapped")).text == app.name
    weak = weakref.ref(app)
    del app, client
    # the plain decorator ran in a worker thread; anyio's idle worker keeps
    # what its last job handed back until it runs the next one
    await anyio.to_thread.run_sync(lambda: None)
    gc.collect()
    assert weak() is None


async def test_a_class_view_per_request_is_not_kept() -> None:
    from asyncflask.views import MethodView

    instances: weakref.WeakSet[t.Any] = weakref.WeakSet()

    class Item(MethodView):
        def __init__(self) -> None:
            instances.add(self)

        async def get(self) -> str:
            return "item"

    app = Flask(__name__)
    app.add_url_rule("/item", view_func=Item.as_view("item"))
    async with app.test_client() as client:
        for _ in range(3):
            assert (await client.get("/item")).text == "item"
    gc.collect()
    assert len(instances) == 0


async def test_an_error_raised_from_itself_is_handled(collector_off: None) -> None:
    app = Flask(__name__)

    @app.get("/loop")
    async def loop() -> str:
        error = ValueError("itself")
        raise error from error

    @app.errorhandler(ValueError)
    async def handled(e: ValueError) -> tuple[str, int]:
        return f"handled {e}", 400

    async with app.test_client() as client:
        r = await client.get("/loop")
    assert (r.status_code, r.text) == (400, "handled itself")
