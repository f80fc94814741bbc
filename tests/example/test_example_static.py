"""The example app's static files (examples/static/): the stylesheet and
the icons every page links, as the app serves them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType

import pytest

from asyncflask.testing import TestClient
from tests.support import EXAMPLE

STATIC = EXAMPLE.parent / "static"


@pytest.fixture
async def client(example: ModuleType) -> AsyncIterator[TestClient]:
    async with example.app.test_client() as client:
        yield client


@pytest.mark.parametrize(
    ("url", "file", "content_type"),
    [
        ("/static/style.css", "style.css", "text/css; charset=utf-8"),
        ("/static/favicon.svg", "favicon.svg", "image/svg+xml; charset=utf-8"),
        ("/static/favicon.ico", "favicon.ico", "image/vnd.microsoft.icon"),
        ("/favicon.ico", "favicon.ico", "image/vnd.microsoft.icon"),
    ],
)
async def test_static_files_are_served_for_revalidation(
    client: TestClient, url: str, file: str, content_type: str
) -> None:
    r = await client.get(url)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == content_type
    assert r.data == (STATIC / file).read_bytes()
    # Flask's default: cached, but checked with the server on each use
    assert r.headers["Cache-Control"] == "no-cache"
    assert r.headers["Last-Modified"]
    again = await client.get(url, headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


async def test_the_icon_file_is_an_icon(client: TestClient) -> None:
    r = await client.get("/favicon.ico")
    assert r.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert b"\x89PNG" in r.data
    r = await client.get("/static/favicon.svg")
    assert r.text.startswith("<svg ")


@pytest.mark.parametrize("url", ["/", "/login", "/chat", "/rooms/lobby", "/no-such-page"])
async def test_every_page_links_the_stylesheet_and_the_icon(client: TestClient, url: str) -> None:
    r = await client.get(url)
    assert r.mimetype == "text/html"
    assert "<link rel=stylesheet href='/static/style.css'>" in r.text
    assert "<link rel=icon type='image/svg+xml' href='/static/favicon.svg'>" in r.text
    assert "<nav class=site-nav>" in r.text


async def test_the_footer_offers_to_log_out_once_logged_in(client: TestClient) -> None:
    await client.post("/login", data={"username": "ann", "password": "asyncflask"})
    for url in ("/", "/login"):
        r = await client.get(url)
        assert "Logged in as ann." in r.text
        assert "/logout" in r.text
