"""The example app (examples/app.py), endpoint by endpoint, in process; and
once served the way ``make run`` serves it."""

from __future__ import annotations

import asyncio
import io
import re
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from asyncflask.testing import TestClient
from tests.server import run_server
from tests.support import EXAMPLE


@pytest.fixture
async def client(example: ModuleType) -> AsyncIterator[TestClient]:
    async with example.app.test_client() as client:
        yield client


# -- pages -----------------------------------------------------------------------


async def test_index_lists_the_endpoints(client: TestClient, example: ModuleType) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.mimetype == "text/html"
    assert r.text.startswith("<!doctype html>")
    hrefs = re.findall(r"href='([^']*)'", r.text)
    for links in example.LINKS.values():
        for url, _ in links:
            assert url.replace("&", "&amp;") in hrefs
    assert "Not logged in." in r.text


async def test_every_index_link_answers(client: TestClient, example: ModuleType) -> None:
    expected_404 = {"/no-such-page", "/api/no-such-thing"}
    for links in example.LINKS.values():
        for url, _ in links:
            r = await client.get(url)
            if url in expected_404:
                assert r.status_code == 404, url
            else:
                assert r.status_code in (200, 201, 301, 302), (url, r.status_code)


async def test_every_rule_is_linked_from_the_index(example: ModuleType) -> None:
    linked = {url.split("?")[0] for links in example.LINKS.values() for url, _ in links}
    for rule in example.app.url_map.iter_rules():
        # chat_events is endless: tests/example/test_example_chat.py reads it
        if rule.endpoint in ("static", "index", "logout", "chat_events"):
            continue
        if rule.arguments:
            prefix = rule.rule.split("<")[0]
            assert any(url.startswith(prefix) for url in linked), rule.rule
        else:
            assert rule.rule in linked, rule.rule


async def test_hello_escapes_its_argument(client: TestClient) -> None:
    r = await client.get("/hello/World")
    assert "<p>Hello, World!</p>" in r.text
    r = await client.get("/hello/<script>")
    assert "<script>" not in r.text
    assert "&lt;script&gt;" in r.text


# -- query arguments ---------------------------------------------------------------


async def test_search(client: TestClient) -> None:
    r = await client.get("/search?q=flask&page=2&tag=web&tag=async")
    assert r.get_json() == {"query": "flask", "page": 2, "tags": ["web", "async"]}
    r = await client.get("/search", query_string={"page": "two"})
    assert r.get_json() == {"query": "", "page": 1, "tags": []}


# -- response shapes -----------------------------------------------------------------


async def test_json_dict(client: TestClient) -> None:
    r = await client.get("/json")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    assert r.get_json() == {"message": "Hello", "status": "success"}


async def test_created(client: TestClient) -> None:
    r = await client.get("/created")
    assert r.status_code == 201
    assert r.status == "201 CREATED"
    assert r.text == "Resource created"
    assert r.mimetype == "text/html"


async def test_with_headers(client: TestClient) -> None:
    r = await client.get("/with-headers")
    assert r.status_code == 200
    assert r.text == "OK"
    assert r.headers["X-Custom"] == "value"


async def test_json_created(client: TestClient) -> None:
    r = await client.get("/json-created")
    assert r.status_code == 200
    assert r.get_json() == {"id": 123}
    assert r.headers["Location"] == "/api/resource/123"


async def test_custom_make_response(client: TestClient) -> None:
    r = await client.get("/custom")
    assert r.text == "Hello from make_response"
    assert r.headers["X-Custom"] == "value"


async def test_text_response(client: TestClient) -> None:
    r = await client.get("/text")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.text == "Plain text, not HTML."


async def test_after_this_request_only_on_its_response(client: TestClient) -> None:
    r = await client.get("/special")
    assert r.text == "Special page"
    assert r.headers["X-Special"] == "true"
    r = await client.get("/json")
    assert "X-Special" not in r.headers


async def test_after_request_on_every_response(client: TestClient) -> None:
    for url in ("/", "/json", "/no-such-page", "/api/nothing", "/admin/users"):
        r = await client.get(url)
        assert r.headers["X-Served-By"] == "asyncflask-example", url


# -- cookies ---------------------------------------------------------------------


async def test_cookies_set_read_delete(client: TestClient) -> None:
    r = await client.get("/cookies")
    assert r.get_json() == {"cookies": {}}
    r = await client.get("/cookies/set?flavour=oatmeal")
    assert r.status_code == 302
    assert r.headers["Location"] == "/cookies"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("flavour=oatmeal;")
    for attribute in ("Max-Age=3600", "HttpOnly", "Path=/", "SameSite=Lax"):
        assert attribute in cookie
    r = await client.get("/cookies")
    assert r.get_json() == {"cookies": {"flavour": "oatmeal"}}
    r = await client.get("/cookies/delete", follow_redirects=True)
    assert r.status_code == 200
    assert r.get_json() == {"cookies": {}}
    assert [h.status_code for h in r.history] == [302]
    assert "Max-Age=0" in r.history[0].headers["Set-Cookie"]


# -- redirects and errors ----------------------------------------------------------


async def test_permanent_redirect(client: TestClient) -> None:
    r = await client.get("/old-page")
    assert r.status_code == 301
    assert r.headers["Location"] == "/"


async def test_redirect_with_url_for(client: TestClient) -> None:
    r = await client.get("/go/Ada")
    assert r.status_code == 302
    assert r.headers["Location"] == "/hello/Ada"
    r = await client.get("/go/Ada", follow_redirects=True)
    assert "Hello, Ada!" in r.text


async def test_404_is_html_outside_the_api(client: TestClient) -> None:
    r = await client.get("/no-such-page")
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    assert "There is no page at <code>/no-such-page</code>" in r.text


async def test_404_is_json_in_the_api(client: TestClient) -> None:
    r = await client.get("/api/no-such-thing")
    assert r.status_code == 404
    assert r.get_json() == {"error": "not found", "path": "/api/no-such-thing"}
    r = await client.get("/api/users/999")
    assert r.status_code == 404
    assert r.get_json() == {"error": "not found", "path": "/api/users/999"}


async def test_405(client: TestClient) -> None:
    r = await client.delete("/api/users/1")
    assert r.status_code == 405
    assert "GET" in r.headers["Allow"]


# -- the JSON API ----------------------------------------------------------------


async def test_list_users(client: TestClient) -> None:
    r = await client.get("/api/users")
    assert r.mimetype == "application/json"
    assert [u["name"] for u in r.get_json()] == ["Alice", "Bob"]


async def test_get_user(client: TestClient) -> None:
    r = await client.get("/api/users/1")
    assert r.get_json() == {"id": 1, "name": "Alice", "email": "alice@example.com"}


async def test_create_user(client: TestClient) -> None:
    r = await client.post("/api/users", json={"name": " Carol ", "email": "carol@example.com"})
    assert r.status_code == 201
    assert r.get_json() == {"id": 3, "name": "Carol", "email": "carol@example.com"}
    assert r.headers["Location"] == "/api/users/3"
    r = await client.get("/api/users/3")
    assert r.get_json()["name"] == "Carol"
    r = await client.get("/api/users")
    assert [u["id"] for u in r.get_json()] == [1, 2, 3]


async def test_create_user_invalid_json_is_400(client: TestClient) -> None:
    r = await client.post(
        "/api/users", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400


async def test_create_user_not_json_is_415(client: TestClient) -> None:
    r = await client.post("/api/users", data="name=Carol", content_type="text/plain")
    assert r.status_code == 415


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"email": "x@example.com"}, "name is required"),
        ({"name": "   "}, "name is required"),
        ({"name": 5}, "name is required"),
        ({"name": "Carol", "email": 5}, "email must be a string"),
        (["Carol"], "expected a JSON object"),
    ],
)
async def test_create_user_validation(client: TestClient, body: object, error: str) -> None:
    r = await client.post("/api/users", json=body)
    assert r.status_code == 400
    assert r.get_json() == {"error": error}
    r = await client.get("/api/users")
    assert len(r.get_json()) == 2


# -- the login form ----------------------------------------------------------------


async def test_login_form(client: TestClient) -> None:
    r = await client.get("/login")
    assert r.status_code == 200
    assert "<form method=post>" in r.text
    assert "name=username" in r.text
    assert "name=password" in r.text


async def test_login_and_logout(client: TestClient, example: ModuleType) -> None:
    data = {"username": "ann", "password": example.DEMO_PASSWORD}
    r = await client.post("/login", data=data)
    assert r.status_code == 302
    assert r.headers["Location"] == "/"
    assert "remember_me" not in r.headers.get("Set-Cookie", "")
    r = await client.get("/")
    assert "Logged in as ann." in r.text
    r = await client.get("/logout")
    assert r.status_code == 302
    deleted = [c for c in r.headers.get_list("Set-Cookie") if c.startswith("remember_me=")]
    assert len(deleted) == 1
    assert deleted[0].startswith("remember_me=;")
    assert "Max-Age=0" in deleted[0]
    r = await client.get("/")
    assert "Not logged in." in r.text


async def test_login_remember_me(client: TestClient, example: ModuleType) -> None:
    data = {"username": "ann", "password": example.DEMO_PASSWORD, "remember_me": "on"}
    r = await client.post("/login", data=data)
    assert r.status_code == 302
    cookies = r.headers.get_list("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_me=")]
    assert len(remember) == 1
    assert remember[0].startswith("remember_me=ann;")
    assert "Max-Age=2592000" in remember[0]


async def test_login_wrong_password(client: TestClient) -> None:
    r = await client.post("/login", data={"username": "ann", "password": "nope"})
    assert r.status_code == 401
    assert "Wrong user name or password." in r.text
    assert "<form method=post>" in r.text
    r = await client.get("/")
    assert "Not logged in." in r.text


async def test_login_missing_field_is_400(client: TestClient) -> None:
    r = await client.post("/login", data={"password": "asyncflask"})
    assert r.status_code == 400


# -- the admin blueprint -----------------------------------------------------------


async def test_admin_index(client: TestClient) -> None:
    r = await client.get("/admin/")
    assert r.status_code == 200
    assert "<a href='/admin/users'>Users</a>" in r.text
    assert r.headers["X-Admin"] == "true"


async def test_admin_users(client: TestClient) -> None:
    r = await client.get("/admin/users")
    assert r.get_json() == {
        "blueprint": "admin",
        "blueprints": ["admin"],
        "endpoint": "admin.users",
        "users": ["Alice", "Bob"],
    }
    assert r.headers["X-Admin"] == "true"
    r = await client.get("/json")
    assert "X-Admin" not in r.headers


# -- served as `make run` serves it ------------------------------------------------


def test_make_run_command_serves_the_example() -> None:
    script = Path(sys.executable).parent / "asyncflask"
    command = [str(script), "--app", "app:app", "run", "--host", "{host}", "--port", "{port}"]
    with (
        run_server(app_path=EXAMPLE, command=command) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        r = http.get("/")
        assert r.status_code == 200
        assert "asyncflask example" in r.text
        r = http.post("/api/users", json={"name": "Dan"})
        assert r.status_code == 201
        assert r.json()["name"] == "Dan"
        r = http.get("/api/nope")
        assert r.status_code == 404
        assert r.json()["error"] == "not found"
    assert "Traceback" not in server.stderr


# -- the login page's template and flashed message -----------------------------------


async def test_login_flashes_a_welcome_shown_once(client: TestClient, example: ModuleType) -> None:
    data = {"username": "ann", "password": example.DEMO_PASSWORD}
    await client.post("/login", data=data)
    r = await client.get("/")
    assert "<p class='flash success'>Welcome, ann!</p>" in r.text
    r = await client.get("/")
    assert "Welcome, ann!" not in r.text


async def test_login_template_escapes_the_user_name(client: TestClient) -> None:
    r = await client.post("/login", data={"username": "<b>x</b>", "password": "nope"})
    assert r.status_code == 401
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in r.text


# -- uploads and downloads -------------------------------------------------------------


async def test_upload_saves_the_file_and_lists_it(client: TestClient, example: ModuleType) -> None:
    name = f"up-{uuid.uuid4().hex}.txt"
    files = {"file": (name, b"uploaded bytes\n", "text/plain")}
    r = await client.post("/upload", files=files)
    assert r.status_code == 303
    assert r.headers["Location"] == "/upload"
    assert (example.UPLOAD_FOLDER / name).read_bytes() == b"uploaded bytes\n"
    r = await client.get("/upload")
    assert f"Uploaded {name}." in r.text
    assert f"/uploads/{name}" in r.text
    r = await client.get(f"/uploads/{name}")
    assert r.status_code == 200
    assert r.content == b"uploaded bytes\n"
    assert r.headers["Content-Disposition"] == f"attachment; filename={name}"
    (example.UPLOAD_FOLDER / name).unlink()


async def test_upload_secures_the_file_name(client: TestClient, example: ModuleType) -> None:
    files = {"file": ("../../evil name.txt", b"x", "text/plain")}
    r = await client.post("/upload", files=files)
    assert r.status_code == 303
    saved = example.UPLOAD_FOLDER / "evil_name.txt"
    assert saved.read_bytes() == b"x"
    saved.unlink()


async def test_upload_without_a_file(client: TestClient) -> None:
    r = await client.post("/upload", data={"other": "1"})
    assert r.status_code == 400
    assert "No file part." in r.text
    r = await client.post("/upload", data={"file": (io.BytesIO(b""), "")})
    assert r.status_code == 400
    assert "No selected file." in r.text


async def test_download_refuses_paths_out_of_the_folder(client: TestClient) -> None:
    for path in ("/uploads/..%2f..%2fetc%2fpasswd", "/uploads/%2e%2e/app.py"):
        r = await client.get(path)
        assert r.status_code == 404, path


async def test_download_is_conditional(client: TestClient) -> None:
    r = await client.get("/uploads/hello.txt")
    assert r.status_code == 200
    r2 = await client.get("/uploads/hello.txt", headers={"If-None-Match": r.headers["ETag"]})
    assert r2.status_code == 304
    r3 = await client.get("/uploads/hello.txt", headers={"Range": "bytes=0-4"})
    assert r3.status_code == 206
    assert r3.content == b"Hello"


async def test_report_is_an_attachment(client: TestClient) -> None:
    r = await client.get("/report")
    assert r.status_code == 200
    assert r.content == b"Report content\n"
    assert r.headers["Content-Disposition"] == "attachment; filename=report.txt"
    assert r.mimetype == "text/plain"


# -- server-sent events -------------------------------------------------------------------


async def test_clock_page_uses_event_source(client: TestClient) -> None:
    r = await client.get("/clock")
    assert r.status_code == 200
    assert 'new EventSource("/clock/events")' in r.text


async def test_clock_events_are_counted_and_resume_from_last_event_id(
    client: TestClient,
) -> None:
    r = await asyncio.wait_for(
        client.get("/clock/events", query_string={"count": "2"}, headers={"Last-Event-ID": "41"}),
        10,
    )
    assert r.status_code == 200
    assert r.mimetype == "text/event-stream"
    assert r.headers["Cache-Control"] == "no-cache"
    events = [e for e in r.text.split("\n\n") if e]
    assert len(events) == 2
    assert events[0].startswith("event: tick\nid: 42\ndata: {")
    assert events[1].startswith("event: tick\nid: 43\ndata: {")


async def test_endless_clock_stream_can_be_left(client: TestClient) -> None:
    async def first_event() -> bytes:
        async with client.stream("GET", "/clock/events") as r:
            async for chunk in r.aiter_raw():
                return chunk
        return b""

    chunk = await asyncio.wait_for(first_event(), 10)
    assert chunk.startswith(b"event: tick\nid: 0\n")
