"""The servers of docs/deployment.md, each run with the command the doc
gives: a GET, a JSON POST, an upload, an SSE stream, the lifespan
(``before_serving`` / ``after_serving``), and SIGTERM with a stream open.

The app writes markers to a file: ``started PID`` and ``stopped PID`` from
the lifespan functions, ``stream-closed PID`` from the SSE generator's
``finally``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.server import Server, run_server

APP = """
import asyncio
import hashlib
import os

from asyncflask import EventStream, Flask, ServerSentEvent, request

app = Flask(__name__)


def mark(what):
    with open(os.environ["MARKERS"], "a") as f:
        f.write(f"{what} {os.getpid()}\\n")


@app.before_serving
async def started():
    mark("started")


@app.after_serving
async def stopped():
    mark("stopped")


@app.get("/")
async def index():
    return {"hello": "world", "http_version": request.scope.get("http_version")}


@app.post("/json")
async def echo_json():
    return {"got": await request.get_json()}, 201


@app.post("/upload")
async def upload():
    files = await request.files
    form = await request.form
    if "file" not in files:
        return {"error": "no file"}, 400
    body = files["file"].read()
    return {
        "name": files["file"].filename,
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "note": form.get("note"),
    }


@app.get("/events")
async def events():
    async def ticks():
        try:
            for n in range(100_000):
                yield ServerSentEvent({"n": n, "pid": os.getpid()}, event="tick", id=n)
                await asyncio.sleep(0.05)
        finally:
            mark("stream-closed")

    return EventStream(ticks(), ping=15)
"""

# A gunicorn worker class that gives uvicorn a graceful-shutdown timeout
# shorter than gunicorn's --graceful-timeout (see docs/deployment.md).
WORKERS = """
from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "timeout_graceful_shutdown": 2}
"""


def _command(line: str) -> list[str]:
    """``server args...`` as run by this Python (``python -m server``)."""
    return [sys.executable, "-m", *line.split()]


@dataclass
class Case:
    command: list[str]
    workers: int
    #: whether the stream's generator is closed (its ``finally`` runs) and
    #: ``after_serving`` runs in its worker on SIGTERM; when not, what the
    #: server's log shows of it
    closes_streams: bool = True
    killed: str = ""


CASES = {
    "asyncflask": Case(
        _command(
            "asyncflask --app app:app run --host {host} --port {port} --workers 2"
            " --timeout-graceful-shutdown 2"
        ),
        workers=2,
    ),
    "uvicorn": Case(
        _command(
            "uvicorn app:app --host {host} --port {port} --workers 2 --timeout-graceful-shutdown 2"
        ),
        workers=2,
    ),
    "gunicorn": Case(
        _command(
            "gunicorn app:app --bind {host}:{port} --workers 2"
            " --worker-class workers.Worker --graceful-timeout 10 --no-control-socket"
        ),
        workers=2,
    ),
    "hypercorn": Case(
        _command("hypercorn app:app --bind {host}:{port} --graceful-timeout 2"),
        workers=1,
    ),
    "granian": Case(
        _command(
            "granian --interface asgi --host {host} --port {port} --workers 2"
            " --workers-kill-timeout 2 app:app"
        ),
        workers=2,
        closes_streams=False,
        killed="refused to gracefully stop",
    ),
    # what docs/deployment.md warns about
    "gunicorn-plain-worker": Case(
        _command(
            "gunicorn app:app --bind {host}:{port} --workers 2"
            " --worker-class uvicorn_worker.UvicornWorker --graceful-timeout 2 --no-control-socket"
        ),
        workers=2,
        closes_streams=False,
        killed="Waiting for connections to close",  # then SIGKILL, silently
    ),
    "hypercorn-workers": Case(
        _command("hypercorn app:app --bind {host}:{port} --workers 2 --graceful-timeout 2"),
        workers=2,
        closes_streams=False,
    ),
}

#: SIGTERM to exit, however the server shuts down
EXIT_BOUND = 15.0


def _markers(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    return [(w, int(pid)) for w, pid in (line.split() for line in path.read_text().splitlines())]


def _wait_for_markers(path: Path, what: str, count: int, server: Server) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = [pid for w, pid in _markers(path) if w == what]
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    pytest.fail(f"{count} x {what!r} not in {_markers(path)}:\n{server.stderr}\n{server.stdout}")


@pytest.fixture(params=list(CASES))
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Server, Path]]:
    name = request.param
    case = CASES[name]
    markers = tmp_path / "markers.txt"
    with run_server(
        APP,
        command=case.command,
        files={"workers.py": WORKERS},
        env={"MARKERS": str(markers)},
        stop_timeout=EXIT_BOUND,
    ) as server:
        _wait_for_markers(markers, "started", case.workers, server)
        yield name, server, markers


def _requests(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.json()["hello"] == "world"

    r = client.post("/json", json={"a": [1, 2], "é": None})
    assert r.status_code == 201
    assert r.json() == {"got": {"a": [1, 2], "é": None}}
    r = client.post("/json", content=b'{"a": ', headers={"content-type": "application/json"})
    assert r.status_code == 400

    data = os.urandom(300_000)
    r = client.post("/upload", files={"file": ("data.bin", data)}, data={"note": "hi"})
    assert r.status_code == 200
    assert r.json() == {
        "name": "data.bin",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "note": "hi",
    }
    truncated = b"--xx\r\nContent-Disposition: form-data; name=file; filename=a\r\n\r\nabc"
    r = client.post(
        "/upload", content=truncated, headers={"content-type": "multipart/form-data; boundary=xx"}
    )
    assert r.status_code == 400


def _read_events(lines: Iterator[str], count: int) -> list[dict[str, int]]:
    events = []
    for line in lines:
        if line.startswith("data: "):
            events.append(json.loads(line.removeprefix("data: ")))
            if len(events) == count:
                break
    return events


def test_server(served: tuple[str, Server, Path]) -> None:
    name, server, markers = served
    case = CASES[name]
    with httpx.Client(base_url=server.url, timeout=10) as client:
        _requests(client)

    timeout = httpx.Timeout(10, read=EXIT_BOUND + 5)
    with httpx.stream("GET", server.url + "/events", timeout=timeout) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        events = _read_events(lines, 3)
        assert [e["n"] for e in events] == [0, 1, 2]
        stream_pid = events[0]["pid"]

        sigterm = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        with pytest.raises(httpx.RemoteProtocolError):
            for _ in lines:  # the stream ends: the connection is closed mid-body
                assert time.monotonic() - sigterm < EXIT_BOUND
        stream_closed = time.monotonic() - sigterm

    server.wait(timeout=EXIT_BOUND)
    exited = time.monotonic() - sigterm
    assert stream_closed < EXIT_BOUND
    assert exited < EXIT_BOUND, f"{name} took {exited:.1f}s to exit"
    found = _markers(markers)
    started = {pid for what, pid in found if what == "started"}
    stopped = {pid for what, pid in found if what == "stopped"}
    assert len(started) == case.workers
    assert stream_pid in started
    if case.closes_streams:
        assert ("stream-closed", stream_pid) in found
        assert stopped == started
    else:
        # the worker with the stream is killed: the generator's finally
        # never runs
        assert ("stream-closed", stream_pid) not in found
        assert stopped - {stream_pid} == started - {stream_pid}
        assert case.killed in server.stdout + server.stderr


def test_hypercorn_http2() -> None:
    """Hypercorn speaks HTTP/2 (here without TLS, with prior knowledge)."""
    command = _command("hypercorn app:app --bind {host}:{port}")
    with (
        run_server(APP, command=command, env={"MARKERS": os.devnull}) as server,
        httpx.Client(base_url=server.url, http1=False, http2=True, timeout=10) as client,
    ):
        r = client.get("/")
        assert r.http_version == "HTTP/2"
        assert r.json() == {"hello": "world", "http_version": "2"}
        r = client.post("/json", json={"over": "h2"})
        assert r.status_code == 201
        assert r.json() == {"got": {"over": "h2"}}
        with client.stream("GET", "/events") as stream:
            assert stream.http_version == "HTTP/2"
            assert [e["n"] for e in _read_events(stream.iter_lines(), 3)] == [0, 1, 2]


# -- the doc gives the tested commands -------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


#: options the tests add: gunicorn's control socket has one default path,
#: which two servers started at once would share
TEST_ONLY = {"--no-control-socket"}


def _options(argv: list[str]) -> list[str]:
    return sorted(arg for arg in argv if arg.startswith("--") and arg not in TEST_ONLY)


@pytest.mark.parametrize("name", ["asyncflask", "uvicorn", "gunicorn", "hypercorn", "granian"])
def test_the_doc_gives_the_tested_command(name: str) -> None:
    """The doc's command for each server has the options the test runs it
    with (the values differ: public address, port, workers, timeouts)."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    lines = [line for block in blocks for line in block.splitlines() if line.startswith(name)]
    assert lines, f"no {name} command in {DOC.name}"
    tested = _options(CASES[name].command)
    assert tested in [_options(shlex.split(line)) for line in lines]


def test_the_doc_gives_the_tested_worker_class() -> None:
    text = DOC.read_text()
    for line in WORKERS.strip().splitlines():
        assert line.rsplit(":", 1)[0] in text


# -- behind a proxy: middleware on app.asgi_app ------------------------------------

PROXIED_APP = """
import os

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from asyncflask import Flask, request, url_for
from asyncflask.proxy import ProxyFix

app = Flask(__name__)
if os.environ.get("PROXIED") == "uvicorn":
    app.asgi_app = ProxyHeadersMiddleware(app.asgi_app, trusted_hosts="127.0.0.1")
elif os.environ.get("PROXIED") == "proxyfix":
    app.asgi_app = ProxyFix(app.asgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)


@app.route("/whoami")
async def whoami():
    return {
        "remote_addr": request.remote_addr,
        "scheme": request.scheme,
        "url": url_for("whoami", _external=True),
    }
"""


@pytest.mark.parametrize("proxied", ["uvicorn", "proxyfix", None])
def test_proxy_middleware_on_asgi_app_under_hypercorn(proxied: str | None) -> None:
    """Hypercorn reads no proxy headers itself: the middleware put on
    ``app.asgi_app`` gives the app the client's address and scheme (and,
    with ``ProxyFix``, the host and the mount prefix)."""
    command = _command("hypercorn app:app --bind {host}:{port}")
    forwarded = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "example.org",
        "X-Forwarded-Prefix": "/app",
    }
    with (
        run_server(PROXIED_APP, command=command, env={"PROXIED": proxied}) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        r = client.get("/whoami", headers=forwarded)
    host = server.url.removeprefix("http://")
    expected = {
        "uvicorn": ("203.0.113.7", "https", f"https://{host}/whoami"),
        "proxyfix": ("203.0.113.7", "https", "https://example.org/app/whoami"),
        None: ("127.0.0.1", "http", f"http://{host}/whoami"),
    }[proxied]
    assert r.status_code == 200
    assert r.json() == dict(zip(("remote_addr", "scheme", "url"), expected, strict=True))
