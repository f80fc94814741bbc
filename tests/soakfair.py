"""The fairness runs of ``make soak``: ``GET /ping`` on the same worker
while it sends or parses something big.

Each scenario runs its load while another process sends ``GET /ping`` on a
kept-alive connection every few milliseconds; the ping times give p50, p99
and the slowest. The scenarios:

- a 1 GiB download from an async generator that never waits, read as fast
  as the client can (its throughput is reported too);
- a server-sent events firehose: an ``EventStream`` whose generator never
  waits, read as fast as the client can;
- 8 MB URL-encoded forms and 8 MB multipart forms, posted one after another;
- 8 MB JSON documents (an array of small objects), posted one after another.

``python -m tests.soak fair`` runs them; ``--size`` sets the download's MiB.
The download and the firehose report their throughput too.
"""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.server import HOST, run_server
from tests.soak import Figure

MiB = 1024 * 1024
FORM_SIZE = 8 * 1000 * 1000
#: ping p99 limits (ms). A JSON document is parsed by C code that holds the
#: GIL for the whole parse (on the loop or in a thread alike), so a ping
#: waits for one parse: the JSON limit only catches worse than that.
MAX_PING_P99_MS = 50
MAX_JSON_PING_P99_MS = 1000
#: how many big forms or JSON documents are posted while the pings run
POSTS = 8

APP = """
import os

from asyncflask import EventStream, Flask, request

app = Flask(__name__)
app.config.update(MAX_FORM_PARTS=None, MAX_FORM_MEMORY_SIZE=None, BODY_TIMEOUT=None)
SIZE = int(os.environ["FAIR_SIZE"])
EVENTS = int(os.environ["FAIR_EVENTS"])


@app.get("/ping")
async def ping():
    return "pong"


@app.get("/generated")
async def generated():
    async def body():
        block = b"g" * 65536
        for _ in range(SIZE // 65536):
            yield block

    return body()


@app.get("/firehose")
async def firehose():
    async def events():
        for n in range(EVENTS):
            yield {"data": {"n": n, "text": "x" * 100}, "id": n}

    return EventStream(events())


@app.post("/form")
async def form():
    return {"fields": len(await request.form)}


@app.post("/json")
async def json_post():
    return {"items": len(await request.get_json())}
"""

# GET /ping on one kept-alive connection until stdin closes; prints seconds
_PINGER = """
import select, socket, sys, time
port, every = int(sys.argv[1]), float(sys.argv[2])
sock = socket.create_connection(("127.0.0.1", port), timeout=30)
times = []
while not select.select([sys.stdin], [], [], every)[0]:
    start = time.monotonic()
    sock.sendall(b"GET /ping HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    data = b""
    try:
        while not data.endswith(b"pong"):
            chunk = sock.recv(4096)
            if not chunk:
                raise SystemExit("the server closed the ping connection")
            data += chunk
    except TimeoutError:
        times.append(float("inf"))
        break
    times.append(time.monotonic() - start)
print(" ".join(f"{x:.6f}" for x in times))
"""


@dataclass
class Pings:
    """Ping times, in seconds, sorted."""

    times: list[float]

    def quantile(self, q: float) -> float:
        return self.times[min(len(self.times) - 1, int(q * len(self.times)))]


def with_pings(port: int, load: Callable[[], object], every: float = 0.01) -> tuple[Pings, float]:
    """Run ``load()`` while another process pings; returns the ping times
    and how long ``load`` took."""
    pinger = subprocess.Popen(
        [sys.executable, "-c", _PINGER, str(port), str(every)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        time.sleep(0.3)  # connected and pinging
        start = time.monotonic()
        load()
        elapsed = time.monotonic() - start
        assert pinger.stdin is not None and pinger.stdout is not None
        pinger.stdin.close()
        out = pinger.stdout.read()
        pinger.wait(30)
    finally:
        if pinger.poll() is None:
            pinger.kill()
            pinger.wait()
    return Pings(sorted(float(x) for x in out.split())), elapsed


def read_all(port: int, path: str) -> int:
    """GET ``path`` and read the whole (close-delimited or chunked) answer as
    fast as possible; returns the bytes received."""
    with socket.create_connection((HOST, port), timeout=60) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        buf = bytearray(MiB)
        total = 0
        while n := sock.recv_into(buf):
            total += n
    return total


def post(port: int, path: str, content_type: str, body: bytes) -> dict[str, int]:
    """POST ``body`` on a new connection; returns the JSON answer."""
    with socket.create_connection((HOST, port), timeout=60) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    if status != 200:
        raise RuntimeError(f"POST {path} answered {status}")
    answer: dict[str, int] = json.loads(data.partition(b"\r\n\r\n")[2])
    return answer


def urlencoded_body(size: int) -> bytes:
    value = b"=" + b"v%C3%A9" * 13 + b"+" + b"w" * 20
    n = size // (len(b"field000000&") + len(value))
    return b"&".join(b"field%06d" % i + value for i in range(n))


def multipart_body(size: int, boundary: str) -> bytes:
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="field%06d"\r\n\r\n'.encode()
        + b"v" * 300
        + b"\r\n"
    )
    n = size // len(part % 0)
    return b"".join(part % i for i in range(n)) + f"--{boundary}--\r\n".encode()


def json_body(size: int) -> bytes:
    item = '{"id": %d, "name": "item %d", "price": 12.5, "tags": ["a", "b"], "ok": true}'
    n = size // len(item % (100000, 100000))
    return ("[" + ", ".join(item % (i, i) for i in range(n)) + "]").encode()


def _post_many(
    port: int, path: str, content_type: str, body: bytes, answers: list[dict[str, int]]
) -> None:
    for _ in range(POSTS):
        answers.append(post(port, path, content_type, body))


def ping_figures(name: str, pings: Pings, limit: float) -> list[Figure]:
    print(f"  {len(pings.times)} pings")
    if not pings.times:
        return [Figure(f"{name}: pings answered", 0, "", -1)]
    return [
        Figure(f"{name}: ping p50", pings.quantile(0.5) * 1000, "ms"),
        Figure(f"{name}: ping p99", pings.quantile(0.99) * 1000, "ms", limit),
        Figure(f"{name}: slowest ping", pings.times[-1] * 1000, "ms"),
    ]


def run_fair(size: int, events: int = 200_000) -> list[Figure]:
    """The four scenarios; ``size`` is the download's bytes."""
    figures: list[Figure] = []
    env = {"FAIR_SIZE": str(size), "FAIR_EVENTS": str(events)}
    cli = ["--log-level", "warning", "--no-access-log"]
    with run_server(APP, env=env, cli_args=cli) as server:
        port = server.port
        got: list[int] = []
        pings, elapsed = with_pings(port, lambda: got.append(read_all(port, "/generated")))
        name = f"generator download ({size // MiB} MiB)"
        print(f"{name}: {got[0] / MiB:,.0f} MiB in {elapsed:.1f} s")
        figures += ping_figures(name, pings, MAX_PING_P99_MS)
        figures.append(Figure(f"{name}: throughput", got[0] / MiB / elapsed, "MiB/s"))

        got.clear()
        pings, elapsed = with_pings(port, lambda: got.append(read_all(port, "/firehose")))
        name = f"SSE firehose ({events:,} events)"
        print(f"{name}: {got[0] / MiB:,.0f} MiB in {elapsed:.1f} s")
        figures += ping_figures(name, pings, MAX_PING_P99_MS)
        figures.append(Figure(f"{name}: throughput", events / elapsed, "events/s"))

        boundary = "fairboundary"
        bodies = [
            (
                "8 MB urlencoded form",
                "/form",
                "application/x-www-form-urlencoded",
                urlencoded_body(FORM_SIZE),
                MAX_PING_P99_MS,
            ),
            (
                "8 MB multipart form",
                "/form",
                f"multipart/form-data; boundary={boundary}",
                multipart_body(FORM_SIZE, boundary),
                MAX_PING_P99_MS,
            ),
            ("8 MB JSON", "/json", "application/json", json_body(FORM_SIZE), MAX_JSON_PING_P99_MS),
        ]
        for name, path, content_type, body, limit in bodies:
            answers: list[dict[str, int]] = []
            post_all = functools.partial(_post_many, port, path, content_type, body, answers)
            pings, elapsed = with_pings(port, post_all)
            print(f"{name}: {POSTS} posts in {elapsed:.1f} s, {answers[0]}")
            figures += ping_figures(name, pings, limit)
        stderr = server.stderr
    figures.append(Figure("fairness: tracebacks logged", stderr.count("Traceback"), "", 0))
    for f in figures:
        print(f)
    return figures
