"""Flask's own globals (``flask.request``, ``flask.g``, ``flask.session``,
``flask.current_app``, ``flask.has_request_context()``...) inside asyncflask's
contexts, the Flask helpers built on them, and the app methods extensions
call."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import typing as t

import flask
import flask.ctx
import flask.globals
import flask.logging
import flask.views
import pytest

from asyncflask import (
    Flask,
    copy_current_request_context,
    g,
    get_flashed_messages,
    request,
    session,
)
from asyncflask.flaskglobals import install
from asyncflask.testing import TestClient


def flask_view_of_the_request() -> dict[str, t.Any]:
    """What an extension sees through Flask's names."""
    return {
        "has_request": flask.has_request_context(),
        "has_app": flask.has_app_context(),
        "path": flask.request.path,
        "method": flask.request.method,
        "app": flask.current_app.name,
        "same_request": flask.request._get_current_object() is request._get_current_object(),
        "same_ctx": flask.globals.request_ctx.request is request._get_current_object(),
    }


EXPECTED = {
    "has_request": True,
    "has_app": True,
    "path": "/p/1",
    "method": "GET",
    "app": "testapp",
    "same_request": True,
    "same_ctx": True,
}


async def test_flask_request_in_an_async_view(app: Flask, client: TestClient) -> None:
    @app.get("/p/<int:n>")
    async def view(n: int) -> t.Any:
        return flask_view_of_the_request()

    r = await client.get("/p/1")
    assert r.get_json() == EXPECTED


async def test_flask_request_in_a_def_view(app: Flask, client: TestClient) -> None:
    @app.get("/p/<int:n>")
    def view(n: int) -> t.Any:
        return flask_view_of_the_request()

    r = await client.get("/p/1")
    assert r.get_json() == EXPECTED


async def test_flask_request_in_a_copied_context_task(app: Flask, client: TestClient) -> None:
    @app.get("/p/<int:n>")
    async def view(n: int) -> t.Any:
        @copy_current_request_context
        async def task() -> dict[str, t.Any]:
            return flask_view_of_the_request()

        return await asyncio.create_task(task())

    r = await client.get("/p/1")
    assert r.get_json() == EXPECTED


async def test_g_and_session_are_the_same_objects(app: Flask, client: TestClient) -> None:
    app.secret_key = "k"

    @app.get("/set")
    async def set_() -> str:
        flask.g.via_flask = 1
        g.via_asyncflask = 2
        flask.session["n"] = flask.session.get("n", 0) + 1
        assert flask.g._get_current_object() is g._get_current_object()
        return f"{g.via_flask} {flask.g.via_asyncflask} {session['n']}"

    assert (await client.get("/set")).text == "1 2 1"
    assert (await client.get("/set")).text == "1 2 2"  # the session cookie came back


async def test_outside_any_context_flask_names_are_unbound() -> None:
    assert not flask.has_request_context()
    assert not flask.has_app_context()
    with pytest.raises(RuntimeError, match="outside of request context"):
        flask.request.path  # noqa: B018
    with pytest.raises(RuntimeError, match="outside of application context"):
        flask.current_app.name  # noqa: B018
    assert not flask.request  # a proxy that is unbound is false, as in Flask


async def test_an_app_context_without_a_request(app: Flask) -> None:
    app.config["SERVER_NAME"] = "example.test"
    app.add_url_rule("/page", "page", lambda: "x")
    async with app.app_context():
        assert flask.has_app_context()
        assert not flask.has_request_context()
        assert flask.current_app._get_current_object() is app
        flask.g.x = 1
        assert g.x == 1
        assert flask.url_for("page") == "http://example.test/page"
        with pytest.raises(RuntimeError, match="outside of request context"):
            flask.request.path  # noqa: B018


async def test_flask_helpers(app: Flask, client: TestClient) -> None:
    app.secret_key = "k"

    @app.get("/item/<int:n>")
    async def item(n: int) -> str:
        return flask.url_for("item", n=n + 1, _external=True)

    @app.get("/go")
    async def go() -> t.Any:
        return flask.redirect(flask.url_for("item", n=7))

    @app.get("/teapot")
    async def teapot() -> t.Any:
        flask.abort(418)

    @app.get("/flash")
    async def flash() -> str:
        flask.flash("hello", "info")
        return "ok"

    @app.get("/show")
    async def show() -> t.Any:
        return {
            "flask": flask.get_flashed_messages(with_categories=True),
            "asyncflask": get_flashed_messages(),  # the same list for the request
        }

    assert (await client.get("/item/1")).text == "http://localhost/item/2"
    r = await client.get("/go")
    assert (r.status_code, r.headers["Location"]) == (302, "/item/7")
    assert (await client.get("/teapot")).status_code == 418
    await client.get("/flash")
    assert (await client.get("/show")).get_json() == {
        "flask": [["info", "hello"]],
        "asyncflask": ["hello"],
    }


async def test_app_ctx_is_one_object_from_the_view_to_teardown(
    app: Flask, client: TestClient
) -> None:
    seen: list[int] = []

    @app.teardown_appcontext
    def teardown(exc: BaseException | None) -> None:
        seen.append(id(flask.globals.app_ctx._get_current_object()))

    @app.get("/")
    async def view() -> str:
        seen.append(id(flask.globals.app_ctx._get_current_object()))
        return "x"

    await client.get("/")
    await client.get("/")
    assert len(seen) == 4
    assert seen[0] == seen[1]
    assert seen[2] == seen[3]


async def test_a_flask_context_takes_precedence(app: Flask, client: TestClient) -> None:
    flask_app = flask.Flask("real")

    @app.get("/outer")
    async def view() -> t.Any:
        with flask_app.test_request_context("/inner"):
            inner = (flask.request.path, flask.current_app.name, flask.has_request_context())
        return {"inner": list(inner), "after": flask.request.path}

    r = await client.get("/outer")
    assert r.get_json() == {"inner": ["/inner", "real", True], "after": "/outer"}

    @flask_app.get("/f")
    def f() -> str:
        return f"{flask.request.path} {flask.current_app.name}"

    assert flask_app.test_client().get("/f").text == "/f real"


def test_install_twice_changes_nothing() -> None:
    before = flask.globals.request._get_current_object  # type: ignore[attr-defined]
    install()
    assert flask.globals.request._get_current_object is before  # type: ignore[attr-defined]


async def test_flasks_log_handler_writes_to_stderr_in_a_request(
    app: Flask, client: TestClient
) -> None:
    @app.get("/")
    async def view() -> t.Any:
        return {"stderr": flask.logging.wsgi_errors_stream._get_current_object() is sys.stderr}

    assert (await client.get("/")).get_json() == {"stderr": True}


# -- what extensions call on the app ---------------------------------------------------------


def plain_decorator(view: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """A decorator written for Flask (Flask-Login's login_required): a plain
    function that answers itself or calls the view through ensure_sync."""

    @functools.wraps(view)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if flask.request.args.get("deny"):
            return flask.current_app.make_response(("denied", 403))
        return flask.current_app.ensure_sync(view)(*args, **kwargs)

    return wrapper


async def test_a_plain_decorator_around_an_async_view(app: Flask, client: TestClient) -> None:
    @app.get("/<name>")
    @plain_decorator
    async def view(name: str) -> str:
        await asyncio.sleep(0)
        return f"hello {name}"

    r = await client.get("/bob")
    assert (r.status_code, r.text) == (200, "hello bob")
    r = await client.get("/bob?deny=1")
    assert (r.status_code, r.text) == (403, "denied")


def wrap_error_handlers(app: Flask) -> None:
    """What Flask-CORS does to the app's error handling."""

    def decorate(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        def wrapped(*args: t.Any, **kwargs: t.Any) -> t.Any:
            response = app.make_response(f(*args, **kwargs))
            response.headers["X-Wrapped"] = "yes"
            return response

        return wrapped

    app.handle_exception = decorate(app.handle_exception)  # type: ignore[method-assign]
    app.handle_user_exception = decorate(app.handle_user_exception)  # type: ignore[method-assign]


async def test_plain_wrappers_of_the_error_handlers(app: Flask, client: TestClient) -> None:
    wrap_error_handlers(app)

    @app.errorhandler(409)
    async def conflict(e: Exception) -> t.Any:
        return "conflict", 409

    @app.get("/409")
    async def view_409() -> t.Any:
        flask.abort(409)

    @app.get("/boom")
    async def boom() -> t.Any:
        raise ValueError("boom")

    r = await client.get("/missing")
    assert (r.status_code, r.headers.get("X-Wrapped")) == (404, "yes")
    r = await client.get("/409")
    assert (r.status_code, r.text, r.headers.get("X-Wrapped")) == (409, "conflict", "yes")
    r = await client.get("/boom")
    assert (r.status_code, r.headers.get("X-Wrapped")) == (500, "yes")


async def test_a_wrapped_error_handler_that_must_wait_fails_clearly(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    wrap_error_handlers(app)

    @app.errorhandler(409)
    async def conflict(e: Exception) -> t.Any:
        await asyncio.sleep(0)  # really waits: cannot be finished from a plain call
        return "conflict", 409

    @app.get("/")
    async def view() -> t.Any:
        flask.abort(409)

    with caplog.at_level(logging.ERROR):
        r = await client.get("/")
    assert r.status_code == 500
    assert "had to wait, but it was called by plain code on the event loop" in caplog.text


async def test_flask_views_method_view_with_async_methods(app: Flask, client: TestClient) -> None:
    class Item(flask.views.MethodView):
        async def get(self, item_id: int) -> t.Any:
            await asyncio.sleep(0)
            return {"id": item_id, "path": flask.request.path}

        def post(self, item_id: int) -> t.Any:
            return {"id": item_id, "form": flask.request.form.to_dict()}

    app.add_url_rule("/items/<int:item_id>", view_func=Item.as_view("item"))
    assert (await client.get("/items/3")).get_json() == {"id": 3, "path": "/items/3"}
    r = await client.post("/items/4", data={"a": "b"})
    assert r.get_json() == {"id": 4, "form": {"a": "b"}}


async def test_a_plain_wrapper_making_a_response_of_a_coroutine(
    app: Flask, client: TestClient
) -> None:
    def created(view: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        @functools.wraps(view)
        def wrapper() -> t.Any:
            response = flask.make_response(view(), 201, {"X-Made": "1"})
            return response

        return wrapper

    @app.get("/")
    @created
    async def view() -> str:
        return "made"

    r = await client.get("/")
    assert (r.status_code, r.text, r.headers["X-Made"]) == (201, "made", "1")


def test_flask_ctx_reads_a_bridged_variable_like_a_context_variable() -> None:
    var = flask.ctx._cv_request  # type: ignore[attr-defined]
    assert var.name == "flask.request_ctx"
    assert var.get("default") == "default"
    with pytest.raises(LookupError):
        var.get()


# -- flask.stream_with_context ----------------------------------------------------------


async def test_flask_stream_with_context(app: Flask, client: TestClient) -> None:
    def lines() -> t.Iterator[str]:
        yield flask.request.args["a"]
        yield flask.g.get("mark", "-")
        yield flask.current_app.name

    @app.route("/plain")
    def plain() -> t.Any:
        flask.g.mark = "plain"
        return flask.stream_with_context(lines())

    @app.route("/async")
    async def in_async() -> t.Any:
        return flask.Response(flask.stream_with_context(lines)(), mimetype="text/plain")

    r = await client.get("/plain?a=1")
    assert (r.status_code, r.text) == (200, f"1plain{app.name}")
    r = await client.get("/async?a=2")
    assert (r.status_code, r.text) == (200, f"2-{app.name}")
    with pytest.raises(RuntimeError, match="request context is active"):
        flask.stream_with_context(lines())
    async with app.app_context():
        with pytest.raises(RuntimeError, match="request context is active"):
            flask.stream_with_context(lines())
