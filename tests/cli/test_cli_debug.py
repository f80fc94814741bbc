"""Debug mode: ``asyncflask run --debug`` shows an unhandled error's
traceback in the browser and in the log, and reloads changed code; without
it a 500 tells nothing."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from asyncflask import Flask
from asyncflask.debug import DebugTraceback, render_traceback_page
from tests.server import run_server

APP = """
from asyncflask import Flask

app = Flask(__name__)


@app.get("/")
async def index():
    return "version 1"


@app.get("/boom")
async def boom():
    wanted = {"user": 7}
    raise RuntimeError("the <b>view</b> failed")


@app.get("/late")
async def late():
    async def body():
        yield "first part\\n"
        raise ValueError("failed while streaming")

    return body()
"""


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)


def test_debug_shows_the_traceback_in_the_browser_and_the_log() -> None:
    with run_server(APP, cli_args=["--debug"]) as server:
        assert _get(server.url + "/").text == "version 1"
        r = _get(server.url + "/boom")
        assert r.status_code == 500
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        page = r.text
        assert "<title>RuntimeError: the &lt;b&gt;view&lt;/b&gt; failed" in page
        assert "Traceback <em>(most recent call last)</em>" in page
        assert "raise RuntimeError(&#34;the &lt;b&gt;view&lt;/b&gt; failed&#34;)" in page
        assert "in boom" in page
        assert "<b>view</b>" not in page  # escaped, never markup
        assert "__debugger__" not in page  # no interactive console
        assert "<script" not in page
        log = server.wait_for_stderr("RuntimeError: the <b>view</b> failed")
        assert "Exception on /boom [GET]" in log
        assert "Traceback (most recent call last)" in log
        assert "Debug mode: on" in server.stderr
        # after the error the server goes on serving
        assert _get(server.url + "/").status_code == 200


def test_debug_error_after_the_response_started_is_logged() -> None:
    with run_server(APP, cli_args=["--debug"]) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            _get(server.url + "/late")
        server.wait_for_stderr("ValueError: failed while streaming")
        assert _get(server.url + "/").text == "version 1"


def test_without_debug_a_500_shows_no_traceback() -> None:
    with run_server(APP) as server:
        r = _get(server.url + "/boom")
        assert r.status_code == 500
        assert "Internal Server Error" in r.text
        for leak in ("Traceback", "RuntimeError", "failed", "boom", "wanted"):
            assert leak not in r.text
        log = server.wait_for_stderr("RuntimeError: the <b>view</b> failed")
        assert "Exception on /boom [GET]" in log
        assert "Debug mode: off" in server.stderr


def test_debug_reloads_changed_code() -> None:
    with run_server(APP, cli_args=["--debug"]) as server:
        assert _get(server.url + "/").text == "version 1"
        assert "Started reloader process" in server.stderr
        module = server.app_dir / "app.py"
        module.write_text(module.read_text().replace("version 1", "version 2"))
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline:
            try:
                text = _get(server.url + "/").text
            except httpx.TransportError:
                text = ""  # the worker is restarting
            if text == "version 2":
                break
            time.sleep(0.2)
        assert text == "version 2", server.stderr
    assert server.returncode is not None


# -- the middleware in process -------------------------------------------------------


def _failing_app() -> Flask:
    app = Flask("dbg")
    app.debug = True

    @app.get("/boom")
    async def boom() -> str:
        raise KeyError("missing-key")

    @app.get("/ok")
    async def ok() -> str:
        return "fine"

    return app


async def test_middleware_answers_with_the_page(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test_debug_page")
    wrapped = DebugTraceback(_failing_app(), logger)
    transport = httpx.ASGITransport(app=wrapped)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with caplog.at_level(logging.ERROR, logger="test_debug_page"):
            r = await client.get("/boom")
        assert (await client.get("/ok")).text == "fine"
    assert r.status_code == 500
    assert r.headers["cache-control"] == "no-store"
    assert int(r.headers["content-length"]) == len(r.content)
    assert "KeyError: &#39;missing-key&#39;" in r.text
    assert "GET /boom" in r.text
    [record] = caplog.records
    assert record.getMessage() == "Exception on /boom [GET]"
    assert record.exc_info is not None and record.exc_info[0] is KeyError


async def test_middleware_passes_other_scopes_and_late_errors_through() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise OSError("late")

    wrapped = DebugTraceback(app)

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await wrapped({"type": "lifespan"}, receive, send)
    with pytest.raises(OSError, match="late"):
        await wrapped({"type": "http", "path": "/", "method": "GET"}, receive, send)
    assert seen == ["lifespan", "http"]
    assert [m["type"] for m in sent] == ["http.response.start"]


def test_render_traceback_page_of_a_chained_error() -> None:
    try:
        try:
            {}["inner"]
        except KeyError as e:
            raise ValueError("outer") from e
    except ValueError as e:
        page = render_traceback_page(e, "POST /x")
    assert "<title>ValueError: outer" in page
    assert "KeyError" in page
    assert "direct cause" in page
    assert "POST /x" in page


def test_cli_debug_env_var_gives_the_page(tmp_path: Path) -> None:
    env = {"ASYNCFLASK_DEBUG": "1", "FLASK_DEBUG": None}
    with run_server(APP, cli_args=["--no-reload"], env=env) as server:
        r = _get(server.url + "/boom")
    assert r.status_code == 500
    assert "Traceback <em>(most recent call last)</em>" in r.text
    assert "Started reloader process" not in server.stderr
