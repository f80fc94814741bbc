"""Flask-RESTX on asyncflask, set up as its quick start shows (``Api(app)``, a
namespace, a model, ``Resource`` classes with ``marshal_with`` and
``expect``). RESTX calls a resource's methods and uses what they return at
once, so they are plain methods (asyncflask runs the view in a worker
thread); the JSON API, validation, errors and ``swagger.json`` work."""

from __future__ import annotations

import typing as t

import pytest
from flask_restx import Api, Resource, fields

from asyncflask import Flask


@pytest.fixture
def api_app() -> Flask:
    app = Flask("restxapp")
    api = Api(app, version="1.0", title="TodoMVC API", description="A simple TodoMVC API")
    ns = api.namespace("todos", description="TODO operations")
    todo = api.model(
        "Todo",
        {
            "id": fields.Integer(readonly=True, description="The task unique identifier"),
            "task": fields.String(required=True, description="The task details"),
        },
    )
    todos: dict[int, dict[str, t.Any]] = {}

    def get_or_abort(id: int) -> dict[str, t.Any]:
        if id not in todos:
            api.abort(404, f"Todo {id} doesn't exist")
        return todos[id]

    @ns.route("/")
    class TodoList(Resource):  # type: ignore[misc]
        @ns.doc("list_todos")
        @ns.marshal_list_with(todo)
        def get(self) -> t.Any:
            return list(todos.values())

        @ns.doc("create_todo")
        @ns.expect(todo, validate=True)
        @ns.marshal_with(todo, code=201)
        def post(self) -> t.Any:
            item = {"id": len(todos) + 1, "task": api.payload["task"], "secret": "x"}
            todos[item["id"]] = item
            return item, 201

    @ns.route("/<int:id>")
    @ns.response(404, "Todo not found")
    @ns.param("id", "The task identifier")
    class Todo(Resource):  # type: ignore[misc]
        @ns.marshal_with(todo)
        def get(self, id: int) -> t.Any:
            return get_or_abort(id)

        @ns.response(204, "Todo deleted")
        def delete(self, id: int) -> t.Any:
            get_or_abort(id)
            del todos[id]
            return "", 204

        @ns.expect(todo)
        @ns.marshal_with(todo)
        def put(self, id: int) -> t.Any:
            get_or_abort(id)["task"] = api.payload["task"]
            return todos[id]

    return app


async def test_create_list_update_delete(api_app: Flask) -> None:
    async with api_app.test_client() as client:
        r = await client.post("/todos/", json={"task": "write tests"})
        assert (r.status_code, r.get_json()) == (201, {"id": 1, "task": "write tests"})
        await client.post("/todos/", json={"task": "ship"})
        r = await client.get("/todos/")
        assert (r.status_code, r.mimetype) == (200, "application/json")
        assert r.get_json() == [{"id": 1, "task": "write tests"}, {"id": 2, "task": "ship"}]
        r = await client.put("/todos/2", json={"task": "ship it"})
        assert r.get_json() == {"id": 2, "task": "ship it"}
        r = await client.delete("/todos/1")
        assert (r.status_code, r.content) == (204, b"")
        r = await client.get("/todos/1")
        assert r.status_code == 404
        assert r.get_json()["message"].startswith("Todo 1 doesn't exist")


async def test_validation_and_bad_bodies_are_400(api_app: Flask) -> None:
    async with api_app.test_client() as client:
        r = await client.post("/todos/", json={"title": "no task"})
        assert r.status_code == 400
        body = r.get_json()
        assert body["message"] == "Input payload validation failed"
        assert "'task' is a required property" in body["errors"]["task"]
        r = await client.post(
            "/todos/", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400
        r = await client.patch("/todos/1", json={})
        assert r.status_code == 405


async def test_the_swagger_specification(api_app: Flask) -> None:
    async with api_app.test_client() as client:
        r = await client.get("/swagger.json")
        assert r.status_code == 200
        spec = r.get_json()
        assert spec["info"] == {
            "title": "TodoMVC API",
            "version": "1.0",
            "description": "A simple TodoMVC API",
        }
        assert set(spec["paths"]) == {"/todos/", "/todos/{id}"}
        assert spec["paths"]["/todos/"]["post"]["operationId"] == "create_todo"
        assert spec["definitions"]["Todo"]["required"] == ["task"]
        r = await client.get("/nowhere")
        assert r.status_code == 404


async def test_the_swagger_ui_page(api_app: Flask) -> None:
    """RESTX renders its Swagger UI page with ``flask.render_template``."""
    async with api_app.test_client() as client:
        r = await client.get("/")
    assert (r.status_code, r.mimetype) == (200, "text/html")
    assert "<title>TodoMVC API</title>" in r.text
    assert "swagger-ui" in r.text
    assert "/swagger.json" in r.text
