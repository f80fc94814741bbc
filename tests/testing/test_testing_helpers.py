"""Testing helpers: ``app.test_request_context()`` and ``app.app_context()``
(``async with`` and plain ``with``) and the test client's
``session_transaction()``, compared with Flask 3.1's."""

from __future__ import annotations

from typing import Any

import flask
import pytest

from asyncflask import (
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
    url_for,
)
from asyncflask.testing import TestClient

# -- test_request_context --------------------------------------------------------------


async def test_test_request_context_post_json(app: Flask) -> None:
    @app.post("/x")
    async def x() -> str:
        return "x"

    async with app.test_request_context("/x?a=1", method="POST", json={"k": [1, 2]}):
        assert has_request_context()
        assert has_app_context()
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert request.method == "POST"
        assert request.path == "/x"
        assert request.full_path == "/x?a=1"
        assert request.args["a"] == "1"
        assert request.is_json
        assert request.mimetype == "application/json"
        assert await request.get_json() == {"k": [1, 2]}
        assert await request.json == {"k": [1, 2]}
        assert request.endpoint == "x"
        assert request.url_rule is not None
        assert request.view_args == {}
    assert not has_request_context()
    assert not has_app_context()


async def test_test_request_context_plain_with(app: Flask) -> None:
    with app.test_request_context("/y?b=2", method="PUT", headers={"X-Thing": "t"}):
        assert request.method == "PUT"
        assert request.args["b"] == "2"
        assert request.headers["X-Thing"] == "t"
        assert current_app.name == "testapp"
    assert not has_request_context()


async def test_test_request_context_matches_flask(app: Flask) -> None:
    kwargs: dict[str, Any] = {
        "method": "PATCH",
        "query_string": {"q": "a b", "n": "1"},
        "headers": {"X-A": "1", "Cookie": "c=d"},
    }
    fapp = flask.Flask("testapp")
    with fapp.test_request_context("/p/q", **kwargs):
        expected = _describe(flask.request)
    async with app.test_request_context("/p/q", **kwargs):
        ours = _describe(request)
    assert ours == expected


def _describe(req: Any) -> dict[str, Any]:
    return {
        "method": req.method,
        "path": req.path,
        "full_path": req.full_path,
        "url": req.url,
        "base_url": req.base_url,
        "url_root": req.url_root,
        "host": req.host,
        "host_url": req.host_url,
        "scheme": req.scheme,
        "args": req.args.to_dict(flat=False),
        "cookies": dict(req.cookies),
        "x_a": req.headers.get("X-A"),
        "is_secure": req.is_secure,
    }


async def test_test_request_context_form_data(app: Flask) -> None:
    async with app.test_request_context("/f", method="POST", data={"name": "ada", "n": "1"}):
        assert request.mimetype == "application/x-www-form-urlencoded"
        form = await request.form
        assert form["name"] == "ada"
        assert form["n"] == "1"


async def test_test_request_context_raw_data(app: Flask) -> None:
    async with app.test_request_context(
        "/d", method="POST", data=b"raw bytes", content_type="application/octet-stream"
    ):
        assert request.content_type == "application/octet-stream"
        assert await request.get_data() == b"raw bytes"
        assert request.content_length == 9


async def test_test_request_context_base_url(app: Flask) -> None:
    async with app.test_request_context("/p", base_url="https://example.com:8443/root/"):
        assert request.host == "example.com:8443"
        assert request.scheme == "https"
        assert request.is_secure
        assert request.root_path == "/root"
        assert request.path == "/p"
        assert request.url == "https://example.com:8443/root/p"


async def test_test_request_context_server_name(app: Flask) -> None:
    app.config["SERVER_NAME"] = "example.org"
    app.config["PREFERRED_URL_SCHEME"] = "https"

    @app.route("/page")
    async def page() -> str:
        return "page"

    async with app.test_request_context("/page"):
        assert request.host == "example.org"
        assert request.url == "https://example.org/page"
        assert url_for("page", _external=True) == "https://example.org/page"


async def test_url_for_in_test_request_context(app: Flask) -> None:
    @app.route("/user/<int:uid>")
    async def user(uid: int) -> str:
        return str(uid)

    async with app.test_request_context("/"):
        assert url_for("user", uid=3) == "/user/3"
        assert url_for("user", uid=3, _external=True) == "http://localhost/user/3"


async def test_test_request_context_does_not_run_hooks(app: Flask) -> None:
    calls: list[str] = []
    app.before_request(lambda: calls.append("before"))

    async with app.test_request_context("/"):
        assert calls == []


async def test_test_request_context_teardown(app: Flask) -> None:
    calls: list[Any] = []

    @app.teardown_request
    def sync_teardown(exc: BaseException | None) -> None:
        calls.append(("request", exc))

    @app.teardown_appcontext
    def sync_ctx_teardown(exc: BaseException | None) -> None:
        calls.append(("app", exc))

    with app.test_request_context("/"):
        pass
    assert calls == [("request", None), ("app", None)]
    calls.clear()
    async with app.test_request_context("/"):
        pass
    assert calls == [("request", None), ("app", None)]
    calls.clear()
    with pytest.raises(KeyError):
        async with app.test_request_context("/"):
            raise KeyError("x")
    assert [c[0] for c in calls] == ["request", "app"]
    assert all(isinstance(c[1], KeyError) for c in calls)


async def test_async_teardown_needs_async_with(app: Flask) -> None:
    calls: list[str] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        calls.append("async teardown")

    async with app.test_request_context("/"):
        pass
    assert calls == ["async teardown"]
    with pytest.raises(TypeError, match="async with"), app.test_request_context("/"):
        pass
    assert not has_request_context()
    assert not has_app_context()


async def test_session_in_test_request_context(app: Flask) -> None:
    app.secret_key = "testing"
    async with app.test_request_context("/"):
        session["a"] = 1
        assert session["a"] == 1
        assert session.modified


async def test_g_in_test_request_context(app: Flask) -> None:
    async with app.test_request_context("/"):
        g.user = "ada"
        assert g.user == "ada"
    async with app.test_request_context("/"):
        assert "user" not in g


async def test_nested_request_contexts(app: Flask) -> None:
    async with app.test_request_context("/outer"):
        async with app.test_request_context("/inner"):
            assert request.path == "/inner"
        assert request.path == "/outer"
    assert not has_request_context()


async def test_app_preprocess_request_in_test_request_context(app: Flask) -> None:
    @app.before_request
    async def load_user() -> None:
        g.user = request.args.get("name")

    # Flask's testing recipe: run the before_request functions by hand
    fapp = flask.Flask("reference")
    fapp.before_request(lambda: setattr(flask.g, "user", flask.request.args.get("name")))
    with fapp.test_request_context("/?name=Peter"):
        assert fapp.preprocess_request() is None
        assert flask.g.user == "Peter"

    async with app.test_request_context("/?name=Peter"):
        assert await app.preprocess_request() is None  # type: ignore[call-arg]
        assert g.user == "Peter"


async def test_app_process_response_in_test_request_context(app: Flask) -> None:
    @app.after_request
    async def add_header(response: Any) -> Any:
        response.headers["X-After"] = "yes"
        return response

    async with app.test_request_context("/"):
        response = await app.process_response(app.response_class("body"))
        assert response.headers["X-After"] == "yes"


# -- app_context -----------------------------------------------------------------------------------


async def test_async_app_context(app: Flask) -> None:
    calls: list[Any] = []

    @app.teardown_appcontext
    async def teardown(exc: BaseException | None) -> None:
        calls.append(g.get("value"))

    async with app.app_context() as ctx:
        assert ctx.app is app
        assert current_app.name == "testapp"
        g.value = 42
        assert not has_request_context()
        with pytest.raises(RuntimeError, match="request context"):
            _ = request.args
    assert calls == [42]
    assert not has_app_context()


async def test_plain_app_context(app: Flask) -> None:
    with app.app_context():
        assert current_app.config["TESTING"] is False
        g.x = 1
        assert g.x == 1
    assert not has_app_context()


async def test_app_context_url_for_needs_server_name(app: Flask) -> None:
    @app.route("/here")
    async def here() -> str:
        return "here"

    async with app.app_context():
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            url_for("here")
    app.config["SERVER_NAME"] = "example.com"
    async with app.app_context():
        assert url_for("here") == "http://example.com/here"


async def test_nested_app_contexts_of_two_apps(app: Flask) -> None:
    other = Flask("other")
    async with app.app_context():
        g.name = "first"
        async with other.app_context():
            assert current_app.name == "other"
            assert "name" not in g
        assert current_app.name == "testapp"
        assert g.name == "first"


async def test_request_context_reuses_pushed_app_context(app: Flask) -> None:
    async with app.app_context():
        g.shared = "yes"
        async with app.test_request_context("/"):
            assert g.shared == "yes"
        assert g.shared == "yes"


# -- session_transaction ------------------------------------------------------------------------


@pytest.fixture
def sapp(app: Flask) -> Flask:
    app.secret_key = "transactions"

    @app.route("/get")
    async def get() -> dict[str, Any]:
        return dict(session)

    @app.route("/set/<key>/<value>")
    async def set_(key: str, value: str) -> str:
        session[key] = value
        return "ok"

    return app


async def test_session_transaction_sets_session(sapp: Flask, client: TestClient) -> None:
    async with client.session_transaction() as sess:
        assert dict(sess) == {}
        sess["user"] = "alice"
        sess["n"] = 1
    assert (await client.get("/get")).get_json() == {"user": "alice", "n": 1}


async def test_session_transaction_reads_session(sapp: Flask, client: TestClient) -> None:
    await client.get("/set/color/blue")
    async with client.session_transaction() as sess:
        assert sess["color"] == "blue"
        sess["size"] = "L"
    assert (await client.get("/get")).get_json() == {"color": "blue", "size": "L"}


async def test_session_transaction_delete_key(sapp: Flask, client: TestClient) -> None:
    await client.get("/set/color/blue")
    async with client.session_transaction() as sess:
        del sess["color"]
    assert (await client.get("/get")).get_json() == {}


async def test_session_transaction_exception_discards(sapp: Flask, client: TestClient) -> None:
    await client.get("/set/color/blue")
    with pytest.raises(ValueError, match="abandon"):
        async with client.session_transaction() as sess:
            sess["color"] = "red"
            raise ValueError("abandon")
    assert (await client.get("/get")).get_json() == {"color": "blue"}


async def test_session_transaction_matches_flask_cookie(sapp: Flask, client: TestClient) -> None:
    async with client.session_transaction() as sess:
        sess["user"] = "alice"
    value = client.cookies["session"]
    fapp = flask.Flask("reference")
    fapp.secret_key = "transactions"
    fapp.add_url_rule("/get", "get", lambda: dict(flask.session))
    fclient = fapp.test_client()
    fclient.set_cookie("session", value)
    assert fclient.get("/get").get_json() == {"user": "alice"}


async def test_session_transaction_custom_cookie_name(sapp: Flask, client: TestClient) -> None:
    sapp.config["SESSION_COOKIE_NAME"] = "sid"
    async with client.session_transaction() as sess:
        sess["k"] = "v"
    assert "sid" in client.cookies
    assert (await client.get("/get")).get_json() == {"k": "v"}


async def test_session_transaction_permanent(sapp: Flask, client: TestClient) -> None:
    @sapp.route("/permanent")
    async def permanent() -> dict[str, Any]:
        return {"permanent": session.permanent}

    async with client.session_transaction() as sess:
        sess["k"] = "v"
        sess.permanent = True
    assert (await client.get("/permanent")).get_json() == {"permanent": True}


async def test_session_transaction_without_secret_key(app: Flask, client: TestClient) -> None:
    with pytest.raises(RuntimeError, match="Session backend did not open a session"):
        async with client.session_transaction():
            pass


async def test_session_transaction_cookies_disabled(sapp: Flask) -> None:
    fclient = flask.Flask("reference").test_client(use_cookies=False)
    with pytest.raises(TypeError, match="Cookies are disabled"), fclient.session_transaction():
        pass
    async with sapp.test_client(use_cookies=False) as client:
        with pytest.raises(TypeError, match="Cookies are disabled"):
            async with client.session_transaction():
                pass


async def test_session_transaction_is_async_context_manager(
    sapp: Flask, client: TestClient
) -> None:
    transaction = client.session_transaction()
    assert hasattr(transaction, "__aenter__")
    async with transaction as sess:
        sess["x"] = 1
    assert (await client.get("/get")).get_json() == {"x": 1}


async def test_session_transaction_then_request_changes(sapp: Flask, client: TestClient) -> None:
    async with client.session_transaction() as sess:
        sess["a"] = "1"
    await client.get("/set/b/2")
    async with client.session_transaction() as sess:
        assert dict(sess) == {"a": "1", "b": "2"}
