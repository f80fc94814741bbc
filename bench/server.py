"""Start a framework's app under uvicorn or granian, pinned to one CPU, and
read its CPU time and peak memory from /proc."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import client
from .apps import app_module

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
#: How each server is started: a module for ``python -m``, and its flags.
#: Both run one worker on uvloop, without access logs.
SERVERS = {
    "uvicorn": (
        "uvicorn",
        ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
    ),
    "granian": (
        "granian",
        [
            *("--interface", "asgi", "--workers", "1", "--loop", "uvloop"),
            *("--no-access-log", "--log-level", "warning"),
        ],
    ),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One server process (``server``: a key of SERVERS) serving
    ``bench.apps.<framework>_app``; with ``routes`` set, the route-table app
    of that many rules."""

    framework: str
    routes: int | None
    cpu: int | None
    workdir: Path
    server: str = "uvicorn"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)

    @property
    def label(self) -> str:
        routes = f"[{self.routes} routes]" if self.routes else ""
        return f"{self.framework}{routes} on {self.server}"

    @property
    def probe_path(self) -> str:
        return "/route0/1" if self.routes else "/plaintext"

    def start(self) -> None:
        module = app_module(self.framework)
        target = [f"{module}:routes_app", "--factory"] if self.routes else [f"{module}:app"]
        self.port = free_port()
        env = dict(os.environ, BENCH_UPLOAD_DIR=str(self.workdir), PYTHONUNBUFFERED="1")
        if self.routes:
            env["BENCH_ROUTES"] = str(self.routes)
        name = f"{self.server}-{self.framework}-{self.routes or 0}"
        self.log_path = self.workdir / f"server-{name}.log"
        cpu = self.cpu
        module, flags = SERVERS[self.server]
        argv = [sys.executable, "-m", module, *target, "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), *flags]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=None if cpu is None else lambda: os.sched_setaffinity(0, {cpu}),
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the app answers HTTP (whatever the status: a broken
        endpoint is the checks' business, not startup's)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.label} exited at startup: {self.log_tail()}")
            try:
                client.request(self.port, "GET", self.probe_path, timeout=2)
                return
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.label} not ready after {timeout:.0f}s: {self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def last_log_line(self, since: int) -> str:
        """The last line the server logged after byte ``since`` (often the
        exception behind a 500)."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(since)
                lines = f.read().decode(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1].strip() if lines else ""

    def _pids(self) -> list[int]:
        """The server's process and its descendants (granian serves from a
        worker process of its own)."""
        assert self.proc is not None
        pids, i = [self.proc.pid], 0
        while i < len(pids):
            for task in Path(f"/proc/{pids[i]}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    pids += [int(p) for p in task.read_text().split()]
            i += 1
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server so far (all its processes
        and threads)."""
        ticks = 0
        for pid in self._pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / TICKS

    def reset_peak_rss(self) -> bool:
        """Reset VmHWM (Linux >= 4.0) so the next reading is this run's peak."""
        try:
            for pid in self._pids():
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def peak_rss_mib(self) -> float:
        """The largest VmHWM among the server's processes."""
        peaks = [float("nan")]
        for pid in self._pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
        return max(peaks[1:], default=peaks[0])
