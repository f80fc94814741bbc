"""Count the instructions one request costs each framework, in process:
``python -m bench.inproc [--frameworks ...] [--only ...]``.

Each bench app is called directly as an ASGI app in a loop (no server, no
sockets; the loop's own cost is in every figure), under valgrind's
callgrind, which counts instructions rather than time: the figures repeat
on a busy machine. A run of ``n`` requests and a run of ``n + extra`` give
the cost of ``extra`` requests without start-up and import.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from .apps import FRAMEWORKS, app_module
from .scenarios import SCENARIOS, Scenario
from .server import ROOT

App = Callable[..., Awaitable[None]]
WARM, EXTRA = 100, 1000


def _scope(sc: Scenario, path: str) -> dict[str, Any]:
    url = urlsplit(path)
    headers = [(b"host", b"127.0.0.1")]
    if sc.body:
        headers += [
            (b"content-type", sc.content_type.encode()),
            (b"content-length", str(len(sc.body)).encode()),
        ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": sc.method,
        "scheme": "http",
        "path": url.path,
        "raw_path": url.path.encode(),
        "query_string": url.query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _lifespan(app: App) -> None:
    """Run the app's lifespan start-up, when it has one (BlackSheep needs it)."""
    started = asyncio.Event()
    messages = iter([{"type": "lifespan.startup"}])

    async def receive() -> dict[str, Any]:
        try:
            return next(messages)
        except StopIteration:
            await asyncio.Event().wait()  # shutdown never comes
            raise AssertionError from None

    async def send(message: dict[str, Any]) -> None:
        started.set()

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    done, _ = await asyncio.wait([task, asyncio.create_task(started.wait())], timeout=5)
    if task in done:  # no lifespan support: the app raised or returned at once
        task.exception()


async def serve(framework: str, scenario: str, n: int) -> None:
    """Call ``framework``'s app ``n`` times with ``scenario``'s requests."""
    sc = next(s for s in SCENARIOS if s.name == scenario)
    module = importlib.import_module(app_module(framework))
    if sc.routes:
        os.environ["BENCH_ROUTES"] = str(sc.routes)  # the table's size, as bench.run sets it
    app: App = module.routes_app() if sc.routes else module.app
    await _lifespan(app)
    paths = sc.paths or (sc.path,)
    scopes = [_scope(sc, p) for p in paths[:1000]]
    request = {"type": "http.request", "body": sc.body, "more_body": False}
    statuses: list[int] = []

    def receiver() -> Callable[[], Awaitable[dict[str, Any]]]:
        """A request's ``receive``: its body, then, as from a server, nothing
        until the client leaves (which it never does here)."""
        messages = [request]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        return receive

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    # every URL once first, in every run alike, so that what a framework does
    # on its first sight of a URL or rule is not counted as a request's cost
    warm = len(scopes) if len(scopes) > 1 else 0
    for i in range(warm + n):
        scope = scopes[i % len(scopes)]
        await app(dict(scope, headers=list(scope["headers"])), receiver(), send)
    bad = [s for s in statuses if s != 200]
    if bad or len(statuses) != warm + n:
        sys.exit(f"{framework} {scenario}: {len(statuses)} answers, statuses {set(bad)}")


def _instructions(framework: str, scenario: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        cmd += [sys.executable, "-m", "bench.inproc", "--serve", framework, scenario, str(n)]
        env = dict(os.environ, PYTHONHASHSEED="0", BENCH_UPLOAD_DIR=tmp)
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise RuntimeError(run.stderr.strip().splitlines()[-1])
        match = re.search(r"Collected : (\d+)", run.stderr)
        assert match, run.stderr[-500:]
        return int(match.group(1))


def count(framework: str, scenario: str) -> float:
    """Instructions per request of ``scenario`` on ``framework``."""
    base = _instructions(framework, scenario, WARM)
    return (_instructions(framework, scenario, WARM + EXTRA) - base) / EXTRA


INPROC = [sc.name for sc in SCENARIOS if sc.kind == "wrk"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.inproc", description=__doc__.split("\n")[0])
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    p.add_argument("--only", default=",".join(INPROC), help="comma-separated scenarios")
    p.add_argument("--serve", nargs=3, metavar=("FW", "SCENARIO", "N"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        framework, scenario, n = args.serve
        asyncio.run(serve(framework, scenario, int(n)))
        return 0
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install -y valgrind")
    return table("in-process", count, args.frameworks.split(","), args.only.split(","))


def table(
    where: str, count: Callable[[str, str], float], frameworks: list[str], scenarios: list[str]
) -> int:
    """Print ``count(framework, scenario)`` of each as a Markdown table, a
    row per scenario as soon as it is known, then all of them as JSON."""
    figures: dict[str, dict[str, float | str]] = {}
    print(f"| per request, {where} | " + " | ".join(frameworks) + " |")
    print("|---|" + "---|" * len(frameworks))
    for scenario in scenarios:
        row = figures.setdefault(scenario, {})
        for fw in frameworks:
            try:
                row[fw] = round(count(fw, scenario))
            except RuntimeError as e:
                row[fw] = f"FAIL: {e}"
        cells = [f"{v / 1000:.1f}k" if isinstance(v, int) else "FAIL" for v in row.values()]
        print(f"| {scenario} | " + " | ".join(cells) + " |", flush=True)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
