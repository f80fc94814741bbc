"""Flask-JWT-Extended on asyncflask, set up as its documentation shows
(``JWTManager(app)``, ``create_access_token``, ``@jwt_required()`` on
``async def`` views, headers mode, then cookies mode with CSRF)."""

from __future__ import annotations

import asyncio
import typing as t
from datetime import timedelta

import pytest
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    current_user,
    get_jwt,
    get_jwt_identity,
    jwt_required,
    set_access_cookies,
    unset_jwt_cookies,
)

from asyncflask import Flask, jsonify, request

USERS = {"alice": {"password": "wonderland", "role": "admin"}}
REVOKED: set[str] = set()


def make_app(**config: t.Any) -> Flask:
    app = Flask("jwtapp")
    app.config["JWT_SECRET_KEY"] = "a secret of thirty-two bytes or more"
    app.config.update(config)
    jwt = JWTManager(app)

    @jwt.user_lookup_loader
    def user_lookup(jwt_header: dict[str, t.Any], jwt_data: dict[str, t.Any]) -> t.Any:
        return {"name": jwt_data["sub"], **USERS[jwt_data["sub"]]}

    @jwt.additional_claims_loader
    def claims(identity: str) -> dict[str, t.Any]:
        return {"role": USERS[identity]["role"]}

    @jwt.token_in_blocklist_loader
    def revoked(jwt_header: dict[str, t.Any], jwt_payload: dict[str, t.Any]) -> bool:
        return jwt_payload["jti"] in REVOKED

    @app.post("/login")
    async def login() -> t.Any:
        body = await request.get_json()
        user = USERS.get(body.get("username", ""))
        if user is None or user["password"] != body.get("password"):
            return jsonify({"msg": "Bad username or password"}), 401
        token = create_access_token(identity=body["username"])
        refresh = create_refresh_token(identity=body["username"])
        response = jsonify(access_token=token, refresh_token=refresh)
        if "cookies" in app.config.get("JWT_TOKEN_LOCATION", ()):
            set_access_cookies(response, token)
        return response

    @app.get("/protected")
    @jwt_required()
    async def protected() -> t.Any:
        await asyncio.sleep(0.001)
        return jsonify(logged_in_as=get_jwt_identity(), role=get_jwt()["role"]), 200

    @app.post("/orders")
    @jwt_required()
    async def orders() -> t.Any:
        order = await request.get_json()
        return {"by": current_user["name"], "order": order}, 201

    @app.get("/maybe")
    @jwt_required(optional=True)
    async def maybe() -> t.Any:
        return {"user": get_jwt_identity()}

    @app.post("/refresh")
    @jwt_required(refresh=True)
    async def refresh() -> t.Any:
        return {"access_token": create_access_token(identity=get_jwt_identity())}

    @app.delete("/logout")
    @jwt_required()
    async def logout() -> t.Any:
        REVOKED.add(get_jwt()["jti"])
        response = jsonify(msg="logged out")
        unset_jwt_cookies(response)
        return response

    return app


async def login(client: t.Any) -> dict[str, str]:
    r = await client.post("/login", json={"username": "alice", "password": "wonderland"})
    assert r.status_code == 200
    return t.cast(dict[str, str], r.get_json())


async def test_a_token_opens_the_protected_view() -> None:
    async with make_app().test_client() as client:
        token = (await login(client))["access_token"]
        r = await client.get("/protected", headers={"Authorization": f"Bearer {token}"})
        assert (r.status_code, r.get_json()) == (200, {"logged_in_as": "alice", "role": "admin"})
        r = await client.post(
            "/orders", json={"item": "tea"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert (r.status_code, r.get_json()) == (201, {"by": "alice", "order": {"item": "tea"}})


async def test_bad_credentials_are_401() -> None:
    async with make_app().test_client() as client:
        r = await client.post("/login", json={"username": "alice", "password": "no"})
        assert (r.status_code, r.get_json()) == (401, {"msg": "Bad username or password"})


async def test_a_missing_or_forged_token_is_401() -> None:
    app = make_app()
    async with app.test_client() as client:
        r = await client.get("/protected")
        assert (r.status_code, r.get_json()) == (401, {"msg": "Missing Authorization Header"})
        token = (await login(client))["access_token"]
        head, payload, signature = token.split(".")
        forged = f"{head}.{payload}.{signature[:-4]}AAAA"
        r = await client.get("/protected", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 422
        assert r.get_json() == {"msg": "Signature verification failed"}
        r = await client.get("/protected", headers={"Authorization": "Bearer not.a.token"})
        assert r.status_code == 422
        r = await client.get("/protected", headers={"Authorization": "Basic abc"})
        assert r.status_code == 401


async def test_an_expired_token_is_401() -> None:
    app = make_app(JWT_ACCESS_TOKEN_EXPIRES=timedelta(seconds=-1))
    async with app.test_client() as client:
        token = (await login(client))["access_token"]
        r = await client.get("/protected", headers={"Authorization": f"Bearer {token}"})
        assert (r.status_code, r.get_json()) == (401, {"msg": "Token has expired"})


async def test_optional_refresh_and_revoked_tokens() -> None:
    async with make_app().test_client() as client:
        assert (await client.get("/maybe")).get_json() == {"user": None}
        tokens = await login(client)
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await client.get("/maybe", headers=auth)).get_json() == {"user": "alice"}
        r = await client.post("/refresh", headers=auth)  # an access token is not a refresh one
        assert r.status_code == 422
        r = await client.post(
            "/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
        )
        assert r.status_code == 200
        fresh = {"Authorization": f"Bearer {r.get_json()['access_token']}"}
        assert (await client.get("/protected", headers=fresh)).status_code == 200
        assert (await client.delete("/logout", headers=fresh)).status_code == 200
        r = await client.get("/protected", headers=fresh)
        assert (r.status_code, r.get_json()) == (401, {"msg": "Token has been revoked"})


@pytest.fixture
def cookie_app() -> Flask:
    return make_app(JWT_TOKEN_LOCATION=["cookies"], JWT_COOKIE_SECURE=False)


async def test_cookies_mode_with_csrf(cookie_app: Flask) -> None:
    async with cookie_app.test_client() as client:
        await login(client)
        assert client.cookies.get("access_token_cookie")
        csrf = client.cookies.get("csrf_access_token")
        assert csrf
        r = await client.get("/protected")  # GET is not CSRF-checked
        assert (r.status_code, r.get_json()["logged_in_as"]) == (200, "alice")
        r = await client.post("/orders", json={"item": "tea"})
        assert (r.status_code, r.get_json()) == (401, {"msg": "Missing CSRF token"})
        r = await client.post("/orders", json={"item": "tea"}, headers={"X-CSRF-TOKEN": "bad"})
        assert (r.status_code, r.get_json()) == (
            401,
            {"msg": "CSRF double submit tokens do not match"},
        )
        r = await client.post("/orders", json={"item": "tea"}, headers={"X-CSRF-TOKEN": csrf})
        assert (r.status_code, r.get_json()["by"]) == (201, "alice")
        r = await client.delete("/logout", headers={"X-CSRF-TOKEN": csrf})
        assert r.status_code == 200
        assert "access_token_cookie=;" in r.headers["Set-Cookie"]
        assert client.cookies.get("access_token_cookie") is None
        r = await client.get("/protected")
        assert (r.status_code, r.get_json()) == (
            401,
            {"msg": 'Missing cookie "access_token_cookie"'},
        )


async def test_the_csrf_token_from_a_form_field(cookie_app: Flask) -> None:
    """With JWT_CSRF_CHECK_FORM the token is read from ``request.form`` by
    code that cannot await: the body must be loaded before it runs."""
    cookie_app.config["JWT_CSRF_CHECK_FORM"] = True
    cookie_app.config["LOAD_REQUEST_BODY"] = True

    @cookie_app.post("/note")
    @jwt_required()
    async def note() -> t.Any:
        return {"note": (await request.form)["text"]}

    async with cookie_app.test_client() as client:
        await login(client)
        csrf = client.cookies.get("csrf_access_token")
        r = await client.post("/note", data={"text": "hi", "csrf_token": csrf})
        assert (r.status_code, r.get_json()) == (200, {"note": "hi"})
        r = await client.post("/note", data={"text": "hi"})
        assert r.status_code == 401


async def test_a_token_in_the_json_body(caplog: pytest.LogCaptureFixture) -> None:
    """``JWT_TOKEN_LOCATION = ["json"]`` reads ``request.json`` in code that
    cannot await: with ``LOAD_REQUEST_BODY`` it works; without, the request
    is a 500 whose logged error names the fix."""
    app = make_app(JWT_TOKEN_LOCATION=["headers", "json"], LOAD_REQUEST_BODY=True)
    async with app.test_client() as client:
        token = (await login(client))["access_token"]
        r = await client.post("/orders", json={"item": "tea", "access_token": token})
        assert (r.status_code, r.get_json()["by"]) == (201, "alice")
        r = await client.post("/orders", json={"item": "tea"})
        assert r.status_code == 401
    app = make_app(JWT_TOKEN_LOCATION=["json"])
    async with app.test_client() as client:
        token = (await login(client))["access_token"]
        r = await client.post("/orders", json={"item": "tea", "access_token": token})
        assert r.status_code == 500
    assert "LOAD_REQUEST_BODY" in caplog.text


async def test_a_forged_token_is_401_with_an_invalid_token_loader() -> None:
    """Flask-JWT-Extended answers a bad token with 422 unless the app says
    otherwise, as its documentation shows, with ``invalid_token_loader``."""
    app = make_app()
    jwt: JWTManager = app.extensions["flask-jwt-extended"]

    @jwt.invalid_token_loader
    def invalid_token(reason: str) -> t.Any:
        return jsonify(msg=reason), 401

    async with app.test_client() as client:
        head, payload, _ = (await login(client))["access_token"].split(".")
        forged = f"{head}.{payload}.c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ"
        r = await client.get("/protected", headers={"Authorization": f"Bearer {forged}"})
        assert (r.status_code, r.get_json()) == (401, {"msg": "Signature verification failed"})
