"""Real Flask extensions on asyncflask, set up as their documentation shows,
with ``async def`` views: Flask-Login, Flask-WTF, Flask-CORS and
Flask-SQLAlchemy (docs/extensions.md lists what each needs)."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import typing as t
from pathlib import Path

import flask
import pytest
import sqlalchemy
from flask_cors import CORS, cross_origin
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect, FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from wtforms import StringField
from wtforms.validators import DataRequired

from asyncflask import Flask, abort, load_body, redirect, render_template_string, request, url_for
from asyncflask.testing import TestClient

# -- Flask-Login ------------------------------------------------------------------------------


class User(UserMixin):
    def __init__(self, user_id: str, name: str) -> None:
        self.id = user_id
        self.name = name


USERS = {"1": User("1", "Alice")}


@pytest.fixture
def login_app() -> Flask:
    app = Flask("loginapp")
    app.secret_key = "login secret"
    login_manager = LoginManager()
    login_manager.init_app(app)
    login_manager.login_view = "login"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return USERS.get(user_id)

    @app.route("/login", methods=["GET", "POST"])
    async def login() -> t.Any:
        if request.method == "GET":
            return "the login page"
        form = await request.form
        user = USERS.get(form.get("id", ""))
        if user is None:
            abort(401)
        login_user(user, remember=form.get("remember") == "yes")
        return redirect(request.args.get("next") or url_for("profile"))

    @app.get("/profile")
    @login_required
    async def profile() -> t.Any:
        await asyncio.sleep(0)
        return {"id": current_user.id, "name": current_user.name}

    @app.get("/hello")
    async def hello() -> t.Any:
        return await render_template_string(
            "{% if current_user.is_authenticated %}hi {{ current_user.name }}"
            "{% else %}anonymous{% endif %}"
        )

    @app.get("/logout")
    async def logout() -> t.Any:
        logout_user()
        return "bye"

    return app


async def test_login_required_redirects_an_anonymous_user(login_app: Flask) -> None:
    async with login_app.test_client() as client:
        r = await client.get("/profile")
        assert r.status_code == 302
        assert r.headers["Location"] == "/login?next=%2Fprofile"
        assert (await client.get("/hello")).text == "anonymous"


async def test_login_user_then_current_user(login_app: Flask) -> None:
    async with login_app.test_client() as client:
        r = await client.post("/login?next=/profile", data={"id": "1"})
        assert (r.status_code, r.headers["Location"]) == (302, "/profile")
        assert "remember_token" not in r.headers.get("Set-Cookie", "")
        r = await client.get("/profile")
        assert (r.status_code, r.get_json()) == (200, {"id": "1", "name": "Alice"})
        assert (await client.get("/hello")).text == "hi Alice"
        await client.get("/logout")
        assert (await client.get("/profile")).status_code == 302


async def test_unknown_user_is_refused(login_app: Flask) -> None:
    async with login_app.test_client() as client:
        assert (await client.post("/login", data={"id": "nobody"})).status_code == 401
        assert (await client.get("/profile")).status_code == 302


async def test_the_remember_cookie_logs_a_new_session_in(login_app: Flask) -> None:
    async with login_app.test_client() as client:
        r = await client.post("/login", data={"id": "1", "remember": "yes"})
        token = client.cookies.get("remember_token")
        assert token is not None and token.startswith("1|")
    # a new browser session: only the remember cookie, no session cookie
    async with login_app.test_client() as fresh:
        fresh.cookies.set("remember_token", token)
        r = await fresh.get("/profile")
        assert (r.status_code, r.get_json()) == (200, {"id": "1", "name": "Alice"})
    # a forged cookie is not trusted
    async with login_app.test_client() as forged:
        forged.cookies.set("remember_token", "1|" + "0" * 128)
        assert (await forged.get("/profile")).status_code == 302


async def test_login_required_without_a_login_view_is_401(login_app: Flask) -> None:
    login_app.login_manager.login_view = None  # type: ignore[attr-defined]
    async with login_app.test_client() as client:
        assert (await client.get("/profile")).status_code == 401


# -- Flask-WTF --------------------------------------------------------------------------------


class UploadForm(FlaskForm):  # type: ignore[misc]
    name = StringField("name", validators=[DataRequired()])
    document = FileField(validators=[FileRequired()])


PAGE = (
    "<form>{{ form.csrf_token }}{% for e in form.errors %}[{{ e }}]{% endfor %}</form>"
    "<meta name=csrf content={{ csrf_token() }}>"
)


def wtf_app(*, protect: bool = True) -> Flask:
    app = Flask("wtfapp")
    app.secret_key = "wtf secret"
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    if protect:
        app.config["LOAD_REQUEST_BODY"] = True  # the one line Flask-WTF needs
        CSRFProtect(app)

    @app.route("/upload", methods=["GET", "POST"])
    async def upload() -> t.Any:
        form = UploadForm()
        if form.validate_on_submit():
            data = form.document.data
            return {"name": form.name.data, "file": data.filename, "body": data.read().decode()}
        return await render_template_string(PAGE, form=form)

    return app


async def csrf_token(client: TestClient) -> str:
    r = await client.get("/upload")
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', r.text)
    assert match, r.text
    assert f"<meta name=csrf content={match.group(1)}>" in r.text  # one token per request
    return match.group(1)


async def test_wtf_valid_post_with_a_file() -> None:
    async with wtf_app().test_client() as client:
        token = await csrf_token(client)
        r = await client.post(
            "/upload",
            data={"name": "report", "csrf_token": token},
            files={"document": ("r.txt", b"file content", "text/plain")},
        )
        assert r.status_code == 200
        assert r.get_json() == {"name": "report", "file": "r.txt", "body": "file content"}


async def test_wtf_missing_or_wrong_token_is_400() -> None:
    async with wtf_app().test_client() as client:
        await csrf_token(client)
        r = await client.post("/upload", data={"name": "report"})
        assert r.status_code == 400
        assert "The CSRF token is missing." in r.text
        r = await client.post("/upload", data={"name": "x", "csrf_token": "forged"})
        assert r.status_code == 400
        assert "The CSRF token is invalid." in r.text


async def test_wtf_a_missing_file_fails_validation() -> None:
    async with wtf_app().test_client() as client:
        token = await csrf_token(client)
        r = await client.post("/upload", data={"name": "report", "csrf_token": token})
        assert r.status_code == 200
        assert "[document]" in r.text


async def test_wtf_an_oversized_post_is_413() -> None:
    async with wtf_app().test_client() as client:
        token = await csrf_token(client)
        r = await client.post(
            "/upload",
            data={"name": "big", "csrf_token": token},
            files={"document": ("big.bin", b"x" * 100_000)},
        )
        assert r.status_code == 413


async def test_wtf_form_in_a_load_body_view_without_csrf_protect() -> None:
    app = wtf_app(protect=False)

    @app.post("/form")
    @load_body
    async def form_view() -> t.Any:
        form = UploadForm(meta={"csrf": False})
        return {"valid": form.validate(), "name": form.name.data}

    async with app.test_client() as client:
        r = await client.post("/form", data={"name": "n"}, files={"document": ("a", b"1")})
        assert r.get_json() == {"valid": True, "name": "n"}


async def test_wtf_csrf_protect_without_loading_the_body_fails_clearly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = wtf_app(protect=False)
    CSRFProtect(app)  # but not LOAD_REQUEST_BODY
    async with app.test_client() as client:
        token = await csrf_token(client)
        with caplog.at_level(logging.ERROR):
            r = await client.post("/upload", data={"name": "x", "csrf_token": token})
    assert r.status_code == 500
    assert "LOAD_REQUEST_BODY" in caplog.text


# -- Flask-CORS -------------------------------------------------------------------------------

ORIGIN = "https://app.example"


@pytest.fixture
def cors_app() -> Flask:
    app = Flask("corsapp")
    CORS(app, resources={r"/api/*": {"origins": ORIGIN}})

    @app.route("/api/items", methods=["GET", "POST"])
    async def items() -> t.Any:
        if request.method == "POST":
            return {"created": await request.get_json()}, 201
        return {"items": [1, 2]}

    @app.get("/private")
    async def private() -> str:
        return "no cors here"

    return app


async def test_cors_preflight(cors_app: Flask) -> None:
    async with cors_app.test_client() as client:
        r = await client.options(
            "/api/items",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Content-Type",
            },
        )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert r.headers["Access-Control-Allow-Headers"].lower() == "content-type"


async def test_cors_simple_requests(cors_app: Flask) -> None:
    async with cors_app.test_client() as client:
        r = await client.get("/api/items", headers={"Origin": ORIGIN})
        assert (r.status_code, r.headers["Access-Control-Allow-Origin"]) == (200, ORIGIN)
        r = await client.post("/api/items", json={"a": 1}, headers={"Origin": ORIGIN})
        assert r.status_code == 201
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
        # an origin not allowed, a path not covered: no CORS headers
        r = await client.get("/api/items", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in r.headers
        r = await client.get("/private", headers={"Origin": ORIGIN})
        assert "Access-Control-Allow-Origin" not in r.headers


async def test_cors_headers_on_errors(cors_app: Flask) -> None:
    async with cors_app.test_client() as client:
        r = await client.get("/api/missing", headers={"Origin": ORIGIN})
        assert (r.status_code, r.headers["Access-Control-Allow-Origin"]) == (404, ORIGIN)
        r = await client.post(
            "/api/items",
            content=b"{broken",
            headers={"Origin": ORIGIN, "Content-Type": "application/json"},
        )
        assert (r.status_code, r.headers["Access-Control-Allow-Origin"]) == (400, ORIGIN)


async def test_cross_origin_on_async_views() -> None:
    """``@cross_origin`` is a plain decorator that calls the view and makes a
    response of what it returns at once: it runs in a worker thread, where
    the view's value (not a coroutine) comes back, even when the view
    waits."""
    app = Flask("crossapp")

    @app.get("/quick")
    @cross_origin(origins=ORIGIN)
    async def quick() -> str:
        return "answered without waiting"

    @app.get("/slow")
    @cross_origin(origins=ORIGIN)
    async def slow() -> str:
        await asyncio.sleep(0.01)
        return f"waited for {flask.request.path}"

    async with app.test_client() as client:
        r = await client.get("/quick", headers={"Origin": ORIGIN})
        assert (r.status_code, r.headers["Access-Control-Allow-Origin"]) == (200, ORIGIN)
        r = await client.get("/slow", headers={"Origin": ORIGIN})
        assert (r.status_code, r.text) == (200, "waited for /slow")
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN


# -- Flask-SQLAlchemy -------------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Note(db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(unique=True)


@pytest.fixture
def sql_app(tmp_path: Path) -> Flask:
    app = Flask("sqlapp")
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'notes.db'}"
    db.init_app(app)
    with app.app_context():
        db.create_all()
    app.config["notes_seen"] = []

    @app.post("/notes")
    async def create() -> t.Any:
        data = await request.get_json()
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            abort(400)
        note = Note(text=data["text"])
        db.session.add(note)
        try:
            db.session.commit()
        except sqlalchemy.exc.IntegrityError:
            db.session.rollback()
            abort(409)
        app.config["notes_seen"].append(note)
        return {"id": note.id}, 201

    @app.get("/notes/<int:note_id>")
    async def show(note_id: int) -> t.Any:
        note = db.get_or_404(Note, note_id)
        session = db.session()
        if request.args.get("meet"):  # wait (bounded) until both requests are in
            entered.append(session)
            for _ in range(1000):
                if len(entered) >= 2:
                    break
                await asyncio.sleep(0.001)
        assert db.session() is session
        return {"id": note.id, "text": note.text, "met": len(entered) >= 2}

    entered: list[t.Any] = []
    app.config["entered"] = entered

    @app.post("/plain-notes")
    def create_plain() -> t.Any:  # a def view: in a worker thread, body loaded
        note = Note(text=request.get_json()["text"])
        db.session.add(note)
        db.session.commit()
        return {"id": note.id}, 201

    return app


async def test_a_model_saved_in_a_view_is_on_disk(sql_app: Flask, tmp_path: Path) -> None:
    async with sql_app.test_client() as client:
        r = await client.post("/notes", json={"text": "first"})
        assert (r.status_code, r.get_json()) == (201, {"id": 1})
        r = await client.get("/notes/1")
        assert r.get_json()["text"] == "first"
        assert (await client.get("/notes/99")).status_code == 404
        assert (await client.post("/notes", json={"text": "first"})).status_code == 409
        assert (await client.post("/notes", json=["bad"])).status_code == 400
        assert (await client.post("/notes", content=b"{", headers=JSON_HEADERS)).status_code == 400
    with sqlite3.connect(tmp_path / "notes.db") as conn:
        assert conn.execute("SELECT id, text FROM note").fetchall() == [(1, "first")]


JSON_HEADERS = {"Content-Type": "application/json"}


async def test_a_def_view_uses_the_session_too(sql_app: Flask, tmp_path: Path) -> None:
    async with sql_app.test_client() as client:
        r = await client.post("/plain-notes", json={"text": "from a thread"})
        assert (r.status_code, r.get_json()) == (201, {"id": 1})
    with sqlite3.connect(tmp_path / "notes.db") as conn:
        assert conn.execute("SELECT text FROM note").fetchall() == [("from a thread",)]
    assert db.session.registry.registry == {}  # type: ignore[attr-defined]


async def test_the_session_is_removed_at_teardown(sql_app: Flask) -> None:
    async with sql_app.test_client() as client:
        await client.post("/notes", json={"text": "a"})
    (note,) = sql_app.config["notes_seen"]
    assert sqlalchemy.inspect(note).detached  # its session was closed and removed
    assert db.session.registry.registry == {}  # type: ignore[attr-defined]


async def test_concurrent_requests_have_their_own_sessions(sql_app: Flask) -> None:
    async with sql_app.test_client() as client:
        await client.post("/notes", json={"text": "shared"})
        first, second = await asyncio.gather(
            client.get("/notes/1?meet=1"), client.get("/notes/1?meet=1")
        )
    assert first.get_json()["text"] == second.get_json()["text"] == "shared"
    assert first.get_json()["met"] and second.get_json()["met"]  # both were in at once
    one, two = sql_app.config["entered"]
    assert one is not two  # one thread, two sessions: scoped to each app context
    assert db.session.registry.registry == {}  # type: ignore[attr-defined]


def test_the_extensions_still_work_on_flask_itself() -> None:
    app = flask.Flask("plain")
    CORS(app)
    app.secret_key = "k"
    LoginManager(app).user_loader(USERS.get)

    @app.get("/")
    def index() -> str:
        return f"{flask.request.path} {current_user.is_authenticated}"

    r = app.test_client().get("/", headers={"Origin": ORIGIN})
    assert (r.text, r.headers["Access-Control-Allow-Origin"]) == ("/ False", ORIGIN)
