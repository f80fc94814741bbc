"""Flask-Principal on asyncflask, set up as its documentation shows
(``Principal(app)``, identities kept in the session, ``identity_changed`` and
``identity_loaded`` with Flask-Login's ``current_user``, permissions as
decorators and context managers) on ``async def`` views."""

from __future__ import annotations

import asyncio
import typing as t

import pytest
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_principal import (
    AnonymousIdentity,
    Identity,
    Permission,
    PermissionDenied,
    Principal,
    RoleNeed,
    UserNeed,
    identity_changed,
    identity_loaded,
)

from asyncflask import Flask, current_app, request


class User(UserMixin):
    def __init__(self, user_id: str, roles: tuple[str, ...]) -> None:
        self.id = user_id
        self.roles = roles


USERS = {"ada": User("ada", ("admin", "editor")), "bob": User("bob", ("editor",))}


@pytest.fixture
def principal_app() -> Flask:
    app = Flask("principalapp")
    app.secret_key = "principal secret"
    LoginManager(app).user_loader(USERS.get)
    Principal(app)
    admin_permission = Permission(RoleNeed("admin"))
    editor_permission = Permission(RoleNeed("editor"))

    @identity_loaded.connect_via(app)
    def on_identity_loaded(sender: t.Any, identity: Identity) -> None:
        identity.user = current_user
        if hasattr(current_user, "id"):
            identity.provides.add(UserNeed(current_user.id))
        for role in getattr(current_user, "roles", ()):
            identity.provides.add(RoleNeed(role))

    @app.errorhandler(PermissionDenied)
    async def denied(e: PermissionDenied) -> t.Any:
        return {"denied": sorted(need.value for need in e.args[0].needs)}, 403

    @app.post("/login")
    async def login() -> t.Any:
        user = USERS[(await request.form)["name"]]
        login_user(user)
        identity_changed.send(current_app._get_current_object(), identity=Identity(user.id))
        return "in"

    @app.post("/logout")
    async def logout() -> t.Any:
        logout_user()
        identity_changed.send(current_app._get_current_object(), identity=AnonymousIdentity())
        return "out"

    @app.get("/admin")
    @admin_permission.require()
    async def admin_index() -> str:
        await asyncio.sleep(0)
        return "Only if you are an admin"

    @app.get("/articles")
    async def articles() -> str:
        with editor_permission.require(http_exception=401):
            await asyncio.sleep(0)
            return "Only if you are an editor"

    @app.get("/whoami")
    async def whoami() -> t.Any:
        return {"can_admin": admin_permission.can(), "id": getattr(current_user, "id", None)}

    return app


async def test_permissions_follow_the_identity(principal_app: Flask) -> None:
    async with principal_app.test_client() as client:
        assert (await client.get("/admin")).get_json() == {"denied": ["admin"]}
        assert (await client.get("/articles")).status_code == 401
        await client.post("/login", data={"name": "bob"})
        r = await client.get("/articles")
        assert (r.status_code, r.text) == (200, "Only if you are an editor")
        r = await client.get("/admin")
        assert (r.status_code, r.get_json()) == (403, {"denied": ["admin"]})
        assert (await client.get("/whoami")).get_json() == {"can_admin": False, "id": "bob"}


async def test_the_identity_is_kept_in_the_session(principal_app: Flask) -> None:
    async with principal_app.test_client() as client:
        await client.post("/login", data={"name": "ada"})
        async with client.session_transaction() as sess:
            assert (sess["identity.id"], sess["identity.auth_type"]) == ("ada", None)
        r = await client.get("/admin")
        assert (r.status_code, r.text) == (200, "Only if you are an admin")
        assert (await client.get("/whoami")).get_json() == {"can_admin": True, "id": "ada"}
        await client.post("/logout")
        assert (await client.get("/admin")).status_code == 403
        assert (await client.get("/whoami")).get_json() == {"can_admin": False, "id": None}
