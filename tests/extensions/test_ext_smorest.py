"""flask-smorest as its documentation sets it up: ``Api(app)``, a
``Blueprint`` of ``MethodView`` classes with ``async def`` methods,
``@blp.arguments`` and ``@blp.response``; each method runs and its value is
serialized (not a ``201 {}`` from a coroutine that never ran)."""

from __future__ import annotations

import asyncio
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Api, Blueprint, abort

from asyncflask import Flask


class PetSchema(ma.Schema):
    id = ma.fields.Int(dump_only=True)
    name = ma.fields.String(required=True)


class PetQuery(ma.Schema):
    name = ma.fields.String()


def make_app() -> Flask:
    app = Flask("pets")
    app.config.update(
        API_TITLE="Pets", API_VERSION="v1", OPENAPI_VERSION="3.0.2", OPENAPI_URL_PREFIX="/"
    )
    api = Api(app)
    pets: dict[int, dict[str, Any]] = {}
    blp = Blueprint("pets", "pets", url_prefix="/pets", description="Pets")

    @blp.route("/")
    class Pets(MethodView):
        @blp.arguments(PetQuery, location="query")
        @blp.response(200, PetSchema(many=True))
        async def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
            await asyncio.sleep(0)
            return [p for p in pets.values() if args.get("name") in (None, p["name"])]

        @blp.arguments(PetSchema)
        @blp.response(201, PetSchema)
        async def post(self, new: dict[str, Any]) -> dict[str, Any]:
            await asyncio.sleep(0)
            pet = {"id": len(pets) + 1, **new}
            pets[pet["id"]] = pet
            return pet

    @blp.route("/<int:pet_id>")
    class PetById(MethodView):
        @blp.response(200, PetSchema)
        async def get(self, pet_id: int) -> dict[str, Any]:
            await asyncio.sleep(0)
            if pet_id not in pets:
                abort(404, message="Pet not found.")
            return pets[pet_id]

    api.register_blueprint(blp)
    return app


async def test_async_method_views_run_and_serialize() -> None:
    app = make_app()
    async with app.test_client() as client:
        r = await client.post("/pets/", json={"name": "rex"})
        assert (r.status_code, r.get_json()) == (201, {"id": 1, "name": "rex"})
        await client.post("/pets/", json={"name": "tom"})
        r = await client.get("/pets/", query_string={"name": "rex"})
        assert (r.status_code, r.get_json()) == (200, [{"id": 1, "name": "rex"}])
        assert len((await client.get("/pets/")).get_json()) == 2
        r = await client.get("/pets/2")
        assert (r.status_code, r.get_json()) == (200, {"id": 2, "name": "tom"})


async def test_validation_and_abort() -> None:
    app = make_app()
    async with app.test_client() as client:
        r = await client.post("/pets/", json={"nam": "rex"})
        assert r.status_code == 422
        assert r.get_json()["errors"]["json"]["name"] == ["Missing data for required field."]
        r = await client.post(
            "/pets/", content=b"{broken", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400
        r = await client.get("/pets/9")
        assert (r.status_code, r.get_json()["message"]) == (404, "Pet not found.")


async def test_openapi_spec() -> None:
    app = make_app()
    async with app.test_client() as client:
        r = await client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    assert spec["info"] == {"title": "Pets", "version": "v1"}
    assert set(spec["paths"]) == {"/pets/", "/pets/{pet_id}"}
    assert "201" in spec["paths"]["/pets/"]["post"]["responses"]
