"""Drive wrk: make sure it is installed, write the Lua script, parse its
summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

INSTALL_HINT = "wrk is not installed: run `sudo apt-get install -y wrk` (Debian/Ubuntu)"

# The request (method, body from a file, content type) and a done() hook that
# prints the figures as one JSON line; latency percentiles are in microseconds.
# "bytes" is every byte wrk read (status lines, headers and chunk framing too,
# and the part of a response still arriving when the run ended).
LUA = """\
wrk.method = "@METHOD@"
@BODY@
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"bytes":%.0f,"duration_us":%d,"p50_us":%.1f,"p99_us":%.1f,'
      .. '"socket_errors":%d,"status_errors":%d}\\n',
    summary.requests, summary.bytes, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""

BODY = """\
local f = assert(io.open("@PATH@", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "@CTYPE@"
"""


def ensure_wrk() -> str | None:
    """Path to wrk; installs it with apt-get when missing and running as root.
    Returns None (after printing how to install it) when that is impossible."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing; installing it with apt-get ...", flush=True)
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], check=False)
            subprocess.run(install, check=False)
        found = shutil.which("wrk")
        if found:
            return found
    print(INSTALL_HINT)
    return None


def version() -> str:
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return "not installed"
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "unknown"


# Each request takes the next path of the list, round and round.
PATHS = """\
local paths = {@PATHS@}
local next_path = 0
request = function()
  next_path = next_path % #paths + 1
  return wrk.format(nil, paths[next_path])
end
"""


def write_script(
    workdir: Path,
    name: str,
    method: str,
    body: bytes = b"",
    content_type: str = "",
    paths: Sequence[str] = (),
) -> Path:
    """The Lua script of a scenario: its method and body, and, with
    ``paths``, a request function that walks that list of paths."""
    script = LUA.replace("@METHOD@", method)
    if paths:
        script += PATHS.replace("@PATHS@", ",".join(json.dumps(p) for p in paths))
    if body:
        body_path = workdir / f"{name}.body"
        body_path.write_bytes(body)
        body_lua = BODY.replace("@PATH@", str(body_path)).replace("@CTYPE@", content_type)
        script = script.replace("@BODY@", body_lua)
    else:
        script = script.replace("@BODY@", "")
    path = workdir / f"{name}.lua"
    path.write_text(script)
    return path


def run(
    url: str, script: Path, duration: int, connections: int, timeout: int | None = None
) -> dict[str, float]:
    """Run wrk (one thread) and return requests, bytes, duration_us, p50_us,
    p99_us, socket_errors and status_errors. ``timeout`` (seconds) replaces
    wrk's 2 s limit on one response."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script)]
    if timeout is not None:
        cmd += ["--timeout", f"{timeout}s"]
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, check=False, timeout=duration + 30
    )
    for line in out.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            return {k: float(v) for k, v in json.loads(line[10:]).items()}
    raise RuntimeError(f"wrk failed (exit {out.returncode}): {out.stderr.strip()[-300:]}")
