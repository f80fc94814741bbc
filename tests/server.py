"""Run an app under a real server in a subprocess, for end-to-end tests.

The server is ``python -m asyncflask --app module:app run --host 127.0.0.1
--port PORT`` (uvicorn), started in a directory that holds the app module::

    from tests.server import run_server

    APP = '''
    from asyncflask import Flask
    app = Flask(__name__)

    @app.route("/")
    async def index():
        return "hello"
    '''

    def test_hello():
        with run_server(APP) as server:
            r = httpx.get(server.url + "/", timeout=5)
            assert r.text == "hello"
            server.vm_hwm_kib()          # peak memory of the server process
        assert "Traceback" not in server.stderr

A module-scoped fixture, shared by the tests of a module::

    server = server_fixture(APP)         # a fixture named after the variable

``run_server`` waits (at most ``startup_timeout`` seconds) until the port
accepts connections, and on exit stops the server with SIGTERM (SIGKILL after
``stop_timeout``). The server's stdout and stderr go to files, so a chatty
server never blocks on a full pipe; ``server.stderr`` reads what it wrote so
far, and keeps the whole of it after the server has stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "HOST",
    "Server",
    "ServerError",
    "free_port",
    "run_server",
    "server_fixture",
    "wait_for_port",
]

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


class ServerError(RuntimeError):
    """The server did not start (its stderr is in the message)."""


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago (bind to port 0 and ask)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    host: str,
    port: int,
    timeout: float = STARTUP_TIMEOUT,
    proc: subprocess.Popen[bytes] | None = None,
) -> bool:
    """Wait until ``host:port`` accepts a TCP connection. ``False`` when the
    time is up or ``proc`` has exited first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                # Someone listens; make sure it is not a process that
                # already held the port while ours failed to bind it.
                return proc is None or proc.poll() is None
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """A server subprocess started by :func:`run_server`."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        host: str,
        port: int,
        app_dir: Path,
        log_dir: Path,
        stop_timeout: float,
    ) -> None:
        #: The ``Popen`` of the server.
        self.proc = proc
        self.host = host
        self.port = port
        #: Where the app module was written (the server's working directory).
        self.app_dir = app_dir
        self._log_dir = log_dir
        self._stop_timeout = stop_timeout
        self._final: dict[str, str] | None = None

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit status, or ``None`` while the server runs."""
        return self.proc.poll()

    def _read(self, name: str) -> str:
        if self._final is not None:
            return self._final[name]
        try:
            return (self._log_dir / f"{name}.log").read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:  # pragma: no cover - only after cleanup
            return ""

    @property
    def stderr(self) -> str:
        """Everything the server wrote to stderr so far (uvicorn's log and
        the app's logged tracebacks)."""
        return self._read("stderr")

    @property
    def stdout(self) -> str:
        """Everything the server wrote to stdout so far (the access log)."""
        return self._read("stdout")

    def wait_for_stderr(self, text: str, timeout: float = 5.0, start: int = 0) -> str:
        """Wait until ``text`` shows in ``stderr[start:]`` and return that part;
        fail the test when it does not within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            err = self.stderr[start:]
            if text in err:
                return err
            if time.monotonic() >= deadline:
                pytest.fail(f"{text!r} not in the server's stderr after {timeout}s:\n{err}")
            time.sleep(0.05)

    def vm_hwm_kib(self) -> int:
        """The server process's peak resident memory (``VmHWM``) in KiB."""
        return _proc_status_kib(self.pid, "VmHWM")

    def vm_rss_kib(self) -> int:
        """The server process's current resident memory (``VmRSS``) in KiB."""
        return _proc_status_kib(self.pid, "VmRSS")

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Wait for the server to exit on its own and return its status;
        fail the test (after stopping it) when it does not exit in time."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"the server did not exit within {timeout}s:\n{self.stderr}")
        self._collect()
        return self.proc.returncode

    def stop(self) -> int:
        """Stop the server (SIGTERM, then SIGKILL after the stop timeout),
        keep its output and return its exit status. Safe to call twice."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self._stop_timeout)
            except subprocess.TimeoutExpired:
                # The whole process group: it is the session we started.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=self._stop_timeout)
        self._collect()
        return self.proc.returncode

    def _collect(self) -> None:
        if self._final is None and self.proc.poll() is not None:
            self._final = {name: self._read(name) for name in ("stderr", "stdout")}

    def __repr__(self) -> str:
        return f"<Server {self.url} pid={self.pid} returncode={self.returncode}>"


def _proc_status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")  # pragma: no cover


def _write_files(root: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _command(
    command: Sequence[str] | None,
    target: str | None,
    cli_args: Sequence[str],
    host: str,
    port: int,
) -> list[str]:
    if command is not None:
        return [arg.replace("{host}", host).replace("{port}", str(port)) for arg in command]
    argv = [sys.executable, "-m", "asyncflask"]
    if target is not None:
        argv += ["--app", target]
    return [*argv, "run", "--host", host, "--port", str(port), *cli_args]


def _environment(env: Mapping[str, str | None] | None) -> dict[str, str]:
    environ = dict(os.environ)
    environ["PYTHONUNBUFFERED"] = "1"
    environ["PYTHONDONTWRITEBYTECODE"] = "1"
    # the server imports this checkout's asyncflask, whatever is installed
    root = str(Path(__file__).resolve().parent.parent)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, (root, environ.get("PYTHONPATH"))))
    for key, value in (env or {}).items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return environ


@contextlib.contextmanager
def run_server(
    app_source: str | None = None,
    *,
    app_path: str | os.PathLike[str] | None = None,
    module: str = "app",
    target: str | None = None,
    pass_app: bool = True,
    files: Mapping[str, str | bytes] | None = None,
    env: Mapping[str, str | None] | None = None,
    cli_args: Sequence[str] = (),
    command: Sequence[str] | None = None,
    host: str = HOST,
    port: int | None = None,
    wait: bool = True,
    startup_timeout: float = STARTUP_TIMEOUT,
    stop_timeout: float = STOP_TIMEOUT,
) -> Iterator[Server]:
    """Start a server subprocess and yield a :class:`Server` once its port
    accepts connections; stop it on exit.

    The app is either ``app_source`` (Python source, dedented and written to
    ``<tmpdir>/<module>.py``, next to any ``files`` given as
    ``{relative path: content}``), or an existing module: ``app_path`` is a
    ``.py`` file (its directory becomes the working directory and its stem
    the module) or a directory holding ``<module>.py``.

    - ``target``: the ``--app`` value (default ``<module>:app``); with
      ``pass_app=False`` no ``--app`` is given (to test ``ASYNCFLASK_APP``).
    - ``env``: variables added to the inherited environment (``None`` removes
      one).
    - ``cli_args``: more arguments after ``run --host H --port P``.
    - ``command``: a whole argv to run instead (``{host}`` and ``{port}`` in
      it are replaced), e.g. a script that calls ``app.run(port=...)``.
    - ``port``: a fixed port (default: a free one, retried on a clash).
    - ``wait=False``: yield at once without waiting for the port (for a
      server that is expected to fail; use ``server.wait()``).
    """
    if app_source is not None and app_path is not None:
        raise ValueError("give app_source or app_path, not both")
    if app_source is None and app_path is None and command is None:
        raise ValueError("give app_source, app_path or command")
    with tempfile.TemporaryDirectory(prefix="asyncflask-e2e-") as tmp:
        log_dir = Path(tmp)
        if app_path is not None:
            path = Path(app_path).resolve()
            if path.is_file():
                app_dir, module = path.parent, path.stem
            else:
                app_dir = path
            if files:
                raise ValueError("files can only be written next to app_source")
        else:
            app_dir = log_dir / "app"
            app_dir.mkdir()
            if app_source is not None:
                (app_dir / f"{module}.py").write_text(textwrap.dedent(app_source))
            _write_files(app_dir, files or {})
        target = target or f"{module}:app"
        environ = _environment(env)
        attempts = 1 if port is not None else 3
        if port is not None and wait_for_port(host, port, timeout=0.1):
            raise ServerError(f"{host}:{port} is in use already")
        app_target = target if pass_app else None
        for attempt in range(attempts):
            chosen = port or free_port(host)
            argv = _command(command, app_target, cli_args, host, chosen)
            server = _start(argv, host, chosen, app_dir, log_dir, environ, stop_timeout)
            try:
                if not wait or wait_for_port(host, chosen, startup_timeout, server.proc):
                    break
                exited = server.returncode is not None
                server.stop()
                clash = "address already in use" in server.stderr.lower()
                if not clash or attempt == attempts - 1:
                    why = (
                        f"exited with status {server.returncode} before accepting connections"
                        if exited
                        else f"did not accept connections within {startup_timeout}s"
                    )
                    raise ServerError(f"the server on {server.url} {why}; stderr:\n{server.stderr}")
            except BaseException:
                server.stop()
                raise
        try:
            yield server
        finally:
            server.stop()


def _start(
    argv: list[str],
    host: str,
    port: int,
    app_dir: Path,
    log_dir: Path,
    environ: dict[str, str],
    stop_timeout: float,
) -> Server:
    with (
        open(log_dir / "stdout.log", "wb") as out,
        open(log_dir / "stderr.log", "wb") as err,
    ):
        proc = subprocess.Popen(
            argv,
            cwd=app_dir,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    return Server(proc, host, port, app_dir, log_dir, stop_timeout)


def server_fixture(
    app_source: str | None = None,
    *,
    scope: Any = "module",
    name: str | None = None,
    **kwargs: Any,
) -> Any:
    """A pytest fixture that runs one server for its ``scope`` (the module by
    default): ``server = server_fixture(APP_SOURCE, env={...})``. The
    keyword arguments are :func:`run_server`'s."""

    @pytest.fixture(scope=scope, name=name)
    def _server() -> Iterator[Server]:
        with run_server(app_source, **kwargs) as server:
            yield server

    return _server
