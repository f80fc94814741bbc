"""Signals: Flask's blinker signals, sent by asyncflask at the same points as
Flask 3.1, to sync and (for the request signals) async receivers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import flask.signals
import pytest
from blinker import NamedSignal

from asyncflask import (
    Flask,
    Response,
    flash,
    g,
    render_template_string,
    request,
    signals,
    stream_template_string,
)
from asyncflask.testing import TestClient

Calls = list[tuple[str, Any, dict[str, Any]]]


@contextmanager
def recording(signal: NamedSignal, sender: Any, calls: Calls) -> Iterator[None]:
    """Record ``signal`` sent by ``sender`` (sync receiver) while inside."""

    def receiver(sender: Any, **kwargs: Any) -> None:
        calls.append((signal.name, sender, kwargs))

    with signal.connected_to(receiver, sender=sender):
        yield


# -- the signal objects ---------------------------------------------------------------


@pytest.mark.parametrize("name", signals.__all__)
def test_signals_are_flasks_objects(name: str) -> None:
    ours = getattr(signals, name)
    assert ours is getattr(flask.signals, name)
    assert isinstance(ours, NamedSignal)


def test_all_flask_signals_reexported() -> None:
    flask_names = {
        name for name, value in vars(flask.signals).items() if isinstance(value, NamedSignal)
    }
    assert flask_names == set(signals.__all__)


# -- request signals ---------------------------------------------------------------------


async def test_request_signals_order(app: Flask, client: TestClient) -> None:
    order: list[str] = []

    @app.before_request
    async def before() -> None:
        order.append("before_request")

    @app.route("/")
    async def index() -> str:
        order.append("view")
        return "ok"

    @app.after_request
    async def after(response: Response) -> Response:
        order.append("after_request")
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        order.append("teardown_request")

    def started(sender: Any, **kw: Any) -> None:
        order.append("request_started")

    def finished(sender: Any, **kw: Any) -> None:
        order.append("request_finished")

    def tearing_down(sender: Any, **kw: Any) -> None:
        order.append("request_tearing_down")

    def ctx_tearing_down(sender: Any, **kw: Any) -> None:
        order.append("appcontext_tearing_down")

    with (
        signals.request_started.connected_to(started, app),
        signals.request_finished.connected_to(finished, app),
        signals.request_tearing_down.connected_to(tearing_down, app),
        signals.appcontext_tearing_down.connected_to(ctx_tearing_down, app),
    ):
        r = await client.get("/")
    assert r.text == "ok"
    assert order == [
        "request_started",
        "before_request",
        "view",
        "after_request",
        "request_finished",
        "teardown_request",
        "request_tearing_down",
        "appcontext_tearing_down",
    ]


_ORDERED_SIGNALS = (
    "request_started",
    "request_finished",
    "request_tearing_down",
    "appcontext_pushed",
    "appcontext_popped",
    "appcontext_tearing_down",
)


def _setup_order(target: Any, order: list[str]) -> None:
    @target.before_request
    def before() -> None:
        order.append("before_request")

    @target.after_request
    def after(response: Any) -> Any:
        order.append("after_request")
        return response

    @target.teardown_request
    def teardown(exc: BaseException | None) -> None:
        order.append("teardown_request")

    @target.teardown_appcontext
    def teardown_ctx(exc: BaseException | None) -> None:
        order.append("teardown_appcontext")

    @target.route("/")
    def index() -> str:
        order.append("view")
        return "ok"


@contextmanager
def _ordered(target: Any, order: list[str]) -> Iterator[None]:
    receivers = {name: _appender(order, name) for name in _ORDERED_SIGNALS}
    for name, receiver in receivers.items():
        getattr(signals, name).connect(receiver, target)
    try:
        yield
    finally:
        for name, receiver in receivers.items():
            getattr(signals, name).disconnect(receiver, target)


def _appender(order: list[str], name: str) -> Any:
    def receiver(sender: Any, **kw: Any) -> None:
        order.append(name)

    return receiver


async def test_request_order_matches_flask(app: Flask, client: TestClient) -> None:
    expected: list[str] = []
    fapp = flask.Flask("reference")
    _setup_order(fapp, expected)
    with _ordered(fapp, expected):
        fapp.test_client().get("/")

    order: list[str] = []
    _setup_order(app, order)
    with _ordered(app, order):
        assert (await client.get("/")).text == "ok"
    assert order == expected


async def test_request_started_and_finished_arguments(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> tuple[str, int]:
        return "made", 201

    calls: Calls = []
    seen_path: list[str] = []

    def started(sender: Any, **kw: Any) -> None:
        seen_path.append(request.path)

    with (
        recording(signals.request_started, app, calls),
        recording(signals.request_finished, app, calls),
        signals.request_started.connected_to(started, app),
    ):
        await client.get("/")
    assert [c[0] for c in calls] == ["request-started", "request-finished"]
    assert calls[0][1] is app
    assert calls[0][2] == {}
    response = calls[1][2]["response"]
    assert isinstance(response, Response)
    assert response.status_code == 201
    assert seen_path == ["/"]


async def test_async_receivers_for_request_signals(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        raise ValueError("boom")

    seen: list[tuple[str, Any]] = []

    async def started(sender: Any, **kw: Any) -> None:
        await asyncio.sleep(0)
        seen.append(("started", request.path))

    async def finished(sender: Any, response: Any, **kw: Any) -> None:
        await asyncio.sleep(0)
        seen.append(("finished", response.status_code))

    async def exception(sender: Any, exception: BaseException, **kw: Any) -> None:
        await asyncio.sleep(0)
        seen.append(("exception", type(exception).__name__))

    async def tearing_down(sender: Any, exc: BaseException | None = None, **kw: Any) -> None:
        await asyncio.sleep(0)
        seen.append(("tearing_down", type(exc).__name__))

    with (
        signals.request_started.connected_to(started, app),
        signals.request_finished.connected_to(finished, app),
        signals.got_request_exception.connected_to(exception, app),
        signals.request_tearing_down.connected_to(tearing_down, app),
    ):
        r = await client.get("/")
    assert r.status_code == 500
    assert seen == [
        ("started", "/"),
        ("exception", "ValueError"),
        ("finished", 500),
        ("tearing_down", "ValueError"),
    ]


async def test_sync_and_async_receivers_together(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return "ok"

    seen: list[str] = []

    def sync_receiver(sender: Any, **kw: Any) -> None:
        seen.append("sync")

    async def async_receiver(sender: Any, **kw: Any) -> None:
        seen.append("async")

    with (
        signals.request_started.connected_to(sync_receiver, app),
        signals.request_started.connected_to(async_receiver, app),
    ):
        await client.get("/")
    assert sorted(seen) == ["async", "sync"]


async def test_got_request_exception(app: Flask, client: TestClient) -> None:
    @app.route("/boom")
    async def boom() -> str:
        raise KeyError("nope")

    @app.route("/handled")
    async def handled() -> str:
        raise LookupError("handled")

    @app.errorhandler(LookupError)
    async def on_lookup(e: LookupError) -> tuple[str, int]:
        if isinstance(e, KeyError):
            raise e
        return "handled", 418

    @app.route("/abort")
    async def aborted() -> str:
        flask.abort(404)

    calls: Calls = []
    with recording(signals.got_request_exception, app, calls):
        assert (await client.get("/boom")).status_code == 500
        assert (await client.get("/handled")).status_code == 418
        assert (await client.get("/abort")).status_code == 404
    assert len(calls) == 1
    assert isinstance(calls[0][2]["exception"], KeyError)


async def test_got_request_exception_when_propagating(app: Flask, client: TestClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = True

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("propagated")

    calls: Calls = []
    with recording(signals.got_request_exception, app, calls), pytest.raises(ValueError):
        await client.get("/boom")
    assert len(calls) == 1


async def test_request_tearing_down_after_stream_ends(app: Flask, client: TestClient) -> None:
    events: list[str] = []

    @app.route("/stream")
    async def stream() -> Any:
        async def gen() -> AsyncIterator[str]:
            events.append("chunk 1")
            yield "a"
            events.append("chunk 2")
            yield "b"

        return gen()

    def tearing_down(sender: Any, exc: BaseException | None = None, **kw: Any) -> None:
        events.append(f"tearing_down {exc!r}")

    def finished(sender: Any, **kw: Any) -> None:
        events.append("finished")

    with (
        signals.request_tearing_down.connected_to(tearing_down, app),
        signals.request_finished.connected_to(finished, app),
    ):
        r = await client.get("/stream")
    assert r.text == "ab"
    assert events == ["finished", "chunk 1", "chunk 2", "tearing_down None"]


async def test_sender_filter(app: Flask, client: TestClient) -> None:
    other = Flask("other")

    @app.route("/")
    async def index() -> str:
        return "ok"

    mine: Calls = []
    theirs: Calls = []
    with (
        recording(signals.request_started, app, mine),
        recording(signals.request_started, other, theirs),
    ):
        await client.get("/")
    assert len(mine) == 1
    assert theirs == []


async def test_flask_app_does_not_trigger_our_receivers(app: Flask) -> None:
    fapp = flask.Flask("reference")
    fapp.add_url_rule("/", "index", lambda: "ok")
    calls: Calls = []
    with recording(signals.request_started, app, calls):
        fapp.test_client().get("/")
    assert calls == []


async def test_no_receivers_costs_nothing(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return "ok"

    assert not signals.request_started.receivers
    assert (await client.get("/")).text == "ok"


# -- app context signals ------------------------------------------------------------------


async def test_appcontext_signals(app: Flask) -> None:
    calls: Calls = []
    with (
        recording(signals.appcontext_pushed, app, calls),
        recording(signals.appcontext_popped, app, calls),
        recording(signals.appcontext_tearing_down, app, calls),
    ):
        async with app.app_context():
            assert [c[0] for c in calls] == ["appcontext-pushed"]
        assert [c[0] for c in calls] == [
            "appcontext-pushed",
            "appcontext-tearing-down",
            "appcontext-popped",
        ]
        calls.clear()
        with app.app_context():
            pass
        assert [c[0] for c in calls] == [
            "appcontext-pushed",
            "appcontext-tearing-down",
            "appcontext-popped",
        ]
    assert calls[0][1] is app


async def test_appcontext_tearing_down_with_sync_with(app: Flask) -> None:
    calls: Calls = []
    with recording(signals.appcontext_tearing_down, app, calls), app.app_context():
        pass
    fapp = flask.Flask("reference")
    fcalls: Calls = []
    with recording(signals.appcontext_tearing_down, fapp, fcalls), fapp.app_context():
        pass
    assert len(calls) == len(fcalls) == 1


@pytest.mark.parametrize("use_async", [True, False])
async def test_request_tearing_down_for_test_request_context(app: Flask, use_async: bool) -> None:
    calls: Calls = []
    with recording(signals.request_tearing_down, app, calls):
        if use_async:
            async with app.test_request_context("/"):
                pass
        else:
            with app.test_request_context("/"):
                pass
    fapp = flask.Flask("reference")
    fcalls: Calls = []
    with recording(signals.request_tearing_down, fapp, fcalls), fapp.test_request_context("/"):
        pass
    assert len(calls) == len(fcalls) == 1
    assert calls[0][2] == fcalls[0][2] == {"exc": None}


async def test_appcontext_tearing_down_exc(app: Flask) -> None:
    calls: Calls = []
    with recording(signals.appcontext_tearing_down, app, calls), pytest.raises(ZeroDivisionError):
        async with app.app_context():
            1 / 0  # noqa: B018
    assert isinstance(calls[0][2]["exc"], ZeroDivisionError)


async def test_appcontext_pushed_can_set_g(app: Flask, client: TestClient) -> None:
    def set_user(sender: Any, **kw: Any) -> None:
        g.user = "from signal"

    @app.route("/")
    async def index() -> str:
        return str(g.user)

    with signals.appcontext_pushed.connected_to(set_user, app):
        assert (await client.get("/")).text == "from signal"


async def test_appcontext_per_request(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return "ok"

    calls: Calls = []
    with (
        recording(signals.appcontext_pushed, app, calls),
        recording(signals.appcontext_popped, app, calls),
    ):
        await client.get("/")
        await client.get("/")
    assert [c[0] for c in calls] == ["appcontext-pushed", "appcontext-popped"] * 2


# -- template and flash signals ------------------------------------------------------------------


async def test_template_signals(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return await render_template_string("{{ who }}!", who="you")

    calls: Calls = []
    with (
        recording(signals.before_render_template, app, calls),
        recording(signals.template_rendered, app, calls),
    ):
        assert (await client.get("/")).text == "you!"
    assert [c[0] for c in calls] == ["before-render-template", "template-rendered"]
    for _, sender, kwargs in calls:
        assert sender is app
        assert kwargs["context"]["who"] == "you"
        assert "request" in kwargs["context"]
    assert calls[0][2]["template"] is calls[1][2]["template"]


async def test_before_render_template_can_change_context(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return await render_template_string("{{ who }}", who="original")

    def change(sender: Any, template: Any, context: dict[str, Any], **kw: Any) -> None:
        context["who"] = "changed"

    with signals.before_render_template.connected_to(change, app):
        assert (await client.get("/")).text == "changed"

    fapp = flask.Flask("reference")
    fapp.add_url_rule(
        "/", "index", lambda: flask.render_template_string("{{ who }}", who="original")
    )
    with signals.before_render_template.connected_to(change, fapp):
        assert fapp.test_client().get("/").text == "changed"


async def test_template_rendered_for_stream_template(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> Any:
        return stream_template_string("{{ n }}", n=5)

    calls: Calls = []
    with (
        recording(signals.before_render_template, app, calls),
        recording(signals.template_rendered, app, calls),
    ):
        assert (await client.get("/")).text == "5"
    assert [c[0] for c in calls] == ["before-render-template", "template-rendered"]


async def test_message_flashed(app: Flask, client: TestClient) -> None:
    app.secret_key = "signals"

    @app.route("/")
    async def index() -> str:
        flash("saved")
        flash("careful", "warning")
        return "ok"

    calls: Calls = []
    with recording(signals.message_flashed, app, calls):
        await client.get("/")
    assert [c[2] for c in calls] == [
        {"message": "saved", "category": "message"},
        {"message": "careful", "category": "warning"},
    ]
    assert calls[0][1] is app


async def test_receivers_connected_between_requests_are_heard(
    app: Flask, client: TestClient
) -> None:
    @app.route("/")
    async def index() -> str:
        return "ok"

    calls: Calls = []
    assert (await client.get("/")).text == "ok"
    with (
        recording(signals.request_started, app, calls),
        recording(signals.request_finished, app, calls),
        recording(signals.request_tearing_down, app, calls),
        recording(signals.appcontext_pushed, app, calls),
        recording(signals.appcontext_popped, app, calls),
    ):
        assert (await client.get("/")).text == "ok"
    assert [c[0] for c in calls] == [
        "appcontext-pushed",
        "request-started",
        "request-finished",
        "request-tearing-down",
        "appcontext-popped",
    ]
    calls.clear()
    assert (await client.get("/")).text == "ok"
    assert calls == []
