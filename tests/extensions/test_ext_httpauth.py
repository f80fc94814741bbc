"""Flask-HTTPAuth with ``async def`` callbacks, as its documentation sets it
up: a request with no or forged credentials is refused (401), in process
and under a real uvicorn, never let through by a coroutine standing in for
the callback's ``False``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import pytest
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth

from asyncflask import Flask
from tests.server import Server, run_server

APP = """
import asyncio

from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth
from werkzeug.security import check_password_hash, generate_password_hash

from asyncflask import Blueprint, Flask

app = Flask(__name__)
basic = HTTPBasicAuth()
token = HTTPTokenAuth(scheme="Bearer")
users = {"ann": generate_password_hash("secret", method="pbkdf2:sha256:1000")}
roles = {"ann": ["admin"]}


@basic.verify_password
async def verify_password(username, password):
    await asyncio.sleep(0.001)  # a database lookup
    if username in users and check_password_hash(users[username], password):
        return username
    return False


@basic.get_user_roles
async def get_user_roles(user):
    await asyncio.sleep(0)
    return roles.get(user, [])


@basic.error_handler
async def auth_error(status):
    await asyncio.sleep(0)
    return {"error": "denied", "status": status}, status


@token.verify_token
async def verify_token(value):
    await asyncio.sleep(0.001)
    return "ann" if value == "good-token" else None


@app.get("/basic")
@basic.login_required
async def basic_view():
    await asyncio.sleep(0)
    return {"user": basic.current_user()}


@app.get("/admin")
@basic.login_required(role="admin")
async def admin_view():
    return "admin"


@app.get("/token")
@token.login_required
async def token_view():
    return {"user": token.current_user()}


bp = Blueprint("private", __name__, url_prefix="/private")


@bp.before_request
@basic.login_required
def protect():
    pass


@bp.get("/page")
async def page():
    return "private page"


app.register_blueprint(bp)
"""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with run_server(APP) as server:
        yield server


def _basic(user: str, password: str) -> httpx.BasicAuth:
    return httpx.BasicAuth(user, password)


@pytest.mark.parametrize("path", ["/basic", "/admin", "/private/page"])
def test_no_or_forged_credentials_are_refused_over_a_real_server(server: Server, path: str) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        r = client.get(path)
        assert (r.status_code, r.json()) == (401, {"error": "denied", "status": 401})
        assert r.headers["WWW-Authenticate"].startswith("Basic")
        assert client.get(path, auth=_basic("ann", "wrong")).status_code == 401
        assert client.get(path, auth=_basic("bob", "secret")).status_code == 401
        assert client.get(path, auth=_basic("ann", "secret")).status_code == 200
    assert "Traceback" not in server.stderr


def test_basic_and_roles_over_a_real_server(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        r = client.get("/basic", auth=_basic("ann", "secret"))
        assert (r.status_code, r.json()) == (200, {"user": "ann"})
        assert client.get("/admin", auth=_basic("ann", "secret")).text == "admin"
        assert client.get("/private/page", auth=_basic("ann", "secret")).text == "private page"


def test_token_auth_over_a_real_server(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/token").status_code == 401
        r = client.get("/token", headers={"Authorization": "Bearer forged"})
        assert r.status_code == 401
        r = client.get("/token", headers={"Authorization": "Bearer good-token"})
        assert (r.status_code, r.json()) == (200, {"user": "ann"})


async def test_roles_refuse_a_user_without_the_role() -> None:
    app = Flask("roles")
    auth = HTTPBasicAuth()

    @auth.verify_password
    async def verify(username: str, password: str) -> str | None:
        await asyncio.sleep(0)
        return username if password == "pw" else None

    @auth.get_user_roles
    async def user_roles(user: str) -> list[str]:
        await asyncio.sleep(0)
        return ["admin"] if user == "root" else ["user"]

    @app.get("/admin")
    @auth.login_required(role="admin")
    async def admin() -> str:
        return "admin"

    async with app.test_client() as client:
        assert (await client.get("/admin", auth=("joe", "pw"))).status_code == 403
        assert (await client.get("/admin", auth=("root", "pw"))).status_code == 200
        assert (await client.get("/admin", auth=("root", "no"))).status_code == 401


async def test_optional_login_sees_no_user_for_forged_credentials() -> None:
    app = Flask("optional")
    auth = HTTPTokenAuth()

    @auth.verify_token
    async def verify(value: str) -> str | bool:
        await asyncio.sleep(0)
        return "ann" if value == "ok" else False

    @app.get("/")
    @auth.login_required(optional=True)
    async def index() -> dict[str, str | None]:
        return {"user": auth.current_user() or None}

    async with app.test_client() as client:
        assert (await client.get("/")).get_json() == {"user": None}
        r = await client.get("/", headers={"Authorization": "Bearer forged"})
        assert (r.status_code, r.get_json()) == (200, {"user": None})
        r = await client.get("/", headers={"Authorization": "Bearer ok"})
        assert r.get_json() == {"user": "ann"}


async def test_a_plain_hook_on_the_event_loop_never_passes_a_coroutine(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Plain code on the event loop itself (an undecorated hook) that calls
    an async callback through ``ensure_sync``: the callback's value when it
    needs no waiting, and a 500 naming the fix when it waits. Never a
    truthy coroutine."""
    app = Flask("loopthread")
    auth = HTTPBasicAuth()
    waits = {"value": False}

    @auth.verify_password
    async def verify(username: str, password: str) -> bool:
        if waits["value"]:
            await asyncio.sleep(0)
        return password == "pw"

    @app.before_request
    def check() -> tuple[str, int] | None:
        credentials = auth.get_auth()
        if credentials is None or not auth.authenticate(credentials, credentials.password):
            return "denied", 401
        return None

    @app.get("/")
    async def index() -> str:
        return "in"

    async with app.test_client() as client:
        assert (await client.get("/", auth=("a", "forged"))).status_code == 401
        assert (await client.get("/", auth=("a", "pw"))).text == "in"
        waits["value"] = True
        with caplog.at_level(logging.ERROR):
            r = await client.get("/", auth=("a", "forged"))
        assert r.status_code == 500
        assert "had to wait, but it was called by plain code on the event loop" in caplog.text
