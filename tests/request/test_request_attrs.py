"""Request attributes that do not read the body, compared with Flask 3.1."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from asyncflask import Flask, request
from asyncflask.testing import ASGITransport, TestClient
from tests.support import URLENCODED_EDGE_CASES

QUERY = "x=1&t=a&t=b&sp=a+b&e=%C3%A9"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_url_attributes(app: Flask, client: TestClient) -> None:
    @app.route("/a/<int:n>")
    async def a(n: int) -> dict[str, Any]:
        return {
            "url": request.url,
            "base_url": request.base_url,
            "url_root": request.url_root,
            "root_url": request.root_url,
            "host_url": request.host_url,
            "host": request.host,
            "path": request.path,
            "full_path": request.full_path,
            "query_string": request.query_string.decode(),
            "scheme": request.scheme,
            "is_secure": request.is_secure,
            "remote_addr": request.remote_addr,
            "method": request.method,
            "script_root": request.script_root,
        }

    r = await client.get(f"/a/3?{QUERY}")
    assert r.status_code == 200
    assert r.get_json() == {
        "url": "http://localhost/a/3?x=1&t=a&t=b&sp=a+b&e=é",
        "base_url": "http://localhost/a/3",
        "url_root": "http://localhost/",
        "root_url": "http://localhost/",
        "host_url": "http://localhost/",
        "host": "localhost",
        "path": "/a/3",
        "full_path": f"/a/3?{QUERY}",
        "query_string": QUERY,
        "scheme": "http",
        "is_secure": False,
        "remote_addr": "127.0.0.1",
        "method": "GET",
        "script_root": "",
    }


async def test_url_attributes_https_and_port(app: Flask) -> None:
    @app.route("/a")
    async def a() -> dict[str, Any]:
        return {
            "url": request.url,
            "host": request.host,
            "host_url": request.host_url,
            "scheme": request.scheme,
            "is_secure": request.is_secure,
            "full_path": request.full_path,
            "query_string": request.query_string.decode(),
        }

    async with TestClient(app, base_url="https://example.com:8443") as client:
        r = await client.get("/a")
    assert r.get_json() == {
        "url": "https://example.com:8443/a",
        "host": "example.com:8443",
        "host_url": "https://example.com:8443/",
        "scheme": "https",
        "is_secure": True,
        # werkzeug keeps the "?" when there is no query string
        "full_path": "/a?",
        "query_string": "",
    }


async def test_remote_addr_from_scope_client(app: Flask) -> None:
    @app.route("/")
    async def index() -> str:
        return str(request.remote_addr)

    transport = ASGITransport(app, client=("10.1.2.3", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        r = await c.get("/")
    assert r.text == "10.1.2.3"


async def test_headers_multi_valued_and_case_insensitive(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        return {
            "multi": request.headers.getlist("X-Multi"),
            "lower": request.headers.getlist("x-multi"),
            "single": request.headers["x-single"],
            "upper": request.headers.get("X-SINGLE"),
            "missing": request.headers.get("X-Missing", "dflt"),
            "in": "X-SINGLE" in request.headers,
            "not_in": "X-Nope" in request.headers,
        }

    r = await client.get("/", headers=[("X-Multi", "one"), ("X-Multi", "two"), ("X-Single", "s")])
    assert r.get_json() == {
        "multi": ["one", "two"],
        "lower": ["one", "two"],
        "single": "s",
        "upper": "s",
        "missing": "dflt",
        "in": True,
        "not_in": False,
    }


async def test_cookies(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        return {
            "all": request.cookies.to_dict(),
            "a": request.cookies.get("a"),
            "none": request.cookies.get("zzz"),
        }

    r = await client.get("/", headers={"Cookie": "a=1; b=two"})
    assert r.get_json() == {"all": {"a": "1", "b": "two"}, "a": "1", "none": None}


async def test_args(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        args = request.args
        return {
            "x": args.get("x", type=int),
            "bad_int": args.get("t", type=int),
            "default": args.get("missing", 5, type=int),
            "t": args["t"],
            "list": args.getlist("t"),
            "list_int": args.getlist("n", type=int),
            "dict": args.to_dict(),
            "flat_false": args.to_dict(flat=False),
            "space": args["sp"],
            "unicode": args["e"],
            "empty": args["empty"],
        }

    r = await client.get(f"/?{QUERY}&n=1&n=x&n=3&empty=")
    assert r.get_json() == {
        "x": 1,
        "bad_int": None,
        "default": 5,
        "t": "a",
        "list": ["a", "b"],
        "list_int": [1, 3],
        "dict": {"x": "1", "t": "a", "sp": "a b", "e": "é", "n": "1", "empty": ""},
        "flat_false": {
            "x": ["1"],
            "t": ["a", "b"],
            "sp": ["a b"],
            "e": ["é"],
            "n": ["1", "x", "3"],
            "empty": [""],
        },
        "space": "a b",
        "unicode": "é",
        "empty": "",
    }


async def test_missing_arg_is_400(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return request.args["needed"]

    r = await client.get("/")
    assert r.status_code == 400
    assert "Bad Request" in r.text


async def test_user_agent_and_referrer(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        return {
            "ua": request.user_agent.string,
            "ua_str": str(request.user_agent),
            "referrer": request.referrer,
        }

    r = await client.get(
        "/", headers={"User-Agent": "Mozilla/5.0 test", "Referer": "http://ref.example/page"}
    )
    assert r.get_json() == {
        "ua": "Mozilla/5.0 test",
        "ua_str": "Mozilla/5.0 test",
        "referrer": "http://ref.example/page",
    }


async def test_no_referrer_is_none(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        return {"referrer": request.referrer, "auth": request.authorization is None}

    assert (await client.get("/")).get_json() == {"referrer": None, "auth": True}


async def test_content_type_attributes(app: Flask, client: TestClient) -> None:
    @app.route("/", methods=["GET", "POST"])
    async def index() -> dict[str, Any]:
        return {
            "content_type": request.content_type,
            "mimetype": request.mimetype,
            "params": request.mimetype_params,
            "length": request.content_length,
            "is_json": request.is_json,
        }

    r = await client.post(
        "/", content=b"12345", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert r.get_json() == {
        "content_type": "application/json; charset=utf-8",
        "mimetype": "application/json",
        "params": {"charset": "utf-8"},
        "length": 5,
        "is_json": True,
    }
    r = await client.post("/", content=b"{}", headers={"Content-Type": "application/vnd.api+json"})
    assert r.get_json()["is_json"] is True
    r = await client.post("/", content=b"a", headers={"Content-Type": "Text/Plain"})
    assert r.get_json() == {
        "content_type": "Text/Plain",
        "mimetype": "text/plain",
        "params": {},
        "length": 1,
        "is_json": False,
    }
    r = await client.get("/")
    assert r.get_json() == {
        "content_type": None,
        "mimetype": "",
        "params": {},
        "length": None,
        "is_json": False,
    }


async def test_accept_headers(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        return {
            "best": request.accept_mimetypes.best_match(["application/json", "text/html"]),
            "html_q": request.accept_mimetypes["text/html"],
            "accepts_html": request.accept_mimetypes.accept_html,
            "lang": request.accept_languages.best,
            "langs": list(request.accept_languages.values()),
            "lang_match": request.accept_languages.best_match(["en", "fr"]),
            "encodings": list(request.accept_encodings.values()),
        }

    r = await client.get(
        "/",
        headers={
            "Accept": "text/html;q=0.5, application/json",
            "Accept-Language": "de-DE, en;q=0.5",
            "Accept-Encoding": "gzip, br;q=0.1",
        },
    )
    assert r.get_json() == {
        "best": "application/json",
        "html_q": 0.5,
        "accepts_html": True,
        "lang": "de-DE",
        "langs": ["de-DE", "en"],
        "lang_match": "en",
        "encodings": ["gzip", "br"],
    }


async def test_authorization_basic(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        auth = request.authorization
        assert auth is not None
        return {"type": auth.type, "username": auth.username, "password": auth.password}

    r = await client.get("/", headers={"Authorization": _basic("user", "pa:ss")})
    assert r.get_json() == {"type": "basic", "username": "user", "password": "pa:ss"}
    # httpx's own auth= goes through the same header
    r = await client.get("/", auth=("ann", "secret"))
    assert r.get_json() == {"type": "basic", "username": "ann", "password": "secret"}


async def test_authorization_bearer(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        auth = request.authorization
        assert auth is not None
        return {"type": auth.type, "token": auth.token}

    r = await client.get("/", headers={"Authorization": "Bearer abc.def"})
    assert r.get_json() == {"type": "bearer", "token": "abc.def"}


async def test_conditional_headers(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        inm = request.if_none_match
        ims = request.if_modified_since
        rng = request.range
        return {
            "inm": inm.to_header(),
            "strong": inm.contains("abc"),
            "weak_strict": inm.contains("def"),
            "weak": inm.contains_weak("def"),
            "other": "zzz" in inm,
            "ims": ims.isoformat() if ims else None,
            "range_unit": rng.units if rng else None,
            "ranges": rng.ranges if rng else None,
            "if_match_star": request.if_match.star_tag,
        }

    r = await client.get(
        "/",
        headers={
            "If-None-Match": '"abc", W/"def"',
            "If-Modified-Since": "Wed, 21 Oct 2015 07:28:00 GMT",
            "Range": "bytes=0-99,200-",
            "If-Match": "*",
        },
    )
    assert r.get_json() == {
        "inm": '"abc", W/"def"',
        "strong": True,
        "weak_strict": False,
        "weak": True,
        "other": False,
        "ims": "2015-10-21T07:28:00+00:00",
        "range_unit": "bytes",
        "ranges": [[0, 100], [200, None]],
        "if_match_star": True,
    }


async def test_no_conditional_headers(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> dict[str, Any]:
        return {
            "inm": bool(request.if_none_match),
            "range": request.range is None,
            "ims": request.if_modified_since,
        }

    assert (await client.get("/")).get_json() == {"inm": False, "range": True, "ims": None}


async def test_routing_attributes(app: Flask, client: TestClient) -> None:
    @app.route("/items/<int:item_id>/<name>", endpoint="item_detail")
    async def item(item_id: int, name: str) -> dict[str, Any]:
        rule = request.url_rule
        assert rule is not None
        return {
            "endpoint": request.endpoint,
            "view_args": request.view_args,
            "rule": rule.rule,
            "rule_endpoint": rule.endpoint,
            "methods": sorted(rule.methods or ()),
        }

    r = await client.get("/items/5/bob")
    assert r.get_json() == {
        "endpoint": "item_detail",
        "view_args": {"item_id": 5, "name": "bob"},
        "rule": "/items/<int:item_id>/<name>",
        "rule_endpoint": "item_detail",
        "methods": ["GET", "HEAD", "OPTIONS"],
    }


async def test_routing_attributes_on_404(app: Flask, client: TestClient) -> None:
    seen: list[Any] = []

    @app.errorhandler(404)
    async def nf(e: Exception) -> tuple[str, int]:
        seen.append((request.endpoint, request.url_rule, request.view_args, request.path))
        return "nf", 404

    assert (await client.get("/nothing")).status_code == 404
    assert seen == [(None, None, None, "/nothing")]


async def test_environ(app: Flask, client: TestClient) -> None:
    @app.route("/env", methods=["POST"])
    async def env() -> dict[str, Any]:
        e = request.environ
        return {
            "method": e["REQUEST_METHOD"],
            "path": e["PATH_INFO"],
            "query": e["QUERY_STRING"],
            "script": e["SCRIPT_NAME"],
            "server": e["SERVER_NAME"],
            "port": e["SERVER_PORT"],
            "scheme": e["wsgi.url_scheme"],
            "ua": e["HTTP_USER_AGENT"],
            "ctype": e["CONTENT_TYPE"],
            "clen": e["CONTENT_LENGTH"],
            "remote": e["REMOTE_ADDR"],
        }

    r = await client.post(
        "/env?a=1",
        content=b"abc",
        headers={"User-Agent": "agent/1", "Content-Type": "text/plain"},
    )
    assert r.get_json() == {
        "method": "POST",
        "path": "/env",
        "query": "a=1",
        "script": "",
        "server": "localhost",
        "port": "80",
        "scheme": "http",
        "ua": "agent/1",
        "ctype": "text/plain",
        "clen": "3",
        "remote": "127.0.0.1",
    }


async def test_max_content_length_from_config(app: Flask, client: TestClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1234

    @app.route("/")
    async def index() -> str:
        return str(request.max_content_length)

    assert (await client.get("/")).text == "1234"


async def test_max_content_length_default_none(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return str(request.max_content_length)

    assert (await client.get("/")).text == "None"


async def test_max_content_length_settable_per_request(app: Flask, client: TestClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000

    @app.before_request
    def limit_small() -> None:
        if request.path == "/small":
            request.max_content_length = 10

    @app.route("/small", methods=["POST"])
    @app.route("/big", methods=["POST"])
    async def upload() -> str:
        data = await request.get_data()
        return f"{request.max_content_length} {len(data)}"

    r = await client.post("/big", content=b"x" * 50)
    assert (r.status_code, r.text) == (200, "1000 50")
    r = await client.post("/small", content=b"x" * 10)
    assert (r.status_code, r.text) == (200, "10 10")
    r = await client.post("/small", content=b"x" * 50)
    assert r.status_code == 413


async def test_max_form_limits_settable(app: Flask, client: TestClient) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 100
    app.config["MAX_FORM_PARTS"] = 7

    @app.route("/")
    async def index() -> dict[str, Any]:
        before = [request.max_form_memory_size, request.max_form_parts]
        request.max_form_memory_size = 5
        request.max_form_parts = 2
        return {"before": before, "after": [request.max_form_memory_size, request.max_form_parts]}

    assert (await client.get("/")).get_json() == {"before": [100, 7], "after": [5, 2]}


async def test_request_method_attributes_for_head(app: Flask, client: TestClient) -> None:
    seen: list[str] = []

    @app.route("/")
    async def index() -> str:
        seen.append(request.method)
        return "x"

    await client.head("/")
    await client.get("/")
    assert seen == ["HEAD", "GET"]


@pytest.mark.parametrize("query", [*URLENCODED_EDGE_CASES, b"a=1;b=2"])
def test_args_parse_like_werkzeug(query: bytes) -> None:
    from werkzeug.sansio.request import Request as SansIORequest

    from asyncflask import Request

    scope = {"type": "http", "method": "GET", "path": "/", "query_string": query, "headers": []}
    ours = Request(scope).args
    theirs = SansIORequest.args.fget(Request(scope))  # type: ignore[attr-defined]
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))


@pytest.mark.parametrize(
    ("content_type", "length", "encoding"),
    [
        ("", None, None),
        ("application/json", "12", None),
        ("Application/JSON", "x", None),
        ("text/plain; charset=latin-1", "-3", None),
        ('multipart/form-data; boundary="a;b"', "7", "chunked"),
        (" application/json ", "5", "gzip"),
        ("a/b,c/d", None, "gzip, chunked"),
        ("text/plain", "+5", None),
        ("text/plain", " 7\t", None),
        ("text/plain", "1_000", None),
        ("text/plain", "0012", None),
        ("text/plain", "", None),
        ("text/plain", "\u0663", None),
        ("text/plain", "9" * 30, None),
    ],
)
def test_content_type_and_length_parse_like_werkzeug(
    content_type: str, length: str | None, encoding: str | None
) -> None:
    from werkzeug.datastructures import Headers
    from werkzeug.sansio.request import Request as SansIORequest

    from asyncflask import Request

    pairs = [("Content-Type", content_type)]
    if length is not None:
        pairs.append(("Content-Length", length))
    if encoding is not None:
        pairs.append(("Transfer-Encoding", encoding))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in pairs],
    }
    ours = Request(scope)
    theirs = SansIORequest("POST", "http", None, "", "/", b"", Headers(pairs), None)
    assert (ours.mimetype, ours.mimetype_params) == (theirs.mimetype, theirs.mimetype_params)
    assert ours.content_length == theirs.content_length


def test_the_first_content_length_counts_as_in_werkzeug() -> None:
    from asyncflask import Request

    headers = [(b"content-length", b"3"), (b"content-length", b"9")]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    assert Request(scope).content_length == 3
    headers.insert(0, (b"transfer-encoding", b"chunked"))
    assert Request(scope).content_length is None


def test_a_request_of_an_empty_mapping_has_the_limits() -> None:
    """``Request({})``, as Flask's tests make one: Werkzeug's limits outside
    an app context, the app's config inside one, and per-request values."""
    from asyncflask import Request

    app = Flask("limits")
    app.config.update(MAX_CONTENT_LENGTH=100, MAX_FORM_MEMORY_SIZE=50, MAX_FORM_PARTS=3)
    r = Request({})
    assert (r.method, r.path) == ("GET", "/")
    assert (r.max_content_length, r.max_form_memory_size, r.max_form_parts) == (
        None,
        500_000,
        1_000,
    )
    with app.app_context():
        assert (r.max_content_length, r.max_form_memory_size, r.max_form_parts) == (100, 50, 3)
    r.max_content_length = 90
    assert r.max_content_length == 90
    with pytest.raises(KeyError):
        Request({"type": "http"})  # a scope without its method is still an error


def test_environ_names_the_request_and_keeps_what_the_client_set() -> None:
    """``request.environ`` has Werkzeug's ``werkzeug.request``, and the WSGI
    entries a test client or ``test_request_context`` was given that have
    no ASGI counterpart (``errors_stream``, ``environ_overrides``)."""
    import io

    from flask.logging import wsgi_errors_stream

    app = Flask("environ")
    stream = io.StringIO()

    @app.route("/")
    def index() -> dict[str, Any]:
        environ = request.environ
        return {
            "is_request": environ["werkzeug.request"] is request._get_current_object(),  # type: ignore[attr-defined]
            "custom": environ.get("myapp.flag"),
            # where Flask's default log handler writes
            "errors": wsgi_errors_stream._get_current_object() is stream,
        }

    client = app.test_client()
    r = client.get("/", errors_stream=stream, environ_overrides={"myapp.flag": "on"})
    assert r.json == {"is_request": True, "custom": "on", "errors": True}
    with app.test_request_context(errors_stream=stream):
        assert request.environ["wsgi.errors"] is stream
