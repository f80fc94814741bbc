"""Flask-Admin on asyncflask, set up as its documentation shows
(``Admin(app)``, a ``BaseView`` whose ``@expose`` methods render their
templates with ``self.render``, with an ``async def`` view method, and a
Flask-SQLAlchemy ``ModelView`` listing, creating and editing rows)."""

from __future__ import annotations

import asyncio
import typing as t
from pathlib import Path

import pytest
from flask_admin import Admin, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy

from asyncflask import Flask, request


class AnalyticsView(BaseView):
    @expose("/")
    async def index(self) -> t.Any:
        await asyncio.sleep(0)
        return self.render("analytics_index.html", visitors=42)

    @expose("/report/<int:year>")
    def report(self, year: int) -> t.Any:
        return self.render("analytics_report.html", year=year, page=request.args.get("page"))


class HiddenView(BaseView):
    def is_accessible(self) -> bool:
        return request.headers.get("X-Admin") == "yes"

    @expose("/")
    async def index(self) -> str:
        return "secret"


@pytest.fixture
def admin_app(tmp_path: Path) -> Flask:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "analytics_index.html").write_text(
        "{% extends 'admin/master.html' %}"
        "{% block body %}<p>Visitors: {{ visitors }}</p>{% endblock %}"
    )
    (templates / "analytics_report.html").write_text(
        "{% extends 'admin/master.html' %}"
        "{% block body %}<p>Report {{ year }} page {{ page }}</p>{% endblock %}"
    )
    app = Flask("adminapp", root_path=str(tmp_path))
    app.secret_key = "admin secret"
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db = SQLAlchemy(app)

    class Post(db.Model):  # type: ignore[name-defined,misc]
        id = db.Column(db.Integer, primary_key=True)
        title = db.Column(db.String(80), nullable=False)

    with app.app_context():
        db.create_all()
        db.session.add(Post(title="First post"))
        db.session.commit()

    Babel(app)  # Flask-Admin translates with Flask-Babel when it is installed
    admin = Admin(app, name="microblog")
    admin.add_view(AnalyticsView(name="Analytics", endpoint="analytics"))
    admin.add_view(HiddenView(name="Hidden", endpoint="hidden"))
    admin.add_view(ModelView(Post, db))

    @app.get("/titles")
    async def titles() -> t.Any:
        return [p.title for p in db.session.scalars(db.select(Post).order_by(Post.id))]

    return app


async def test_the_admin_index(admin_app: Flask) -> None:
    async with admin_app.test_client() as client:
        r = await client.get("/admin/")
        assert r.status_code == 200
        assert "<title>Home - microblog</title>" in r.text
        assert 'href="/admin/analytics/"' in r.text


async def test_a_base_view_renders_its_template(admin_app: Flask) -> None:
    async with admin_app.test_client() as client:
        r = await client.get("/admin/analytics/")
        assert r.status_code == 200
        assert "<p>Visitors: 42</p>" in r.text
        assert "microblog" in r.text  # the admin layout around it
        r = await client.get("/admin/analytics/report/2024?page=3")
        assert (r.status_code, "<p>Report 2024 page 3</p>" in r.text) == (200, True)


async def test_an_inaccessible_view_is_403(admin_app: Flask) -> None:
    async with admin_app.test_client() as client:
        assert (await client.get("/admin/hidden/")).status_code == 403
        r = await client.get("/admin/hidden/", headers={"X-Admin": "yes"})
        assert (r.status_code, r.text) == (200, "secret")


async def test_a_model_view_lists_creates_and_edits(admin_app: Flask) -> None:
    async with admin_app.test_client() as client:
        r = await client.get("/admin/post/")
        assert r.status_code == 200
        assert "First post" in r.text
        r = await client.post("/admin/post/new/", data={"title": "Second post"})
        assert (r.status_code, r.headers["Location"]) == (302, "/admin/post/")
        r = await client.post("/admin/post/edit/?id=1", data={"title": "First, edited"})
        assert r.status_code == 302
        assert (await client.get("/titles")).get_json() == ["First, edited", "Second post"]
        r = await client.post("/admin/post/new/", data={"title": ""})
        assert (r.status_code, "This field is required." in r.text) == (200, True)
