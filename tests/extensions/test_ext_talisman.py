"""Flask-Talisman on asyncflask, set up as its documentation shows
(``Talisman(app, content_security_policy=..., content_security_policy_nonce_in=...)``):
the security headers, the HTTPS redirect of ``force_https``, HSTS on secure
requests, per-view options, and the CSP nonce in templates rendered by
``async def`` views."""

from __future__ import annotations

import re
import typing as t

import pytest
from flask_talisman import Talisman

from asyncflask import Flask, render_template_string, session

CSP = {"default-src": "'self'", "script-src": "'self'"}


@pytest.fixture
def secured() -> tuple[Flask, Talisman]:
    app = Flask("talismanapp")
    app.secret_key = "talisman secret"
    talisman = Talisman(
        app, content_security_policy=CSP, content_security_policy_nonce_in=["script-src"]
    )

    @app.get("/")
    async def index() -> str:
        session["seen"] = True
        return await render_template_string('<script nonce="{{ csp_nonce() }}">go()</script>')

    @app.get("/embeddable")
    @talisman(frame_options="SAMEORIGIN", content_security_policy={"default-src": "*"})
    async def embeddable() -> str:
        return "frame me"

    return app, talisman


def https(app: Flask) -> t.Any:
    return app.test_client(base_url="https://localhost")


async def test_plain_http_is_redirected_to_https(secured: tuple[Flask, Talisman]) -> None:
    app, _ = secured
    async with app.test_client() as client:
        r = await client.get("/embeddable?x=1")
        assert (r.status_code, r.headers["Location"]) == (
            302,
            "https://localhost/embeddable?x=1",
        )
        # behind a proxy that says the request came in over https
        r = await client.get("/embeddable", headers={"X-Forwarded-Proto": "https"})
        assert (r.status_code, r.text) == (200, "frame me")


async def test_a_permanent_redirect() -> None:
    app = Flask("permanent")
    Talisman(app, force_https_permanent=True)

    @app.get("/")
    async def index() -> str:
        return "ok"

    async with app.test_client() as client:
        r = await client.get("/")
        assert (r.status_code, r.headers["Location"]) == (301, "https://localhost/")


async def test_the_security_headers_and_the_csp_nonce(secured: tuple[Flask, Talisman]) -> None:
    app, _ = secured
    async with https(app) as client:
        r = await client.get("/")
        assert r.status_code == 200
        nonce = re.fullmatch(r'<script nonce="([^"]+)">go\(\)</script>', r.text)
        assert nonce is not None
        assert r.headers["Content-Security-Policy"] == (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce.group(1)}'"
        )
        assert r.headers["Strict-Transport-Security"] == "max-age=31556926; includeSubDomains"
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        cookie = r.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
        again = await client.get("/")
        assert nonce.group(1) not in again.text  # a new nonce per request


async def test_per_view_options(secured: tuple[Flask, Talisman]) -> None:
    app, _ = secured
    async with https(app) as client:
        r = await client.get("/embeddable")
        assert r.headers["Content-Security-Policy"] == "default-src *"
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN"


async def test_no_hsts_and_no_redirect_when_https_is_not_forced() -> None:
    app = Flask("relaxed")
    Talisman(app, force_https=False, frame_options="DENY")

    @app.get("/")
    async def index() -> str:
        return "ok"

    async with app.test_client() as client:
        r = await client.get("/")
        assert (r.status_code, r.text) == (200, "ok")
        assert "Strict-Transport-Security" not in r.headers
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Content-Security-Policy"] == "default-src 'self'; object-src 'none'"
