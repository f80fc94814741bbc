"""The ``asyncflask`` command, ``asyncflask.cli`` and ``app.run()``."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from asyncflask import Flask
from asyncflask.cli import load_app, main
from tests.server import run_server

APP_MODULE = """
from asyncflask import Flask, request, url_for

app = Flask(__name__)
other = Flask("other")
FACTORY_CALLS = []


@app.route("/")
async def index():
    return "module app"


@app.route("/where")
async def where():
    return {"script_root": request.script_root, "path": request.path, "url": url_for("where")}


def create_app():
    FACTORY_CALLS.append(1)
    made = Flask(__name__)

    @made.route("/")
    async def index():
        return "factory app"

    return made
"""

CLEAN_ENV = {"ASYNCFLASK_APP": None, "FLASK_APP": None}


# -- in process: load_app ------------------------------------------------------


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A uniquely named app module in the working directory; the import
    and the ``sys.path`` change are undone afterwards."""
    name = f"cliapp_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(APP_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for key in CLEAN_ENV:
        monkeypatch.delenv(key, raising=False)
    yield name
    for mod in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[mod]


def test_load_app_module_and_name(app_module: str) -> None:
    app = load_app(f"{app_module}:app")
    assert isinstance(app, Flask)
    assert app is sys.modules[app_module].app
    assert load_app(f"{app_module}:other") is sys.modules[app_module].other


def test_load_app_module_only_finds_app(app_module: str) -> None:
    assert load_app(app_module) is sys.modules[app_module].app


def test_load_app_file_name(app_module: str) -> None:
    assert load_app(f"{app_module}.py:app") is sys.modules[app_module].app


def test_load_app_factory(app_module: str) -> None:
    made = load_app(f"{app_module}:create_app()")
    module = sys.modules[app_module]
    assert isinstance(made, Flask)
    assert made is not module.app
    assert module.FACTORY_CALLS == [1]


def test_load_app_package_module(tmp_path: Path, app_module: str) -> None:
    package = f"{app_module}_pkg"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "web.py").write_text(APP_MODULE)
    try:
        assert load_app(f"{package}.web:app") is sys.modules[f"{package}.web"].app
    finally:
        for mod in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[mod]


def test_load_app_missing_attribute_is_a_clean_exit(app_module: str) -> None:
    with pytest.raises(SystemExit) as info:
        load_app(f"{app_module}:missing")
    message = str(info.value.code)
    assert "missing" in message
    assert app_module in message


# -- in process: main() with uvicorn.run captured --------------------------------


class UvicornCalls:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append((args, kwargs))

    @property
    def only(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


@pytest.fixture
def uvicorn_run(monkeypatch: pytest.MonkeyPatch) -> UvicornCalls:
    calls = UvicornCalls()
    monkeypatch.setattr(uvicorn, "run", calls)
    return calls


def test_main_defaults(app_module: str, uvicorn_run: UvicornCalls, tmp_path: Path) -> None:
    main(["--app", f"{app_module}:app", "run"])
    args, kwargs = uvicorn_run.only
    assert args == (f"{app_module}:app",)
    assert kwargs["factory"] is False
    assert kwargs["host"] == "127.0.0.1"
    assert kwargs["port"] == 5000
    assert kwargs["reload"] is False
    assert kwargs["workers"] is None
    assert kwargs["root_path"] == ""
    assert kwargs["log_level"] == "info"
    assert kwargs["access_log"] is True
    assert Path(kwargs["app_dir"]) == tmp_path


def test_main_passes_every_option_through(app_module: str, uvicorn_run: UvicornCalls) -> None:
    main(
        [
            "--app",
            f"{app_module}:app",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            "8123",
            "--reload",
            "--workers",
            "3",
            "--root-path",
            "/prefix",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    )
    args, kwargs = uvicorn_run.only
    assert args == (f"{app_module}:app",)
    assert kwargs["port"] == 8123
    assert kwargs["reload"] is True
    assert kwargs["workers"] == 3
    assert kwargs["root_path"] == "/prefix"
    assert kwargs["log_level"] == "warning"
    assert kwargs["access_log"] is False


def test_main_factory(app_module: str, uvicorn_run: UvicornCalls) -> None:
    main(["--app", f"{app_module}:create_app()", "run"])
    args, kwargs = uvicorn_run.only
    assert args == (f"{app_module}:create_app",)
    assert kwargs["factory"] is True


def test_main_module_only(app_module: str, uvicorn_run: UvicornCalls) -> None:
    main(["--app", app_module, "run"])
    args, _ = uvicorn_run.only
    assert args == (f"{app_module}:app",)


def test_main_reads_asyncflask_app(
    app_module: str, uvicorn_run: UvicornCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_APP", f"{app_module}:other")
    monkeypatch.setenv("ASYNCFLASK_APP", f"{app_module}:app")
    main(["run"])
    assert uvicorn_run.only[0] == (f"{app_module}:app",)


def test_main_falls_back_to_flask_app(
    app_module: str, uvicorn_run: UvicornCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_APP", f"{app_module}:other")
    main(["run"])
    assert uvicorn_run.only[0] == (f"{app_module}:other",)


def test_main_app_option_beats_environment(
    app_module: str, uvicorn_run: UvicornCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCFLASK_APP", f"{app_module}:app")
    main(["--app", f"{app_module}:other", "run"])
    assert uvicorn_run.only[0] == (f"{app_module}:other",)


def test_main_without_app_is_a_clean_exit(app_module: str, uvicorn_run: UvicornCalls) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run"])
    assert "--app" in str(info.value.code)
    assert uvicorn_run.calls == []


def test_main_missing_attribute_is_a_clean_exit(app_module: str, uvicorn_run: UvicornCalls) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--app", f"{app_module}:missing", "run"])
    assert "missing" in str(info.value.code)
    assert uvicorn_run.calls == []


@pytest.mark.parametrize(
    "argv",
    [["--app", "x:app"], ["--app", "x:app", "run", "--port", "not-a-port"]],
    ids=["no-command", "bad-port"],
)
def test_main_usage_errors(
    argv: list[str], uvicorn_run: UvicornCalls, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: asyncflask" in capsys.readouterr().err
    assert uvicorn_run.calls == []


# -- in process: app.run() -------------------------------------------------------


def test_app_run_defaults(uvicorn_run: UvicornCalls) -> None:
    app = Flask("runapp")
    app.run()
    args, kwargs = uvicorn_run.only
    assert args == (app,)
    assert kwargs["host"] == "127.0.0.1"
    assert kwargs["port"] == 5000
    assert kwargs["log_level"] == "info"


def test_app_run_arguments(uvicorn_run: UvicornCalls) -> None:
    app = Flask("runapp")
    app.run(host="127.0.0.1", port=8765, debug=True, timeout_keep_alive=7)
    args, kwargs = uvicorn_run.only
    assert args == (app,)
    assert kwargs["port"] == 8765
    assert kwargs["log_level"] == "debug"
    assert kwargs["timeout_keep_alive"] == 7
    assert app.debug is True


# -- subprocesses ----------------------------------------------------------------


def _run(
    argv: list[str], cwd: Path, env: dict[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    environ = dict(os.environ)
    for key, value in {**CLEAN_ENV, **(env or {})}.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return subprocess.run(
        argv, cwd=cwd, env=environ, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP_MODULE)
    return tmp_path


def test_python_m_asyncflask_help(app_dir: Path) -> None:
    result = _run([sys.executable, "-m", "asyncflask", "--help"], app_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: asyncflask")
    assert "--app" in result.stdout
    assert "run" in result.stdout
    result = _run([sys.executable, "-m", "asyncflask", "run", "--help"], app_dir)
    assert result.returncode == 0, result.stderr
    for option in ("--host", "--port", "--reload", "--workers", "--root-path"):
        assert option in result.stdout


def test_console_script_help(app_dir: Path) -> None:
    script = Path(sys.executable).parent / "asyncflask"
    assert script.exists(), "the asyncflask console script is not installed"
    result = _run([str(script), "--help"], app_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: asyncflask")


def _assert_clean_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().startswith("Error:"), result.stderr
    for needle in needles:
        assert needle in result.stderr


def test_cli_without_app_is_a_clean_error(app_dir: Path) -> None:
    result = _run([sys.executable, "-m", "asyncflask", "run"], app_dir)
    _assert_clean_error(result, "--app")


def test_cli_missing_attribute_is_a_clean_error(app_dir: Path) -> None:
    result = _run([sys.executable, "-m", "asyncflask", "--app", "app:missing", "run"], app_dir)
    _assert_clean_error(result, "missing")


def test_cli_missing_module_is_a_clean_error(app_dir: Path) -> None:
    argv = [sys.executable, "-m", "asyncflask", "--app", "no_such_module_xyz:app", "run"]
    result = _run(argv, app_dir)
    _assert_clean_error(result, "no_such_module_xyz")


@pytest.mark.parametrize("missing", ["web", "nonexistent_dependency_xyz"])
def test_cli_import_error_inside_the_module_is_shown(tmp_path: Path, missing: str) -> None:
    """A module that exists but fails to import must show the real cause,
    not claim that the module itself is missing (``web`` is a prefix of the
    module's name ``webapp``)."""
    (tmp_path / "webapp.py").write_text(f"import {missing}\n" + APP_MODULE)
    result = _run([sys.executable, "-m", "asyncflask", "--app", "webapp:app", "run"], tmp_path)
    assert result.returncode != 0
    assert f"No module named '{missing}'" in result.stderr, result.stderr
    assert "Uvicorn running" not in result.stderr


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)


def test_cli_serves_module_app() -> None:
    with run_server(APP_MODULE) as server:
        assert _get(server.url + "/").text == "module app"
    assert "Traceback" not in server.stderr


def test_cli_serves_factory() -> None:
    with run_server(APP_MODULE, target="app:create_app()") as server:
        assert _get(server.url + "/").text == "factory app"


def test_cli_reads_asyncflask_app_env_var() -> None:
    env = {"ASYNCFLASK_APP": "app:create_app()", "FLASK_APP": None}
    with run_server(APP_MODULE, pass_app=False, env=env) as server:
        assert _get(server.url + "/").text == "factory app"


def test_cli_root_path() -> None:
    # uvicorn's --root-path: a proxy in front strips the prefix, uvicorn puts
    # it back into the scope, and the app builds URLs with it.
    with run_server(APP_MODULE, cli_args=["--root-path", "/prefix"]) as server:
        r = _get(server.url + "/where")
    assert r.status_code == 200
    assert r.json() == {"script_root": "/prefix", "path": "/where", "url": "/prefix/where"}


RUN_SCRIPT = """
import sys

from asyncflask import Flask

app = Flask(__name__)


@app.route("/")
async def index():
    return "served by app.run"


if __name__ == "__main__":
    app.run(port=int(sys.argv[1]))
"""


def test_app_run_serves_requests() -> None:
    command = [sys.executable, "serve.py", "{port}"]
    with run_server(RUN_SCRIPT, module="serve", command=command) as server:
        r = _get(server.url + "/")
        assert r.status_code == 200
        assert r.text == "served by app.run"
    assert "Uvicorn running on http://127.0.0.1:" in server.stderr


# -- the app's own click commands ------------------------------------------------

COMMANDS_MODULE = """
import click
from asyncflask import Blueprint, Flask, current_app

app = Flask(__name__)
tools = Blueprint("tools", __name__)


@app.cli.command("hello")
@click.argument("name")
def hello(name):
    click.echo(f"hello {name} from {current_app.name}")


@tools.cli.command("count")
def count():
    click.echo("3")


app.register_blueprint(tools)
"""


def test_app_command_runs_in_an_app_context(tmp_path: Path) -> None:
    (tmp_path / "cmds.py").write_text(COMMANDS_MODULE)
    result = _run(
        [sys.executable, "-m", "asyncflask", "--app", "cmds:app", "hello", "ann"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello ann from cmds\n"
    result = _run(
        [sys.executable, "-m", "asyncflask", "--app=cmds:app", "tools", "count"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "3\n"


def test_unknown_app_command_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "cmds.py").write_text(COMMANDS_MODULE)
    result = _run([sys.executable, "-m", "asyncflask", "--app", "cmds:app", "nope"], tmp_path)
    assert result.returncode == 2
    assert "No such command 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_app_command_without_an_app_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASYNCFLASK_APP", raising=False)
    monkeypatch.delenv("FLASK_APP", raising=False)
    with pytest.raises(SystemExit, match="give the application"):
        main(["hello"])


def test_test_cli_runner_invokes_app_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cmds_runner.py").write_text(COMMANDS_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import cmds_runner  # type: ignore[import-not-found]

    result = cmds_runner.app.test_cli_runner().invoke(args=["hello", "bo"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello bo from cmds_runner\n"
