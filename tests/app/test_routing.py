"""Routing, URL building, blueprints and URL processors, compared with Flask 3.1."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from werkzeug.routing import BaseConverter, Map

from asyncflask import Blueprint, Flask, Request, abort, g, request, url_for
from asyncflask.testing import ASGITransport, TestClient
from tests.server import Server, run_server

# -- converters ----------------------------------------------------------------


async def test_int_converter(app: Flask, client: TestClient) -> None:
    @app.route("/items/<int:item_id>")
    async def item(item_id: int) -> str:
        return f"{type(item_id).__name__}:{item_id + 1}"

    r = await client.get("/items/41")
    assert r.status_code == 200
    assert r.text == "int:42"
    assert (await client.get("/items/abc")).status_code == 404
    assert (await client.get("/items/-1")).status_code == 404
    assert (await client.get("/items/1.5")).status_code == 404


async def test_int_converter_options(app: Flask, client: TestClient) -> None:
    @app.route("/n/<int(signed=True):n>")
    async def signed(n: int) -> str:
        return str(n * 2)

    @app.route("/r/<int(min=1, max=5):n>")
    async def ranged(n: int) -> str:
        return str(n)

    assert (await client.get("/n/-3")).text == "-6"
    assert (await client.get("/r/5")).text == "5"
    assert (await client.get("/r/6")).status_code == 404
    assert (await client.get("/r/0")).status_code == 404


async def test_float_converter(app: Flask, client: TestClient) -> None:
    @app.route("/f/<float:x>")
    async def flt(x: float) -> str:
        return f"{type(x).__name__}:{x * 2}"

    r = await client.get("/f/1.25")
    assert r.status_code == 200
    assert r.text == "float:2.5"
    # Flask's float converter needs a dot.
    assert (await client.get("/f/1")).status_code == 404


async def test_path_converter(app: Flask, client: TestClient) -> None:
    @app.route("/files/<path:name>")
    async def files(name: str) -> str:
        return f"[{name}]"

    r = await client.get("/files/a/b/c.txt")
    assert r.status_code == 200
    assert r.text == "[a/b/c.txt]"


async def test_default_converter_does_not_match_slash(app: Flask, client: TestClient) -> None:
    @app.route("/s/<name>")
    async def s(name: str) -> str:
        return name

    assert (await client.get("/s/abc")).text == "abc"
    assert (await client.get("/s/a/b")).status_code == 404


async def test_uuid_converter(app: Flask, client: TestClient) -> None:
    @app.route("/u/<uuid:uid>")
    async def u(uid: uuid.UUID) -> str:
        assert isinstance(uid, uuid.UUID)
        return uid.hex

    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    r = await client.get(f"/u/{value}")
    assert r.status_code == 200
    assert r.text == value.hex
    assert (await client.get("/u/not-a-uuid")).status_code == 404


class ListConverter(BaseConverter):
    def to_python(self, value: str) -> list[str]:
        return value.split(",")

    def to_url(self, value: Any) -> str:
        return ",".join(super(ListConverter, self).to_url(v) for v in value)


async def test_custom_converter(app: Flask, client: TestClient) -> None:
    app.url_map.converters["list"] = ListConverter

    @app.route("/tags/<list:tags>")
    async def tags(tags: list[str]) -> dict[str, Any]:
        return {"tags": tags, "url": url_for("tags", tags=["x", "y z"])}

    r = await client.get("/tags/a,b,c")
    assert r.status_code == 200
    assert r.get_json() == {"tags": ["a", "b", "c"], "url": "/tags/x,y%20z"}


# -- methods, 404, 405, HEAD, OPTIONS -----------------------------------------


async def test_methods(app: Flask, client: TestClient) -> None:
    @app.route("/m", methods=["GET", "POST", "DELETE"])
    async def m() -> str:
        return request.method

    @app.post("/only-post")
    async def only_post() -> str:
        return "posted"

    assert (await client.get("/m")).text == "GET"
    assert (await client.post("/m")).text == "POST"
    assert (await client.delete("/m")).text == "DELETE"
    assert (await client.post("/only-post")).text == "posted"


async def test_404(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return "index"

    r = await client.get("/missing")
    assert r.status_code == 404
    assert r.status == "404 NOT FOUND"
    assert r.mimetype == "text/html"
    assert "<title>404 Not Found</title>" in r.text
    assert "The requested URL was not found on the server." in r.text


async def test_405_with_allow(app: Flask, client: TestClient) -> None:
    @app.route("/h", methods=["GET", "POST"])
    async def h() -> str:
        return "hello"

    r = await client.put("/h")
    assert r.status_code == 405
    assert "<title>405 Method Not Allowed</title>" in r.text
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert allow == {"GET", "HEAD", "POST", "OPTIONS"}


async def test_automatic_head(app: Flask, client: TestClient) -> None:
    called: list[str] = []

    @app.route("/h")
    async def h() -> tuple[str, dict[str, str]]:
        called.append(request.method)
        return "hello", {"X-Custom": "yes"}

    r = await client.head("/h")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Content-Length"] == "5"
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["X-Custom"] == "yes"
    assert called == ["HEAD"]


async def test_automatic_head_of_a_streamed_response(app: Flask, client: TestClient) -> None:
    @app.route("/s")
    async def s() -> Any:
        async def gen() -> Any:
            yield "a"
            yield "b"

        return gen()

    r = await asyncio.wait_for(client.head("/s"), 5)
    assert r.status_code == 200
    assert r.content == b""


async def test_automatic_options(app: Flask, client: TestClient) -> None:
    called: list[str] = []

    @app.route("/h", methods=["GET", "POST"])
    async def h() -> str:
        called.append("view")
        return "hello"

    r = await client.options("/h")
    assert r.status_code == 200
    assert r.content == b""
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert allow == {"GET", "HEAD", "POST", "OPTIONS"}
    assert called == []


async def test_explicit_options_view_is_called(app: Flask, client: TestClient) -> None:
    @app.route("/o", methods=["OPTIONS"])
    async def o() -> tuple[str, int]:
        return "mine", 202

    r = await client.options("/o")
    assert r.status_code == 202
    assert r.text == "mine"


async def test_provide_automatic_options_false(app: Flask, client: TestClient) -> None:
    @app.route("/no", provide_automatic_options=False)
    async def no() -> str:
        return "no"

    r = await client.options("/no")
    assert r.status_code == 405


async def test_strict_slashes_redirect(app: Flask, client: TestClient) -> None:
    @app.route("/x/")
    async def x() -> str:
        return "x"

    r = await client.get("/x")
    assert r.status_code == 308
    assert r.headers["Location"] == "http://localhost/x/"
    r = await client.get("/x?a=1")
    assert r.status_code == 308
    assert r.headers["Location"] == "http://localhost/x/?a=1"
    r = await client.get("/x", follow_redirects=True)
    assert r.status_code == 200
    assert r.text == "x"


async def test_no_slash_rule_does_not_match_with_slash(app: Flask, client: TestClient) -> None:
    @app.route("/y")
    async def y() -> str:
        return "y"

    assert (await client.get("/y/")).status_code == 404


# -- url_for ----------------------------------------------------------------------


async def test_url_for_in_request(app: Flask, client: TestClient) -> None:
    @app.route("/u/<int:a>")
    async def u(a: int) -> str:
        return "u"

    @app.route("/h", methods=["GET", "POST"])
    async def h() -> str:
        return "h"

    @app.route("/h2", methods=["PUT"], endpoint="h_put")
    async def h_put() -> str:
        return "h2"

    @app.route("/p/<path:p>")
    async def p(p: str) -> str:
        return "p"

    @app.route("/")
    async def index() -> dict[str, str]:
        return {
            "relative": url_for("u", a=3),
            "external": url_for("u", a=3, _external=True),
            "query": url_for("u", a=3, b=2, c=["x", "y"]),
            "anchor": url_for("u", a=3, _anchor="x y"),
            "all": url_for("u", a=3, b=2, _anchor="x y", _external=True),
            "method": url_for("h", _method="POST"),
            "path": url_for("p", p="a b/c"),
            "scheme": url_for("h", _scheme="https", _external=True),
        }

    r = await client.get("/")
    assert r.get_json() == {
        "relative": "/u/3",
        "external": "http://localhost/u/3",
        "query": "/u/3?b=2&c=x&c=y",
        "anchor": "/u/3#x%20y",
        "all": "http://localhost/u/3?b=2#x%20y",
        "method": "/h",
        "path": "/p/a%20b/c",
        "scheme": "https://localhost/h",
    }


async def test_url_for_method_selects_rule(app: Flask) -> None:
    @app.route("/read", endpoint="thing", methods=["GET"])
    @app.route("/write", endpoint="thing", methods=["POST"])
    async def thing() -> str:
        return "t"

    async with app.test_request_context("/"):
        assert url_for("thing", _method="GET") == "/read"
        assert url_for("thing", _method="POST") == "/write"


async def test_url_for_scheme_requires_external(app: Flask) -> None:
    @app.route("/h")
    async def h() -> str:
        return "h"

    async with app.test_request_context("/"):
        assert url_for("h", _scheme="https") == "https://localhost/h"
        with pytest.raises(ValueError, match="_external"):
            url_for("h", _scheme="https", _external=False)


async def test_url_for_unknown_endpoint_is_build_error(app: Flask, client: TestClient) -> None:
    from werkzeug.routing import BuildError

    @app.route("/")
    async def index() -> str:
        return url_for("nope")

    async with app.test_request_context("/"):
        with pytest.raises(BuildError):
            url_for("nope")
    r = await client.get("/")
    assert r.status_code == 500


async def test_url_for_outside_request_without_server_name(app: Flask) -> None:
    @app.route("/h")
    async def h() -> str:
        return "h"

    async with app.app_context():
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            url_for("h")


async def test_url_for_outside_app_context(app: Flask) -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        url_for("h")


async def test_url_for_outside_request_with_server_name(app: Flask) -> None:
    app.config.update(
        SERVER_NAME="example.com", APPLICATION_ROOT="/root", PREFERRED_URL_SCHEME="https"
    )

    @app.route("/h")
    async def h() -> str:
        return "h"

    async with app.app_context():
        assert url_for("h") == "https://example.com/root/h"
        assert url_for("h", _external=False) == "/root/h"
        assert url_for("h", q="1") == "https://example.com/root/h?q=1"


async def test_url_for_with_server_name_default_scheme(app: Flask) -> None:
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/h")
    async def h() -> str:
        return "h"

    async with app.app_context():
        assert url_for("h") == "http://example.com/h"
        assert url_for("h", _external=False) == "/h"


async def test_app_url_for_method(app: Flask, client: TestClient) -> None:
    @app.route("/target")
    async def target() -> str:
        return "t"

    @app.route("/")
    async def index() -> str:
        return app.url_for("target", x="1")

    assert (await client.get("/")).text == "/target?x=1"


# -- percent-decoding and root_path ----------------------------------------------


async def test_percent_encoded_unicode_path(app: Flask, client: TestClient) -> None:
    @app.route("/café")
    async def cafe() -> str:
        return f"cafe {request.path}"

    r = await client.get("/caf%C3%A9")
    assert r.status_code == 200
    assert r.text == "cafe /café"
    # httpx encodes the raw character itself
    r = await client.get("/café")
    assert r.status_code == 200


async def test_percent_encoded_slash_in_path_segment(app: Flask, client: TestClient) -> None:
    @app.route("/p/<path:rest>")
    async def p(rest: str) -> str:
        return rest

    @app.route("/s/<name>")
    async def s(name: str) -> str:
        return name

    r = await client.get("/p/a%2Fb")
    assert r.status_code == 200
    assert r.text == "a/b"
    r = await client.get("/p/x%20y")
    assert r.text == "x y"
    # As in Flask (WSGI PATH_INFO is decoded) the encoded slash separates segments.
    assert (await client.get("/s/a%2Fb")).status_code == 404


async def test_root_path_from_asgi_scope(app: Flask) -> None:
    @app.route("/x")
    async def x() -> dict[str, Any]:
        return {
            "path": request.path,
            "script_root": request.script_root,
            "root_path": request.root_path,
            "url": request.url,
            "base_url": request.base_url,
            "url_root": request.url_root,
            "full_path": request.full_path,
            "url_for": url_for("x"),
            "external": url_for("x", _external=True),
        }

    transport = ASGITransport(app, root_path="/prefix")
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        r = await c.get("/x?a=1")
    assert r.status_code == 200
    assert r.json == {
        "path": "/x",
        "script_root": "/prefix",
        "root_path": "/prefix",
        "url": "http://localhost/prefix/x?a=1",
        "base_url": "http://localhost/prefix/x",
        "url_root": "http://localhost/prefix/",
        "full_path": "/x?a=1",
        "url_for": "/prefix/x",
        "external": "http://localhost/prefix/x",
    }


async def test_root_path_with_test_client_transport(app: Flask) -> None:
    @app.route("/x/")
    async def x() -> str:
        return url_for("x")

    client = TestClient(app, transport=ASGITransport(app, root_path="/prefix"))
    async with client:
        r = await client.get("/x/")
        assert r.status_code == 200
        assert r.text == "/prefix/x/"
        r = await client.get("/x")
        assert r.status_code == 308
        assert r.headers["Location"] == "http://localhost/prefix/x/"
        assert (await client.get("/nope")).status_code == 404


# -- blueprints -------------------------------------------------------------------


async def test_blueprint_url_prefix_and_endpoint(app: Flask, client: TestClient) -> None:
    admin = Blueprint("admin", __name__, url_prefix="/admin")

    @admin.route("/users")
    async def users() -> dict[str, Any]:
        return {
            "endpoint": request.endpoint,
            "blueprint": request.blueprint,
            "blueprints": request.blueprints,
            "relative": url_for(".users"),
            "absolute": url_for("admin.users"),
            "index": url_for("index"),
        }

    @app.route("/")
    async def index() -> dict[str, Any]:
        return {"blueprint": request.blueprint, "blueprints": request.blueprints}

    app.register_blueprint(admin)

    r = await client.get("/admin/users")
    assert r.status_code == 200
    assert r.get_json() == {
        "endpoint": "admin.users",
        "blueprint": "admin",
        "blueprints": ["admin"],
        "relative": "/admin/users",
        "absolute": "/admin/users",
        "index": "/",
    }
    assert (await client.get("/users")).status_code == 404
    assert (await client.get("/")).get_json() == {"blueprint": None, "blueprints": []}


async def test_blueprint_register_with_prefix_and_name(app: Flask, client: TestClient) -> None:
    bp = Blueprint("bp", __name__)

    @bp.route("/v")
    async def v() -> str:
        return f"{request.endpoint} {url_for('.v')}"

    app.register_blueprint(bp, url_prefix="/one")
    app.register_blueprint(bp, url_prefix="/two", name="bp2")

    assert (await client.get("/one/v")).text == "bp.v /one/v"
    assert (await client.get("/two/v")).text == "bp2.v /two/v"


async def test_nested_blueprints(app: Flask, client: TestClient) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")

    @child.route("/v")
    async def v() -> dict[str, Any]:
        return {
            "endpoint": request.endpoint,
            "blueprint": request.blueprint,
            "blueprints": request.blueprints,
            "dot": url_for(".v"),
            "parent": url_for("parent.p"),
        }

    @parent.route("/p")
    async def p() -> str:
        return url_for("parent.child.v")

    parent.register_blueprint(child)
    app.register_blueprint(parent)

    r = await client.get("/parent/child/v")
    assert r.status_code == 200
    assert r.get_json() == {
        "endpoint": "parent.child.v",
        "blueprint": "parent.child",
        "blueprints": ["parent.child", "parent"],
        "dot": "/parent/child/v",
        "parent": "/parent/p",
    }
    assert (await client.get("/parent/p")).text == "/parent/child/v"


async def test_blueprint_hooks_only_for_blueprint_routes(app: Flask, client: TestClient) -> None:
    events: list[str] = []
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.before_request
    async def bp_before() -> None:
        events.append(f"bp-before {request.path}")

    @bp.after_request
    async def bp_after(response: Any) -> Any:
        events.append(f"bp-after {request.path}")
        response.headers["X-BP"] = "1"
        return response

    @bp.teardown_request
    async def bp_teardown(exc: BaseException | None) -> None:
        events.append(f"bp-teardown {request.path}")

    @bp.route("/v")
    async def v() -> str:
        events.append("bp-view")
        return "bp"

    @app.route("/plain")
    async def plain() -> str:
        events.append("plain-view")
        return "plain"

    app.register_blueprint(bp)

    r = await client.get("/bp/v")
    assert r.headers["X-BP"] == "1"
    assert events == ["bp-before /bp/v", "bp-view", "bp-after /bp/v", "bp-teardown /bp/v"]
    events.clear()
    r = await client.get("/plain")
    assert "X-BP" not in r.headers
    assert events == ["plain-view"]


async def test_blueprint_errorhandler_and_app_errorhandler(app: Flask, client: TestClient) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(404)
    async def bp_404(e: Exception) -> tuple[str, int]:
        return "bp 404", 404

    @bp.app_errorhandler(418)
    async def any_418(e: Exception) -> tuple[str, int]:
        return f"teapot from {request.endpoint}", 418

    @bp.route("/missing")
    async def missing() -> str:
        abort(404)

    @bp.route("/tea")
    async def bp_tea() -> str:
        abort(418)

    @app.route("/missing")
    async def app_missing() -> str:
        abort(404)

    @app.route("/tea")
    async def tea() -> str:
        abort(418)

    app.register_blueprint(bp)

    r = await client.get("/bp/missing")
    assert (r.status_code, r.text) == (404, "bp 404")
    r = await client.get("/missing")
    assert r.status_code == 404
    assert "Not Found" in r.text and "bp 404" not in r.text
    r = await client.get("/tea")
    assert (r.status_code, r.text) == (418, "teapot from tea")
    r = await client.get("/bp/tea")
    assert (r.status_code, r.text) == (418, "teapot from bp.bp_tea")


async def test_unmatched_url_under_blueprint_prefix_uses_app_handler(
    app: Flask, client: TestClient
) -> None:
    # As in Flask: a routing 404 has no endpoint, so no blueprint handler applies.
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(404)
    async def bp_404(e: Exception) -> tuple[str, int]:
        return "bp 404", 404

    @app.errorhandler(404)
    async def app_404(e: Exception) -> tuple[str, int]:
        return "app 404", 404

    @bp.route("/v")
    async def v() -> str:
        return "v"

    app.register_blueprint(bp)
    r = await client.get("/bp/nothing")
    assert (r.status_code, r.text) == (404, "app 404")


# -- url processors ---------------------------------------------------------------


async def test_app_url_value_preprocessor_and_url_defaults(app: Flask, client: TestClient) -> None:
    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values is not None and "lang" in values:
            g.lang = values.pop("lang")

    @app.url_defaults
    def add_lang(endpoint: str, values: dict[str, Any]) -> None:
        if "lang" in values or not hasattr(g, "lang"):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values["lang"] = g.lang

    @app.route("/<lang>/about")
    async def about() -> str:  # lang was popped by the preprocessor
        return f"{g.lang} {url_for('about')} {url_for('about', lang='fr')} {url_for('plain')}"

    @app.route("/plain")
    async def plain() -> str:
        return "plain"

    r = await client.get("/de/about")
    assert r.status_code == 200
    assert r.text == "de /de/about /fr/about /plain"


async def test_blueprint_url_value_preprocessor_and_url_defaults(
    app: Flask, client: TestClient
) -> None:
    bp = Blueprint("frontend", __name__, url_prefix="/<lang_code>")

    @bp.url_defaults
    def add_language_code(endpoint: str, values: dict[str, Any]) -> None:
        values.setdefault("lang_code", g.lang_code)

    @bp.url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, Any] | None) -> None:
        assert values is not None
        g.lang_code = values.pop("lang_code")

    @bp.route("/about")
    async def about() -> dict[str, Any]:
        return {
            "lang": g.lang_code,
            "view_args": request.view_args,
            "self": url_for(".about"),
            "index": url_for(".index"),
        }

    @bp.route("/")
    async def index() -> str:
        return "index"

    @app.route("/outside/<lang_code>")
    async def outside(lang_code: str) -> str:
        # the blueprint's preprocessor does not run for app routes
        return f"outside {lang_code} {hasattr(g, 'lang_code')}"

    app.register_blueprint(bp)

    r = await client.get("/de/about")
    assert r.status_code == 200
    assert r.get_json() == {"lang": "de", "view_args": {}, "self": "/de/about", "index": "/de/"}
    assert (await client.get("/outside/fr")).text == "outside fr False"


async def test_rules_added_after_requests_are_matched(app: Flask, client: TestClient) -> None:
    from werkzeug.routing import Rule

    @app.route("/a")
    async def a() -> str:
        return "a"

    assert (await client.get("/a")).text == "a"
    assert (await client.get("/b")).status_code == 404
    app.url_map.add(Rule("/b", endpoint="b"))
    app.view_functions["b"] = lambda: "b"
    assert (await client.get("/b")).text == "b"
    assert (await client.get("/a")).text == "a"


async def test_a_map_class_of_the_users_routes_the_same() -> None:
    class OwnMap(Map):
        pass

    class OwnFlask(Flask):
        url_map_class = OwnMap

    app = OwnFlask(__name__)

    @app.get("/items/<int:n>")
    async def item(n: int) -> dict[str, int]:
        return {"n": n}

    @app.get("/plain/")
    async def plain() -> str:
        return "plain"

    assert type(app.url_map) is OwnMap
    client = app.test_client()
    for _ in range(2):
        assert (await client.get("/items/7")).get_json() == {"n": 7}
        assert (await client.get("/plain/")).text == "plain"
        assert (await client.get("/plain", follow_redirects=False)).status_code == 308
        assert (await client.post("/items/7")).status_code == 405
        assert (await client.get("/items/x")).status_code == 404


# -- absolute-form request targets ----------------------------------------------------------

ABSOLUTE_APP = """
from asyncflask import Flask, request

app = Flask(__name__)


@app.get("/")
async def root():
    return {"path": request.path}


@app.get("/a/<name>")
async def named(name):
    return {"path": request.path, "name": name, "q": request.args.get("q"), "url": request.url}
"""

#: the servers, and how each passes an absolute-form target on: uvicorn's
#: h11 protocol and hypercorn put the whole URL in the scope's path, uvicorn
#: with httptools only its path
ABSOLUTE_SERVERS = {
    "uvicorn-h11": "uvicorn app:app --host {host} --port {port} --http h11",
    "uvicorn-httptools": "uvicorn app:app --host {host} --port {port} --http httptools",
    "hypercorn": "hypercorn app:app --bind {host}:{port}",
}


@pytest.fixture(scope="module", params=list(ABSOLUTE_SERVERS))
def absolute_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    command = [sys.executable, "-m", *ABSOLUTE_SERVERS[request.param].split()]
    with run_server(ABSOLUTE_APP, command=command) as server:
        yield server


def _raw_get(server: Server, target: bytes) -> tuple[int, bytes]:
    head = b"GET " + target + b" HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(head)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    return int(response.split(b" ", 2)[1]), response.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "target",
    [b"http://example.com/a/x%20y?q=1", b"http://example.com:8080/a/x%20y?q=1", b"/a/x%20y?q=1"],
    ids=["absolute", "absolute-with-port", "origin"],
)
def test_an_absolute_form_target_routes_by_its_path(absolute_server: Server, target: bytes) -> None:
    status, body = _raw_get(absolute_server, target)
    assert status == 200
    got = json.loads(body)
    assert got["path"] == "/a/x y"
    assert got["name"] == "x y"
    assert got["q"] == "1"
    assert got["url"].endswith("/a/x%20y?q=1")
    assert "Traceback" not in absolute_server.stderr


def test_an_absolute_form_target_without_a_path_is_the_root(absolute_server: Server) -> None:
    status, body = _raw_get(absolute_server, b"https://example.com")
    if absolute_server.proc.args[-1] == "httptools":  # type: ignore[index]
        # httptools' parser refuses it before the app is called
        assert (status, body) == (400, b"Invalid HTTP request received.")
    else:
        assert (status, json.loads(body)) == (200, {"path": "/"})


@pytest.mark.parametrize(
    ("path", "raw_path", "expected"),
    [
        ("http://example.com/a/b", b"http://example.com/a/b", "/a/b"),
        ("http://example.com/a b", b"http://example.com/a%20b", "/a b"),
        ("HTTPS://[::1]:8443/x/", None, "/x/"),
        ("http://example.com", b"http://example.com", "/"),
        ("svn+ssh://host/repo", None, "/repo"),
        ("ping", None, "/ping"),
        ("*", None, "/*"),
        ("/http://example.com/a", None, "/http://example.com/a"),
    ],
)
def test_request_path_of_a_target(path: str, raw_path: bytes | None, expected: str) -> None:
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": path, "headers": []}
    if raw_path is not None:
        scope["raw_path"] = raw_path
    assert Request(scope).path == expected


def test_an_absolute_form_target_under_a_root_path() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "http://example.com/api/a/b",
        "raw_path": b"http://example.com/api/a/b",
        "root_path": "/api",
        "headers": [],
    }
    assert Request(scope).path == "/a/b"


# -- debug mode: a redirect that would lose a form's body -------------------------


async def test_routing_redirect_debugging(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from werkzeug.routing import RequestRedirect

    app.config["DEBUG"] = True

    @app.route("/user/", methods=["GET", "POST"])
    async def user() -> str:
        return (await request.form)["status"]

    async with app.test_client() as client:
        r = await client.post("/user", data={"status": "success"}, follow_redirects=True)
        assert r.text == "success"
        # a 301 or 302 would make the browser drop the body: debug mode says so
        monkeypatch.setattr(RequestRedirect, "code", 301)
        with pytest.raises(AssertionError) as info:
            await client.post("/user", data={"status": "error"}, follow_redirects=True)
        assert "canonical URL 'http://localhost/user/'" in str(info.value)
        assert "trailing slash" in str(info.value)
        # a GET is redirected as usual
        r = await client.get("/user")
        assert (r.status_code, r.headers["Location"]) == (301, "http://localhost/user/")
        # and without debug mode a POST too
        app.debug = False
        r = await client.post("/user", data={"status": "error"})
        assert (r.status_code, r.headers["Location"]) == (301, "http://localhost/user/")


# -- SERVER_NAME and the request's host (Flask 3.1) ----------------------------------


@pytest.mark.parametrize(
    ("subdomain_matching", "host_matching", "expect_base", "expect_abc", "expect_xyz"),
    [
        (False, False, "default", "default", "default"),
        (True, False, "default", "abc", "<invalid>"),
        (False, True, "default", "abc", "default"),
    ],
)
async def test_server_name_matching(
    subdomain_matching: bool,
    host_matching: bool,
    expect_base: str,
    expect_abc: str,
    expect_xyz: str,
) -> None:
    """Flask 3.1: ``SERVER_NAME`` does not restrict requests to that host;
    with subdomain matching, a host outside it matches the ``<invalid>``
    subdomain, with a warning."""
    import contextlib
    import warnings

    app = Flask(
        __name__,
        subdomain_matching=subdomain_matching,
        host_matching=host_matching,
        static_host="example.test" if host_matching else None,
    )
    app.config["SERVER_NAME"] = "example.test"

    @app.route("/", defaults={"name": "default"}, host="<name>")
    @app.route("/", subdomain="<name>", host="<name>.example.test")
    async def index(name: str) -> str:
        return name

    async with app.test_client() as client:
        r = await client.get("http://example.test/")
        assert r.text == expect_base
        r = await client.get("http://abc.example.test/")
        assert r.text == expect_abc
        with (
            pytest.warns(UserWarning, match="doesn't match configured server name")
            if (subdomain_matching)
            else contextlib.nullcontext()
        ):
            r = await client.get("http://xyz.other.test/")
        assert r.text == expect_xyz
        if not subdomain_matching:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                await client.get("http://xyz.other.test/")


async def test_server_name_subdomain() -> None:
    app = Flask(__name__, subdomain_matching=True)

    @app.route("/")
    async def index() -> str:
        return "default"

    @app.route("/", subdomain="foo")
    async def subdomain() -> str:
        return "subdomain"

    async with app.test_client() as client:
        app.config["SERVER_NAME"] = "dev.local:5000"
        assert (await client.get("/")).text == "default"
        assert (await client.get("http://dev.local:5000/")).text == "default"
        assert (await client.get("https://dev.local:5000/")).text == "default"
        app.config["SERVER_NAME"] = "dev.local:443"
        assert (await client.get("https://dev.local/")).text == "default"
        app.config["SERVER_NAME"] = "dev.local"
        assert (await client.get("https://dev.local/")).text == "default"
        with pytest.warns(UserWarning, match="'foo.localhost' doesn't match configured"):
            r = await client.get("http://foo.localhost/")
        assert r.status_code == 404
        assert (await client.get("http://foo.dev.local/")).text == "subdomain"


async def test_the_server_name_warning_comes_from_flask_app() -> None:
    """A warning filter written for a Flask app (its ``module`` is
    ``flask.app``) silences asyncflask's too."""
    app = Flask(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "dev.local"

    @app.route("/")
    async def index() -> str:
        return "default"

    async with app.test_client() as client:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", "Current server name", UserWarning, "flask.app")
            assert (await client.get("http://other.test/")).status_code == 404
        with pytest.warns(UserWarning, match="doesn't match") as caught:
            await client.get("http://other.test/")
    assert caught[0].filename.endswith("app.py")
