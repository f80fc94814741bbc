"""End to end: Flask extensions on an asyncflask app under a real uvicorn on
127.0.0.1, where bodies arrive in pieces (a Flask-WTF upload with CSRF, a
body over the limit, a Flask-Login remember cookie, a CORS preflight and a
Flask-SQLAlchemy write)."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import Server, run_server

APP = """
import hashlib
import os

from flask_cors import CORS
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect, FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from wtforms import StringField

from asyncflask import Flask, render_template_string, request


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Upload(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    sha256: Mapped[str]


class User(UserMixin):
    id = "1"


app = Flask(__name__)
app.secret_key = "e2e secret"
app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
app.config["LOAD_REQUEST_BODY"] = True
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.environ["DB_PATH"]
csrf = CSRFProtect(app)
CORS(app, resources={r"/api/*": {"origins": "https://app.example"}})
db.init_app(app)
login_manager = LoginManager(app)
login_manager.user_loader(lambda user_id: User() if user_id == "1" else None)
with app.app_context():
    db.create_all()


class UploadForm(FlaskForm):
    name = StringField()
    document = FileField(validators=[FileRequired()])


@app.route("/upload", methods=["GET", "POST"])
async def upload():
    form = UploadForm()
    if form.validate_on_submit():
        digest = hashlib.sha256(form.document.data.read()).hexdigest()
        db.session.add(Upload(name=form.name.data, sha256=digest))
        db.session.commit()
        return {"sha256": digest}
    return await render_template_string("{{ form.csrf_token }}", form=form)


@app.post("/login")
@csrf.exempt
async def login():
    login_user(User(), remember=True)
    return "in"


@app.get("/api/me")
@login_required
async def me():
    return {"id": current_user.id}
"""


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-ext") / "app.db"


@pytest.fixture(scope="module")
def server(db_path: Path) -> Iterator[Server]:
    with run_server(APP, env={"DB_PATH": str(db_path)}) as server:
        yield server


def chunks(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "e2eextboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="document";'
        f' filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_wtf_upload_with_csrf_streamed_in_pieces(server: Server, db_path: Path) -> None:
    content = bytes(range(256)) * 1024  # 256 KiB
    with httpx.Client(base_url=server.url, timeout=10) as client:
        page = client.get("/upload")
        token = re.search(r'value="([^"]+)"', page.text)
        assert token is not None
        body, content_type = multipart({"name": "blob", "csrf_token": token.group(1)}, "b", content)
        r = client.post(
            "/upload",
            content=chunks(body),  # chunked transfer encoding, many receive() calls
            headers={"Content-Type": content_type},
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"sha256": hashlib.sha256(content).hexdigest()}
        body, content_type = multipart({"name": "blob"}, "b", content)
        r = client.post("/upload", content=body, headers={"Content-Type": content_type})
        assert r.status_code == 400
        assert "The CSRF token is missing." in r.text
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT name, sha256 FROM upload").fetchall()
    assert rows == [("blob", hashlib.sha256(content).hexdigest())]


def test_a_body_over_the_limit_is_413_before_csrf_runs(server: Server) -> None:
    body, content_type = multipart({"name": "big"}, "big", b"x" * (2 * 1024 * 1024))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        r = client.post("/upload", content=chunks(body), headers={"Content-Type": content_type})
    assert r.status_code == 413
    assert "Traceback" not in server.stderr


def test_remember_cookie_and_cors_preflight(server: Server) -> None:
    origin = {"Origin": "https://app.example"}
    with httpx.Client(base_url=server.url, timeout=10) as client:
        r = client.options("/api/me", headers={**origin, "Access-Control-Request-Method": "GET"})
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
        r = client.get("/api/me", headers=origin)
        assert (r.status_code, r.headers["Access-Control-Allow-Origin"]) == (401, origin["Origin"])
        assert client.post("/login").status_code == 200  # exempt from CSRF
        token = client.cookies.get("remember_token")
    assert token is not None
    with httpx.Client(base_url=server.url, timeout=10) as fresh:  # no session cookie
        fresh.cookies.set("remember_token", token)
        r = fresh.get("/api/me", headers=origin)
        assert (r.status_code, r.json()) == (200, {"id": "1"})
        assert r.headers["Access-Control-Allow-Origin"] == origin["Origin"]
