"""``app.asgi_app``: the place for ASGI middleware (Flask's ``wsgi_app``
idiom), here in process; tests/test_deployment.py serves a proxied app."""

from __future__ import annotations

import typing as t

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from asyncflask import Flask, request, url_for
from asyncflask.typing import ASGIApp, ASGIReceive, ASGISend, Message, Scope


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
