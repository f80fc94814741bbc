"""A loaded body read without ``await``: ``request.load_body()``, the
``load_body`` view decorator, ``LOAD_REQUEST_BODY`` and plain ``def`` views;
before it is loaded, code that cannot await gets an error that says how."""

from __future__ import annotations

import typing as t

import flask
import pytest
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict
from werkzeug.exceptions import UnsupportedMediaType

from asyncflask import Flask, load_body, render_template_string, request
from asyncflask.testing import TestClient

FORM = {"a": "1", "b": "two"}


def read_sync(name: str) -> t.Any:
    """What a plain function (an extension's code) sees."""
    if name == "get_json()":
        return request.get_json()
    if name == "get_data()":
        return request.get_data()
    return getattr(request, name)


def read_with_flask(name: str) -> t.Any:
    """The same through Flask's own ``flask.request``."""
    if name == "get_json()":
        return flask.request.get_json()
    return getattr(flask.request, name)


# -- after await request.load_body() -----------------------------------------------------


async def test_a_loaded_form_is_read_without_await_and_is_the_awaited_object(
    app: Flask, client: TestClient
) -> None:
    @app.post("/")
    async def view() -> t.Any:
        await request.load_body()
        form, files, values = read_sync("form"), read_sync("files"), read_sync("values")
        assert isinstance(form, ImmutableMultiDict)
        assert isinstance(values, CombinedMultiDict)
        assert form is await request.form
        assert files is await request.files
        assert read_with_flask("form") is form
        return {
            "form": form.to_dict(),
            "files": {k: f.read().decode() for k, f in files.items()},
            "values": values.to_dict(),
            "data": read_sync("data").decode(),
        }

    r = await client.post("/?q=x", data=FORM, files={"up": ("u.txt", b"file body")})
    assert r.status_code == 200
    assert r.get_json() == {
        "form": FORM,
        "files": {"up": "file body"},
        "values": {"q": "x", **FORM},
        "data": "",  # the form parser took the body, as in Flask
    }


async def test_a_loaded_json_body_is_read_without_await(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        await request.load_body()
        value = read_sync("get_json()")
        assert value is read_sync("json") is await request.get_json() is await request.json
        assert read_with_flask("get_json()") is value
        assert read_sync("data") == await request.data == read_sync("get_data()")
        assert read_sync("form").to_dict() == {}  # not a form body, as in Flask
        return {"value": value, "data": read_sync("data").decode()}

    r = await client.post("/", json={"x": [1, 2]})
    assert r.get_json() == {"value": {"x": [1, 2]}, "data": '{"x": [1, 2]}'}


async def test_a_loaded_raw_body_is_data(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        await request.load_body()
        await request.load_body()  # a second time changes nothing
        return {"data": read_sync("data").decode(), "n": len(read_sync("get_data()"))}

    r = await client.post("/", content=b"raw bytes", headers={"Content-Type": "text/plain"})
    assert r.get_json() == {"data": "raw bytes", "n": 9}


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"{}", {"Content-Type": "text/plain"}, 415),
    ],
)
async def test_sync_get_json_keeps_flasks_errors(
    app: Flask, client: TestClient, body: bytes, headers: dict[str, str], status: int
) -> None:
    seen: list[t.Any] = []

    @app.post("/")
    async def view() -> t.Any:
        await request.load_body()
        seen.append(request_get_json_silent())
        return {"value": read_sync("get_json()")}

    r = await client.post("/", content=body, headers=headers)
    assert r.status_code == status
    assert seen == [None]


def request_get_json_silent() -> t.Any:
    return request.get_json(silent=True)


async def test_a_template_reads_the_loaded_form(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        await request.load_body()
        return await render_template_string("{{ request.form['a'] }}-{{ request.form.b }}")

    r = await client.post("/", data=FORM)
    assert r.text == "1-two"


async def test_without_a_body_nothing_needs_loading(app: Flask) -> None:
    async with app.test_request_context("/?q=1", method="GET"):
        assert read_sync("data") == b""
        assert read_sync("values").to_dict() == {"q": "1"}
        with pytest.raises(UnsupportedMediaType):  # not JSON: Flask's 415
            read_sync("get_json()")
    # a made-up request's body is in memory: nothing to load
    async with app.test_request_context("/", method="POST", data=b"x"):
        assert read_sync("get_data()") == b"x"


# -- before the body is loaded --------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["form", "files", "values", "data", "json", "get_json()", "get_data()"]
)
async def test_before_loading_sync_use_says_how_to_load(
    app: Flask, client: TestClient, name: str
) -> None:
    messages: list[str] = []

    @app.post("/")
    async def view() -> t.Any:
        try:
            bool(read_sync(name))
        except TypeError as e:
            messages.append(str(e))
        # and what it gave can still be awaited
        return {"ok": (await read_sync(name)) is not None}

    if name in ("json", "get_json()", "get_data()"):
        r = await client.post("/", json={"x": 1})
    else:
        r = await client.post("/", data=FORM)
    assert r.get_json() == {"ok": True}
    assert len(messages) == 1
    assert f"await request.{name}" in messages[0]
    assert "await request.load_body()" in messages[0]
    assert "LOAD_REQUEST_BODY" in messages[0]


# -- plain def views, @load_body, LOAD_REQUEST_BODY ------------------------------------


async def test_a_def_view_gets_form_and_json_loaded(app: Flask, client: TestClient) -> None:
    @app.post("/form")
    def form_view() -> t.Any:
        return {"form": request.form.to_dict(), "files": list(request.files)}

    @app.post("/json")
    def json_view() -> t.Any:
        return {"json": request.get_json(), "also": request.json, "form": dict(request.form)}

    r = await client.post("/form", data=FORM, files={"f": ("f.txt", b"x")})
    assert r.get_json() == {"form": FORM, "files": ["f"]}
    r = await client.post("/json", json=[1, 2])
    assert r.get_json() == {"json": [1, 2], "also": [1, 2], "form": {}}


async def test_a_def_view_leaves_other_bodies_unread(app: Flask, client: TestClient) -> None:
    @app.post("/")
    def view() -> t.Any:
        with pytest.raises(TypeError, match="load_body"):
            request.get_data().decode()
        return {"form": dict(request.form)}

    r = await client.post("/", content=b"\x00" * 10, headers={"Content-Type": "image/png"})
    assert r.get_json() == {"form": {}}


async def test_the_load_body_decorator(app: Flask, client: TestClient) -> None:
    @app.post("/")
    @load_body
    async def view() -> t.Any:
        form = read_sync("form")
        return {"form": form.to_dict(), "same": form is await request.form}

    def plain() -> str:
        return "x"

    assert load_body(plain) is plain  # plain views load anyway
    r = await client.post("/", data=FORM)
    assert r.get_json() == {"form": FORM, "same": True}


async def test_load_request_body_loads_before_the_before_request_hooks(
    app: Flask, client: TestClient
) -> None:
    app.config["LOAD_REQUEST_BODY"] = True
    seen: list[t.Any] = []

    @app.before_request
    def check() -> None:  # a plain hook, as an extension's (CSRF checks) is
        seen.append(flask.request.form.get("a"))

    @app.post("/")
    async def view() -> t.Any:
        return {"json": request_get_json_silent(), "form": read_sync("form").to_dict()}

    r = await client.post("/", data=FORM)
    assert r.get_json() == {"json": None, "form": FORM}
    r = await client.post("/", json={"k": 1})
    assert r.get_json() == {"json": {"k": 1}, "form": {}}
    r = await client.get("/nowhere")
    assert r.status_code == 404
    assert seen == ["1", None, None]  # a 404 runs the hooks too, as in Flask


# -- the limits still hold ----------------------------------------------------------------


@pytest.mark.parametrize("how", ["config", "decorator", "def", "explicit"])
@pytest.mark.parametrize(
    ("limit", "body"),
    [
        ("MAX_CONTENT_LENGTH", {"json": {"x": "y" * 500}}),
        ("MAX_CONTENT_LENGTH", {"data": {"x": "y" * 500}}),
        ("MAX_FORM_MEMORY_SIZE", {"data": {"x": "y" * 500}}),
        ("MAX_FORM_PARTS", {"data": {f"k{i}": "v" for i in range(20)}, "files": {"f": b"x"}}),
    ],
)
async def test_loading_keeps_the_body_limits(
    app: Flask, client: TestClient, how: str, limit: str, body: dict[str, t.Any]
) -> None:
    app.config[limit] = 10 if limit == "MAX_FORM_PARTS" else 100
    ran: list[str] = []
    if how == "config":
        app.config["LOAD_REQUEST_BODY"] = True

        @app.post("/")
        async def view() -> str:
            ran.append("view")
            return "ran"
    elif how == "decorator":

        @app.post("/")
        @load_body
        async def view() -> str:
            ran.append("view")
            return "ran"
    elif how == "def":

        @app.post("/")
        def view() -> str:
            ran.append("view")
            return "ran"
    else:

        @app.post("/")
        async def view() -> str:
            await request.load_body()
            ran.append("view")
            return "ran"

    r = await client.post("/", **body)
    assert r.status_code == 413
    assert ran == []


async def test_a_malformed_multipart_body_is_400_when_loaded(
    app: Flask, client: TestClient
) -> None:
    @app.post("/")
    def view() -> str:
        return "ran"

    r = await client.post(
        "/",
        content=b"--b\r\nContent-Disposition: form-data\r\n\r\nno end",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 400


async def test_sync_get_json_of_a_too_deep_document_is_400(app: Flask, client: TestClient) -> None:
    @app.post("/")
    def view() -> t.Any:
        return {"value": request.get_json()}

    deep = "[" * 100_000 + "]" * 100_000
    r = await client.post("/", content=deep, headers={"Content-Type": "application/json"})
    assert r.status_code == 400


async def test_which_unloaded_bodies_count_as_empty(app: Flask) -> None:
    def scope(http_version: str, headers: list[tuple[bytes, bytes]]) -> dict[str, t.Any]:
        return {
            "type": "http",
            "http_version": http_version,
            "method": "POST",
            "path": "/",
            "query_string": b"",
            "headers": [(b"host", b"localhost"), *headers],
        }

    async def receive() -> dict[str, t.Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async with app.request_context(scope("1.1", [])):  # nothing to receive at all
        assert read_sync("data") == b""
    async with app.request_context(scope("1.1", []), receive):  # HTTP/1 with no length
        assert read_sync("data") == b""
    chunked = [(b"transfer-encoding", b"chunked")]
    for version, headers in (("1.1", chunked), ("2", [])):  # a body may follow
        async with app.request_context(scope(version, headers), receive):
            with pytest.raises(TypeError, match="load_body"):
                bool(read_sync("data"))
            assert await request.data == b""
