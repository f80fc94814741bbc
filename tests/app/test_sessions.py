"""Sessions: Flask's signed-cookie sessions, in Flask's exact format, compared
with Flask 3.1 (cookie attributes, Vary, refresh, fallbacks, null sessions)."""

from __future__ import annotations

import gc
import time
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import flask
import pytest
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.http import parse_date

from asyncflask import Flask, session
from asyncflask.sessions import (
    NullSession,
    SecureCookieSession,
    SessionInterface,
)
from asyncflask.testing import TestClient

SECRET = "a secret shared by both apps"


def _set_cookie_attrs(header: str) -> dict[str, str]:
    """The attributes of one Set-Cookie header (lower-case names; flags map
    to ``""``), plus ``name`` and ``value``."""
    first, *rest = header.split(";")
    name, _, value = first.strip().partition("=")
    attrs = {"name": name, "value": value}
    for part in rest:
        key, _, val = part.strip().partition("=")
        attrs[key.lower()] = val
    return attrs


def _flask_reference(config: dict[str, Any], permanent: bool = False) -> dict[str, str]:
    """The Set-Cookie attributes Flask sends when a view sets a session key
    under ``config``."""
    fapp = flask.Flask("reference")
    fapp.config.update(SECRET_KEY=SECRET, **config)

    @fapp.route("/set")
    def set_() -> str:
        flask.session["user"] = "alice"
        flask.session.permanent = permanent
        return "ok"

    r = fapp.test_client().get("/set")
    return _set_cookie_attrs(r.headers["Set-Cookie"])


def _without_timing(attrs: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in attrs.items() if k not in ("value", "expires")}


@pytest.fixture
def sapp(app: Flask) -> Flask:
    """The app with a secret key and views that set, read and clear keys."""
    app.secret_key = SECRET

    @app.route("/set")
    async def set_() -> str:
        session["user"] = "alice"
        return "ok"

    @app.route("/set-permanent")
    async def set_permanent() -> str:
        session["user"] = "alice"
        session.permanent = True
        return "ok"

    @app.route("/get")
    async def get() -> dict[str, Any]:
        return {"user": session.get("user"), "keys": sorted(session.keys())}

    @app.route("/clear")
    async def clear() -> str:
        session.clear()
        return "cleared"

    @app.route("/untouched")
    async def untouched() -> str:
        return "nothing"

    return app


# -- the cookie format, both ways with Flask -------------------------------------


async def test_flask_reads_asyncflask_session(sapp: Flask, client: TestClient) -> None:
    @sapp.route("/rich")
    async def rich() -> str:
        session["user"] = "alice"
        session["n"] = 3
        session["items"] = [1, "two", None]
        session["when"] = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        session["raw"] = b"\x00\xff"
        session["tup"] = (1, 2)
        return "ok"

    r = await client.get("/rich")
    cookie = _set_cookie_attrs(r.headers["Set-Cookie"])
    assert cookie["name"] == "session"

    fapp = flask.Flask("flaskside")
    fapp.secret_key = SECRET

    @fapp.route("/read")
    def read() -> dict[str, Any]:
        return {
            "user": flask.session["user"],
            "n": flask.session["n"],
            "items": flask.session["items"],
            "when": flask.session["when"].isoformat(),
            "raw": flask.session["raw"].hex(),
            "tup": list(flask.session["tup"]),
            "tup_is_tuple": isinstance(flask.session["tup"], tuple),
        }

    fclient = fapp.test_client()
    fclient.set_cookie("session", cookie["value"])
    data = fclient.get("/read").get_json()
    assert data == {
        "user": "alice",
        "n": 3,
        "items": [1, "two", None],
        "when": "2024-01-02T03:04:05+00:00",
        "raw": "00ff",
        "tup": [1, 2],
        "tup_is_tuple": True,
    }


async def test_asyncflask_reads_flask_session(sapp: Flask, client: TestClient) -> None:
    fapp = flask.Flask("flaskside")
    fapp.secret_key = SECRET

    @fapp.route("/write")
    def write() -> str:
        flask.session["user"] = "bob"
        flask.session["n"] = 7
        flask.session["raw"] = b"\x01\x02"
        return "ok"

    fr = fapp.test_client().get("/write")
    value = _set_cookie_attrs(fr.headers["Set-Cookie"])["value"]

    @sapp.route("/read")
    async def read() -> dict[str, Any]:
        return {"user": session["user"], "n": session["n"], "raw": session["raw"].hex()}

    client.cookies.set("session", value)
    r = await client.get("/read")
    assert r.status_code == 200
    assert r.get_json() == {"user": "bob", "n": 7, "raw": "0102"}


async def test_cookie_payload_is_flasks_serializer(sapp: Flask, client: TestClient) -> None:
    r = await client.get("/set")
    value = _set_cookie_attrs(r.headers["Set-Cookie"])["value"]
    fapp = flask.Flask("flaskside")
    fapp.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(fapp)
    assert serializer is not None
    assert serializer.loads(value) == {"user": "alice"}
    # the same signing key derivation: the payload part is byte-identical
    payload = serializer.dumps({"user": "alice"}).split(".")[0]
    assert value.split(".")[0] == payload


async def test_session_roundtrip_through_client(sapp: Flask, client: TestClient) -> None:
    await client.get("/set")
    r = await client.get("/get")
    assert r.get_json() == {"user": "alice", "keys": ["user"]}


async def test_session_set_cookie_attributes_match_flask(sapp: Flask, client: TestClient) -> None:
    r = await client.get("/set")
    ours = _set_cookie_attrs(r.headers["Set-Cookie"])
    assert _without_timing(ours) == _without_timing(_flask_reference({}))
    assert ours == {"name": "session", "value": ours["value"], "httponly": "", "path": "/"}


async def test_wrong_secret_key_gives_empty_session(sapp: Flask, client: TestClient) -> None:
    fapp = flask.Flask("other")
    fapp.secret_key = "another key"

    @fapp.route("/write")
    def write() -> str:
        flask.session["user"] = "mallory"
        return "ok"

    value = _set_cookie_attrs(fapp.test_client().get("/write").headers["Set-Cookie"])["value"]
    client.cookies.set("session", value)
    r = await client.get("/get")
    assert r.status_code == 200
    assert r.get_json() == {"user": None, "keys": []}


# -- SECRET_KEY_FALLBACKS --------------------------------------------------------------


async def test_secret_key_fallbacks_read_old_cookie(sapp: Flask, client: TestClient) -> None:
    old = flask.Flask("old")
    old.secret_key = "the old key"

    @old.route("/write")
    def write() -> str:
        flask.session["user"] = "carol"
        return "ok"

    value = _set_cookie_attrs(old.test_client().get("/write").headers["Set-Cookie"])["value"]
    client.cookies.set("session", value)

    assert (await client.get("/get")).get_json()["user"] is None
    sapp.config["SECRET_KEY_FALLBACKS"] = ["the old key"]
    assert (await client.get("/get")).get_json()["user"] == "carol"


async def test_secret_key_fallbacks_sign_with_current_key(sapp: Flask, client: TestClient) -> None:
    sapp.config["SECRET_KEY_FALLBACKS"] = ["the old key"]
    r = await client.get("/set")
    value = _set_cookie_attrs(r.headers["Set-Cookie"])["value"]
    current_only = flask.Flask("current")
    current_only.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(current_only)
    assert serializer is not None
    assert serializer.loads(value) == {"user": "alice"}


# -- permanence and expiry --------------------------------------------------------------


async def test_non_permanent_session_is_a_browser_session_cookie(
    sapp: Flask, client: TestClient
) -> None:
    r = await client.get("/set")
    attrs = _set_cookie_attrs(r.headers["Set-Cookie"])
    assert "expires" not in attrs
    assert "max-age" not in attrs


async def test_permanent_session_has_expires(sapp: Flask, client: TestClient) -> None:
    sapp.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=2)
    before = datetime.now(UTC)
    r = await client.get("/set-permanent")
    attrs = _set_cookie_attrs(r.headers["Set-Cookie"])
    expires = parse_date(attrs["expires"])
    assert expires is not None
    expected = before + timedelta(hours=2)
    assert abs((expires - expected).total_seconds()) < 5
    reference = _flask_reference({"PERMANENT_SESSION_LIFETIME": timedelta(hours=2)}, True)
    assert _without_timing(attrs) == _without_timing(reference)
    assert "expires" in reference


async def test_permanent_session_lifetime_as_seconds(sapp: Flask, client: TestClient) -> None:
    sapp.config["PERMANENT_SESSION_LIFETIME"] = 600
    assert sapp.permanent_session_lifetime == timedelta(seconds=600)
    before = datetime.now(UTC)
    r = await client.get("/set-permanent")
    expires = parse_date(_set_cookie_attrs(r.headers["Set-Cookie"])["expires"])
    assert expires is not None
    assert abs((expires - (before + timedelta(seconds=600))).total_seconds()) < 5


async def test_permanent_flag_is_stored_in_the_session(sapp: Flask, client: TestClient) -> None:
    @sapp.route("/is-permanent")
    async def is_permanent() -> dict[str, Any]:
        return {"permanent": session.permanent}

    assert (await client.get("/is-permanent")).get_json() == {"permanent": False}
    await client.get("/set-permanent")
    assert (await client.get("/is-permanent")).get_json() == {"permanent": True}


async def test_expired_cookie_gives_empty_session(sapp: Flask, client: TestClient) -> None:
    sapp.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=1)
    fapp = flask.Flask("flaskside")
    fapp.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(fapp)
    assert serializer is not None
    # a cookie signed ten seconds ago, older than the lifetime
    serializer_time = serializer.make_signer().get_timestamp
    serializer.make_signer = _signer_at(serializer.make_signer, serializer_time() - 10)  # type: ignore[method-assign]
    value = serializer.dumps({"user": "old"})
    client.cookies.set("session", value)
    r = await client.get("/get")
    assert r.status_code == 200
    assert r.get_json() == {"user": None, "keys": []}


def _signer_at(make_signer: Any, timestamp: int) -> Any:
    def make(*args: Any, **kwargs: Any) -> Any:
        signer = make_signer(*args, **kwargs)
        signer.get_timestamp = lambda: timestamp
        return signer

    return make


async def test_cookie_within_lifetime_is_read(sapp: Flask, client: TestClient) -> None:
    sapp.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=60)
    fapp = flask.Flask("flaskside")
    fapp.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(fapp)
    assert serializer is not None
    serializer.make_signer = _signer_at(serializer.make_signer, int(time.time()) - 10)  # type: ignore[method-assign]
    client.cookies.set("session", serializer.dumps({"user": "recent"}))
    assert (await client.get("/get")).get_json()["user"] == "recent"


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "eyJ1c2VyIjoiYWxpY2UifQ.ZZZZZZ.not-a-signature",
        "",
        "a.b.c.d.e",
        "%%%",
    ],
)
async def test_tampered_cookie_gives_empty_session(
    sapp: Flask, client: TestClient, value: str
) -> None:
    client.cookies.set("session", value)
    r = await client.get("/get")
    assert r.status_code == 200
    assert r.get_json() == {"user": None, "keys": []}


async def test_modified_payload_is_rejected(sapp: Flask, client: TestClient) -> None:
    r = await client.get("/set")
    value = _set_cookie_attrs(r.headers["Set-Cookie"])["value"]
    payload, rest = value.split(".", 1)
    forged = flask.Flask("forger")
    forged.secret_key = "x"
    other_payload = (
        SecureCookieSessionInterface()
        .get_signing_serializer(forged)
        .dumps({"user": "admin"})  # type: ignore[union-attr]
        .split(".")[0]
    )
    assert other_payload != payload
    client.cookies.clear()
    client.cookies.set("session", f"{other_payload}.{rest}")
    r = await client.get("/get")
    assert r.status_code == 200
    assert r.get_json()["user"] is None


# -- every SESSION_COOKIE_* setting ---------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"SESSION_COOKIE_NAME": "sid"},
        {"SESSION_COOKIE_DOMAIN": "example.com"},
        {"SESSION_COOKIE_PATH": "/app"},
        {"SESSION_COOKIE_HTTPONLY": False},
        {"SESSION_COOKIE_SECURE": True},
        {"SESSION_COOKIE_SAMESITE": "Lax"},
        {"SESSION_COOKIE_SAMESITE": "Strict"},
        {"SESSION_COOKIE_SAMESITE": "None", "SESSION_COOKIE_SECURE": True},
        {"SESSION_COOKIE_PARTITIONED": True},
        {"APPLICATION_ROOT": "/root"},
        {
            "SESSION_COOKIE_NAME": "sid",
            "SESSION_COOKIE_DOMAIN": "example.com",
            "SESSION_COOKIE_PATH": "/p",
            "SESSION_COOKIE_HTTPONLY": False,
            "SESSION_COOKIE_SECURE": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_PARTITIONED": True,
        },
    ],
)
async def test_session_cookie_settings_match_flask(
    sapp: Flask, client: TestClient, config: dict[str, Any]
) -> None:
    sapp.config.update(config)
    r = await client.get("/set")
    ours = _set_cookie_attrs(r.headers["Set-Cookie"])
    theirs = _flask_reference(config)
    assert _without_timing(ours) == _without_timing(theirs)


async def test_session_cookie_name_is_read_back(sapp: Flask, client: TestClient) -> None:
    sapp.config["SESSION_COOKIE_NAME"] = "sid"
    r = await client.get("/set")
    assert _set_cookie_attrs(r.headers["Set-Cookie"])["name"] == "sid"
    assert (await client.get("/get")).get_json()["user"] == "alice"
    # a cookie under the default name is not the session any more
    value = client.cookies["sid"]
    client.cookies.clear()
    client.cookies.set("session", value)
    assert (await client.get("/get")).get_json()["user"] is None


async def test_session_cookie_attributes_exact(sapp: Flask, client: TestClient) -> None:
    sapp.config.update(
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_PATH="/p",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PARTITIONED=True,
    )
    r = await client.get("/set")
    attrs = _set_cookie_attrs(r.headers["Set-Cookie"])
    assert attrs["domain"] == "example.com"
    assert attrs["path"] == "/p"
    assert attrs["samesite"] == "Lax"
    assert "secure" in attrs
    assert "httponly" in attrs
    assert "partitioned" in attrs


async def test_clearing_session_deletes_cookie_like_flask(sapp: Flask, client: TestClient) -> None:
    config = {
        "SESSION_COOKIE_DOMAIN": "example.com",
        "SESSION_COOKIE_PATH": "/p",
        "SESSION_COOKIE_SAMESITE": "Strict",
    }
    sapp.config.update(config)
    value = _set_cookie_attrs((await client.get("/set")).headers["Set-Cookie"])["value"]
    client.cookies.clear()
    client.cookies.set("session", value)
    r = await client.get("/clear")
    assert r.headers["Vary"] == "Cookie"
    ours = _set_cookie_attrs(r.headers["Set-Cookie"])

    fapp = flask.Flask("reference")
    fapp.config.update(SECRET_KEY=SECRET, **config)

    @fapp.route("/set")
    def fset() -> str:
        flask.session["user"] = "alice"
        return "ok"

    @fapp.route("/clear")
    def fclear() -> str:
        flask.session.clear()
        return "ok"

    fclient = fapp.test_client()
    value = _set_cookie_attrs(fclient.get("/set").headers["Set-Cookie"])["value"]
    fclient.set_cookie("session", value)
    fr = fclient.get("/clear")
    theirs = _set_cookie_attrs(fr.headers["Set-Cookie"])
    assert ours == theirs
    assert ours["value"] == ""
    assert ours["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"


# -- SESSION_REFRESH_EACH_REQUEST -----------------------------------------------------------


async def _flask_untouched_headers(refresh: bool, permanent: bool) -> dict[str, str | None]:
    fapp = flask.Flask("reference")
    fapp.config.update(SECRET_KEY=SECRET, SESSION_REFRESH_EACH_REQUEST=refresh)

    @fapp.route("/set")
    def fset() -> str:
        flask.session["user"] = "alice"
        flask.session.permanent = permanent
        return "ok"

    @fapp.route("/untouched")
    def untouched() -> str:
        return "nothing"

    fclient = fapp.test_client()
    fclient.get("/set")
    fr = fclient.get("/untouched")
    return {"set-cookie": fr.headers.get("Set-Cookie"), "vary": fr.headers.get("Vary")}


@pytest.mark.parametrize("refresh", [True, False])
async def test_refresh_each_request_permanent_untouched(
    sapp: Flask, client: TestClient, refresh: bool
) -> None:
    sapp.config["SESSION_REFRESH_EACH_REQUEST"] = refresh
    await client.get("/set-permanent")
    r = await client.get("/untouched")
    theirs = await _flask_untouched_headers(refresh, permanent=True)
    assert (r.headers.get("Set-Cookie") is not None) == (theirs["set-cookie"] is not None)
    assert r.headers.get("Vary") == theirs["vary"]
    if refresh:
        attrs = _set_cookie_attrs(r.headers["Set-Cookie"])
        assert "expires" in attrs
        assert r.headers["Vary"] == "Cookie"
    else:
        assert "Set-Cookie" not in r.headers


@pytest.mark.parametrize("refresh", [True, False])
async def test_refresh_each_request_permanent_read(
    sapp: Flask, client: TestClient, refresh: bool
) -> None:
    sapp.config["SESSION_REFRESH_EACH_REQUEST"] = refresh
    await client.get("/set-permanent")
    r = await client.get("/get")
    assert r.get_json()["user"] == "alice"
    assert r.headers["Vary"] == "Cookie"
    assert ("Set-Cookie" in r.headers) is refresh


async def test_non_permanent_session_is_not_refreshed(sapp: Flask, client: TestClient) -> None:
    sapp.config["SESSION_REFRESH_EACH_REQUEST"] = True
    await client.get("/set")
    r = await client.get("/get")
    assert r.get_json()["user"] == "alice"
    assert "Set-Cookie" not in r.headers
    theirs = await _flask_untouched_headers(True, permanent=False)
    assert theirs["set-cookie"] is None


# -- Vary: Cookie -----------------------------------------------------------------------------


async def test_vary_cookie_when_session_read(sapp: Flask, client: TestClient) -> None:
    r = await client.get("/get")
    assert r.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in r.headers


async def test_vary_cookie_when_session_read_with_cookie(sapp: Flask, client: TestClient) -> None:
    await client.get("/set")
    r = await client.get("/get")
    assert r.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in r.headers


def _read_session(session_proxy: Any, expr: str) -> None:
    if expr == "in":
        _ = "user" in session_proxy
    elif expr == "len":
        _ = len(session_proxy)
    elif expr == "bool":
        _ = bool(session_proxy)
    elif expr == "iter":
        _ = list(session_proxy)
    elif expr == "getitem":
        _ = session_proxy["user"]
    elif expr == "get":
        _ = session_proxy.get("user")
    else:
        _ = session_proxy.permanent


@pytest.mark.parametrize("expr", ["in", "len", "bool", "iter", "getitem", "get", "permanent"])
async def test_vary_cookie_for_each_kind_of_read(
    sapp: Flask, client: TestClient, expr: str
) -> None:
    @sapp.route("/read")
    async def read() -> str:
        _read_session(session, expr)
        return "ok"

    fapp = flask.Flask("reference")
    fapp.secret_key = SECRET

    @fapp.route("/set")
    def fset() -> str:
        flask.session["user"] = "alice"
        return "ok"

    @fapp.route("/read")
    def fread() -> str:
        _read_session(flask.session, expr)
        return "ok"

    fclient = fapp.test_client()
    fclient.get("/set")
    fr = fclient.get("/read")
    assert fr.headers.get("Vary") == "Cookie"
    assert "Set-Cookie" not in fr.headers

    await client.get("/set")
    r = await client.get("/read")
    assert r.status_code == 200
    assert r.headers.get("Vary") == fr.headers.get("Vary")
    assert "Set-Cookie" not in r.headers


async def test_vary_cookie_on_set(sapp: Flask, client: TestClient) -> None:
    r = await client.get("/set")
    assert r.headers["Vary"] == "Cookie"


async def test_vary_is_added_to_existing_vary(sapp: Flask, client: TestClient) -> None:
    @sapp.route("/vary")
    async def vary() -> tuple[str, dict[str, str]]:
        session.get("user")
        return "ok", {"Vary": "Accept-Encoding"}

    r = await client.get("/vary")
    assert r.headers["Vary"] == "Accept-Encoding, Cookie"


async def test_untouched_session_no_set_cookie_no_vary(sapp: Flask, client: TestClient) -> None:
    r = await client.get("/untouched")
    assert "Set-Cookie" not in r.headers
    assert "Vary" not in r.headers
    # with a (non-permanent) session cookie present, still nothing
    await client.get("/set")
    r = await client.get("/untouched")
    assert "Set-Cookie" not in r.headers
    assert "Vary" not in r.headers


async def test_untouched_session_no_secret_key(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return "x"

    r = await client.get("/")
    assert "Set-Cookie" not in r.headers
    assert "Vary" not in r.headers


async def test_session_in_sync_view(sapp: Flask, client: TestClient) -> None:
    @sapp.route("/sync-set")
    def sync_set() -> str:
        session["user"] = "sync"
        return "ok"

    r = await client.get("/sync-set")
    assert r.headers["Vary"] == "Cookie"
    assert (await client.get("/get")).get_json()["user"] == "sync"


async def test_session_set_in_before_and_after_request(sapp: Flask, client: TestClient) -> None:
    @sapp.before_request
    async def before() -> None:
        session["before"] = True

    @sapp.after_request
    async def after(response: Any) -> Any:
        session["after"] = True
        return response

    await client.get("/untouched")
    assert (await client.get("/get")).get_json()["keys"] == ["after", "before"]


async def test_mutable_value_needs_modified(sapp: Flask, client: TestClient) -> None:
    @sapp.route("/init")
    async def init() -> str:
        session["items"] = []
        return "ok"

    @sapp.route("/append-silently")
    async def append_silently() -> str:
        session["items"].append(1)
        return "ok"

    @sapp.route("/append-modified")
    async def append_modified() -> str:
        session["items"].append(2)
        session.modified = True
        return "ok"

    @sapp.route("/items")
    async def items() -> dict[str, Any]:
        return {"items": session["items"]}

    await client.get("/init")
    r = await client.get("/append-silently")
    assert "Set-Cookie" not in r.headers
    assert (await client.get("/items")).get_json() == {"items": []}
    r = await client.get("/append-modified")
    assert "Set-Cookie" in r.headers
    assert (await client.get("/items")).get_json() == {"items": [2]}


# -- no SECRET_KEY: the null session ----------------------------------------------------------


async def test_no_secret_key_null_session_read(app: Flask, client: TestClient) -> None:
    @app.route("/read")
    async def read() -> dict[str, Any]:
        return {
            "type": type(session._get_current_object()).__name__,  # type: ignore[attr-defined]
            "user": session.get("user"),
            "len": len(session),
        }

    r = await client.get("/read")
    assert r.status_code == 200
    assert r.get_json() == {"type": "NullSession", "user": None, "len": 0}
    assert "Set-Cookie" not in r.headers


async def test_no_secret_key_setting_raises(app: Flask, client: TestClient) -> None:
    seen: list[BaseException] = []

    @app.route("/write")
    async def write() -> str:
        try:
            session["user"] = "x"
        except RuntimeError as e:
            seen.append(e)
            raise
        return "ok"

    r = await client.get("/write")
    assert r.status_code == 500
    assert "Set-Cookie" not in r.headers
    assert len(seen) == 1
    assert "secret key" in str(seen[0])


async def test_no_secret_key_error_propagates_when_testing(app: Flask, client: TestClient) -> None:
    app.testing = True

    @app.route("/write")
    async def write() -> str:
        session["user"] = "x"
        return "ok"

    with pytest.raises(RuntimeError, match="no secret key was set"):
        await client.get("/write")
    # anything the failed exchange left unclosed warns now, in this test
    gc.collect()


async def test_null_session_class(app: Flask) -> None:
    async with app.test_request_context("/"):
        assert isinstance(session._get_current_object(), NullSession)  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError):
            session["x"] = 1
        with pytest.raises(RuntimeError):
            session.pop("x", None)


# -- a replaceable session interface --------------------------------------------------------------


class HeaderSession(dict[str, Any], SessionMixin):
    """A session kept in an ``X-Session`` header (for the test)."""


class HeaderSessionInterface(SessionInterface):
    def __init__(self) -> None:
        self.opened = 0
        self.saved = 0

    def open_session(self, app: Any, request: Any) -> HeaderSession:
        self.opened += 1
        raw = request.headers.get("X-Session", "")
        data = dict(item.split("=", 1) for item in raw.split(",") if item)
        return HeaderSession(data)

    def save_session(self, app: Any, session: Any, response: Any) -> None:
        self.saved += 1
        response.headers["X-Session"] = ",".join(f"{k}={v}" for k, v in sorted(session.items()))


async def test_custom_session_interface(app: Flask, client: TestClient) -> None:
    interface = HeaderSessionInterface()
    app.session_interface = interface

    @app.route("/")
    async def index() -> str:
        session["seen"] = str(int(session.get("seen", "0")) + 1)
        return f"{type(session._get_current_object()).__name__}"  # type: ignore[attr-defined]

    r = await client.get("/", headers={"X-Session": "seen=4,name=z"})
    assert r.text == "HeaderSession"
    assert r.headers["X-Session"] == "name=z,seen=5"
    assert "Set-Cookie" not in r.headers
    assert interface.opened == 1
    assert interface.saved == 1


async def test_custom_session_interface_without_secret_key(app: Flask, client: TestClient) -> None:
    app.session_interface = HeaderSessionInterface()

    @app.route("/")
    async def index() -> str:
        session["k"] = "v"
        return "ok"

    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["X-Session"] == "k=v"


async def test_session_interface_subclass_of_secure_cookie(app: Flask, client: TestClient) -> None:
    class Custom(SecureCookieSessionInterface):
        salt = "a different salt"

        def get_cookie_name(self, app: Any) -> str:
            return "custom"

    app.secret_key = SECRET
    app.session_interface = Custom()

    @app.route("/set")
    async def set_() -> str:
        session["x"] = 1
        return "ok"

    @app.route("/get")
    async def get() -> dict[str, Any]:
        return {"x": session.get("x")}

    r = await client.get("/set")
    attrs = _set_cookie_attrs(r.headers["Set-Cookie"])
    assert attrs["name"] == "custom"
    assert (await client.get("/get")).get_json() == {"x": 1}
    # the default interface (other salt) cannot read it
    fapp = flask.Flask("flaskside")
    fapp.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(fapp)
    assert serializer is not None
    with pytest.raises(Exception, match="Signature"):
        serializer.loads(attrs["value"])


async def test_open_session_returning_none_gives_null_session(
    app: Flask, client: TestClient
) -> None:
    class Refusing(SecureCookieSessionInterface):
        def open_session(self, app: Any, request: Any) -> None:
            return None

    app.secret_key = SECRET
    app.session_interface = Refusing()

    @app.route("/")
    async def index() -> str:
        return type(session._get_current_object()).__name__  # type: ignore[attr-defined]

    r = await client.get("/")
    assert r.text == "NullSession"


async def test_session_classes_are_flasks() -> None:
    assert SecureCookieSession is flask.sessions.SecureCookieSession
    assert NullSession is flask.sessions.NullSession
    assert isinstance(Flask("x").session_interface, SecureCookieSessionInterface)


async def test_cookie_is_parseable_by_stdlib(sapp: Flask, client: TestClient) -> None:
    r = await client.get("/set-permanent")
    jar: SimpleCookie = SimpleCookie()
    jar.load(r.headers["Set-Cookie"])
    morsel = jar["session"]
    assert morsel["httponly"] is True
    assert morsel["path"] == "/"
    assert morsel["expires"]
