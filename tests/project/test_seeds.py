"""Every code snippet of the Flask request/response documentation the project
started from, ported to asyncflask and checked.

The port changes only what the migration guide says changes: views are ``async def``,
imports come from ``asyncflask``, and reading the body is awaited
(``await request.get_json()``, ``await request.form``, ``await
request.files``, ``await request.data``, ``await request.get_data(...)``,
``await file.save(...)``, ``async for chunk in request.stream``,
``await render_template(...)``). Where a snippet only assigns a value, the
test records it in ``seen`` to check it.

The documents: ``seed000`` is an overview of Flask's Request and Response,
``seed001`` a tutorial, ``seed002`` an article and ``seed003`` the Response
reference. Tests are named ``test_seedNNN_<section>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from werkzeug.utils import secure_filename

from asyncflask import (
    Blueprint,
    Flask,
    Response,
    after_this_request,
    has_request_context,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
)
from asyncflask.testing import TestClient

MiB = 1024 * 1024


def multipart(
    parts: list[tuple[str, str | bytes, str | None]], boundary: str = "seedboundary42"
) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body built by hand: ``(name, value, filename)``
    parts (``filename=None`` for a plain field). Returns the body and its
    Content-Type header."""
    chunks: list[bytes] = []
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
        if filename is not None:
            chunks.append(b"Content-Type: application/octet-stream\r\n")
        chunks.append(b"\r\n")
        chunks.append(value if isinstance(value, bytes) else value.encode())
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """``data`` as a body without Content-Length (chunked)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def set_cookies(response: Any) -> dict[str, str]:
    """The response's Set-Cookie headers, by cookie name."""
    headers = response.headers
    values = headers.getlist("Set-Cookie") if hasattr(headers, "getlist") else None
    if values is None:
        values = headers.get_list("Set-Cookie")
    return {c.split("=", 1)[0]: c for c in values}


# ================================================================================
# seed000: Flask's Request and Response overview
# ================================================================================


async def test_seed000_accessing_request_data(app: Flask, client: TestClient) -> None:
    seen: dict[str, Any] = {}

    @app.route("/search")
    async def search():
        # Query parameters
        query = request.args.get("q", "")
        page = request.args.get("page", 1, type=int)
        # Form data (POST)
        username = (await request.form).get("username")
        # JSON data
        data = await request.get_json()
        # Headers
        user_agent = request.headers.get("User-Agent")
        # Cookies
        session_id = request.cookies.get("session_id")
        seen.update(username=username, data=data, user_agent=user_agent, session_id=session_id)
        return jsonify({"query": query, "page": page})

    headers = {"User-Agent": "seed-agent/1.0", "Cookie": "session_id=abc123"}
    r = await client.request("GET", "/search?q=flask&page=2", json={"k": "v"}, headers=headers)
    assert r.status_code == 200
    assert r.get_json() == {"query": "flask", "page": 2}
    assert seen == {
        "username": None,
        "data": {"k": "v"},
        "user_agent": "seed-agent/1.0",
        "session_id": "abc123",
    }
    # type=int falls back to the default when the value does not convert.
    r = await client.request("GET", "/search?page=two", json={})
    assert r.get_json() == {"query": "", "page": 1}
    # As in Flask 3.1: get_json() on a body that is not JSON is 415.
    r = await client.get("/search?q=flask")
    assert r.status_code == 415


async def test_seed000_request_properties(app: Flask, client: TestClient) -> None:
    @app.route("/items/<int:item_id>", methods=["GET", "POST"])
    async def item(item_id):
        return {
            # URL information
            "url": request.url,
            "base_url": request.base_url,
            "url_root": request.url_root,
            "path": request.path,
            "query_string": request.query_string.decode(),
            # Method and routing
            "method": request.method,
            "endpoint": request.endpoint,
            "view_args": request.view_args,
            "url_rule": str(request.url_rule),
            # Client information
            "remote_addr": request.remote_addr,
            "user_agent": request.user_agent.string,
            "referrer": request.referrer,
        }

    headers = {"User-Agent": "seed-agent/1.0", "Referer": "http://localhost/from"}
    r = await client.post("/items/7?x=1&y=2", headers=headers)
    assert r.get_json() == {
        "url": "http://localhost/items/7?x=1&y=2",
        "base_url": "http://localhost/items/7",
        "url_root": "http://localhost/",
        "path": "/items/7",
        "query_string": "x=1&y=2",
        "method": "POST",
        "endpoint": "item",
        "view_args": {"item_id": 7},
        "url_rule": "/items/<int:item_id>",
        "remote_addr": "127.0.0.1",
        "user_agent": "seed-agent/1.0",
        "referrer": "http://localhost/from",
    }


async def test_seed000_query_string(app: Flask, client: TestClient) -> None:
    seen: dict[str, Any] = {}

    # URL: /search?q=flask&category=web
    @app.route("/search")
    async def search():
        query = request.args.get("q")  # 'flask'
        category = request.args.get("category")  # 'web'
        # Get with default
        page = request.args.get("page", 1, type=int)
        # Get list of values
        tags = request.args.getlist("tag")
        seen.update(query=query, category=category, page=page, tags=tags)
        return jsonify(request.args.to_dict())

    r = await client.get("/search?q=flask&category=web&tag=a&tag=b")
    assert r.get_json() == {"q": "flask", "category": "web", "tag": "a"}
    assert seen == {"query": "flask", "category": "web", "page": 1, "tags": ["a", "b"]}
    r = await client.get("/search", query_string={"page": "3"})
    assert r.get_json() == {"page": "3"}
    assert seen == {"query": None, "category": None, "page": 3, "tags": []}


async def test_seed000_form_data(app: Flask, client: TestClient) -> None:
    seen: dict[str, Any] = {}

    @app.route("/login", methods=["POST"])
    async def login():
        form = await request.form
        username = form["username"]  # KeyError if missing
        password = form.get("password")  # None if missing
        seen.update(username=username, password=password, remember=False)
        # Check if key exists
        if "remember_me" in form:
            # Set remember cookie
            seen["remember"] = True
        return redirect("/dashboard")

    r = await client.post("/login", data={"username": "john", "remember_me": "on"})
    assert r.status_code == 302
    assert r.headers["Location"] == "/dashboard"
    assert seen == {"username": "john", "password": None, "remember": True}
    r = await client.post("/login", data={"username": "jane", "password": "pw"})
    assert seen == {"username": "jane", "password": "pw", "remember": False}
    # A missing required field: Flask answers 400 (BadRequestKeyError), not 500.
    seen.clear()
    r = await client.post("/login", data={"password": "pw"})
    assert r.status_code == 400
    assert seen == {}


async def test_seed000_json_data(app: Flask, client: TestClient) -> None:
    @app.route("/api/users", methods=["POST"])
    async def create_user():
        # Automatically parses JSON
        data = await request.get_json()
        # Force parsing even without Content-Type
        data = await request.get_json(force=True)
        # Silent mode (returns None on error)
        data = await request.get_json(silent=True)
        if data:
            name = data.get("name")
            data.get("email")
            return jsonify({"id": 123, "name": name}), 201
        return jsonify({"error": "Invalid JSON"}), 400

    r = await client.post("/api/users", json={"name": "Ann", "email": "ann@example.com"})
    assert r.status_code == 201
    assert r.get_json() == {"id": 123, "name": "Ann"}
    r = await client.post("/api/users", json={})
    assert r.status_code == 400
    assert r.get_json() == {"error": "Invalid JSON"}
    # The first, plain get_json() decides for invalid or non-JSON bodies.
    json_type = {"Content-Type": "application/json"}
    r = await client.post("/api/users", content=b"{not json", headers=json_type)
    assert r.status_code == 400
    assert r.mimetype == "text/html"
    r = await client.post("/api/users", content=b'{"name": "Ann"}')
    assert r.status_code == 415


async def test_seed000_json_data_force_and_silent(app: Flask, client: TestClient) -> None:
    """The three get_json() calls of the snippet, each on its own."""

    @app.route("/force", methods=["POST"])
    async def force():
        # Force parsing even without Content-Type
        return {"data": await request.get_json(force=True)}

    @app.route("/silent", methods=["POST"])
    async def silent():
        # Silent mode (returns None on error)
        return {"data": await request.get_json(silent=True)}

    text = {"Content-Type": "text/plain"}
    r = await client.post("/force", content=b'{"name": "Ann"}', headers=text)
    assert r.get_json() == {"data": {"name": "Ann"}}
    r = await client.post("/force", content=b"{not json", headers=text)
    assert r.status_code == 400
    r = await client.post(
        "/silent", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.get_json() == {"data": None}
    r = await client.post("/silent", content=b'{"name": "Ann"}', headers=text)
    assert r.get_json() == {"data": None}
    r = await client.post("/silent", json=[1, 2])
    assert r.get_json() == {"data": [1, 2]}


async def test_seed000_file_uploads(app: Flask, client: TestClient, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()

    @app.route("/upload", methods=["POST"])
    async def upload_file():
        files = await request.files
        if "file" not in files:
            return "No file part", 400
        file = files["file"]
        if file.filename == "":
            return "No selected file", 400
        if file:
            filename = secure_filename(file.filename)
            await file.save(f"{uploads}/{filename}")
            return "File uploaded", 201
        return "unreachable", 500  # pragma: no cover

    r = await client.post("/upload", files={"file": ("../My report.txt", b"hello world")})
    assert (r.status_code, r.text) == (201, "File uploaded")
    assert (uploads / "My_report.txt").read_bytes() == b"hello world"
    # Flask's test-client style: a (file object, name) tuple in data.
    r = await client.post("/upload", data={"file": (BytesIO(b"\x00\x01binary"), "photo.png")})
    assert (r.status_code, r.text) == (201, "File uploaded")
    assert (uploads / "photo.png").read_bytes() == b"\x00\x01binary"
    r = await client.post("/upload", data={"other": "field"})
    assert (r.status_code, r.text) == (400, "No file part")
    # What a browser sends when no file was chosen.
    body, headers = multipart([("file", b"", "")])
    r = await client.post("/upload", content=body, headers=headers)
    assert (r.status_code, r.text) == (400, "No selected file")
    assert sorted(p.name for p in uploads.iterdir()) == ["My_report.txt", "photo.png"]


async def test_seed000_raw_data(app: Flask, client: TestClient) -> None:
    seen: dict[str, Any] = {}

    @app.route("/webhook", methods=["POST"])
    async def webhook():
        # Raw bytes
        raw_data = await request.data
        # As text
        text_data = await request.get_data(as_text=True)
        # Stream for large files
        stream = request.stream
        seen.update(raw=raw_data, text=text_data, stream=stream)
        return "OK"

    body = 'héllo wörld, {"event": 1}'.encode()
    r = await client.post("/webhook", content=body, headers={"Content-Type": "text/plain"})
    assert r.text == "OK"
    assert seen["raw"] == body
    assert seen["text"] == 'héllo wörld, {"event": 1}'
    assert hasattr(seen["stream"], "__aiter__")


async def test_seed000_raw_data_stream(app: Flask, client: TestClient) -> None:
    """``request.stream`` for large bodies: ``async for chunk in
    request.stream`` sees the body piece by piece."""

    @app.route("/webhook", methods=["POST"])
    async def webhook():
        digest = hashlib.sha256()
        size = chunks = 0
        async for chunk in request.stream:
            digest.update(chunk)
            size += len(chunk)
            chunks += 1
        return {"size": size, "chunks": chunks, "sha256": digest.hexdigest()}

    data = os.urandom(MiB)
    r = await client.post("/webhook", content=chunked(data))
    assert r.status_code == 200
    body = r.get_json()
    assert body["size"] == MiB
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["chunks"] > 1


@pytest.fixture
def limited_app(app: Flask) -> Flask:
    # Application-level defaults
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024  # 16 MB
    app.config["MAX_FORM_MEMORY_SIZE"] = 500_000  # 500 KB
    app.config["MAX_FORM_PARTS"] = 1_000

    # Per-request override
    @app.route("/upload", methods=["POST"])
    async def upload():
        request.max_content_length = 50 * 1024 * 1024  # 50 MB for this route
        # ... handle upload
        return {"size": len(await request.get_data())}

    @app.route("/other", methods=["POST"])
    async def other():
        return {"size": len(await request.get_data())}

    @app.route("/form", methods=["POST"])
    async def form():
        fields = await request.form
        return {"fields": len(fields), "size": sum(len(v) for v in fields.values())}

    return app


async def test_seed000_request_limits_max_content_length(
    limited_app: Flask, client: TestClient
) -> None:
    too_big = b"x" * (16 * MiB + 1)
    r = await client.post("/other", content=too_big)
    assert r.status_code == 413
    r = await client.post("/other", content=too_big[:-1])
    assert r.get_json() == {"size": 16 * MiB}
    # Without Content-Length the bytes are counted as they arrive.
    r = await client.post("/other", content=chunked(too_big, MiB))
    assert r.status_code == 413


async def test_seed000_request_limits_per_request_override(
    limited_app: Flask, client: TestClient
) -> None:
    too_big_elsewhere = b"x" * (16 * MiB + 1)
    r = await client.post("/upload", content=too_big_elsewhere)
    assert r.status_code == 200
    assert r.get_json() == {"size": 16 * MiB + 1}
    r = await client.post("/upload", content=chunked(too_big_elsewhere, MiB))
    assert r.get_json() == {"size": 16 * MiB + 1}


async def test_seed000_request_limits_form_memory_and_parts(
    limited_app: Flask, client: TestClient
) -> None:
    body, headers = multipart([("note", "n" * 400_000, None)])
    r = await client.post("/form", content=body, headers=headers)
    assert r.get_json() == {"fields": 1, "size": 400_000}
    body, headers = multipart([("note", "n" * 500_001, None)])
    r = await client.post("/form", content=body, headers=headers)
    assert r.status_code == 413
    body, headers = multipart([(f"f{i}", "v", None) for i in range(1_000)])
    r = await client.post("/form", content=body, headers=headers)
    assert r.get_json() == {"fields": 1_000, "size": 1_000}
    body, headers = multipart([(f"f{i}", "v", None) for i in range(1_001)])
    r = await client.post("/form", content=body, headers=headers)
    assert r.status_code == 413


async def test_seed000_blueprint_context(app: Flask, client: TestClient) -> None:
    """The snippet's comments describe a route of an ``admin`` blueprint."""
    admin = Blueprint("admin", __name__, url_prefix="/admin")

    @admin.route("/users")
    async def users():
        # Current blueprint name
        blueprint = request.blueprint  # 'admin'
        # All blueprint names in hierarchy
        blueprints = request.blueprints  # ['admin']
        # Endpoint includes blueprint
        endpoint = request.endpoint  # 'admin.users'
        return {"blueprint": blueprint, "blueprints": blueprints, "endpoint": endpoint}

    app.register_blueprint(admin)
    r = await client.get("/admin/users")
    assert r.get_json() == {
        "blueprint": "admin",
        "blueprints": ["admin"],
        "endpoint": "admin.users",
    }


async def test_seed000_blueprint_context_on_the_app(app: Flask, client: TestClient) -> None:
    """The snippet as written (``@app.route``): no blueprint."""

    @app.route("/admin/users")
    async def admin_users():
        return {
            "blueprint": request.blueprint,
            "blueprints": request.blueprints,
            "endpoint": request.endpoint,
        }

    r = await client.get("/admin/users")
    assert r.get_json() == {"blueprint": None, "blueprints": [], "endpoint": "admin_users"}


async def test_seed000_simple_responses(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index():
        # String response (converted to Response)
        return "Hello, World!"

    @app.route("/json")
    async def json_response():
        # Dict/list (converted to JSON)
        return {"message": "Hello", "status": "success"}

    @app.route("/custom")
    async def custom():
        # Explicit Response object
        return Response("Custom response", mimetype="text/plain")

    r = await client.get("/")
    assert (r.status_code, r.text) == (200, "Hello, World!")
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    r = await client.get("/json")
    assert r.headers["Content-Type"] == "application/json"
    assert r.get_json() == {"message": "Hello", "status": "success"}
    r = await client.get("/custom")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.text == "Custom response"


async def test_seed000_response_tuples(app: Flask, client: TestClient) -> None:
    @app.route("/created")
    async def created():
        # (body, status)
        return "Resource created", 201

    @app.route("/with-headers")
    async def with_headers():
        # (body, status, headers)
        return "OK", 200, {"X-Custom": "value"}

    @app.route("/json-created")
    async def json_created():
        # (body, headers) - status inferred
        return {"id": 123}, {"Location": "/api/resource/123"}

    r = await client.get("/created")
    assert (r.status_code, r.text) == (201, "Resource created")
    r = await client.get("/with-headers")
    assert (r.status_code, r.text, r.headers["X-Custom"]) == (200, "OK", "value")
    r = await client.get("/json-created")
    assert r.status_code == 200
    assert r.get_json() == {"id": 123}
    assert r.headers["Location"] == "/api/resource/123"


async def test_seed000_response_properties(app: Flask, client: TestClient) -> None:
    @app.route("/example")
    async def example():
        response = Response("Hello")
        # Status
        response.status_code = 200
        response.status = "200 OK"
        # Headers
        response.headers["X-Custom"] = "value"
        response.headers["Content-Type"] = "application/json"
        # Cookies
        response.set_cookie("session", "abc123")
        # MIME type
        response.mimetype = "text/html"  # Default for Flask
        return response

    r = await client.get("/example")
    assert r.status_code == 200
    assert r.text == "Hello"
    assert r.headers["X-Custom"] == "value"
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Set-Cookie"] == "session=abc123; Path=/"


async def test_seed000_setting_cookies(app: Flask, client: TestClient) -> None:
    @app.route("/login", methods=["POST"])
    async def login():
        response = make_response(redirect("/dashboard"))
        # Simple cookie
        response.set_cookie("username", "john")
        # With options
        response.set_cookie(
            "session_id",
            "abc123",
            max_age=3600,  # 1 hour
            secure=True,  # HTTPS only
            httponly=True,  # No JavaScript access
            samesite="Lax",  # CSRF protection
        )
        return response

    @app.route("/logout")
    async def logout():
        response = make_response(redirect("/"))
        response.delete_cookie("session_id")
        return response

    r = await client.post("/login")
    assert r.status_code == 302
    assert r.headers["Location"] == "/dashboard"
    cookies = set_cookies(r)
    assert cookies["username"] == "username=john; Path=/"
    session_id = cookies["session_id"]
    assert session_id.startswith("session_id=abc123; Expires=")
    for attribute in ("Max-Age=3600", "Secure", "HttpOnly", "Path=/", "SameSite=Lax"):
        assert f"; {attribute}" in session_id
    r = await client.get("/logout")
    assert r.status_code == 302
    assert r.headers["Location"] == "/"
    assert set_cookies(r)["session_id"] == (
        "session_id=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"
    )


async def test_seed000_make_response(app: Flask, client: TestClient) -> None:
    @app.route("/custom")
    async def custom():
        # String to Response
        response = make_response("Hello")
        response.headers["X-Custom"] = "value"
        return response

    r = await client.get("/custom")
    assert (r.text, r.headers["X-Custom"]) == ("Hello", "value")
    assert r.mimetype == "text/html"


async def test_seed000_make_response_render_template(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(
        "<h1>{{ title|default('Home') }}</h1><p>{{ request.path }}</p>"
    )
    app = Flask("seedtemplates", root_path=str(tmp_path))

    @app.route("/render")
    async def render():
        # Template to Response
        html = await render_template("page.html")
        response = make_response(html)
        response.headers["X-Page"] = "home"
        return response

    async with app.test_client() as client:
        r = await client.get("/render")
    assert r.status_code == 200
    assert r.text == "<h1>Home</h1><p>/render</p>"
    assert r.headers["X-Page"] == "home"
    assert r.mimetype == "text/html"


async def test_seed000_json_responses(app: Flask, client: TestClient) -> None:
    @app.route("/api/user/<int:id>")
    async def get_user(id):
        user = {"id": id, "name": "John", "email": "john@example.com"}
        # jsonify() sets Content-Type to application/json
        return jsonify(user)

    @app.route("/api/users")
    async def list_users():
        users = [{"id": 1, "name": "John"}, {"id": 2, "name": "Jane"}]
        return jsonify(users)

    @app.route("/api/error")
    async def error():
        return jsonify({"error": "Not found"}), 404

    r = await client.get("/api/user/5")
    assert r.headers["Content-Type"] == "application/json"
    assert r.get_json() == {"id": 5, "name": "John", "email": "john@example.com"}
    r = await client.get("/api/users")
    assert r.get_json() == [{"id": 1, "name": "John"}, {"id": 2, "name": "Jane"}]
    r = await client.get("/api/error")
    assert r.status_code == 404
    assert r.get_json() == {"error": "Not found"}


async def test_seed000_streaming_responses_large_file(
    app: Flask, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [f"line {i}: {'x' * (i % 50)}\n" for i in range(2_000)]
    (tmp_path / "large_file.txt").write_text("".join(lines))
    monkeypatch.chdir(tmp_path)

    @app.route("/large-file")
    async def large_file():
        def generate():
            with open("large_file.txt") as f:
                yield from f

        return Response(generate(), mimetype="text/plain")

    async with asyncio.timeout(10):
        r = await client.get("/large-file")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.text == "".join(lines)


async def test_seed000_streaming_responses_events(app: Flask, client: TestClient) -> None:
    """The snippet sleeps 1 s between events; 0.01 s here keeps the test
    quick (the generator still blocks, in a worker thread)."""

    @app.route("/events")
    async def events():
        def generate():
            for i in range(10):
                yield f"data: {i}\n\n"
                time.sleep(0.01)

        return Response(generate(), mimetype="text/event-stream")

    received = ""
    async with asyncio.timeout(10), client.stream("GET", "/events") as r:
        assert r.status_code == 200
        assert r.mimetype == "text/event-stream"
        async for text in r.aiter_text():
            received += text
    assert received == "".join(f"data: {i}\n\n" for i in range(10))


@pytest.fixture
def files_app(tmp_path: Path) -> Flask:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "notes.txt").write_text("my notes\n")
    (tmp_path / "secret.txt").write_text("do not serve")
    app = Flask("seedfiles", root_path=str(tmp_path))

    @app.route("/download/<filename>")
    async def download(filename):
        return send_from_directory("files", filename, as_attachment=True)

    @app.route("/report")
    async def report():
        # Send file-like object
        buffer = BytesIO()
        buffer.write(b"Report content")
        buffer.seek(0)
        return send_file(
            buffer, mimetype="application/pdf", as_attachment=True, download_name="report.pdf"
        )

    return app


async def test_seed000_file_downloads_send_from_directory(files_app: Flask) -> None:
    async with files_app.test_client() as client:
        r = await client.get("/download/notes.txt")
        assert r.status_code == 200
        assert r.text == "my notes\n"
        assert r.headers["Content-Disposition"] == "attachment; filename=notes.txt"
        assert r.mimetype == "text/plain"
        assert (await client.get("/download/missing.txt")).status_code == 404
        assert (await client.get("/download/%2E%2E%2Fsecret.txt")).status_code == 404
        assert (await client.get("/download/..")).status_code == 404


async def test_seed000_file_downloads_send_file(files_app: Flask) -> None:
    async with files_app.test_client() as client:
        r = await client.get("/report")
    assert r.status_code == 200
    assert r.content == b"Report content"
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"] == "attachment; filename=report.pdf"
    assert r.headers["Content-Length"] == "14"


async def test_seed000_request_context(app: Flask, client: TestClient) -> None:
    def get_user_ip():
        if has_request_context():
            return request.remote_addr
        return None

    @app.route("/")
    async def index():
        ip = get_user_ip()  # Works here
        return f"Your IP: {ip}"

    r = await client.get("/")
    assert r.text == "Your IP: 127.0.0.1"
    # Outside request context
    ip = get_user_ip()  # Returns None
    assert ip is None


async def test_seed000_after_request_handlers(app: Flask, client: TestClient) -> None:
    @app.after_request
    def add_header(response):
        response.headers["X-Custom-Header"] = "value"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.route("/")
    async def index():
        return "home"

    for url, status in (("/", 200), ("/missing", 404)):
        r = await client.get(url)
        assert r.status_code == status
        assert r.headers["X-Custom-Header"] == "value"
        assert r.headers["Cache-Control"] == "no-store"


async def test_seed000_per_request_modifications(app: Flask, client: TestClient) -> None:
    @app.route("/special")
    async def special():
        @after_this_request
        def add_special_header(response):
            response.headers["X-Special"] = "true"
            return response

        return "Special page"

    @app.route("/plain")
    async def plain():
        return "Plain page"

    r = await client.get("/special")
    assert (r.text, r.headers["X-Special"]) == ("Special page", "true")
    r = await client.get("/plain")
    assert "X-Special" not in r.headers


# ================================================================================
# seed001: "Flask Request & Response - Handling Web Traffic"
# ================================================================================


async def test_seed001_the_request_object(app: Flask, client: TestClient) -> None:
    @app.route("/login", methods=["POST"])
    async def login():
        # Get JSON data from a POST request
        data = await request.get_json()
        username = data.get("username")
        # Get Query Parameters from URL (?source=mobile)
        source = request.args.get("source")
        # Access Headers
        request.headers.get("User-Agent")
        return f"Hello {username} from {source}"

    r = await client.post("/login?source=mobile", json={"username": "ann"})
    assert (r.status_code, r.text) == (200, "Hello ann from mobile")
    r = await client.post("/login", json={"username": "bob"})
    assert r.text == "Hello bob from None"


async def test_seed001_creating_a_response(app: Flask, client: TestClient) -> None:
    @app.route("/error")
    async def custom_error():
        # Option B: make_response for more control
        res = make_response(jsonify({"msg": "Auth Failed"}))
        res.status_code = 401
        res.headers["WWW-Authenticate"] = 'Basic realm="Login Required"'
        return res

    @app.route("/error-tuple")
    async def custom_error_tuple():
        # Option A: Simple Tuple (Body, Status, Headers)
        return jsonify({"error": "Not Found"}), 404, {"X-Custom-Header": "Value"}

    r = await client.get("/error")
    assert r.status_code == 401
    assert r.get_json() == {"msg": "Auth Failed"}
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Login Required"'
    r = await client.get("/error-tuple")
    assert r.status_code == 404
    assert r.get_json() == {"error": "Not Found"}
    assert r.headers["X-Custom-Header"] == "Value"


async def test_seed001_common_request_attributes(app: Flask, client: TestClient) -> None:
    """The table: args, form, json, files, method, cookies."""

    @app.route("/api", methods=["POST"])
    async def api():
        return {
            "args": request.args.to_dict(),
            "json": await request.json,
            "method": request.method,
            "cookies": request.cookies.to_dict(),
        }

    @app.route("/form", methods=["GET", "POST"])
    async def form():
        files = await request.files
        return {
            "form": (await request.form).to_dict(),
            "files": {name: f.filename for name, f in files.items()},
            "method": request.method,
        }

    r = await client.post("/api?q=python", json={"k": [1, 2]}, headers={"Cookie": "session_id=s1"})
    assert r.get_json() == {
        "args": {"q": "python"},
        "json": {"k": [1, 2]},
        "method": "POST",
        "cookies": {"session_id": "s1"},
    }
    r = await client.post("/form", data={"name": "Ann"}, files={"avatar": ("me.png", b"\x89PNG")})
    assert r.get_json() == {
        "form": {"name": "Ann"},
        "files": {"avatar": "me.png"},
        "method": "POST",
    }
    r = await client.get("/form")
    assert r.get_json() == {"form": {}, "files": {}, "method": "GET"}


async def test_seed001_faq_set_cookie(app: Flask, client: TestClient) -> None:
    """FAQ: use make_response() to get a response, then res.set_cookie()."""

    @app.route("/")
    async def index():
        res = make_response("cookie set")
        res.set_cookie("key", "value")
        return res

    r = await client.get("/")
    assert r.headers["Set-Cookie"] == "key=value; Path=/"


async def test_seed001_faq_no_return_value(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """FAQ: a view that returns nothing raises TypeError (a logged 500)."""

    @app.route("/nothing")
    async def nothing():
        pass

    with caplog.at_level(logging.ERROR):
        r = await client.get("/nothing")
    assert r.status_code == 500
    assert "did not return a valid response" in caplog.text
    assert "TypeError" in caplog.text
    assert "did not return" not in r.text


async def test_seed001_quiz(app: Flask, client: TestClient) -> None:
    """Q2: ``return jsonify(data), 201``; Q3: ``?id=5`` is in request.args."""

    @app.route("/items", methods=["POST"])
    async def create():
        data = await request.get_json()
        return jsonify(data), 201

    @app.route("/item")
    async def item():
        return {"id": request.args["id"]}

    r = await client.post("/items", json={"a": 1})
    assert (r.status_code, r.get_json()) == (201, {"a": 1})
    r = await client.get("/item?id=5")
    assert r.get_json() == {"id": "5"}


# ================================================================================
# seed002: an article on the request and response objects
# ================================================================================


async def test_seed002_the_request_object(app: Flask, client: TestClient) -> None:
    seen: dict[str, Any] = {}

    @app.route("/login", methods=["POST"])
    async def login():
        form = await request.form
        # Accessing form data
        username = form["username"]
        password = form["password"]
        # Accessing query string arguments (e.g., /login?next=/dashboard)
        next_url = request.args.get("next", "/default")
        # Accessing JSON data from a POST request
        if request.is_json:
            seen["json"] = await request.get_json()
            # process JSON data...
        # Accessing headers
        user_agent = request.headers.get("User-Agent")
        # Accessing the HTTP method
        if request.method == "POST":
            # Handle POST
            pass
        seen.update(password=password, user_agent=user_agent)
        return f"User {username} logged in. Next: {next_url}"

    data = {"username": "ann", "password": "pw"}
    r = await client.post("/login?next=/dashboard", data=data, headers={"User-Agent": "ua/2"})
    assert (r.status_code, r.text) == (200, "User ann logged in. Next: /dashboard")
    assert seen == {"password": "pw", "user_agent": "ua/2"}
    r = await client.post("/login", data=data)
    assert r.text == "User ann logged in. Next: /default"
    # The pitfall the article describes: a missing key. Flask answers 400.
    r = await client.post("/login", data={"username": "ann"})
    assert r.status_code == 400
    r = await client.post("/login", json=data)
    assert r.status_code == 400


async def test_seed002_file_uploads(app: Flask, client: TestClient, tmp_path: Path) -> None:
    app.config["UPLOAD_FOLDER"] = str(tmp_path)

    @app.route("/upload", methods=["POST"])
    async def upload_file():
        files = await request.files
        if "file" not in files:
            return "No file part"
        file = files["file"]
        if file.filename == "":
            return "No selected file"
        if file:
            # Securely save the file using a generated filename
            filename = secure_filename(file.filename)
            await file.save(os.path.join(app.config["UPLOAD_FOLDER"], filename))
            return "File uploaded successfully"
        return "unreachable"  # pragma: no cover

    payload = os.urandom(300_000)
    r = await client.post("/upload", files={"file": ("holiday photo.jpg", payload)})
    assert (r.status_code, r.text) == (200, "File uploaded successfully")
    assert (tmp_path / "holiday_photo.jpg").read_bytes() == payload
    r = await client.post("/upload", data={"x": "y"})
    assert (r.status_code, r.text) == (200, "No file part")
    body, headers = multipart([("file", b"", "")])
    r = await client.post("/upload", content=body, headers=headers)
    assert (r.status_code, r.text) == (200, "No selected file")


async def test_seed002_the_response_object(app: Flask, client: TestClient) -> None:
    @app.route("/data")
    async def get_data():
        # Create a JSON response with a custom status code
        data = {"status": "success", "data": [1, 2, 3]}
        response = make_response(data, 201)  # 201 Created
        # Set a custom header
        response.headers["X-Custom-Header"] = "MyValue"
        # Set a cookie
        response.set_cookie("username", "john_doe", max_age=60 * 60 * 24)  # expires in 1 day
        return response

    r = await client.get("/data")
    assert r.status_code == 201
    assert r.mimetype == "application/json"
    assert r.get_json() == {"status": "success", "data": [1, 2, 3]}
    assert r.headers["X-Custom-Header"] == "MyValue"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("username=john_doe; Expires=")
    assert "; Max-Age=86400; Path=/" in cookie


async def test_seed002_make_response_with_jsonify(app: Flask, client: TestClient) -> None:
    @app.route("/api/user/<int:user_id>")
    async def get_user(user_id):
        user = {"id": user_id, "name": "Alice"}
        # jsonify creates a response object with application/json mimetype
        response = make_response(jsonify(user), 200)
        return response

    # This is equivalent to: return jsonify(user), 200
    @app.route("/api/user2/<int:user_id>")
    async def get_user2(user_id):
        user = {"id": user_id, "name": "Alice"}
        return jsonify(user), 200

    one = await client.get("/api/user/9")
    two = await client.get("/api/user2/9")
    assert one.status_code == two.status_code == 200
    assert one.get_json() == two.get_json() == {"id": 9, "name": "Alice"}
    assert one.headers["Content-Type"] == two.headers["Content-Type"] == "application/json"


async def test_seed002_best_practices_content_type(app: Flask, client: TestClient) -> None:
    """For plain text: make_response("text", 200), then set Content-Type."""

    @app.route("/text")
    async def text():
        response = make_response("text", 200)
        response.headers["Content-Type"] = "text/plain"
        return response

    r = await client.get("/text")
    assert (r.status_code, r.text) == (200, "text")
    assert r.headers["Content-Type"] == "text/plain"


async def test_seed002_best_practices_max_content_length(app: Flask, client: TestClient) -> None:
    """Configure MAX_CONTENT_LENGTH to reject requests that are too large."""
    app.config["MAX_CONTENT_LENGTH"] = 1024

    @app.route("/post", methods=["POST"])
    async def post():
        return {"form": (await request.form).to_dict()}

    r = await client.post("/post", data={"a": "b" * 2000})
    assert r.status_code == 413
    r = await client.post("/post", data={"a": "b"})
    assert r.get_json() == {"form": {"a": "b"}}


async def test_seed002_best_practices_streaming(app: Flask, client: TestClient) -> None:
    """Stream large or slow responses from a generator."""

    @app.route("/big")
    async def big():
        async def generate():
            for i in range(1_000):
                yield f"{i:06d}\n" * 100

        return Response(generate(), mimetype="text/plain")

    size = 0
    async with asyncio.timeout(10), client.stream("GET", "/big") as r:
        async for chunk in r.aiter_bytes():
            size += len(chunk)
    assert size == 1_000 * 700


# ================================================================================
# seed003: the Response reference
# ================================================================================


def test_seed003_class_attributes() -> None:
    assert Response.default_mimetype == "text/html"
    assert Response.autocorrect_location_header is False
    assert Response("x").mimetype == "text/html"


async def test_seed003_max_cookie_size(app: Flask) -> None:
    assert Response().max_cookie_size == 4093
    app.config["MAX_COOKIE_SIZE"] = 1234
    async with app.app_context():
        assert Response().max_cookie_size == 1234


def test_seed003_response_data() -> None:
    # status_code
    response = Response("Not Found", status=404)
    assert response.status_code == 404
    # status
    response = Response("Created", status=201)
    assert response.status == "201 CREATED"
    # data
    response = Response("Hello, World!")
    assert response.data == b"Hello, World!"
    # headers
    response = Response("Hello")
    response.headers["X-Custom-Header"] = "value"
    response.headers["Content-Type"] = "text/plain"
    assert response.headers["X-Custom-Header"] == "value"
    assert response.mimetype == "text/plain"


def test_seed003_set_cookie() -> None:
    response = Response("Hello")
    response.set_cookie("session_id", "abc123", max_age=3600, httponly=True)
    response.set_cookie("user_pref", "dark_mode", path="/settings")
    cookies = set_cookies(response)
    assert cookies["session_id"].startswith("session_id=abc123; Expires=")
    assert cookies["session_id"].endswith("; Max-Age=3600; HttpOnly; Path=/")
    assert cookies["user_pref"] == "user_pref=dark_mode; Path=/settings"
    response = Response("Hello")
    response.set_cookie("chips", "1", secure=True, samesite="None", partitioned=True)
    assert response.headers["Set-Cookie"] == ("chips=1; Secure; Path=/; SameSite=None; Partitioned")


def test_seed003_delete_cookie() -> None:
    response = Response("Logged out")
    response.delete_cookie("session_id")
    assert response.headers["Set-Cookie"] == (
        "session_id=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"
    )


def test_seed003_set_data() -> None:
    response = Response()
    response.set_data("Hello, World!")
    assert response.data == b"Hello, World!"
    assert response.get_data(as_text=True) == "Hello, World!"
    assert response.content_length == 13


async def test_seed003_get_json(app: Flask, client: TestClient) -> None:
    @app.route("/api/users")
    async def users():
        return {"username": "alice"}

    # In tests
    response = await client.get("/api/users")
    data = response.get_json()
    assert data["username"] == "alice"
    # The server-side Response parses its own body too.
    async with app.app_context():
        assert jsonify({"username": "alice"}).get_json() == {"username": "alice"}
        assert Response("{not json").get_json() is None
        assert Response("[1]").get_json(force=True) == [1]
        assert Response("{not json").get_json(force=True, silent=True) is None


async def test_seed003_return_from_view_function(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index():
        # String response (200 OK by default)
        return "Hello, World!"

    @app.route("/created")
    async def created():
        # With status code
        return "Resource created", 201

    @app.route("/custom-headers")
    async def custom_headers():
        # With status code and headers
        return "OK", 200, {"X-Custom": "value"}

    r = await client.get("/")
    assert (r.status_code, r.text, r.mimetype) == (200, "Hello, World!", "text/html")
    r = await client.get("/created")
    assert (r.status_code, r.status) == (201, "201 CREATED")
    r = await client.get("/custom-headers")
    assert (r.status_code, r.headers["X-Custom"]) == (200, "value")


async def test_seed003_using_make_response(app: Flask, client: TestClient) -> None:
    @app.route("/cookie")
    async def set_cookie():
        response = make_response("Cookie set")
        response.set_cookie("username", "alice")
        return response

    r = await client.get("/cookie")
    assert r.text == "Cookie set"
    assert r.headers["Set-Cookie"] == "username=alice; Path=/"
    assert client.cookies["username"] == "alice"


async def test_seed003_direct_response_object(app: Flask, client: TestClient) -> None:
    @app.route("/raw")
    async def raw_response():
        return Response(
            "Custom response", status=200, headers={"X-Custom": "value"}, mimetype="text/plain"
        )

    r = await client.get("/raw")
    assert (r.status_code, r.text) == (200, "Custom response")
    assert r.headers["X-Custom"] == "value"
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_seed003_json_responses(app: Flask, client: TestClient) -> None:
    @app.route("/api/user")
    async def get_user():
        # jsonify creates a Response with application/json mimetype
        return jsonify({"id": 123, "username": "alice", "email": "[email protected]"})

    r = await client.get("/api/user")
    assert r.mimetype == "application/json"
    assert r.get_json() == {"id": 123, "username": "alice", "email": "[email protected]"}


async def test_seed003_streaming_responses(app: Flask, client: TestClient) -> None:
    @app.route("/stream")
    async def stream():
        def generate():
            for i in range(10):
                yield f"Line {i}\n"

        return Response(generate(), mimetype="text/plain")

    lines = []
    async with asyncio.timeout(10), client.stream("GET", "/stream") as r:
        assert r.mimetype == "text/plain"
        async for line in r.aiter_lines():
            lines.append(line)
    assert lines == [f"Line {i}" for i in range(10)]


@pytest.fixture
def example_usage_app(app: Flask) -> Flask:
    @app.route("/download")
    async def download():
        response = Response("File content here", mimetype="application/octet-stream")
        response.headers["Content-Disposition"] = "attachment; filename=file.txt"
        return response

    @app.route("/login", methods=["POST"])
    async def login():
        # Authenticate user...
        response = make_response(jsonify({"status": "logged in"}))
        # Set secure session cookie
        response.set_cookie(
            "session_id",
            "secure-token-here",
            max_age=3600,
            httponly=True,
            secure=True,
            samesite="Lax",
        )
        return response

    @app.route("/logout")
    async def logout():
        response = make_response("Logged out")
        response.delete_cookie("session_id")
        return response

    @app.route("/api/data")
    async def api_data():
        response = jsonify({"users": ["alice", "bob"], "count": 2})
        # Add custom headers
        response.headers["X-Total-Count"] = "2"
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.route("/redirect-temp")
    async def redirect_temp():
        response = Response("", status=302)
        response.headers["Location"] = "/new-location"
        return response

    return app


async def test_seed003_example_usage(example_usage_app: Flask, client: TestClient) -> None:
    r = await client.get("/download")
    assert r.content == b"File content here"
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Disposition"] == "attachment; filename=file.txt"

    r = await client.post("/login")
    assert r.get_json() == {"status": "logged in"}
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("session_id=secure-token-here; Expires=")
    assert cookie.endswith("; Max-Age=3600; Secure; HttpOnly; Path=/; SameSite=Lax")

    r = await client.get("/logout")
    assert r.text == "Logged out"
    assert (
        "session_id=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0" in (r.headers["Set-Cookie"])
    )

    r = await client.get("/api/data")
    assert r.get_json() == {"users": ["alice", "bob"], "count": 2}
    assert r.headers["X-Total-Count"] == "2"
    assert r.headers["Cache-Control"] == "no-cache"

    r = await client.get("/redirect-temp")
    assert r.status_code == 302
    assert r.headers["Location"] == "/new-location"  # not made absolute
    assert r.content == b""
