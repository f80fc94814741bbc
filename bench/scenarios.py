"""The scenarios: what is requested, how the answer is checked, and how a
timed run is measured."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from . import client, wrk, wsclient
from .apps import CHUNK, CHUNK_SIZE, PLAINTEXT, route_body, sse_event
from .server import Server

MIB = 1024 * 1024

FORM = {f"field{i}": f"value {i}: café & co/?=" for i in range(10)}
JSON_DOC = {
    "id": 12345,
    "customer": {"id": 987, "email": "someone@example.com", "tags": ["vip", "beta"]},
    "items": [
        {
            "sku": f"SKU-{i:05d}",
            "title": f"Item number {i}",
            "qty": i + 1,
            "price": round(4.99 + i * 1.5, 2),
            "gift": i % 3 == 0,
        }
        for i in range(11)
    ],
    "note": "Leave at the door, please.",
}
BOUNDARY = "----asyncflaskbench7MA4YWxkTrZu0gW"
UPLOAD_BLOCK = random.Random(0).randbytes(MIB)


class CheckFailed(Exception):
    """The framework answered wrongly: the scenario is reported as FAIL."""


@dataclass(frozen=True)
class Settings:
    quick: bool
    rounds: int
    duration: int
    connections: int
    upload_bytes: int
    download_bytes: int
    sse_events: int
    workdir: Path


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "wrk", "upload", "download", "sse" or "ws"
    summary: str
    check: Callable[[Scenario, Server], None]
    method: str = "GET"
    path: str = ""
    body: bytes = b""
    content_type: str = ""
    routes: int | None = None  # served by the route-table app of this size
    #: When set, wrk walks these paths (``path`` is then the first of them),
    #: so that no cache of one URL can flatter the figure.
    paths: tuple[str, ...] = ()


#: Per kind: the headline metric, its unit, and the CPU-cost metric and unit.
METRICS = {
    "wrk": ("rps", "req/s", "cpu_us", "µs/req"),
    "upload": ("mib_s", "MiB/s", "cpu_ms_per_mib", "ms/MiB"),
    "download": ("mib_s", "MiB/s", "cpu_ms_per_mib", "ms/MiB"),
    "sse": ("events_s", "events/s", "cpu_us", "µs/event"),
    "ws": ("msgs_s", "msg/s", "cpu_us", "µs/msg"),
}


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def fetch(server: Server, sc: Scenario, path: str | None = None) -> client.Reply:
    headers = {"Content-Type": sc.content_type} if sc.content_type else None
    return client.request(server.port, sc.method, path or sc.path, body=sc.body, headers=headers)


def expect_status(reply: client.Reply, status: int = 200) -> None:
    expect(reply.status == status, f"status {reply.status}, want {status}: {reply.body[:60]!r}")


def expect_json(reply: client.Reply, want: object) -> None:
    expect_status(reply)
    expect(reply.content_type.startswith("application/json"), f"type {reply.content_type!r}")
    try:
        got = reply.json()
    except ValueError:
        raise CheckFailed(f"not JSON: {reply.body[:120]!r}") from None
    expect(got == want, f"wrong JSON: {str(got)[:120]}")


# -- checks --------------------------------------------------------------------


def check_plaintext(sc: Scenario, server: Server) -> None:
    reply = fetch(server, sc)
    expect_status(reply)
    expect(reply.body == PLAINTEXT, f"body {reply.body[:60]!r}")
    expect(reply.content_type.startswith("text/plain"), f"type {reply.content_type!r}")


def check_json(sc: Scenario, server: Server) -> None:
    expect_json(fetch(server, sc), {"message": "Hello, World!"})


def check_path_query(sc: Scenario, server: Server) -> None:
    for path in random.Random(2).sample(sc.paths, 20):
        user_id, fields = path.removeprefix("/users/").split("?fields=")
        expect_json(fetch(server, sc, path), {"id": int(user_id), "fields": fields.split(",")})
    expect_status(fetch(server, sc, "/users/abc?fields=name"), 404)


def check_form(sc: Scenario, server: Server) -> None:
    expect_json(fetch(server, sc), FORM)


def check_json_post(sc: Scenario, server: Server) -> None:
    expect_json(fetch(server, sc), JSON_DOC)


def check_routes(sc: Scenario, server: Server) -> None:
    assert sc.routes
    samples = random.Random(2).sample(sc.paths, 20)
    for i, item in [(sc.routes - 1, 42), (0, 7), *(_route_of(p) for p in samples)]:
        reply = fetch(server, sc, f"/route{i}/{item}")
        expect_status(reply)
        expect(reply.body == route_body(i, item), f"body {reply.body[:60]!r}")
    expect_status(fetch(server, sc, f"/route{sc.routes}/1"), 404)


def _route_of(path: str) -> tuple[int, int]:
    rule, item = path.removeprefix("/route").split("/")
    return int(rule), int(item)


def _upload_parts(size: int) -> tuple[Iterator[bytes], int]:
    pre = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nbenchmark\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="blob.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    post = f"\r\n--{BOUNDARY}--\r\n".encode()

    def parts() -> Iterator[bytes]:
        yield pre
        yield from _upload_content(size)
        yield post

    return parts(), len(pre) + size + len(post)


def _upload_content(size: int) -> Iterator[bytes]:
    full, rest = divmod(size, MIB)
    for _ in range(full):
        yield UPLOAD_BLOCK
    if rest:
        yield UPLOAD_BLOCK[:rest]


def upload(server: Server, size: int, digest: bool, timeout: float = 60) -> client.Reply:
    parts, length = _upload_parts(size)
    ctype = f"multipart/form-data; boundary={BOUNDARY}"
    target = "/upload?digest=1" if digest else "/upload"
    return client.request(
        server.port,
        "POST",
        target,
        body=parts,
        length=length,
        headers={"Content-Type": ctype},
        timeout=timeout,
    )


def check_upload(sc: Scenario, server: Server) -> None:
    size = MIB + 12345
    md5 = hashlib.md5()
    for block in _upload_content(size):
        md5.update(block)
    expect_json(upload(server, size, digest=True), {"size": size, "md5": md5.hexdigest()})


def check_download(sc: Scenario, server: Server) -> None:
    size = 3 * CHUNK_SIZE + 123
    reply = client.request(server.port, "GET", f"/download?size={size}")
    expect_status(reply)
    expect(reply.body == CHUNK * 3 + CHUNK[:123], f"wrong body ({reply.size} bytes)")


def check_sse(sc: Scenario, server: Server) -> None:
    count = 500
    reply = client.request(server.port, "GET", f"/sse?count={count}")
    expect_status(reply)
    expect(reply.content_type.startswith("text/event-stream"), f"type {reply.content_type!r}")
    want = b"".join(sse_event(i) for i in range(count))
    expect(reply.body == want, f"wrong events ({reply.size} bytes, want {len(want)})")


def check_ws(sc: Scenario, server: Server) -> None:
    replies = wsclient.check(server.port)
    expect(replies == ["hello", "é" * 100, b"\x00\xff"], f"echoed {str(replies)[:80]}")


#: How many distinct URLs a scenario with varied paths walks.
URL_COUNT = 10_000
FIELDS = ("name", "email", "name,email", "id,name,email", "created", "name,created,tags")


def _user_paths() -> tuple[str, ...]:
    rng = random.Random(0)
    ids = rng.sample(range(1, 10_000_000), URL_COUNT)
    return tuple(f"/users/{i}?fields={rng.choice(FIELDS)}" for i in ids)


def _route_paths(n: int) -> tuple[str, ...]:
    rng = random.Random(n)
    ids = rng.sample(range(1, 10_000_000), URL_COUNT)
    return tuple(f"/route{rng.randrange(n)}/{i}" for i in ids)


def _route_scenario(n: int) -> Scenario:
    paths = _route_paths(n)
    return Scenario(
        f"routes-{n}",
        "wrk",
        f"GET /route<i>/<id> on an app of {n} rules `/route<i>/<int:item_id>`:"
        f" {URL_COUNT:,} URLs, any rule, any id",
        check_routes,
        path=paths[0],
        routes=n,
        paths=paths,
    )


USER_PATHS = _user_paths()


SCENARIOS = [
    Scenario(
        "plaintext",
        "wrk",
        "GET /plaintext: a 13-byte text/plain body",
        check_plaintext,
        path="/plaintext",
    ),
    Scenario("json", "wrk", "GET /json: a small dict serialized to JSON", check_json, path="/json"),
    Scenario(
        "path-query",
        "wrk",
        f"GET /users/<id>?fields=<names>: an int path converter and a query argument,"
        f" JSON out; {URL_COUNT:,} URLs",
        check_path_query,
        path=USER_PATHS[0],
        paths=USER_PATHS,
    ),
    Scenario(
        "form",
        "wrk",
        f"POST /form: a {len(urlencode(FORM))}-byte urlencoded body of 10 fields, echoed as JSON",
        check_form,
        method="POST",
        path="/form",
        body=urlencode(FORM).encode(),
        content_type="application/x-www-form-urlencoded",
    ),
    Scenario(
        "json-post",
        "wrk",
        f"POST /echo: a {len(json.dumps(JSON_DOC))}-byte JSON body parsed and echoed",
        check_json_post,
        method="POST",
        path="/echo",
        body=json.dumps(JSON_DOC).encode(),
        content_type="application/json",
    ),
    Scenario(
        "upload",
        "upload",
        "POST /upload: one multipart file saved to disk; MiB/s and the server's peak RSS",
        check_upload,
    ),
    Scenario(
        "download",
        "download",
        "GET /download?size=N: a body streamed as 64 KiB chunks from an async generator",
        check_download,
    ),
    Scenario(
        "sse",
        "sse",
        "GET /sse?count=N: `data: event <i>` events from an async generator, as fast as sent",
        check_sse,
    ),
    _route_scenario(10),
    _route_scenario(1000),
    Scenario(
        "ws-echo",
        "ws",
        "websocket /ws/echo: N connections each sending a 64-byte text and awaiting its echo",
        check_ws,
    ),
]


# -- timed runs ------------------------------------------------------------------


def lua_script(sc: Scenario, settings: Settings) -> Path:
    path = settings.workdir / f"{sc.name}.lua"
    if not path.exists():
        wrk.write_script(settings.workdir, sc.name, sc.method, sc.body, sc.content_type, sc.paths)
    return path


def run_wrk(sc: Scenario, server: Server, settings: Settings) -> dict[str, float]:
    script = lua_script(sc, settings)
    url = f"http://127.0.0.1:{server.port}{sc.path}"
    cpu = server.cpu_seconds()
    out = wrk.run(url, script, settings.duration, settings.connections)
    cpu = server.cpu_seconds() - cpu
    expect(server.alive(), f"server died: {server.log_tail()}")
    requests = out["requests"]
    expect(requests > 0, "no request completed")
    expect(out["status_errors"] == 0, f"{out['status_errors']:.0f} non-2xx/3xx responses")
    expect(out["socket_errors"] < 0.01 * requests, f"{out['socket_errors']:.0f} socket errors")
    return {
        "rps": requests / (out["duration_us"] / 1e6),
        "p50_ms": out["p50_us"] / 1000,
        "p99_ms": out["p99_us"] / 1000,
        "cpu_us": cpu / requests * 1e6,
        "requests": requests,
        "socket_errors": out["socket_errors"],
    }


def _repeat(server: Server, seconds: float, once: Callable[[], None]) -> tuple[int, float, float]:
    """Call ``once`` until ``seconds`` have passed (at least once), so the
    window is long enough for /proc's 10 ms CPU ticks. Returns the number of
    calls, wall seconds and server CPU seconds."""
    server.reset_peak_rss()
    cpu = server.cpu_seconds()
    start = time.perf_counter()
    calls = 0
    while True:
        once()
        calls += 1
        wall = time.perf_counter() - start
        if wall >= seconds:
            return calls, wall, server.cpu_seconds() - cpu


def run_upload(sc: Scenario, server: Server, settings: Settings) -> dict[str, float]:
    size = settings.upload_bytes

    def once() -> None:
        expect_json(upload(server, size, digest=False), {"size": size})

    calls, wall, cpu = _repeat(server, settings.duration, once)
    return _transfer_figures(server, size * calls / MIB, wall, cpu, transfers=calls)


def _transfer_figures(
    server: Server, mib: float, seconds: float, cpu: float, **counts: float
) -> dict[str, float]:
    return {
        "mib_s": mib / seconds,
        "cpu_ms_per_mib": cpu / mib * 1000,
        "peak_rss_mib": server.peak_rss_mib(),
        **counts,
        "seconds": seconds,
    }


def _wire_size(server: Server, path: str, body_size: int) -> int:
    """Bytes of one whole reply to ``GET path`` as wrk receives it (status
    line, headers, chunk framing, body), read with a keep-alive request like
    wrk's so that the headers are the same."""
    counter = client.Counter()
    reply = client.request(server.port, "GET", path, sink=counter, timeout=60, close=False)
    expect_status(reply)
    expect(counter.size == body_size, f"got {counter.size} body bytes, want {body_size}")
    return reply.wire_size


def _run_stream(
    sc: Scenario, server: Server, settings: Settings, path: str, body_size: int
) -> tuple[int, float, float, float, float]:
    """``GET path`` back to back with wrk on one connection for the run's
    duration. Returns the bytes of one whole reply on the wire, the bytes wrk
    read, the complete replies, wrk's seconds and the server's CPU seconds."""
    wire = _wire_size(server, path, body_size)
    script = lua_script(sc, settings)
    url = f"http://127.0.0.1:{server.port}{path}"
    server.reset_peak_rss()
    cpu = server.cpu_seconds()
    out = wrk.run(url, script, settings.duration, connections=1, timeout=60)
    cpu = server.cpu_seconds() - cpu
    expect(server.alive(), f"server died: {server.log_tail()}")
    requests, got = out["requests"], out["bytes"]
    expect(requests > 0, "no response completed")
    expect(out["status_errors"] == 0, f"{out['status_errors']:.0f} non-2xx/3xx responses")
    expect(out["socket_errors"] == 0, f"{out['socket_errors']:.0f} socket errors")
    # Every complete reply is ``wire`` bytes, and the run ends inside the next one.
    expect(
        requests * wire <= got < (requests + 1) * wire,
        f"wrk read {got:.0f} bytes in {requests:.0f} replies of {wire} bytes",
    )
    return wire, got, requests, out["duration_us"] / 1e6, cpu


def run_download(sc: Scenario, server: Server, settings: Settings) -> dict[str, float]:
    size = settings.download_bytes
    _, got, requests, seconds, cpu = _run_stream(
        sc, server, settings, f"/download?size={size}", size
    )
    # Everything wrk read: headers and chunk framing count too (9 bytes per
    # 64 KiB chunk and about 150 per reply: 0.014%, negligible), and so does
    # the part of the last download that arrived before the run ended.
    return _transfer_figures(server, got / MIB, seconds, cpu, requests=requests)


def run_sse(sc: Scenario, server: Server, settings: Settings) -> dict[str, float]:
    count = settings.sse_events
    want = sum(len(sse_event(i)) for i in range(count))
    wire, got, requests, seconds, cpu = _run_stream(
        sc, server, settings, f"/sse?count={count}", want
    )
    # Events are the bytes wrk read divided by the bytes of one event on the
    # wire (one whole stream's bytes over its ``count`` events: headers and
    # chunk framing included, about 6 of an event's 24 bytes), not complete
    # streams times ``count``: the run ends in the middle of a stream, and
    # counting complete streams only would drop the events of that stream
    # that did arrive, up to a whole stream's worth in every run.
    events = got / wire * count
    return {
        "events_s": events / seconds,
        "cpu_us": cpu / events * 1e6,
        "requests": requests,
        "seconds": seconds,
    }


def run_ws(sc: Scenario, server: Server, settings: Settings) -> dict[str, float]:
    cpu = server.cpu_seconds()
    echoes, seconds = wsclient.echo(server.port, settings.connections, settings.duration)
    cpu = server.cpu_seconds() - cpu
    expect(server.alive(), f"server died: {server.log_tail()}")
    expect(echoes > 0, "no message echoed")
    return {"msgs_s": echoes / seconds, "cpu_us": cpu / echoes * 1e6, "messages": echoes}


RUNNERS = {
    "wrk": run_wrk,
    "upload": run_upload,
    "download": run_download,
    "sse": run_sse,
    "ws": run_ws,
}


def measure(sc: Scenario, server: Server, settings: Settings) -> dict[str, float]:
    """One timed run of ``sc`` against ``server``; raises CheckFailed."""
    return RUNNERS[sc.kind](sc, server, settings)
