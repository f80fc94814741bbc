"""Long runs against a real server: memory, idle connections and a soak.

``make soak`` (``python -m tests.soak``) prints, for each run, the figures
and whether they are within their limits, and exits with status 1 when one
is not:

- memory: the server's peak RSS and its longest event loop stall while it
  takes a 1 GiB multipart upload saved with ``await file.save``, a 1 GiB
  body read with ``async for chunk in request.stream``, and sends a 1 GiB
  ``send_file`` download and a 1 GiB download from an async generator;
- idle: 10,000 idle SSE connections at once (the descriptor limit raised in
  both processes): RSS per connection, keep-alive pings still reaching
  every connection, new requests still answered;
- form: a 240 MiB URL-encoded form, under limits raised for it, in a few
  big fields and in many small ones: the server's peak RSS above its idle
  RSS, as a multiple of the body's size;
- soak: 100,000 mixed requests on kept-alive connections: RSS after 10,000
  and after 100,000;
- fair: ``GET /ping`` times on the same worker while it sends a 1 GiB
  generated download and an event-stream firehose, and parses 8 MB forms
  and JSON documents (``tests/soakfair.py``).

``python -m tests.soak memory`` (or ``idle``, ``form``, ``soak``, ``fair``) runs
one of them; ``--size MiB``, ``--form MiB``, ``--idle N`` and ``--requests N``
make them smaller.
Not part of ``make test``: it takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import socket
import sys
import tempfile
import time
import typing as t
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.server import HOST, Server, run_server

MiB = 1024 * 1024
CHUNK = MiB

#: Limits a run must keep to.
MAX_PEAK_RSS_MIB = 100
MAX_STALL_MS = 250  # generous: the machine may be shared
MAX_RSS_PER_IDLE_KIB = 64
MAX_SOAK_GROWTH_MIB = 5
MAX_PING_MEDIAN_MS = 100
MAX_PING_UNDER_LOAD_MS = 1000
MAX_FORM_RSS_RATIO = 1.5

APP = """
import asyncio
import os
import resource
import time
from pathlib import Path

import anyio.to_thread

from asyncflask import EventStream, Flask, request, send_file

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

app = Flask(__name__)
DATA = Path(os.environ["SOAK_DIR"])
SIZE = int(os.environ["SOAK_SIZE"])
STALL = {"max": 0.0}


async def watch_the_loop():
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(0.005)
        STALL["max"] = max(STALL["max"], loop.time() - start - 0.005)


@app.before_serving
async def start_watching():
    app.watcher = asyncio.get_running_loop().create_task(watch_the_loop())


@app.get("/stall")
async def stall():
    value, STALL["max"] = STALL["max"], 0.0
    return {"stall": value}


@app.get("/ping")
async def ping():
    return "pong"


@app.post("/upload")
async def upload():
    request.body_timeout = None
    f = (await request.files)["f"]
    await f.save(DATA / "saved.bin")
    # removing a 1 GiB file takes a while: not on the event loop
    size = await anyio.to_thread.run_sync(remove, DATA / "saved.bin")
    return {"size": size}


def remove(path):
    size = path.stat().st_size
    path.unlink()
    return size


@app.post("/stream")
async def stream():
    request.body_timeout = None
    size = 0
    async for chunk in request.stream:
        size += len(chunk)
    return {"size": size}


@app.get("/file")
async def file():
    return send_file(DATA / "big.bin")


@app.get("/generated")
async def generated():
    async def body():
        block = b"g" * 65536
        for _ in range(SIZE // 65536):
            yield block

    return body()


@app.get("/sse")
async def sse():
    async def events():
        yield {"data": "hello"}
        await asyncio.Event().wait()  # idle: only the keep-alive pings flow

    return EventStream(events(), ping=float(os.environ.get("SOAK_PING", "2")))


@app.get("/json")
async def json_view():
    return {"n": request.args.get("n", type=int), "items": list(range(20))}


@app.post("/echo")
async def echo():
    return {"got": await request.get_json()}


@app.post("/form")
async def form():
    return (await request.form).to_dict()


@app.post("/bigform")
async def bigform():
    request.body_timeout = None
    request.max_content_length = 1 << 40  # limits raised for this route
    request.max_form_memory_size = 1 << 40
    request.max_form_parts = 1 << 40
    form = await request.form
    return {"fields": len(form), "size": sum(len(v) for v in form.values())}


@app.get("/small")
async def small():
    return send_file(DATA / "small.bin")


@app.get("/chunks")
async def chunks():
    async def body():
        for i in range(10):
            yield f"chunk {i}\\n"

    return body()
"""


@dataclass
class Figure:
    """One measured figure and its limit (``None``: reported only)."""

    name: str
    value: float
    unit: str
    limit: float | None = None

    @property
    def ok(self) -> bool:
        return self.limit is None or self.value <= self.limit

    def __str__(self) -> str:
        limit = "" if self.limit is None else f" (limit {self.limit:g})"
        mark = "ok " if self.ok else "OVER"
        return f"  [{mark}] {self.name}: {self.value:,.1f} {self.unit}{limit}"


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def soak_server(size: int, ping: float = 2.0) -> Iterator[tuple[Server, Path]]:
    with tempfile.TemporaryDirectory(prefix="asyncflask-soak-") as tmp:
        data = Path(tmp)
        with open(data / "big.bin", "wb") as f:  # sparse: no disk, reads as zeros
            f.truncate(size)
        (data / "small.bin").write_bytes(os.urandom(4096))
        env = {"SOAK_DIR": str(data), "SOAK_SIZE": str(size), "SOAK_PING": str(ping)}
        cli = ["--log-level", "warning", "--no-access-log"]
        with run_server(APP, env=env, cli_args=cli) as server:
            yield server, data


# -- a small HTTP/1.1 client on asyncio streams ------------------------------------------


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        return status, await reader.readexactly(int(headers[b"content-length"]))
    body = b""
    if headers.get(b"transfer-encoding") == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += await reader.readexactly(size + 2)
            if size == 0:
                return status, body
    return status, await reader.read()


async def request(
    port: int, head: bytes, body: AsyncIterator[bytes] | None = None, sink: bool = False
) -> tuple[int, int]:
    """One request on its own connection; the body streamed from ``body``,
    a large response counted as it comes (``sink``). Returns status and size."""
    reader, writer = await asyncio.open_connection(HOST, port, limit=4 * MiB)
    try:
        writer.write(head)
        if body is not None:
            async for chunk in body:
                writer.write(chunk)
                await writer.drain()
        await writer.drain()
        if not sink:
            status, data = await read_response(reader)
            return status, len(data)
        head_bytes = await reader.readuntil(b"\r\n\r\n")
        status = int(head_bytes.split()[1])
        size = 0
        while chunk := await reader.read(MiB):
            size += len(chunk)
        return status, size
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def generate(total: int, prefix: bytes = b"", suffix: bytes = b"") -> AsyncIterator[bytes]:
    yield prefix
    block = os.urandom(CHUNK)
    sent = 0
    while sent < total:
        n = min(CHUNK, total - sent)
        yield block[:n]
        sent += n
    yield suffix


def get_json(port: int, path: str) -> t.Any:
    import json

    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return json.loads(data.partition(b"\r\n\r\n")[2])


# -- the runs ------------------------------------------------------------------------------


async def _upload(port: int, size: int) -> tuple[int, int]:
    boundary = "soakboundary"
    prefix = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    suffix = f"\r\n--{boundary}--\r\n".encode()
    head = (
        f"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(prefix) + size + len(suffix)}\r\n\r\n"
    ).encode()
    return await request(port, head, generate(size, prefix, suffix))


async def _stream(port: int, size: int) -> tuple[int, int]:
    head = (
        f"POST /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {size}\r\n\r\n"
    )
    return await request(port, head.encode(), generate(size))


async def _download(port: int, path: str) -> tuple[int, int]:
    head = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    return await request(port, head, sink=True)


def run_memory(size: int) -> list[Figure]:
    figures = []
    runs: list[tuple[str, Callable[[int], t.Coroutine[t.Any, t.Any, tuple[int, int]]]]] = [
        ("multipart upload, await file.save", lambda port: _upload(port, size)),
        ("body read with async for chunk in request.stream", lambda port: _stream(port, size)),
        ("send_file download", lambda port: _download(port, "/file")),
        ("async generator download", lambda port: _download(port, "/generated")),
    ]
    for name, run in runs:
        with soak_server(size) as (server, _):
            get_json(server.port, "/stall")  # start from zero
            start = time.monotonic()
            status, got = asyncio.run(run(server.port))
            elapsed = time.monotonic() - start
            stall = get_json(server.port, "/stall")["stall"]
            peak = server.vm_hwm_kib() / 1024
        print(f"{name} ({size // MiB} MiB): status {status}, {elapsed:.1f} s")
        if status != 200:
            print(f"  [OVER] answered {status}")
            figures.append(Figure(f"{name}: status", status, "", 200))
        figures.append(Figure(f"{name}: peak RSS", peak, "MiB", MAX_PEAK_RSS_MIB))
        figures.append(Figure(f"{name}: longest loop stall", stall * 1000, "ms", MAX_STALL_MS))
        figures.append(Figure(f"{name}: throughput", size / MiB / elapsed, "MiB/s"))
        for f in figures[-3:]:
            print(f)
        del got
    return figures


def form_body(size: int, field: int) -> Iterator[bytes]:
    """A URL-encoded body of ``size`` bytes, in fields of about ``field``
    bytes (``f<n>=vvv...&``), sent a MiB at a time."""
    if field >= CHUNK:
        value = b"v" * CHUNK
        sent = 0
        for n in range(size // field):
            head = b"%sf%d=" % (b"&" if n else b"", n)
            yield head
            left = min(field, size - sent) - len(head)
            sent += len(head)
            while left > 0:
                yield value[: min(CHUNK, left)]
                sent += min(CHUNK, left)
                left -= CHUNK
        return
    one = b"f=" + b"v" * (field - 3) + b"&"
    block = one * (CHUNK // len(one))
    for _ in range(size // len(block)):
        yield block


def form_size(size: int, field: int) -> int:
    return sum(len(chunk) for chunk in form_body(size, field))


async def _form(port: int, size: int, field: int) -> tuple[int, int]:
    async def body() -> AsyncIterator[bytes]:
        for chunk in form_body(size, field):
            yield chunk

    head = (
        "POST /bigform HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {form_size(size, field)}\r\n\r\n"
    )
    return await request(port, head.encode(), body())


def run_form(size: int) -> list[Figure]:
    figures = []
    for name, field in (("4 big fields", size // 4), ("1 KiB fields", 1024)):
        total = form_size(size, field)
        with soak_server(MiB) as (server, _):
            get_json(server.port, "/stall")
            idle = server.vm_rss_kib()
            start = time.monotonic()
            status, _ = asyncio.run(_form(server.port, size, field))
            elapsed = time.monotonic() - start
            stall = get_json(server.port, "/stall")["stall"]
            peak = server.vm_hwm_kib()
        ratio = (peak - idle) * 1024 / total
        print(f"urlencoded form, {name} ({total / MiB:.0f} MiB): status {status}, {elapsed:.1f} s")
        figures += [
            Figure(f"form, {name}: status", status, "", 200),
            Figure(f"form, {name}: peak RSS above idle", (peak - idle) / 1024, "MiB"),
            Figure(f"form, {name}: that, over the body", ratio, "x", MAX_FORM_RSS_RATIO),
            Figure(f"form, {name}: longest loop stall", stall * 1000, "ms"),
        ]
        for f in figures[-4:]:
            print(f)
    return figures


async def _idle_connections(port: int, count: int, ping: float) -> tuple[int, int, list[float]]:
    """Open ``count`` SSE connections, then wait for a keep-alive ping on
    each; returns how many got their first event, how many then got a ping,
    and the times new requests took meanwhile."""
    pinged = 0
    streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for start in range(0, count, 250):  # batches: the listen backlog is finite
        batch = await asyncio.gather(
            *(asyncio.open_connection(HOST, port) for _ in range(min(250, count - start)))
        )
        for _, writer in batch:
            writer.write(b"GET /sse HTTP/1.1\r\nHost: x\r\n\r\n")
        for reader, _ in batch:
            await asyncio.wait_for(reader.readuntil(b"data: hello\n\n"), 60)
        streams.extend(batch)
    opened = len(streams)

    async def wait_ping(reader: asyncio.StreamReader) -> bool:
        try:
            await asyncio.wait_for(reader.readuntil(b": ping\n\n"), ping * 3)
            return True
        except (TimeoutError, asyncio.IncompleteReadError):
            return False

    waiting = asyncio.gather(*(wait_ping(reader) for reader, _ in streams))
    # timed by another process, so this one's 10,000 readers do not count
    timer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _TIME_PINGS, str(port), str(ping), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await timer.communicate()
    times = sorted(float(x) for x in out.split())
    pinged = sum(await waiting)
    for _, writer in streams:
        writer.close()
    return opened, pinged, times


# GET /ping ten times over two ping intervals, on new connections; prints seconds
_TIME_PINGS = """
import socket, sys, time
port, interval = int(sys.argv[1]), float(sys.argv[2])
for _ in range(10):
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    print(time.monotonic() - start if data.endswith(b"pong") else "inf", flush=True)
    time.sleep(interval / 5)
"""


def run_idle(count: int) -> list[Figure]:
    raise_fd_limit()
    ping = 2.0
    with soak_server(MiB, ping=ping) as (server, _):
        get_json(server.port, "/stall")
        before = server.vm_rss_kib()
        start = time.monotonic()
        opened, pinged, times = asyncio.run(_idle_connections(server.port, count, ping))
        elapsed = time.monotonic() - start
        after_peak = server.vm_hwm_kib()
    per = (after_peak - before) / max(opened, 1)
    print(f"{count:,} idle SSE connections: {opened:,} opened, {elapsed:.1f} s")
    print("  new requests meanwhile (ms): " + ", ".join(f"{x * 1000:.0f}" for x in times))
    figures = [
        Figure("idle SSE: connections opened short of the goal", count - opened, "", 0),
        Figure("idle SSE: connections that missed the keep-alive ping", opened - pinged, "", 0),
        Figure("idle SSE: RSS per connection", per, "KiB", MAX_RSS_PER_IDLE_KIB),
        Figure("idle SSE: server RSS with all open", after_peak / 1024, "MiB"),
        Figure(
            "idle SSE: new request, median of 10",
            times[len(times) // 2] * 1000,
            "ms",
            MAX_PING_MEDIAN_MS,
        ),
        Figure(
            "idle SSE: new request, slowest of 10", times[-1] * 1000, "ms", MAX_PING_UNDER_LOAD_MS
        ),
    ]
    for f in figures:
        print(f)
    return figures


_MIXED = [
    b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /json?n=7 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b'Content-Length: 27\r\n\r\n{"a": [1, 2, 3], "b": null}',
    b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 15\r\n\r\na=1&b=%C3%A9&c=",
    b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /chunks HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
]


async def _mixed(
    port: int, total: int, connections: int, checkpoints: dict[int, Callable[[], None]]
) -> int:
    done = 0
    errors = 0

    async def worker() -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while done < total:
                raw = _MIXED[done % len(_MIXED)]
                done += 1
                if done in checkpoints:
                    checkpoints[done]()
                writer.write(raw)
                status, _ = await read_response(reader)
                if status >= 500:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return errors


def run_soak(total: int) -> list[Figure]:
    with soak_server(MiB) as (server, _):
        rss: dict[int, float] = {}
        first = total // 10

        def at(n: int) -> Callable[[], None]:
            return lambda: rss.__setitem__(n, server.vm_rss_kib() / 1024)

        start = time.monotonic()
        errors = asyncio.run(_mixed(server.port, total, 16, {first: at(first), total: at(total)}))
        elapsed = time.monotonic() - start
        time.sleep(0.5)
        rss[total] = max(rss.get(total, 0), server.vm_rss_kib() / 1024)
        stderr = server.stderr
    print(f"{total:,} mixed requests: {elapsed:.1f} s, {total / elapsed:,.0f} requests/s")
    figures = [
        Figure(f"soak: RSS after {first:,}", rss[first], "MiB"),
        Figure(f"soak: RSS after {total:,}", rss[total], "MiB"),
        Figure("soak: RSS growth", rss[total] - rss[first], "MiB", MAX_SOAK_GROWTH_MIB),
        Figure("soak: 5xx answers", errors, "", 0),
        Figure("soak: tracebacks logged", stderr.count("Traceback"), "", 0),
    ]
    for f in figures:
        print(f)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("runs", nargs="*", help="memory, idle, form, soak, fair (default: all)")
    parser.add_argument("--size", type=int, default=1024, help="MiB per memory run (1024)")
    parser.add_argument("--form", type=int, default=240, help="MiB of the form run (240)")
    parser.add_argument("--idle", type=int, default=10_000, help="idle SSE connections (10000)")
    parser.add_argument("--requests", type=int, default=100_000, help="soak requests (100000)")
    args = parser.parse_args(argv)
    runs = args.runs or ["memory", "idle", "form", "soak", "fair"]
    unknown = set(runs) - {"memory", "idle", "form", "soak", "fair"}
    if unknown:
        parser.error(f"unknown runs: {', '.join(sorted(unknown))}")
    figures: list[Figure] = []
    if "memory" in runs:
        figures += run_memory(args.size * MiB)
    if "idle" in runs:
        figures += run_idle(args.idle)
    if "form" in runs:
        figures += run_form(args.form * MiB)
    if "soak" in runs:
        figures += run_soak(args.requests)
    if "fair" in runs:
        from tests.soakfair import run_fair  # it imports this module

        figures += run_fair(args.size * MiB)
    over = [f for f in figures if not f.ok]
    print(f"\n{len(figures) - len(over)} of {len(figures)} figures within their limits")
    for f in over:
        print(f)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
