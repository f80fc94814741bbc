"""Run the benchmarks: ``python -m bench.run [--quick] [--only ...] [--frameworks ...]
[--servers ...]``.

Every framework's app is served by its own server process (uvicorn, and
granian as the second server) pinned to CPU 0; wrk (every scenario but
upload) and the Python client (upload and the checks) run pinned to CPU 1.
Each scenario is first checked (a wrong answer is reported as FAIL and not
timed), then timed in rounds whose framework order alternates (A B C D,
D C B A, ...) so drift hits all alike. Medians go to bench/results/ as
Markdown and JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import report, wrk
from .apps import FRAMEWORKS
from .scenarios import METRICS, MIB, SCENARIOS, CheckFailed, Scenario, Settings, measure
from .server import ROOT, SERVERS, Server

SERVER_CPU, CLIENT_CPU = 0, 1
#: what each app needs installed, if not its own name
MODULES = {"raw": "python_multipart", "asyncflask+speedups": "orjson"}
Key = tuple[str, str, str]  # scenario, framework, server


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="short runs (under 2 minutes)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--only", help="comma-separated scenarios (a prefix like 'routes' works)")
    p.add_argument("--frameworks", help=f"comma-separated subset of {','.join(FRAMEWORKS)}")
    p.add_argument("--servers", help=f"comma-separated subset of {','.join(SERVERS)}")
    p.add_argument("--rounds", type=int, help="rounds per scenario (default 5, quick 2)")
    p.add_argument("--duration", type=int, help="seconds per timed run (default 3, quick 1)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    p.add_argument("--upload-mib", type=int, help="upload size (default 100, quick 16)")
    p.add_argument("--download-mib", type=int, help="download size (default 100, quick 16)")
    p.add_argument("--sse-events", type=int, help="events per SSE run (default 20,000)")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    return p.parse_args(argv)


def select(names: str | None, choices: list[str], what: str) -> list[str]:
    if not names:
        return choices
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    picked = [c for c in choices if any(c == w or c.startswith(w + "-") for w in wanted)]
    unknown = [w for w in wanted if not any(c == w or c.startswith(w + "-") for c in choices)]
    if unknown or not picked:
        sys.exit(f"unknown {what}: {', '.join(unknown) or names}; choose from {', '.join(choices)}")
    return picked


def pin_self() -> int | None:
    """Pin this process (and so wrk) to CLIENT_CPU; return the server's CPU,
    or None when there are not two CPUs to split."""
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= cpus:
        print(f"warning: CPUs {SERVER_CPU} and {CLIENT_CPU} not both available; not pinning")
        return None
    os.sched_setaffinity(0, {CLIENT_CPU})
    return SERVER_CPU


class Bench:
    def __init__(
        self,
        settings: Settings,
        scenarios: list[Scenario],
        frameworks: list[str],
        servers: list[str],
    ):
        self.settings = settings
        self.scenarios = scenarios
        self.frameworks = frameworks
        self.server_names = servers
        self.server_cpu = pin_self()
        self.servers: dict[tuple[str, str, int | None], Server] = {}
        self.errors: dict[Key, str] = {}
        self.runs: dict[Key, list[dict[str, float]]] = {}

    def server(self, fw: str, name: str, routes: int | None) -> Server:
        """The running server ``name`` for ``fw`` (restarted if it died)."""
        srv = self.servers.get((fw, name, routes))
        if srv is None or not srv.alive():
            srv = Server(fw, routes, self.server_cpu, self.settings.workdir, name)
            srv.start()
            self.servers[fw, name, routes] = srv
            srv.wait_ready()
        return srv

    def start_all(self) -> None:
        """Start every needed server at once, then wait for each."""
        for name in self.server_names:
            for fw in self.frameworks:
                needed = (MODULES.get(fw, fw), name)
                missing = [m for m in needed if importlib.util.find_spec(m) is None]
                if missing:
                    for sc in self.scenarios:
                        self.errors[sc.name, fw, name] = (
                            f"{missing[0]} is not installed (pip install -e '.[bench]')"
                        )
                    continue
                for size in sorted({sc.routes or 0 for sc in self.scenarios}):
                    srv = Server(fw, size or None, self.server_cpu, self.settings.workdir, name)
                    srv.start()
                    self.servers[fw, name, size or None] = srv
        for (fw, name, routes), srv in self.servers.items():
            try:
                srv.wait_ready()
            except RuntimeError as e:
                for sc in self.scenarios:
                    if sc.routes == routes:
                        self.errors[sc.name, fw, name] = str(e)

    def attempt(self, sc: Scenario, fw: str, name: str, first: bool) -> None:
        key = (sc.name, fw, name)
        srv = None
        logged = 0
        try:
            srv = self.server(fw, name, sc.routes)
            logged = srv.log_size()
            if first:
                sc.check(sc, srv)
                if sc.kind == "wrk" and not self.settings.quick:
                    measure(sc, srv, replace(self.settings, duration=1))  # warm-up
            run = measure(sc, srv, self.settings)
        except CheckFailed as e:
            self.errors[key] = str(e)
        except Exception as e:  # whatever goes wrong is that framework's FAIL
            self.errors[key] = f"{type(e).__name__}: {e}"
        else:
            self.runs.setdefault(key, []).append(run)
            return
        if srv is not None and (line := srv.last_log_line(logged)):
            self.errors[key] += f" (server log: {line})"
        print(f"  FAIL {sc.name} / {fw} on {name}: {self.errors[key]}", flush=True)

    def run(self) -> None:
        rounds = self.settings.rounds
        for n in range(rounds):
            order = self.frameworks if n % 2 == 0 else self.frameworks[::-1]
            print(f"round {n + 1}/{rounds}: {' '.join(order)}", flush=True)
            for sc in self.scenarios:
                for name in self.server_names:
                    for fw in order:
                        if (sc.name, fw, name) not in self.errors:
                            self.attempt(sc, fw, name, first=n == 0)
                    self.progress(sc, name)

    def progress(self, sc: Scenario, name: str) -> None:
        key, unit = METRICS[sc.kind][:2]
        parts = []
        for fw in self.frameworks:
            runs = self.runs.get((sc.name, fw, name))
            if (sc.name, fw, name) in self.errors:
                parts.append(f"{fw} FAIL")
            elif runs:
                parts.append(f"{fw} {runs[-1][key]:,.1f}")
        print(f"  {sc.name:<12} {name:<8} {unit:<9} " + "  ".join(parts), flush=True)

    def stop(self) -> None:
        for srv in self.servers.values():
            srv.stop()

    def results(self) -> list[dict[str, Any]]:
        out = []
        for name in self.server_names:
            for sc in self.scenarios:
                for fw in self.frameworks:
                    key = (sc.name, fw, name)
                    runs = self.runs.get(key, [])
                    error = self.errors.get(key)
                    median = (
                        {k: statistics.median(r[k] for r in runs) for k in runs[0]} if runs else {}
                    )
                    out.append(
                        {
                            "scenario": sc.name,
                            "framework": fw,
                            "server": name,
                            "status": "FAIL" if error or not runs else "ok",
                            "error": error,
                            "median": median,
                            "runs": runs,
                        }
                    )
        return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for sc in SCENARIOS:
            print(f"{sc.name:<12} {sc.summary}")
        return 0
    q = args.quick
    scenarios = [
        sc
        for sc in SCENARIOS
        if sc.name in select(args.only, [s.name for s in SCENARIOS], "scenario")
    ]
    frameworks = select(args.frameworks, list(FRAMEWORKS), "framework")
    servers = select(args.servers, list(SERVERS), "server")
    if any(sc.kind not in ("upload", "ws") for sc in scenarios) and wrk.ensure_wrk() is None:
        return 2
    started = time.monotonic()
    machine = report.machine()  # before the servers import asyncflask
    with tempfile.TemporaryDirectory(prefix="asyncflask-bench-") as tmp:
        settings = Settings(
            quick=q,
            rounds=args.rounds or (2 if q else 5),
            duration=args.duration or (1 if q else 3),
            connections=args.connections,
            upload_bytes=(args.upload_mib or (16 if q else 100)) * MIB,
            download_bytes=(args.download_mib or (16 if q else 100)) * MIB,
            sse_events=args.sse_events or 20_000,
            workdir=Path(tmp),
        )
        bench = Bench(settings, scenarios, frameworks, servers)
        try:
            bench.start_all()
            bench.run()
        finally:
            bench.stop()
    data: dict[str, Any] = {
        "machine": machine,
        "settings": {
            "quick": q,
            "rounds": settings.rounds,
            "duration": settings.duration,
            "connections": settings.connections,
            "upload_mib": settings.upload_bytes // MIB,
            "download_mib": settings.download_bytes // MIB,
            "sse_events": settings.sse_events,
            "scenarios": [sc.name for sc in scenarios],
            "frameworks": frameworks,
            "servers": servers,
            "elapsed_s": round(time.monotonic() - started, 1),
        },
        "results": bench.results(),
    }
    text = report.markdown(data, scenarios, frameworks)
    paths = report.save(data, text, args.results)
    print()
    print(text)
    print(f"({data['settings']['elapsed_s']} s; written: {', '.join(str(p) for p in paths[:2])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
