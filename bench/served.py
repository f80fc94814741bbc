"""Count the instructions one request costs each framework under uvicorn:
``python -m bench.served [--frameworks ...] [--only ...]``.

The server process runs under valgrind's callgrind and is sent requests one
after another on one keep-alive connection: the figures include uvicorn's
share (the HTTP parser, the event loop, the ASGI messages), which
``bench.inproc`` leaves out, and, like those, repeat on a busy machine. A
run of ``n`` requests and a run of ``n + extra`` give the cost of ``extra``
requests without start-up, import and shutdown.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .apps import FRAMEWORKS, app_module
from .inproc import table
from .scenarios import SCENARIOS, Scenario
from .server import ROOT, SERVERS, free_port

WARM, EXTRA = 100, 1000
#: The request-and-answer scenarios (the route tables need their own app).
SERVED = [sc.name for sc in SCENARIOS if sc.kind == "wrk" and not sc.routes]


def _connect(port: int, proc: subprocess.Popen[str]) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 300  # start-up under callgrind is slow
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {proc.communicate()[1].strip()[-300:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.connect()
            return conn
        except OSError:
            conn.close()
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def _instructions(framework: str, sc: Scenario, n: int) -> int:
    port = free_port()
    module, flags = SERVERS["uvicorn"]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable]
        cmd += ["-m", module, f"{app_module(framework)}:app", "--port", str(port), *flags]
        env = dict(os.environ, PYTHONHASHSEED="0", BENCH_UPLOAD_DIR=tmp)
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            conn = _connect(port, proc)
            headers = {"Content-Type": sc.content_type} if sc.body else {}
            paths = sc.paths or (sc.path,)
            for i in range(n):
                conn.request(
                    sc.method, paths[i % len(paths)], body=sc.body or None, headers=headers
                )
                reply = conn.getresponse()
                reply.read()
                if reply.status != 200:
                    raise RuntimeError(f"status {reply.status}")
            conn.close()
            proc.send_signal(signal.SIGINT)
            stderr = proc.communicate(timeout=300)[1]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    match = re.search(r"Collected : (\d+)", stderr)
    if match is None:
        raise RuntimeError(stderr.strip()[-300:])
    return int(match.group(1))


def count(framework: str, scenario: str) -> float:
    """Instructions per request of ``scenario`` on ``framework`` under uvicorn."""
    sc = next(s for s in SCENARIOS if s.name == scenario)
    base = _instructions(framework, sc, WARM)
    return (_instructions(framework, sc, WARM + EXTRA) - base) / EXTRA


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.served", description=__doc__.split("\n")[0])
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    p.add_argument("--only", default=",".join(SERVED), help="comma-separated scenarios")
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install -y valgrind")
    return table("under uvicorn", count, args.frameworks.split(","), args.only.split(","))


if __name__ == "__main__":
    sys.exit(main())
