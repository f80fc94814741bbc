"""``make run`` and stopping a server: the Makefile installs only what the
example needs, and Ctrl-C (SIGINT to the foreground process group, as a
terminal sends it) or SIGTERM stops ``asyncflask run`` quietly with status 0.

The Makefile is run with a stand-in venv (``VENV=...``) whose
``asyncflask`` is this checkout's, and its stamps, so nothing is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from asyncflask.cli import main
from tests.server import HOST, REPO_ROOT, free_port, run_server, wait_for_port

APP = """
from asyncflask import Flask

app = Flask(__name__)


@app.route("/")
async def index():
    return "up"
"""

#: What a quiet stop never prints: a traceback, click's answer to an
#: uncaught Ctrl-C, make's report of a failed or killed command.
NOISE = ("Traceback", "Aborted!", "make: ***")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("cli_args", [[], ["--workers", "2"]], ids=["one-process", "workers"])
def test_a_requested_stop_ends_the_command_with_status_0(
    sig: signal.Signals, cli_args: list[str]
) -> None:
    with run_server(APP, cli_args=cli_args) as server:
        assert httpx.get(server.url, timeout=10).text == "up"
        os.killpg(server.pid, sig)  # the whole group, as a terminal's Ctrl-C
        assert server.wait() == 0
    for noise in NOISE:
        assert noise not in server.stderr, server.stderr
    assert "Shutting down" in server.stderr or "Stopping parent process" in server.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_signal_uvicorn_raises_again_after_its_shutdown_ends_the_command_with_0(
    sig: signal.Signals, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process: uvicorn, once stopped by a signal, raises it again."""
    name = f"stopapp_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: signal.raise_signal(sig))
    before = signal.getsignal(signal.SIGTERM)
    environ = dict(os.environ)  # the command sets FLASK_RUN_FROM_CLI
    try:
        with pytest.raises(SystemExit) as info:
            main(["--app", f"{name}:app", "run"])
    finally:
        sys.modules.pop(name, None)
        os.environ.clear()
        os.environ.update(environ)
    assert info.value.code == 0
    assert signal.getsignal(signal.SIGTERM) == before


# -- the Makefile ------------------------------------------------------------------


@pytest.fixture(scope="module")
def make() -> str:
    found = shutil.which("make")
    if found is None:
        pytest.skip("make is not installed")
    return found


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A venv as the Makefile sees it: ``bin/python`` and ``bin/asyncflask``
    (this checkout's command); no stamps yet."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    script = bin_dir / "asyncflask"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m asyncflask "$@"\n')
    script.chmod(0o755)
    return tmp_path / "venv"


def _stamp(venv: Path, *names: str) -> None:
    """Stamps newer than pyproject.toml: installed, up to date."""
    for name in names:
        (venv / name).touch()


def _dry_run(make: str, venv: Path, target: str) -> str:
    result = subprocess.run(
        [make, "-n", "--no-print-directory", "-C", str(REPO_ROOT), target, f"VENV={venv}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def test_make_run_installs_the_package_alone_without_upgrading_pip(make: str, venv: Path) -> None:
    commands = _dry_run(make, venv, "run")
    assert "pip --disable-pip-version-check install --quiet -e .\n" in commands
    assert "[dev" not in commands
    assert "--upgrade pip" not in commands
    assert f"exec {venv}/bin/asyncflask --app app:app run" in commands


def test_make_test_installs_everything_and_then_make_run_installs_nothing(
    make: str, venv: Path
) -> None:
    _stamp(venv, ".installed-run")
    commands = _dry_run(make, venv, "lint")
    assert "install --quiet --upgrade pip" in commands
    assert "install --quiet -e '.[dev,bench,docs]'" in commands
    assert f"touch {venv}/.installed {venv}/.installed-run" in commands
    _stamp(venv, ".installed")
    commands = _dry_run(make, venv, "run")
    assert commands.splitlines() == [
        f"cd examples && exec {venv}/bin/asyncflask --app app:app run --host 127.0.0.1 --port 8000"
    ]


@pytest.fixture
def make_run(make: str, venv: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``make run`` on a free port, in a session of its own (its process
    group is the foreground one a terminal would signal)."""
    _stamp(venv, ".installed-run", ".installed")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1", BROADCAST_URL="")
    env.pop("BROADCAST_URL")
    proc = subprocess.Popen(
        [make, "--no-print-directory", "-C", str(REPO_ROOT), "run", f"VENV={venv}", f"PORT={port}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert wait_for_port(HOST, port, timeout=30, proc=proc), "make run did not serve"
        yield proc, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)


def test_make_run_serves_the_example_and_ctrl_c_stops_it_quietly(
    make_run: tuple[subprocess.Popen[str], int],
) -> None:
    proc, port = make_run
    r = httpx.get(f"http://{HOST}:{port}/", timeout=10)
    assert r.status_code == 200
    assert "asyncflask example" in r.text
    assert httpx.get(f"http://{HOST}:{port}/static/style.css", timeout=10).status_code == 200
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=20)
    for noise in NOISE:
        assert noise not in output, output
    assert "Finished server process" in output
    # make itself got the Ctrl-C too: it ends by it, as make always does,
    # and has no failed command to report
    assert proc.returncode in (0, -signal.SIGINT)


def test_make_run_stopped_with_sigterm_exits_0(make_run: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = make_run
    assert httpx.get(f"http://{HOST}:{port}/", timeout=10).status_code == 200
    # a supervisor's stop: SIGTERM to the server (make's child: `exec`, no shell)
    output = ""
    server_pid = None
    for line in proc.stdout or []:
        output += line
        found = re.search(r"Started server process \[(\d+)\]", line)
        if found:
            server_pid = int(found.group(1))
            break
    assert server_pid is not None, output
    assert Path(f"/proc/{server_pid}/stat").read_text().split()[3] == str(proc.pid)
    os.kill(server_pid, signal.SIGTERM)
    rest, _ = proc.communicate(timeout=20)
    output += rest
    for noise in NOISE:
        assert noise not in output, output
    assert proc.returncode == 0
