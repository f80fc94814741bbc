"""``app.asgi_app``: the place for ASGI middleware (Flask's ``wsgi_app``
idiom), here in process; tests/cli/test_deployment.py serves a proxied app."""

from __future__ import annotations

import typing as t

import pytest
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from asyncflask import Flask, request, url_for, websocket
from asyncflask.proxy import ProxyFix
from asyncflask.typing import ASGIApp, ASGIReceive, ASGISend, Message, Scope
from tests.support import http_scope


class Tagging:
    """Adds ``X-Wrapped`` to every response and puts a mark in the scope."""

    def __init__(self, app: ASGIApp, tag: str) -> None:
        self.app = app
        self.tag = tag
        self.scopes: list[str] = []

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        self.scopes.append(scope["type"])

        async def tagged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-wrapped", self.tag.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app({**scope, "tag": self.tag}, receive, tagged_send)


def make_app() -> Flask:
    app = Flask(__name__)

    @app.route("/")
    async def index() -> dict[str, t.Any]:
        return {
            "tag": request.scope.get("tag"),
            "remote_addr": request.remote_addr,
            "scheme": request.scheme,
            "url": url_for("index", _external=True),
        }

    return app


async def test_an_app_is_its_own_asgi_app_until_wrapped() -> None:
    app = make_app()
    async with app.test_client() as client:
        r = await client.get("/")
    assert r.get_json()["tag"] is None
    assert "X-Wrapped" not in r.headers


async def test_middleware_put_on_asgi_app_sees_every_request() -> None:
    app = make_app()
    middleware = Tagging(app.asgi_app, "one")
    app.asgi_app = middleware
    assert app.asgi_app is middleware
    async with app.test_client() as client:
        r = await client.get("/")
        assert r.headers["X-Wrapped"] == "one"
        assert r.get_json()["tag"] == "one"
        assert (await client.get("/missing")).headers["X-Wrapped"] == "one"
    assert middleware.scopes == ["lifespan", "http", "http"]


async def test_middleware_stacks_outermost_last() -> None:
    app = make_app()
    app.asgi_app = Tagging(app.asgi_app, "inner")
    app.asgi_app = Tagging(app.asgi_app, "outer")
    async with app.test_client() as client:
        r = await client.get("/")
    assert r.headers.get_list("X-Wrapped") == ["inner", "outer"]
    assert r.get_json()["tag"] == "inner"


async def test_a_subclass_may_override_asgi_app() -> None:
    class Tagged(Flask):
        async def asgi_app(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
            await super().asgi_app({**scope, "tag": "subclass"}, receive, send)

    app = Tagged(__name__)

    @app.route("/")
    async def index() -> str:
        return str(request.scope["tag"])

    async with app.test_client() as client:
        assert (await client.get("/")).text == "subclass"


async def test_proxy_headers_middleware_on_asgi_app() -> None:
    app = make_app()
    app.asgi_app = ProxyHeadersMiddleware(app.asgi_app, trusted_hosts="127.0.0.1")
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    async with app.test_client() as client:
        r = await client.get("/", headers=headers)
        assert r.get_json()["remote_addr"] == "203.0.113.7"
        assert r.get_json()["scheme"] == "https"
        assert r.get_json()["url"] == "https://localhost/"
        r = await client.get("/")
        assert r.get_json()["remote_addr"] == "127.0.0.1"
        assert r.get_json()["scheme"] == "http"


async def test_proxy_headers_of_an_untrusted_client_are_ignored() -> None:
    app = make_app()
    app.asgi_app = ProxyHeadersMiddleware(app.asgi_app, trusted_hosts="10.0.0.1")
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    async with app.test_client() as client:
        r = await client.get("/", headers=headers)
    assert r.get_json()["remote_addr"] == "127.0.0.1"
    assert r.get_json()["scheme"] == "http"


# -- asyncflask.proxy.ProxyFix: Werkzeug's ProxyFix, compared with it -------------------


def _flask_proxy_fix_view(kwargs: dict[str, int], headers: dict[str, str]) -> dict[str, t.Any]:
    """What real Flask with Werkzeug's ``ProxyFix`` sees."""
    import flask
    from werkzeug.middleware.proxy_fix import ProxyFix as WerkzeugProxyFix

    fapp = flask.Flask("reference")
    fapp.wsgi_app = WerkzeugProxyFix(fapp.wsgi_app, **kwargs)  # type: ignore[method-assign]

    @fapp.route("/page")
    def page() -> dict[str, t.Any]:
        return _seen(flask.request, flask.url_for("page", _external=True))

    return t.cast(dict[str, t.Any], fapp.test_client().get("/page", headers=headers).get_json())


def _seen(req: t.Any, url: str) -> dict[str, t.Any]:
    return {
        "remote_addr": req.remote_addr,
        "scheme": req.scheme,
        "host": req.host,
        "url_root": req.url_root,
        "url": req.url,
        "path": req.path,
        "script_root": req.script_root,
        "is_secure": req.is_secure,
        "url_for": url,
    }


PROXY_CASES = [
    ({}, {}),
    ({}, {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}),
    ({}, {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}),
    ({"x_for": 2}, {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}),
    ({"x_for": 2}, {"X-Forwarded-For": "203.0.113.7"}),
    ({"x_for": 0, "x_proto": 0}, {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}),
    ({"x_host": 1}, {"X-Forwarded-Host": "example.org"}),
    ({"x_host": 1, "x_port": 1}, {"X-Forwarded-Host": "example.org", "X-Forwarded-Port": "8443"}),
    ({"x_port": 1}, {"X-Forwarded-Port": "8080"}),
    ({"x_host": 1}, {"X-Forwarded-Host": "example.org:8000"}),
    ({"x_prefix": 1}, {"X-Forwarded-Prefix": "/mounted/"}),
    (
        {"x_for": 1, "x_proto": 1, "x_host": 1, "x_prefix": 1},
        {
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "example.org",
            "X-Forwarded-Prefix": "/app",
        },
    ),
    ({"x_host": 0}, {"X-Forwarded-Host": "evil.test"}),
]


@pytest.mark.parametrize(("kwargs", "headers"), PROXY_CASES, ids=repr)
async def test_proxy_fix_sees_what_werkzeugs_does(
    kwargs: dict[str, int], headers: dict[str, str]
) -> None:
    app = Flask(__name__)
    app.asgi_app = ProxyFix(app.asgi_app, **kwargs)

    @app.route("/page")
    async def page() -> dict[str, t.Any]:
        return _seen(request, url_for("page", _external=True))

    async with app.test_client() as client:
        r = await client.get("/page", headers=headers)
    assert r.status_code == 200
    assert r.get_json() == _flask_proxy_fix_view(kwargs, headers)


async def test_proxy_fix_replaces_the_servers_root_path() -> None:
    app = Flask(__name__)
    app.asgi_app = ProxyFix(app.asgi_app, x_prefix=1)
    seen: list[tuple[str, str]] = []

    @app.route("/page")
    async def page() -> str:
        seen.append((request.script_root, request.path))
        return url_for("page")

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = http_scope("/old/page", headers=[(b"host", b"h"), (b"x-forwarded-prefix", b"/new")])
    scope["root_path"] = "/old"
    await app(scope, receive, send)
    assert seen == [("/new", "/page")]
    assert sent[1]["body"] == b"/new/page"


async def test_proxy_fix_on_a_websocket() -> None:
    app = Flask(__name__)
    app.asgi_app = ProxyFix(app.asgi_app)

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(f"{websocket.scheme} {websocket.remote_addr}")

    async with app.test_client() as client:
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
        async with client.websocket("/ws", headers=headers) as conn:
            assert await conn.receive() == "wss 203.0.113.7"


async def test_proxy_fix_edge_scopes() -> None:
    """A port without any host keeps the host away; a scope without
    ``raw_path`` or whose path lacks the server's root_path still gets the
    prefix; other scope types pass through untouched."""
    seen: list[Scope] = []

    async def inner(scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        seen.append(scope)

    async def nothing() -> Message:
        return {}

    async def ignore(message: Message) -> None:
        pass

    fix = ProxyFix(inner, x_port=1, x_prefix=1)
    scope = http_scope("/x", headers=[(b"x-forwarded-port", b"81"), (b"x-forwarded-prefix", b"/p")])
    del scope["raw_path"]
    scope["root_path"] = "/elsewhere"
    await fix(scope, nothing, ignore)
    lifespan: Scope = {"type": "lifespan"}
    await fix(lifespan, nothing, ignore)
    assert seen[0]["headers"] == scope["headers"]
    assert (seen[0]["root_path"], seen[0]["path"]) == ("/p", "/p/x")
    assert "raw_path" not in seen[0]
    assert seen[1] is lifespan
