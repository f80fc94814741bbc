"""The ``asyncflask`` command, ``asyncflask.cli`` and ``app.run()``."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
import uvicorn
from click.testing import CliRunner, Result
from flask.cli import NoAppException
from flask.testing import FlaskCliRunner

from asyncflask import Flask
from asyncflask.cli import app_from_env, cli, load_app, locate_app, main
from asyncflask.debug import DebugTraceback
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

CLEAN_ENV: dict[str, str | None] = {
    "ASYNCFLASK_APP": None,
    "FLASK_APP": None,
    "ASYNCFLASK_DEBUG": None,
    "FLASK_DEBUG": None,
    "FLASK_RUN_FROM_CLI": None,
}


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """The commands set variables (``FLASK_DEBUG``, ``FLASK_RUN_FROM_CLI``,
    those of ``.env`` files): put the environment back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def invoke(*args: str, input: str | None = None) -> Result:
    """Run the ``asyncflask`` command in process."""
    return CliRunner().invoke(cli, list(args), prog_name="asyncflask", input=input)


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


FACTORY_MODULE = """
from asyncflask import Flask


def create_app(name="default", *, greeting="hello"):
    app = Flask(__name__)

    @app.route("/")
    async def index():
        return f"{greeting} {name}"

    return app


def broken_factory():
    raise TypeError("broken inside")


not_an_app = object()
"""


@pytest.fixture
def factory_module(app_module: str, tmp_path: Path) -> str:
    (tmp_path / f"{app_module}.py").write_text(FACTORY_MODULE)
    return app_module


async def _index_text(app: Flask) -> str:
    async with app.test_client() as client:
        return (await client.get("/")).text


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("create_app", "hello default"),
        ("create_app()", "hello default"),
        ('create_app("x")', "hello x"),
        ("create_app('x', greeting='hi')", "hi x"),
        ("create_app(name='kw')", "hello kw"),
    ],
)
async def test_load_app_calls_a_factory_as_flask_does(
    factory_module: str, name: str, text: str
) -> None:
    app = load_app(f"{factory_module}:{name}")
    assert isinstance(app, Flask)
    assert await _index_text(app) == text


def test_locate_app_writes_a_factory_name_as_a_call(factory_module: str) -> None:
    assert locate_app(f"{factory_module}:create_app") == f"{factory_module}:create_app()"
    assert locate_app(f"{factory_module}:create_app('x')") == f"{factory_module}:create_app('x')"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("create_app(1, 2)", "could not be called with these arguments"),
        ("create_app(x)", "must be literal values"),
        ("create_app(", "Could not read"),
        ("a.create_app()", "plain name"),
        ("not_an_app", "not an asyncflask app"),
    ],
)
def test_load_app_bad_factory_names_are_clean_errors(
    factory_module: str, name: str, message: str
) -> None:
    with pytest.raises(NoAppException, match=message):
        load_app(f"{factory_module}:{name}")


def test_a_type_error_inside_a_factory_is_its_own(factory_module: str) -> None:
    with pytest.raises(TypeError, match="broken inside"):
        load_app(f"{factory_module}:broken_factory")


def test_a_detected_factory_that_needs_arguments_is_a_clean_error(
    app_module: str, tmp_path: Path
) -> None:
    source = "from asyncflask import Flask\ndef create_app(config):\n    return Flask('a')\n"
    (tmp_path / f"{app_module}.py").write_text(source)
    with pytest.raises(NoAppException, match="with no arguments"):
        load_app(app_module)
    result = invoke("--app", app_module, "routes")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"'{app_module}:create_app(arguments)'" in result.stderr


@pytest.mark.parametrize("name", ["create_app", "create_app()", 'create_app("cli")'])
def test_commands_load_the_app_of_a_factory(factory_module: str, name: str) -> None:
    result = invoke("--app", f"{factory_module}:{name}", "routes")
    assert result.exit_code == 0, result.output
    assert "index" in result.output
    assert "Traceback" not in result.output


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


def test_load_app_missing_attribute_is_a_clean_error(app_module: str) -> None:
    with pytest.raises(NoAppException) as info:
        load_app(f"{app_module}:missing")
    message = info.value.format_message()
    assert "missing" in message
    assert app_module in message


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("app = Flask('a')\nother = Flask('b')", "app"),
        ("application = Flask('a')\nother = Flask('b')", "application"),
        ("web = Flask('a')\nname = 'not an app'", "web"),
        ("def create_app():\n    return Flask('a')", "create_app()"),
        ("def make_app():\n    return Flask('a')", "make_app()"),
    ],
    ids=["app", "application", "the-only-app", "create_app", "make_app"],
)
def test_locate_app_finds_the_app_of_a_module(
    app_module: str, tmp_path: Path, source: str, found: str
) -> None:
    (tmp_path / f"{app_module}.py").write_text(f"from asyncflask import Flask\n{source}\n")
    assert locate_app(app_module) == f"{app_module}:{found}"
    assert isinstance(load_app(app_module), Flask)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("one = Flask('a')\ntwo = Flask('b')", "Several apps"),
        ("x = 1", "No app in"),
    ],
    ids=["two-apps", "no-app"],
)
def test_locate_app_without_one_clear_app(
    app_module: str, tmp_path: Path, source: str, message: str
) -> None:
    (tmp_path / f"{app_module}.py").write_text(f"from asyncflask import Flask\n{source}\n")
    with pytest.raises(NoAppException, match=message):
        locate_app(app_module)


@pytest.mark.parametrize("module", ["wsgi", "app"])
def test_locate_app_without_a_target_looks_in_wsgi_and_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    (tmp_path / f"{module}.py").write_text("from asyncflask import Flask\napp = Flask('found')\n")
    try:
        assert locate_app(None) == f"{module}:app"
        assert load_app(None).name == "found"
    finally:
        sys.modules.pop(module, None)


def test_locate_app_without_a_target_or_a_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoAppException, match="--app module:app"):
        locate_app(None)


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
    with pytest.raises(SystemExit) as info:
        main(["--app", f"{app_module}:app", "run"])
    assert info.value.code == 0
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
    # an open SSE stream must not hold a SIGTERM'd server forever
    assert kwargs["timeout_graceful_shutdown"] == 10
    assert Path(kwargs["app_dir"]) == tmp_path


def test_main_passes_every_option_through(app_module: str, uvicorn_run: UvicornCalls) -> None:
    result = invoke(
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
        "--timeout-graceful-shutdown",
        "4",
    )
    assert result.exit_code == 0, result.output
    args, kwargs = uvicorn_run.only
    assert args == (f"{app_module}:app",)
    assert kwargs["port"] == 8123
    assert kwargs["reload"] is True
    assert kwargs["workers"] == 3
    assert kwargs["root_path"] == "/prefix"
    assert kwargs["log_level"] == "warning"
    assert kwargs["access_log"] is False
    assert kwargs["timeout_graceful_shutdown"] == 4


def test_main_factory(app_module: str, uvicorn_run: UvicornCalls) -> None:
    assert invoke("--app", f"{app_module}:create_app()", "run").exit_code == 0
    args, kwargs = uvicorn_run.only
    assert args == (f"{app_module}:create_app",)
    assert kwargs["factory"] is True


def test_main_factory_without_call_parentheses(
    factory_module: str, uvicorn_run: UvicornCalls
) -> None:
    assert invoke("--app", f"{factory_module}:create_app", "run").exit_code == 0
    args, kwargs = uvicorn_run.only
    assert args == (f"{factory_module}:create_app",)
    assert kwargs["factory"] is True


async def test_main_factory_with_arguments(factory_module: str, uvicorn_run: UvicornCalls) -> None:
    target = f"{factory_module}:create_app('x', greeting='hi')"
    assert invoke("--app", target, "run").exit_code == 0
    args, kwargs = uvicorn_run.only
    assert args == ("asyncflask.cli:app_from_env",)
    assert kwargs["factory"] is True
    assert os.environ["ASYNCFLASK_APP"] == target
    assert await _index_text(app_from_env()) == "hi x"


def test_main_module_only(app_module: str, uvicorn_run: UvicornCalls) -> None:
    assert invoke("--app", app_module, "run").exit_code == 0
    args, _ = uvicorn_run.only
    assert args == (f"{app_module}:app",)


def test_main_reads_asyncflask_app(
    app_module: str, uvicorn_run: UvicornCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_APP", f"{app_module}:other")
    monkeypatch.setenv("ASYNCFLASK_APP", f"{app_module}:app")
    assert invoke("run").exit_code == 0
    assert uvicorn_run.only[0] == (f"{app_module}:app",)


def test_main_falls_back_to_flask_app(
    app_module: str, uvicorn_run: UvicornCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_APP", f"{app_module}:other")
    assert invoke("run").exit_code == 0
    assert uvicorn_run.only[0] == (f"{app_module}:other",)


def test_main_app_option_beats_environment(
    app_module: str, uvicorn_run: UvicornCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCFLASK_APP", f"{app_module}:app")
    assert invoke("--app", f"{app_module}:other", "run").exit_code == 0
    assert uvicorn_run.only[0] == (f"{app_module}:other",)


def test_main_without_app_is_a_clean_error(app_module: str, uvicorn_run: UvicornCalls) -> None:
    result = invoke("run")
    assert result.exit_code == 2
    assert "Error: Could not find the app" in result.stderr
    assert "--app" in result.stderr
    assert uvicorn_run.calls == []


def test_main_missing_attribute_is_a_clean_error(
    app_module: str, uvicorn_run: UvicornCalls
) -> None:
    result = invoke("--app", f"{app_module}:missing", "run")
    assert result.exit_code == 2
    assert "has no attribute 'missing'" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert uvicorn_run.calls == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--app", "x:app", "run", "--port", "not-a-port"], "not a valid integer"),
        (["--app", "x:app", "run", "--workers", "0"], "x>=1"),
        (["--app", "x:app", "run", "--bogus"], "No such option"),
    ],
    ids=["bad-port", "zero-workers", "unknown-option"],
)
def test_main_usage_errors(argv: list[str], message: str, uvicorn_run: UvicornCalls) -> None:
    result = invoke(*argv)
    assert result.exit_code == 2
    assert "Usage: asyncflask run" in result.stderr
    assert message in result.stderr
    assert uvicorn_run.calls == []


def test_main_without_a_command_shows_the_commands(uvicorn_run: UvicornCalls) -> None:
    result = invoke()
    assert "Usage: asyncflask" in result.output
    for command in ("run", "routes", "shell"):
        assert command in result.output
    assert uvicorn_run.calls == []


def test_version(uvicorn_run: UvicornCalls) -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    for name in ("asyncflask 0.", "flask 3.1", "werkzeug 3.1", "uvicorn ", "Python 3."):
        assert name in result.output


# -- in process: run --debug -------------------------------------------------------


def test_debug_serves_through_the_debug_factory_with_the_reloader(
    app_module: str, uvicorn_run: UvicornCalls
) -> None:
    result = invoke("--app", f"{app_module}:app", "run", "--debug")
    assert result.exit_code == 0, result.output
    args, kwargs = uvicorn_run.only
    assert args == ("asyncflask.cli:debug_app",)
    assert kwargs["factory"] is True
    assert kwargs["reload"] is True
    assert os.environ["ASYNCFLASK_APP"] == f"{app_module}:app"
    assert os.environ["FLASK_DEBUG"] == "1"
    assert "Debug mode: on" in result.stderr


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--debug", "run"], {}),
        (["run"], {"ASYNCFLASK_DEBUG": "1"}),
        (["run"], {"FLASK_DEBUG": "true"}),
    ],
    ids=["group-option", "ASYNCFLASK_DEBUG", "FLASK_DEBUG"],
)
def test_debug_mode_from_the_group_option_or_the_environment(
    app_module: str,
    uvicorn_run: UvicornCalls,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = invoke("--app", app_module, *argv)
    assert result.exit_code == 0, result.output
    assert uvicorn_run.only[0] == ("asyncflask.cli:debug_app",)
    assert sys.modules[app_module].app.debug is True


def test_bad_debug_value_is_a_usage_error(
    app_module: str, uvicorn_run: UvicornCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCFLASK_DEBUG", "maybe")
    result = invoke("--app", app_module, "run")
    assert result.exit_code == 2
    assert "'maybe' is not a valid boolean" in result.stderr
    assert uvicorn_run.calls == []


def test_debug_without_the_reloader(app_module: str, uvicorn_run: UvicornCalls) -> None:
    assert invoke("--app", app_module, "run", "--debug", "--no-reload").exit_code == 0
    assert uvicorn_run.only[1]["reload"] is False


def test_no_debug_beats_the_environment(
    app_module: str, uvicorn_run: UvicornCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCFLASK_DEBUG", "1")
    result = invoke("--app", app_module, "run", "--no-debug")
    assert result.exit_code == 0, result.output
    args, kwargs = uvicorn_run.only
    assert args == (f"{app_module}:app",)
    assert kwargs["reload"] is False
    assert "Debug mode: off" in result.stderr
    assert sys.modules[app_module].app.debug is False


def test_debug_app_factory_wraps_the_app(app_module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from asyncflask.cli import debug_app

    monkeypatch.setenv("ASYNCFLASK_APP", f"{app_module}:create_app()")
    wrapped = debug_app()
    assert isinstance(wrapped, DebugTraceback)
    assert isinstance(wrapped.app, Flask)
    assert wrapped.app.debug is True
    assert wrapped.logger is wrapped.app.logger


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
    assert isinstance(args[0], DebugTraceback)
    assert args[0].app is app
    assert kwargs["port"] == 8765
    assert kwargs["log_level"] == "debug"
    assert kwargs["timeout_keep_alive"] == 7
    assert app.debug is True


def test_app_run_does_nothing_under_the_command(
    uvicorn_run: UvicornCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a module that calls app.run() when imported must not block a command
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    Flask("runapp").run()
    assert uvicorn_run.calls == []


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
    assert result.stdout.startswith("Usage: asyncflask")
    for word in ("--app", "--debug", "--env-file", "run", "routes", "shell"):
        assert word in result.stdout
    result = _run([sys.executable, "-m", "asyncflask", "run", "--help"], app_dir)
    assert result.returncode == 0, result.stderr
    for option in ("--host", "--port", "--reload", "--workers", "--root-path", "--debug"):
        assert option in result.stdout


def test_console_script_help(app_dir: Path) -> None:
    script = Path(sys.executable).parent / "asyncflask"
    assert script.exists(), "the asyncflask console script is not installed"
    result = _run([str(script), "--help"], app_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: asyncflask")


def _assert_clean_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert "\nError: " in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr


def test_cli_without_app_is_a_clean_error(tmp_path: Path) -> None:
    result = _run([sys.executable, "-m", "asyncflask", "run"], tmp_path)
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


def test_cli_serves_factory_called_with_arguments() -> None:
    with run_server(FACTORY_MODULE, target="app:create_app('served', greeting='hi')") as server:
        assert _get(server.url + "/").text == "hi served"
    assert "Traceback" not in server.stderr


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
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASYNCFLASK_APP", raising=False)
    monkeypatch.delenv("FLASK_APP", raising=False)
    result = invoke("hello")
    assert result.exit_code == 2
    assert "Could not find the app" in result.stderr
    assert "No such command 'hello'" in result.stderr


def test_test_cli_runner_invokes_app_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cmds_runner.py").write_text(COMMANDS_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import cmds_runner  # type: ignore[import-not-found]

    result = cmds_runner.app.test_cli_runner().invoke(args=["hello", "bo"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello bo from cmds_runner\n"


def test_test_cli_runner_class_is_used() -> None:

    class SubRunner(FlaskCliRunner):
        pass

    app = Flask("runner")

    @app.cli.command("hello")
    def hello() -> None:
        click.echo("hello")

    assert type(app.test_cli_runner()) is FlaskCliRunner
    app.test_cli_runner_class = SubRunner
    runner = app.test_cli_runner()
    assert isinstance(runner, SubRunner)
    assert runner.invoke(args=["hello"]).output == "hello\n"


def test_a_group_with_create_app_uses_it() -> None:
    from asyncflask.cli import AsyncFlaskGroup

    made = Flask("made")

    @made.route("/made-here")
    async def here() -> str:
        return "here"

    group = AsyncFlaskGroup(create_app=lambda: made)
    group.add_command(cli.commands["routes"])
    result = CliRunner().invoke(group, ["routes"], prog_name="custom")
    assert result.exit_code == 0, result.output
    assert "/made-here" in result.output
