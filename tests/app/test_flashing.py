"""Message flashing: ``flash`` and ``get_flashed_messages`` across redirects,
with categories and filters, compared with Flask 3.1."""

from __future__ import annotations

from typing import Any

import flask
import pytest

from asyncflask import (
    Flask,
    flash,
    get_flashed_messages,
    redirect,
    render_template_string,
    session,
    url_for,
)
from asyncflask.testing import TestClient

MESSAGES = [("hello", "message"), ("careful", "warning"), ("broken", "error"), ("hi", "info")]


@pytest.fixture
def fapp(app: Flask) -> Flask:
    app.secret_key = "flashing"

    @app.route("/flash")
    async def do_flash() -> Any:
        for message, category in MESSAGES:
            if category == "message":
                flash(message)
            else:
                flash(message, category)
        return redirect(url_for("show"))

    @app.route("/show")
    async def show() -> dict[str, Any]:
        return {"messages": get_flashed_messages()}

    @app.route("/with-categories")
    async def with_categories() -> dict[str, Any]:
        return {"messages": get_flashed_messages(with_categories=True)}

    @app.route("/filtered")
    async def filtered() -> dict[str, Any]:
        return {"messages": get_flashed_messages(category_filter=["error", "warning"])}

    @app.route("/filtered-with-categories")
    async def filtered_with_categories() -> dict[str, Any]:
        return {
            "messages": get_flashed_messages(with_categories=True, category_filter=["info"]),
        }

    return app


def _flask_reference(endpoint: str) -> Any:
    """Flask's answer for the same flash-then-read sequence."""
    ref = flask.Flask("reference")
    ref.secret_key = "flashing"

    @ref.route("/flash")
    def do_flash() -> Any:
        for message, category in MESSAGES:
            if category == "message":
                flask.flash(message)
            else:
                flask.flash(message, category)
        return flask.redirect(flask.url_for("show"))

    @ref.route("/show")
    def show() -> dict[str, Any]:
        return {"messages": flask.get_flashed_messages()}

    @ref.route("/with-categories")
    def with_categories() -> dict[str, Any]:
        return {"messages": flask.get_flashed_messages(with_categories=True)}

    @ref.route("/filtered")
    def filtered() -> dict[str, Any]:
        return {"messages": flask.get_flashed_messages(category_filter=["error", "warning"])}

    @ref.route("/filtered-with-categories")
    def filtered_with_categories() -> dict[str, Any]:
        return {
            "messages": flask.get_flashed_messages(with_categories=True, category_filter=["info"]),
        }

    client = ref.test_client()
    client.get("/flash")
    first = client.get(endpoint).get_json()
    second = client.get(endpoint).get_json()
    return first, second


async def test_flash_across_redirect(fapp: Flask, client: TestClient) -> None:
    r = await client.get("/flash", follow_redirects=True)
    assert r.status_code == 200
    assert r.get_json() == {"messages": ["hello", "careful", "broken", "hi"]}
    assert len(r.history) == 1
    assert r.history[0].status_code == 302
    assert r.history[0].headers["Location"] == "/show"


async def test_messages_are_consumed(fapp: Flask, client: TestClient) -> None:
    await client.get("/flash")
    assert (await client.get("/show")).get_json() == {"messages": list(_texts())}
    assert (await client.get("/show")).get_json() == {"messages": []}


def _texts() -> list[str]:
    return [m for m, _ in MESSAGES]


@pytest.mark.parametrize(
    "endpoint", ["/show", "/with-categories", "/filtered", "/filtered-with-categories"]
)
async def test_same_as_flask(fapp: Flask, client: TestClient, endpoint: str) -> None:
    await client.get("/flash")
    first = (await client.get(endpoint)).get_json()
    second = (await client.get(endpoint)).get_json()
    expected_first, expected_second = _flask_reference(endpoint)
    assert first == expected_first
    assert second == expected_second


async def test_with_categories(fapp: Flask, client: TestClient) -> None:
    await client.get("/flash")
    messages = (await client.get("/with-categories")).get_json()["messages"]
    assert messages == [[c, m] for m, c in MESSAGES]


async def test_category_filter_consumes_all(fapp: Flask, client: TestClient) -> None:
    await client.get("/flash")
    assert (await client.get("/filtered")).get_json() == {"messages": ["careful", "broken"]}
    # the filter does not keep the others for later (as in Flask)
    assert (await client.get("/show")).get_json() == {"messages": []}


async def test_filter_with_categories(fapp: Flask, client: TestClient) -> None:
    await client.get("/flash")
    assert (await client.get("/filtered-with-categories")).get_json() == {
        "messages": [["info", "hi"]]
    }


async def test_same_list_for_the_rest_of_the_request(fapp: Flask, client: TestClient) -> None:
    @fapp.route("/twice")
    async def twice() -> dict[str, Any]:
        first = get_flashed_messages()
        second = get_flashed_messages(with_categories=True)
        third = get_flashed_messages(category_filter=["error"])
        return {"first": first, "second": second, "third": third}

    await client.get("/flash")
    data = (await client.get("/twice")).get_json()
    assert data["first"] == _texts()
    assert data["second"] == [[c, m] for m, c in MESSAGES]
    assert data["third"] == ["broken"]


async def test_flash_and_read_in_same_request(fapp: Flask, client: TestClient) -> None:
    @fapp.route("/same")
    async def same() -> dict[str, Any]:
        flash("now")
        return {"messages": get_flashed_messages()}

    assert (await client.get("/same")).get_json() == {"messages": ["now"]}
    assert (await client.get("/show")).get_json() == {"messages": []}


async def test_flashes_accumulate_over_requests(fapp: Flask, client: TestClient) -> None:
    @fapp.route("/one/<text>")
    async def one(text: str) -> str:
        flash(text)
        return "ok"

    await client.get("/one/a")
    await client.get("/one/b")
    assert (await client.get("/show")).get_json() == {"messages": ["a", "b"]}


async def test_flashes_live_in_session_under_flask_key(fapp: Flask, client: TestClient) -> None:
    @fapp.route("/peek")
    async def peek() -> dict[str, Any]:
        return {"flashes": session.get("_flashes")}

    await client.get("/flash")
    peeked = (await client.get("/peek")).get_json()
    assert peeked == {"flashes": [[c, m] for m, c in MESSAGES]}
    # a Flask app sharing the key reads asyncflask's flashes
    ref = flask.Flask("reference")
    ref.secret_key = "flashing"

    @ref.route("/show")
    def show() -> dict[str, Any]:
        return {"messages": flask.get_flashed_messages(with_categories=True)}

    fclient = ref.test_client()
    fclient.set_cookie("session", client.cookies["session"])
    assert fclient.get("/show").get_json() == {"messages": [[c, m] for m, c in MESSAGES]}


async def test_flash_in_sync_view(fapp: Flask, client: TestClient) -> None:
    @fapp.route("/sync")
    def sync_flash() -> Any:
        flash("from a thread", "info")
        return redirect("/with-categories")

    r = await client.get("/sync", follow_redirects=True)
    assert r.get_json() == {"messages": [["info", "from a thread"]]}


async def test_flashed_messages_in_template(fapp: Flask, client: TestClient) -> None:
    @fapp.route("/page")
    async def page() -> str:
        return await render_template_string(
            "{% for category, message in get_flashed_messages(with_categories=true) %}"
            "[{{ category }}:{{ message }}]{% endfor %}"
        )

    await client.get("/flash")
    assert (await client.get("/page")).text == (
        "[message:hello][warning:careful][error:broken][info:hi]"
    )


async def test_flash_escaped_in_template(fapp: Flask, client: TestClient) -> None:
    @fapp.route("/xss")
    async def xss() -> Any:
        flash("<script>")
        return redirect("/page")

    @fapp.route("/page")
    async def page() -> str:
        return await render_template_string("{{ get_flashed_messages()[0] }}")

    r = await client.get("/xss", follow_redirects=True)
    assert r.text == "&lt;script&gt;"


async def test_flash_without_secret_key_is_500(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        flash("x")
        return "ok"

    assert (await client.get("/")).status_code == 500


async def test_no_flashes_no_cookie(fapp: Flask, client: TestClient) -> None:
    r = await client.get("/show")
    assert r.get_json() == {"messages": []}
    assert "Set-Cookie" not in r.headers


async def test_get_flashed_messages_outside_request(fapp: Flask) -> None:
    with pytest.raises(RuntimeError, match="request context"):
        get_flashed_messages()
    async with fapp.app_context():
        with pytest.raises(RuntimeError, match="request context"):
            flash("x")
