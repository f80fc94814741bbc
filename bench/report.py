"""The machine description and the Markdown/JSON reports."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from . import wrk
from .scenarios import METRICS, Scenario
from .server import ROOT

PACKAGES = [
    "asyncflask",
    "starlette",
    "quart",
    "blacksheep",
    "litestar",
    "orjson",
    "msgspec",
    "flask",
    "werkzeug",
    "uvicorn",
    "granian",
    "uvloop",
    "httptools",
    "python-multipart",
]
RATIO_TO = ("starlette", "quart", "blacksheep", "litestar", "raw")

Result = dict[str, Any]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        )
        return out.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted changes" if git("status", "--porcelain", "asyncflask") else "")


def machine() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "wrk": wrk.version(),
        "asyncflask_git": _git(),
        "versions": versions,
    }


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit in ("req/s", "events/s") or value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _cell(results: dict[tuple[str, str], Result], sc: str, fw: str, key: str) -> str:
    r = results.get((sc, fw))
    if r is None:
        return "-"
    if r["status"] != "ok":
        return "FAIL"
    return _fmt(r["median"].get(key))


def ratio(results: dict[tuple[str, str], Result], sc: Scenario, a: str, b: str) -> float | None:
    key = METRICS[sc.kind][0]
    ra, rb = results.get((sc.name, a)), results.get((sc.name, b))
    if not ra or not rb or ra["status"] != "ok" or rb["status"] != "ok":
        return None
    return float(ra["median"][key] / rb["median"][key])


def route_ratios(results: dict[tuple[str, str], Result], frameworks: list[str]) -> dict[str, float]:
    """req/s with 1000 rules divided by req/s with 10, per framework."""
    out = {}
    for fw in frameworks:
        big, small = results.get(("routes-1000", fw)), results.get(("routes-10", fw))
        if big and small and big["status"] == small["status"] == "ok":
            out[fw] = big["median"]["rps"] / small["median"]["rps"]
    return out


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _header(report: dict[str, Any]) -> list[str]:
    m, s = report["machine"], report["settings"]
    v = m["versions"]
    mode = "quick" if s["quick"] else "full"
    servers = {
        "uvicorn": f"uvicorn {v['uvicorn']} (uvloop {v['uvloop']}, httptools {v['httptools']})",
        "granian": f"granian {v['granian']} (ASGI interface, uvloop)",
    }
    others = ", ".join(f"{fw} {v[fw]}" for fw in s["frameworks"] if fw in v and fw != "asyncflask")
    return [
        f"## Results: {m['date']} ({mode} run)",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, {m['python']};"
        f" load average at start {m['load_average']}. A shared, noisy machine: treat"
        " differences under ~10% as noise.",
        "- Servers: " + "; ".join(servers[name] for name in s["servers"]) + ". Each runs one"
        " worker process pinned to CPU 0; the load generator is pinned to CPU 1.",
        f"- Frameworks: asyncflask {v['asyncflask']} (git {m['asyncflask_git']})"
        + (f", {others}" if others else "")
        + (
            f" (asyncflask+speedups: orjson {v['orjson']}, msgspec {v['msgspec']})"
            if "asyncflask+speedups" in s["frameworks"]
            else ""
        )
        + f"; flask {v['flask']}, werkzeug {v['werkzeug']},"
        f" python-multipart {v['python-multipart']}.",
        f"- Method: {s['rounds']} interleaved rounds, medians; wrk ({m['wrk']}) 1 thread,"
        f" {s['connections']} connections, {s['duration']} s per run. Download"
        f" ({s['download_mib']} MiB) and SSE ({s['sse_events']:,} events per stream):"
        f" wrk, 1 thread, 1 connection, {s['duration']} s per run, figures from the bytes"
        f" it read. Upload ({s['upload_mib']} MiB) is repeated one at a time for"
        f" {s['duration']} s per run. Took {s['elapsed_s']:.0f} s.",
    ]


def _server_tables(
    results: dict[tuple[str, str], Result], scenarios: list[Scenario], frameworks: list[str]
) -> list[str]:
    """The tables of one server's results, keyed by (scenario, framework)."""
    lines = ["#### Throughput (median; higher is better)", ""]
    pairs = [
        (ours, fw)
        for ours in ("asyncflask", "asyncflask+speedups")
        if ours in frameworks
        for fw in RATIO_TO
        if fw in frameworks
    ]
    head = ["scenario", "unit", *frameworks, *(f"{ours}/{fw}" for ours, fw in pairs)]
    rows = []
    for sc in scenarios:
        key, unit = METRICS[sc.kind][:2]
        row = [sc.name, unit, *(_cell(results, sc.name, fw, key) for fw in frameworks)]
        for ours, fw in pairs:
            r = ratio(results, sc, ours, fw)
            row.append("-" if r is None else f"{r:.2f}")
        rows.append(row)
    lines += _table(head, rows)

    wrk_scenarios = [sc for sc in scenarios if sc.kind == "wrk"]
    if wrk_scenarios:
        lines += ["", "#### Latency p50 / p99 (ms, median of rounds)", ""]
        rows = []
        for sc in wrk_scenarios:
            row = [sc.name]
            for fw in frameworks:
                p50, p99 = (_cell(results, sc.name, fw, k) for k in ("p50_ms", "p99_ms"))
                row.append(p50 if p50 in ("FAIL", "-") else f"{p50} / {p99}")
            rows.append(row)
        lines += _table(["scenario", *frameworks], rows)

    lines += ["", "#### Server CPU time per unit of work (median; lower is better)", ""]
    rows = []
    for sc in scenarios:
        key, unit = METRICS[sc.kind][2:]
        rows.append([sc.name, unit, *(_cell(results, sc.name, fw, key) for fw in frameworks)])
    lines += _table(["scenario", "unit", *frameworks], rows)

    transfers = [sc for sc in scenarios if sc.kind in ("upload", "download")]
    if transfers:
        lines += ["", "#### Server peak RSS during the transfer (MiB, VmHWM)", ""]
        rows = [
            [sc.name, *(_cell(results, sc.name, fw, "peak_rss_mib") for fw in frameworks)]
            for sc in transfers
        ]
        lines += _table(["scenario", *frameworks], rows)

    if pairs := route_ratios(results, frameworks):
        text = ", ".join(f"{fw} {r:.2f}" for fw, r in pairs.items())
        lines += ["", f"Route table, req/s at 1000 rules / req/s at 10 rules: {text}."]
    return lines


def markdown(report: dict[str, Any], scenarios: list[Scenario], frameworks: list[str]) -> str:
    lines = _header(report)
    for name in report["settings"]["servers"]:
        results = {
            (r["scenario"], r["framework"]): r for r in report["results"] if r["server"] == name
        }
        lines += ["", f"### Under {name}", "", *_server_tables(results, scenarios, frameworks)]

    failures = [r for r in report["results"] if r["status"] != "ok"]
    if failures:
        lines += ["", "### Failures", ""]
        lines += [
            f"- {r['scenario']} / {r['framework']} on {r['server']}: {r['error']}" for r in failures
        ]
    return "\n".join(lines) + "\n"


def save(report: dict[str, Any], text: str, directory: Path) -> list[Path]:
    """Write ``<stamp>.md/.json`` and ``latest.md/.json`` (atomically)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report["machine"]["date"].replace(":", "").replace("+0000", "Z")
    if report["settings"]["quick"]:
        stamp += "-quick"
    data = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    written = []
    for name in (stamp, "latest"):
        for suffix, content in ((".md", text), (".json", data)):
            path = directory / f"{name}{suffix}"
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(content)
            tmp.replace(path)
            written.append(path)
    return written
