"""End to end: several extensions on one asyncflask app under a real uvicorn
on 127.0.0.1: Flask-Talisman (HTTPS behind a proxy, CSP nonce), Flask-Limiter
(429 with Retry-After), Flask-JWT-Extended (tokens in cookies with CSRF),
Flask-Session (server-side sessions on disk), Flask-Babel (the locale from
Accept-Language) and Flask-Marshmallow (a schema's jsonify)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cachelib.file import FileSystemCache

from tests.server import Server, run_server

ROOT = Path(__file__).resolve().parents[2]

APP = """
import os

from cachelib.file import FileSystemCache
from flask_babel import Babel, format_decimal, get_locale
from flask_jwt_extended import (
    JWTManager, create_access_token, get_jwt_identity, jwt_required, set_access_cookies,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_marshmallow import Marshmallow
from flask_session import Session
from flask_talisman import Talisman

from asyncflask import Blueprint, Flask, jsonify, render_template_string, request, session

app = Flask(__name__)
app.config.update(
    SECRET_KEY="stack secret",
    JWT_SECRET_KEY="a secret of thirty-two bytes or more",
    JWT_TOKEN_LOCATION=["cookies"],
    SESSION_TYPE="cachelib",
    SESSION_SERIALIZATION_FORMAT="json",
    SESSION_CACHELIB=FileSystemCache(cache_dir=os.environ["SESSION_DIR"]),
)
Talisman(
    app,
    content_security_policy={"default-src": "'self'", "script-src": "'self'"},
    content_security_policy_nonce_in=["script-src"],
    session_cookie_secure=False,
)
limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", headers_enabled=True)
jwt = JWTManager(app)
Session(app)
Babel(app, locale_selector=lambda: request.accept_languages.best_match(["en", "de"]))
ma = Marshmallow(app)
api = Blueprint("api", __name__, url_prefix="/api")


class CartSchema(ma.Schema):
    owner = ma.String()
    items = ma.List(ma.String())
    total = ma.String()


@app.get("/")
async def index():
    return await render_template_string(
        '<script nonce="{{ csp_nonce() }}">start()</script>{{ amount }} {{ locale }}',
        amount=format_decimal(1234.5), locale=get_locale(),
    )


@api.post("/login")
@limiter.limit("3 per minute")
async def login():
    body = await request.get_json()
    if body.get("password") != "pw":
        return {"msg": "bad password"}, 401
    response = jsonify(msg="in")
    set_access_cookies(response, create_access_token(identity=body["user"]))
    return response


@api.post("/cart")
@jwt_required()
async def add_to_cart():
    item = (await request.get_json())["item"]
    session["items"] = [*session.get("items", []), item]
    return CartSchema().jsonify(
        {"owner": get_jwt_identity(), "items": session["items"],
         "total": format_decimal(len(session["items"]) * 2.5)}
    ), 201


app.register_blueprint(api)
"""

HTTPS = {"X-Forwarded-Proto": "https"}  # uvicorn trusts it from 127.0.0.1


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-stack-sessions")


@pytest.fixture(scope="module")
def server(session_dir: Path) -> Iterator[Server]:
    env = {
        "SESSION_DIR": str(session_dir),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    with run_server(APP, env=env) as server:
        yield server
    assert "Traceback" not in server.stderr


def test_https_redirect_security_headers_and_the_locale(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        r = client.get("/?a=1")
        assert r.status_code == 302
        assert r.headers["Location"] == f"https://{server.url.split('://')[1]}/?a=1"
        r = client.get("/", headers={**HTTPS, "Accept-Language": "de-DE, de;q=0.9"})
        assert r.status_code == 200
        page = re.fullmatch(r'<script nonce="([^"]+)">start\(\)</script>(.*)', r.text)
        assert page is not None
        assert page.group(2) == "1.234,5 de"
        assert f"'nonce-{page.group(1)}'" in r.headers["Content-Security-Policy"]
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        r = client.get("/", headers={**HTTPS, "Accept-Language": "en"})
        assert r.text.endswith("1,234.5 en")


def test_login_cart_with_csrf_server_side_session_and_rate_limit(
    server: Server, session_dir: Path
) -> None:
    with httpx.Client(base_url=server.url, timeout=10, headers=HTTPS) as client:
        r = client.post("/api/cart", json={"item": "tea"})
        assert r.status_code == 401  # no token yet
        r = client.post("/api/login", json={"user": "ada", "password": "pw"})
        assert (r.status_code, r.json()) == (200, {"msg": "in"})
        csrf = client.cookies["csrf_access_token"]
        r = client.post("/api/cart", json={"item": "tea"})
        assert (r.status_code, r.json()) == (401, {"msg": "Missing CSRF token"})
        r = client.post(
            "/api/cart",
            json={"item": "tea"},
            headers={"X-CSRF-TOKEN": csrf, "Accept-Language": "de"},
        )
        assert (r.status_code, r.json()) == (
            201,
            {"owner": "ada", "items": ["tea"], "total": "2,5"},
        )
        r = client.post("/api/cart", json={"item": "cake"}, headers={"X-CSRF-TOKEN": csrf})
        assert r.json()["items"] == ["tea", "cake"]
        sid = client.cookies["session"]
        # the session is on the server's disk, not in the cookie
        assert "cake" not in sid
        stored = FileSystemCache(str(session_dir)).get(f"session:{sid}")
        assert stored["items"] == ["tea", "cake"]
        # two more logins reach the limit of three a minute
        for password in ("no", "pw"):
            client.post("/api/login", json={"user": "ada", "password": password})
        r = client.post("/api/login", json={"user": "ada", "password": "pw"})
        assert r.status_code == 429
        assert 0 < int(r.headers["Retry-After"]) <= 60
        # security headers are on the error responses too
        assert r.headers["X-Content-Type-Options"] == "nosniff"
