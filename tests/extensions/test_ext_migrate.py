"""Flask-Migrate on asyncflask, set up as its documentation shows
(``Migrate(app, db)`` with Flask-SQLAlchemy on SQLite): ``asyncflask db
init``, ``db migrate``, ``db upgrade`` and ``db downgrade`` run through
asyncflask's command, write the migration files and change the database,
and an ``async def`` view writes to the migrated table."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
import typing as t
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

APP = """
import os

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from asyncflask import Flask, request

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.environ["DB_PATH"]

db = SQLAlchemy(app)
migrate = Migrate(app, db)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(128))
{extra}

@app.post("/users")
async def add_user():
    user = User(name=(await request.get_json())["name"])
    db.session.add(user)
    db.session.commit()
    return {{"id": user.id, "name": user.name}}, 201
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    name = f"migrateapp_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(APP.format(extra=""))
    yield tmp_path, name
    sys.modules.pop(name, None)


def flask_db(project: tuple[Path, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``asyncflask --app NAME db ARGS`` in the project directory."""
    directory, name = project
    env = {k: v for k, v in os.environ.items() if k not in ("ASYNCFLASK_APP", "FLASK_APP")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["DB_PATH"] = str(directory / "app.db")
    result = subprocess.run(
        [sys.executable, "-m", "asyncflask", "--app", name, "db", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def tables(db: Path) -> dict[str, list[str]]:
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: [c[1] for c in conn.execute(f"PRAGMA table_info({n})")] for n in names}


def load(directory: Path, name: str) -> t.Any:
    spec = importlib.util.spec_from_file_location(name, directory / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


async def test_init_migrate_upgrade_downgrade(
    project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory, name = project
    db = directory / "app.db"
    flask_db(project, "init")
    assert (directory / "migrations" / "env.py").is_file()
    assert (directory / "migrations" / "alembic.ini").is_file()

    result = flask_db(project, "migrate", "-m", "Initial migration.")
    assert "Detected added table 'user'" in result.stdout + result.stderr
    [first] = (directory / "migrations" / "versions").glob("*_initial_migration.py")
    assert "op.create_table('user'" in first.read_text()
    assert "user" not in tables(db)

    flask_db(project, "upgrade")
    assert tables(db)["user"] == ["id", "name"]
    assert "alembic_version" in tables(db)

    monkeypatch.setenv("DB_PATH", str(db))
    app = load(directory, name).app
    async with app.test_client() as client:
        r = await client.post("/users", json={"name": "Ada"})
        assert (r.status_code, r.get_json()) == (201, {"id": 1, "name": "Ada"})
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id, name FROM user").fetchall() == [(1, "Ada")]

    # a new column: migrate finds it, upgrade adds it, downgrade takes it away
    (directory / f"{name}.py").write_text(
        APP.format(extra="    email = db.Column(db.String(128))\n")
    )
    result = flask_db(project, "migrate", "-m", "add email")
    assert "Detected added column 'user.email'" in result.stdout + result.stderr
    flask_db(project, "upgrade")
    assert tables(db)["user"] == ["id", "name", "email"]
    flask_db(project, "downgrade")
    assert tables(db)["user"] == ["id", "name"]
    result = flask_db(project, "current")
    assert first.name.split("_")[0] in result.stdout
