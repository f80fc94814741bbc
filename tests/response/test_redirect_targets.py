"""``redirect()`` to a target holding CR, LF or other control characters:
a 302 with them percent-encoded, never a 500 and never a second header."""

from __future__ import annotations

import pytest

from asyncflask import Flask, Response, redirect, request, url_for

TARGETS = [
    ("/next\r\nSet-Cookie: a=1", "/next%0D%0ASet-Cookie:%20a=1"),
    ("/next\nX: 1", "/next%0AX:%201"),
    ("/next\rX: 1", "/next%0DX:%201"),
    ("/a\x00b\x0bc\x1fd\x7f", "/a%00b%0Bc%1Fd%7F"),
    ("/caf\xe9?q=1#top", "/caf%C3%A9?q=1#top"),
    ("https://example.com/ok", "https://example.com/ok"),
]


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)

    @app.get("/go")
    async def go() -> Response:
        return redirect(request.args["to"])

    @app.get("/built")
    async def built() -> Response:
        to = request.args["to"]
        return redirect(url_for("go", to=to, _anchor=to))

    return app


@pytest.mark.parametrize(("target", "location"), TARGETS)
async def test_a_redirect_target_is_percent_encoded(app: Flask, target: str, location: str) -> None:
    async with app.test_client() as client:
        r = await client.get("/go", query_string={"to": target})
    assert r.status_code == 302
    assert r.headers["Location"] == location
    assert "Set-Cookie" not in r.headers
    assert "<a href=" in r.text  # Werkzeug's page, with the target escaped


@pytest.mark.parametrize(("target", "location"), TARGETS[:4])
async def test_a_built_url_with_control_characters_redirects(
    app: Flask, target: str, location: str
) -> None:
    async with app.test_client() as client:
        r = await client.get("/built", query_string={"to": target})
    assert r.status_code == 302
    assert "\r" not in r.headers["Location"] and "\n" not in r.headers["Location"]
    assert r.headers["Location"].startswith("/go?to=")


def test_redirect_outside_a_request_encodes_too() -> None:
    assert redirect("/a\r\nb").headers["Location"] == "/a%0D%0Ab"
    assert Flask(__name__).redirect("/a\nb", 301).headers["Location"] == "/a%0Ab"


async def test_a_location_set_by_hand_with_a_newline_is_an_error() -> None:
    """Only ``redirect()`` encodes: a header set by hand with a newline is
    refused by Werkzeug, as in Flask (a 500), so it is never sent split."""
    app = Flask(__name__)

    @app.get("/")
    async def index() -> Response:
        r = Response("x", 302)
        r.headers["Location"] = request.args["to"]
        return r

    async with app.test_client() as client:
        r = await client.get("/", query_string={"to": "/a\r\nSet-Cookie: a=1"})
    assert r.status_code == 500
    assert "Set-Cookie" not in r.headers
