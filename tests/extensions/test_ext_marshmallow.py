"""Flask-Marshmallow on asyncflask, set up as its documentation shows
(``Marshmallow(app)`` after Flask-SQLAlchemy): schemas with ``URLFor`` and
``Hyperlinks``, ``schema.jsonify`` and returned dumps from ``async def``
views, ``SQLAlchemyAutoSchema`` loading model instances, validation errors as
400."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest
from flask_marshmallow import Marshmallow
from flask_sqlalchemy import SQLAlchemy
from marshmallow import ValidationError

from asyncflask import Flask, request


@pytest.fixture
def ma_app() -> Flask:
    app = Flask("maapp")
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db = SQLAlchemy(app)
    ma = Marshmallow(app)

    class User(db.Model):  # type: ignore[name-defined,misc]
        id = db.Column(db.Integer, primary_key=True)
        email = db.Column(db.String(120), nullable=False)
        date_created = db.Column(db.DateTime, nullable=False)

    class UserSchema(ma.Schema):  # type: ignore[name-defined,misc]
        id = ma.Integer()
        email = ma.Email(required=True)
        date_created = ma.DateTime()
        _links = ma.Hyperlinks(
            {
                "self": ma.URLFor("user_detail", values={"id": "<id>"}),
                "collection": ma.URLFor("users"),
            }
        )

    class UserModelSchema(ma.SQLAlchemyAutoSchema):  # type: ignore[name-defined,misc]
        class Meta:
            model = User
            load_instance = True
            sqla_session = db.session

    user_schema = UserSchema()
    users_schema = UserSchema(many=True)
    model_schema = UserModelSchema()

    with app.app_context():
        db.create_all()
        db.session.add(User(email="ada@example.com", date_created=dt.datetime(2024, 1, 2, 3, 4)))
        db.session.commit()

    @app.errorhandler(ValidationError)
    async def invalid(e: ValidationError) -> t.Any:
        return {"errors": e.messages}, 400

    @app.get("/api/users/")
    async def users() -> t.Any:
        return users_schema.dump(db.session.scalars(db.select(User).order_by(User.id)))

    @app.get("/api/users/<int:id>")
    async def user_detail(id: int) -> t.Any:
        return user_schema.jsonify(db.get_or_404(User, id))

    @app.post("/api/users/")
    async def create_user() -> t.Any:
        data = user_schema.load(await request.get_json(), partial=("id", "date_created"))
        user = User(email=data["email"], date_created=dt.datetime(2024, 6, 1))
        db.session.add(user)
        db.session.commit()
        return user_schema.jsonify(user), 201

    @app.put("/api/users/<int:id>")
    async def replace_user(id: int) -> t.Any:
        db.get_or_404(User, id)
        user = model_schema.load({**(await request.get_json()), "id": id})
        db.session.commit()
        return model_schema.dump(user)

    return app


async def test_jsonify_of_a_schema_with_hyperlinks(ma_app: Flask) -> None:
    async with ma_app.test_client() as client:
        r = await client.get("/api/users/1")
        assert (r.status_code, r.mimetype) == (200, "application/json")
        assert r.get_json() == {
            "id": 1,
            "email": "ada@example.com",
            "date_created": "2024-01-02T03:04:00",
            "_links": {"self": "/api/users/1", "collection": "/api/users/"},
        }
        assert (await client.get("/api/users/9")).status_code == 404


async def test_a_returned_dump_of_many(ma_app: Flask) -> None:
    async with ma_app.test_client() as client:
        r = await client.post("/api/users/", json={"email": "bob@example.com"})
        assert r.status_code == 201
        assert r.get_json()["_links"]["self"] == "/api/users/2"
        r = await client.get("/api/users/")
        assert [u["email"] for u in r.get_json()] == ["ada@example.com", "bob@example.com"]


async def test_invalid_input_is_400_with_the_messages(ma_app: Flask) -> None:
    async with ma_app.test_client() as client:
        r = await client.post("/api/users/", json={"email": "not an address"})
        assert (r.status_code, r.get_json()) == (
            400,
            {"errors": {"email": ["Not a valid email address."]}},
        )
        r = await client.post("/api/users/", json={})
        assert r.get_json() == {"errors": {"email": ["Missing data for required field."]}}


async def test_an_auto_schema_loads_a_model_instance(ma_app: Flask) -> None:
    async with ma_app.test_client() as client:
        r = await client.put(
            "/api/users/1",
            json={"email": "ada@lovelace.org", "date_created": "2020-02-02T00:00:00"},
        )
        assert r.get_json() == {
            "id": 1,
            "email": "ada@lovelace.org",
            "date_created": "2020-02-02T00:00:00",
        }
        r = await client.get("/api/users/1")
        assert r.get_json()["email"] == "ada@lovelace.org"
        r = await client.put("/api/users/1", json={"date_created": "yesterday"})
        assert r.status_code == 400
        assert r.get_json()["errors"]["date_created"] == ["Not a valid datetime."]
