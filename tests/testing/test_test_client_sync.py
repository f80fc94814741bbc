"""The test client as Flask's: synchronous in plain ``def`` tests, awaited in
async ones; ``with client:`` keeps the last request's context; the caller's
app context is shared; cookies; Flask's ``EnvironBuilder`` keywords."""

from __future__ import annotations

import asyncio
import gc
import typing as t
from io import BytesIO

import pytest
from flask.testing import EnvironBuilder, FlaskCliRunner
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import Cookie

from asyncflask import Flask, g, jsonify, redirect, request, session
from asyncflask.globals import request_ctx
from asyncflask.testing import TestClient, TestResponse


@pytest.fixture
def sapp() -> Flask:
    app = Flask("sync_client")
    app.config.update(TESTING=True, SECRET_KEY="test key")

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        g.seen = request.path
        return f"{request.method} {request.form.get('q', '-')}"

    @app.post("/echo")
    async def echo() -> t.Any:
        return {"json": await request.get_json(silent=True), "data": (await request.data).decode()}

    @app.route("/env")
    def env() -> t.Any:
        return {
            "url": request.url,
            "remote_addr": request.remote_addr,
            "user_agent": request.user_agent.string,
            "script_root": request.script_root,
            "path": request.path,
        }

    @app.route("/count")
    def count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    return app


# -- plain def tests ---------------------------------------------------------------------


def test_plain_calls_return_responses(sapp: Flask) -> None:
    client = sapp.test_client()
    r = client.get("/")
    assert isinstance(r, TestResponse)
    assert (r.status_code, r.text, r.status) == (200, "GET -", "200 OK")
    assert client.post("/", data={"q": "x"}).data == b"POST x"
    assert client.open("/", method="POST", data={"q": "y"}).data == b"POST y"
    assert client.get().data == b"GET -"  # Flask's default path
    r = client.post("/echo", json={"a": [1, 2]})
    assert r.json == {"json": {"a": [1, 2]}, "data": '{"a": [1, 2]}'}
    assert client.put("/").status_code == 405
    assert client.trace("/").status_code == 405
    assert client.delete("/").status_code == 405
    assert client.patch("/").status_code == 405
    assert client.head("/").status_code == 200
    assert client.options("/").headers["Allow"]
    assert client.request("POST", "/", data={"q": "z"}).data == b"POST z"


def test_plain_calls_keep_cookies(sapp: Flask) -> None:
    client = sapp.test_client()
    assert [client.get("/count").text for _ in range(3)] == ["1", "2", "3"]


def test_with_client_keeps_the_last_context(sapp: Flask) -> None:
    torn_down: list[str] = []

    @sapp.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(request.path)

    client = sapp.test_client()
    with client:
        client.post("/?a=1", data={"q": "v"})
        assert request.path == "/"
        assert request.args["a"] == "1"
        assert request.form["q"] == "v"
        assert g.seen == "/"
        assert torn_down == ["/"]  # at the end of the request, as Flask
        client.get("/count")
        assert request.path == "/count"
        assert session["n"] == 1
        assert torn_down == ["/", "/", "/count"]  # the kept one popped again
    assert torn_down == ["/", "/", "/count", "/count"]
    with pytest.raises(RuntimeError, match="outside of request context"):
        request.path  # noqa: B018
    assert client._loop is None  # the client's event loop closed with the block


def test_with_client_cannot_nest(sapp: Flask) -> None:
    client = sapp.test_client()
    with client, pytest.raises(RuntimeError, match="Cannot nest"):
        client.__enter__()


def test_kept_context_async_teardown_runs_in_plain_with(sapp: Flask) -> None:
    torn_down: list[str] = []

    @sapp.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        torn_down.append(request.path)

    @sapp.teardown_appcontext
    async def teardown_app(exc: BaseException | None) -> None:
        torn_down.append("app")

    with sapp.test_client() as client:
        client.get("/")
        assert torn_down == ["/", "app"]
    assert torn_down == ["/", "app", "/", "app"]


def test_request_inside_app_context_shares_it(sapp: Flask) -> None:
    torn_down: list[BaseException | None] = []

    @sapp.teardown_appcontext
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(exc)

    @sapp.route("/g")
    def read_g() -> str:
        g.from_view = "view"
        return g.get("from_test", "none")

    client = sapp.test_client()
    with sapp.app_context():
        g.from_test = "test"
        assert client.get("/g").text == "test"
        assert g.from_view == "view"
        assert torn_down == []
    assert torn_down == [None]
    assert client.get("/g").text == "none"  # its own app context
    assert torn_down == [None, None]


def test_unhandled_error_tears_down_the_shared_app_context_once(sapp: Flask) -> None:
    torn_down: list[BaseException | None] = []

    @sapp.teardown_appcontext
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(exc)

    @sapp.route("/boom")
    def boom() -> str:
        raise ValueError("dummy")

    client = sapp.test_client()
    with pytest.raises(ValueError, match="dummy"), sapp.app_context():
        client.get("/boom")
    assert [type(e) for e in torn_down] == [ValueError]


def test_session_transaction_plain_with(sapp: Flask) -> None:
    client = sapp.test_client()
    with client.session_transaction() as sess:
        assert len(sess) == 0
        sess["n"] = 41
    assert client.get("/count").text == "42"
    with client.session_transaction() as sess:
        assert sess["n"] == 42
    with pytest.raises(ZeroDivisionError), client.session_transaction() as sess:
        sess["n"] = 0
        1 / 0  # noqa: B018
    assert client.get("/count").text == "43"  # a failed block stores nothing


def test_session_transaction_needs_cookies(sapp: Flask) -> None:
    client = sapp.test_client(use_cookies=False)
    with pytest.raises(TypeError, match="Cookies are disabled"):
        client.session_transaction()
    for call in (client.get_cookie, client.set_cookie, client.delete_cookie):
        with pytest.raises(TypeError, match="Cookies are disabled"):
            call("k")


def test_set_get_delete_cookie(sapp: Flask) -> None:
    @sapp.route("/cookies")
    def cookies() -> t.Any:
        return dict(request.cookies)

    @sapp.route("/set")
    def set_one() -> t.Any:
        r = jsonify()
        r.set_cookie("made", "by app", max_age=60, httponly=True, samesite="Lax", secure=True)
        return r

    client = sapp.test_client()
    client.set_cookie("flavour", "choc chip")
    client.set_cookie("only_here", "x", path="/elsewhere")
    assert client.get("/cookies").json == {"flavour": "choc chip"}
    cookie = client.get_cookie("flavour")
    assert isinstance(cookie, Cookie)
    assert (cookie.key, cookie.decoded_value, cookie.path) == ("flavour", "choc chip", "/")
    assert cookie.origin_only is True
    assert client.get_cookie("only_here") is None
    assert client.get_cookie("only_here", path="/elsewhere") is not None

    client.get("/set")
    made = client.get_cookie("made")
    assert made is not None
    assert (made.value, made.secure, made.http_only, made.same_site) == (
        '"by app"',
        True,
        True,
        "Lax",
    )
    assert made.expires is not None
    client.delete_cookie("flavour")
    assert client.get_cookie("flavour") is None
    assert client.get("/cookies").json == {"made": "by app"}  # Secure, over http


def test_cookie_for_other_domain(sapp: Flask) -> None:
    @sapp.route("/cookies")
    def cookies() -> t.Any:
        return dict(request.cookies)

    client = sapp.test_client()
    client.set_cookie("k", "v", domain="example.com", origin_only=False)
    assert client.get("/cookies").json == {}
    assert client.get("/cookies", base_url="http://sub.example.com").json == {"k": "v"}
    assert client.get_cookie("k", domain="example.com") is not None


def test_secure_session_cookie_kept_over_http(sapp: Flask) -> None:
    sapp.config["SESSION_COOKIE_SECURE"] = True
    client = sapp.test_client()
    r = client.get("/count")
    assert "Secure" in r.headers["Set-Cookie"]
    assert client.get("/count").text == "2"


def test_environ_defaults_and_environ_base(sapp: Flask) -> None:
    client = sapp.test_client()
    env = client.get("/env").json
    assert env["url"] == "http://localhost/env"
    assert env["remote_addr"] == "127.0.0.1"
    assert env["user_agent"].startswith("Werkzeug/")
    client.environ_base["REMOTE_ADDR"] = "192.168.0.22"
    client.environ_base["HTTP_USER_AGENT"] = "Foo"
    env = client.get("/env").json
    assert (env["remote_addr"], env["user_agent"]) == ("192.168.0.22", "Foo")
    env = client.get("/env", environ_base={"REMOTE_ADDR": "10.0.0.1"}).json
    assert env["remote_addr"] == "10.0.0.1"
    env = client.get("/env", environ_overrides={"REMOTE_ADDR": "10.0.0.2"}).json
    assert env["remote_addr"] == "10.0.0.2"


def test_url_scheme_subdomain_and_application_root() -> None:
    app = Flask("roots", subdomain_matching=True)
    app.config.update(SERVER_NAME="example.com:1234", APPLICATION_ROOT="/foo")

    @app.route("/")
    def index() -> str:
        return request.url

    @app.route("/", subdomain="<company>")
    def company(company: str) -> str:
        return f"{company} {request.url} {request.script_root}"

    client = app.test_client()
    assert client.get("/").text == "http://example.com:1234/foo/"
    assert client.get("/", url_scheme="https").text == "https://example.com:1234/foo/"
    assert client.get("/", subdomain="xxx").text == "xxx http://xxx.example.com:1234/foo/ /foo"
    assert client.get("http://xxx.example.com:1234/").text.startswith("xxx ")


def test_open_takes_an_environ_builder_or_an_environ(sapp: Flask) -> None:
    client = sapp.test_client()
    builder = EnvironBuilder(sapp, path="/env", method="GET")  # type: ignore[arg-type]
    try:
        assert client.open(builder).json["remote_addr"] == "127.0.0.1"
        environ = builder.get_environ()
    finally:
        builder.close()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    assert client.open(environ).json["remote_addr"] == "127.0.0.2"
    r = client.open(EnvironBuilder(sapp, "/", method="POST", data={"q": "b"}))  # type: ignore[arg-type]
    assert r.text == "POST b"


def test_follow_redirects_history_and_request(sapp: Flask) -> None:
    @sapp.route("/go")
    def go() -> t.Any:
        return redirect("/env?x=1")

    client = sapp.test_client()
    r = client.get("/go", follow_redirects=True)
    assert r.request.path == "/env"
    assert r.request.args["x"] == "1"
    assert r.request.full_path == "/env?x=1"
    assert r.request.host == "localhost"
    assert r.request.query_string == b"x=1"
    assert [h.status_code for h in r.history] == [302]
    assert r.history[0].request.path == "/go"
    assert r.history[0].location == "/env?x=1"


def test_response_headers_as_werkzeug(sapp: Flask) -> None:
    @sapp.route("/h")
    def headers() -> t.Any:
        return "", 200, [("X-N", "5"), ("X-N", "no"), ("X-N", "7"), ("Vary", "Cookie")]

    r = sapp.test_client().get("/h")
    assert r.headers.getlist("X-N") == ["5", "no", "7"]
    assert r.headers.getlist("X-N", type=int) == [5, 7]
    assert r.headers.get_all("X-N") == ["5", "no", "7"]
    assert r.headers.get("X-N", type=int) == 5
    assert r.headers.get("X-Missing", "d") == "d"
    assert r.headers.get("Vary", type=int) is None
    assert "cookie" in r.vary
    assert r.content_length == 0
    assert r.json is None  # not JSON
    with pytest.raises(AttributeError):
        r.no_such_thing  # noqa: B018
    with pytest.raises(AttributeError):
        r._private  # noqa: B018


def test_multi_valued_request_headers_stay_separate(sapp: Flask) -> None:
    @sapp.route("/hs")
    def hs() -> t.Any:
        return {"x": request.headers.getlist("X-Multi")}

    r = sapp.test_client().get("/hs", headers=[("X-Multi", "a"), ("X-Multi", "b")])
    assert r.json == {"x": ["a", "b"]}


def test_test_client_class_subclass_overriding_open(sapp: Flask) -> None:
    class C(TestClient):
        def open(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
            kwargs.setdefault("environ_base", {})["REMOTE_ADDR"] = "1.2.3.4"
            return super().open(*args, **kwargs)

    sapp.test_client_class = C
    client = sapp.test_client()
    assert isinstance(client, C)
    assert client.get("/env").json["remote_addr"] == "1.2.3.4"


async def test_test_client_class_subclass_awaited(sapp: Flask) -> None:
    class C(TestClient):
        def open(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
            kwargs.setdefault("headers", {})["User-Agent"] = "sub"
            return super().open(*args, **kwargs)

    sapp.test_client_class = C
    r = await sapp.test_client().get("/env")
    assert r.json["user_agent"] == "sub"


def test_cli_runner_class(sapp: Flask) -> None:
    assert isinstance(sapp.test_cli_runner(), FlaskCliRunner)

    class SubRunner(FlaskCliRunner):
        pass

    sapp.test_cli_runner_class = SubRunner
    assert isinstance(sapp.test_cli_runner(), SubRunner)


def test_test_request_context_body_without_await(sapp: Flask) -> None:
    with sapp.test_request_context(
        "/", method="POST", data={"a": "1", "f": (BytesIO(b"hi"), "f.txt")}
    ):
        assert request.form["a"] == "1"
        assert request.files["f"].read() == b"hi"
        assert request.data == b""
    with sapp.test_request_context("/", method="POST", json={"k": [1]}):
        assert request.get_json() == {"k": [1]}
        assert request.json == {"k": [1]}
        assert request.data == b'{"k": [1]}'
    with sapp.test_request_context("/?q=2", data="raw", url_scheme="https"):
        assert request.get_data() == b"raw"
        assert request.url == "https://localhost/?q=2"


def test_test_request_context_body_over_the_limit_is_left_unread(sapp: Flask) -> None:
    sapp.config["MAX_FORM_MEMORY_SIZE"] = 4
    data = {"a": "too long", "f": (BytesIO(b"x"), "f.txt")}
    ctx = sapp.test_request_context("/", method="POST", data=data)
    with ctx:
        assert request._form is None  # type: ignore[attr-defined]


def test_context_pop_from_plain_code(sapp: Flask) -> None:
    torn_down: list[str] = []
    sapp.teardown_request(lambda exc: torn_down.append("request"))
    sapp.teardown_appcontext(lambda exc: torn_down.append("app"))
    ctx = sapp.test_request_context()
    ctx.push()
    ctx.push()  # inside itself
    ctx.pop()
    assert torn_down == []
    assert request.path == "/"
    ctx.pop()
    assert torn_down == ["request", "app"]
    app_ctx = sapp.app_context()
    app_ctx.push()
    app_ctx.pop()
    assert torn_down == ["request", "app", "app"]


def test_the_client_loop_is_closed_when_the_client_goes(sapp: Flask) -> None:
    client = sapp.test_client()
    client.get("/")
    loop = client._loop
    assert loop is not None and not loop.is_closed()
    del client
    gc.collect()
    assert loop.is_closed()


# -- async tests ------------------------------------------------------------------------


async def test_awaited_calls_work_as_before(sapp: Flask) -> None:
    client = sapp.test_client()
    r = await client.post("/", data={"q": "a"})
    assert r.text == "POST a"
    r = await client.open("/", method="GET")
    assert r.text == "GET -"


async def test_async_with_keeps_the_last_context(sapp: Flask) -> None:
    async with sapp.test_client() as client:
        await client.get("/count")
        assert request.path == "/count"
        assert session["n"] == 1
        await client.post("/", data={"q": "w"})
        assert g.seen == "/"
        assert (await request.form)["q"] == "w"
    with pytest.raises(RuntimeError, match="outside of request context"):
        request.path  # noqa: B018


async def test_async_request_inside_app_context_shares_it(sapp: Flask) -> None:
    torn_down: list[BaseException | None] = []

    @sapp.teardown_appcontext
    async def teardown(exc: BaseException | None) -> None:
        torn_down.append(exc)

    @sapp.route("/g")
    async def read_g() -> str:
        return g.get("from_test", "none")

    client = sapp.test_client()
    async with sapp.app_context():
        g.from_test = "test"
        assert (await client.get("/g")).text == "test"
    assert torn_down == [None]


async def test_async_session_transaction_and_cookies(sapp: Flask) -> None:
    client = sapp.test_client()
    async with client.session_transaction() as sess:
        sess["n"] = 9
    assert (await client.get("/count")).text == "10"
    client.set_cookie("a", "b")
    assert client.get_cookie("a") is not None


async def test_plain_helper_in_async_test_gets_an_awaitable(sapp: Flask) -> None:
    client = sapp.test_client()

    def helper() -> t.Any:
        return client.get("/")

    assert (await helper()).text == "GET -"
    pending = helper()
    with pytest.raises(RuntimeError, match="await it in async code"):
        pending.status_code  # noqa: B018


def test_response_close_and_errors_without_noise(sapp: Flask) -> None:
    @sapp.route("/fail")
    def fail() -> str:
        raise KeyError("x")

    client = sapp.test_client()
    r = client.get("/")
    r.close()
    r.close()
    with pytest.raises(KeyError) as info:
        client.get("/fail")
    assert not isinstance(info.value.__context__, RuntimeError)  # no "no running event loop"


async def test_kept_context_is_not_the_app_context_of_later_tasks(sapp: Flask) -> None:
    @sapp.route("/g")
    async def read_g() -> str:
        seen = g.get("mark", "fresh")
        g.mark = "used"
        return seen

    async with sapp.test_client() as client:
        await client.get("/g")

        async def in_task() -> str:
            return (await client.get("/g")).text

        assert await asyncio.create_task(in_task()) == "fresh"


def test_open_takes_a_werkzeug_request(sapp: Flask) -> None:
    builder = EnvironBuilder(sapp, "/env", environ_base={"REMOTE_ADDR": "10.9.8.7"})  # type: ignore[arg-type]
    try:
        req = builder.get_request()
    finally:
        builder.close()
    assert sapp.test_client().open(req).json["remote_addr"] == "10.9.8.7"


def test_httpx_keywords_with_flask_ones(sapp: Flask) -> None:
    client = sapp.test_client()
    client.environ_base["HTTP_X_DEFAULT"] = "d"

    @sapp.post("/raw")
    async def raw() -> t.Any:
        return {
            "args": request.args.to_dict(),
            "type": request.content_type,
            "data": (await request.data).decode(),
            "default": request.headers.get("X-Default"),
        }

    r = client.post("/raw", content=b"{}", query_string=b"q=1", content_type="application/json")
    assert r.json == {"args": {"q": "1"}, "type": "application/json", "data": "{}", "default": "d"}
    r = client.post("/raw?a=1", data="text", timeout=5, query_string={"z": "3"})
    assert (r.json["args"], r.json["data"]) == ({"a": "1", "z": "3"}, "text")


def test_file_objects_in_data(sapp: Flask) -> None:
    @sapp.post("/up")
    async def up() -> t.Any:
        files = await request.files
        return {k: [f.filename, f.read().decode()] for k, f in files.items()}

    upload = BytesIO(b"content")
    upload.name = "named.txt"
    r = sapp.test_client().post("/up", data={"a": upload, "b": (BytesIO(b""), "")})
    assert r.json == {"a": ["named.txt", "content"], "b": ["", ""]}


async def test_made_up_body_over_the_limit_is_refused_when_read(sapp: Flask) -> None:
    sapp.config["MAX_FORM_MEMORY_SIZE"] = 4
    data = {"a": "too long", "f": (BytesIO(b"x"), "f.txt")}
    async with sapp.test_request_context("/", method="POST", data=data):
        with pytest.raises(RequestEntityTooLarge):
            await request.form


async def test_async_with_client_cannot_nest(sapp: Flask) -> None:
    async with sapp.test_client() as client:
        with pytest.raises(RuntimeError, match="Cannot nest"):
            await client.__aenter__()


def test_kept_context_has_its_session_open(sapp: Flask) -> None:
    @sapp.route("/nothing")
    def nothing() -> str:
        return ""

    with sapp.test_client() as client:
        rv = client.get("/nothing")
        assert "cookie" not in rv.vary
        assert request_ctx._session is not None
        assert not request_ctx._session.accessed
        rv = client.get("/count")
        assert "cookie" in rv.vary
        assert request_ctx._session.accessed
        assert request_ctx._session.modified


def test_a_request_context_of_a_wsgi_environ_dispatches_from_plain_code() -> None:
    """As in Flask's tests: ``app.request_context(environ)`` with an environ
    from Flask's ``EnvironBuilder`` (a Host of text beyond latin-1 too), and
    ``app.full_dispatch_request()`` called from plain code gives the
    response."""
    app = Flask("environ_ctx")

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        return f"{request.method} {request.form.get('a', '')}"

    environ = EnvironBuilder(app, method="POST", data={"a": "b"}).get_environ()
    environ["HTTP_HOST"] = "ąśźäüжŠßя.com"
    with app.request_context(environ):
        assert request.method == "POST"
        response = app.full_dispatch_request()
    assert (response.status_code, response.get_data()) == (200, b"POST b")


async def test_full_dispatch_request_is_awaited_by_async_code() -> None:
    app = Flask("awaited_dispatch")

    @app.route("/")
    async def index() -> str:
        return "async"

    async with app.test_request_context("/"):
        response = await app.full_dispatch_request()
    assert response.get_data() == b"async"


async def test_a_subclass_full_dispatch_request_serves_requests() -> None:
    class Counting(Flask):
        dispatched = 0

        async def full_dispatch_request(self, ctx: t.Any = None) -> t.Any:
            type(self).dispatched += 1
            return await super().full_dispatch_request(ctx)

    app = Counting("counting")

    @app.route("/")
    async def index() -> str:
        return "counted"

    async with app.test_client() as client:
        assert (await client.get("/")).text == "counted"
    assert Counting.dispatched == 1
