"""``asyncflask routes``, ``asyncflask shell`` and ``.env`` / ``.flaskenv``
files."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from asyncflask.cli import cli

ROUTES_MODULE = """
from asyncflask import Blueprint, Flask, g

app = Flask(__name__)
admin = Blueprint("admin", __name__, url_prefix="/admin")


@app.get("/")
async def index():
    return "index"


@app.route("/users", methods=["GET", "POST"])
async def users():
    return "users"


@admin.delete("/item/<int:id>")
async def remove(id):
    return "gone"


app.register_blueprint(admin)


@app.shell_context_processor
def extra_names():
    return {"answer": 42}


empty = Flask("empty", static_folder=None)
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A uniquely named module in a fresh working directory, and the
    environment put back afterwards (the commands and dotenv files set
    variables)."""
    name = f"routesapp_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(ROUTES_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    saved = dict(os.environ)
    for key in ("ASYNCFLASK_APP", "FLASK_APP", "ASYNCFLASK_DEBUG", "FLASK_DEBUG", "GREETING"):
        os.environ.pop(key, None)
    yield name
    os.environ.clear()
    os.environ.update(saved)
    for mod in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[mod]


@pytest.fixture
def module(_isolated: str) -> str:
    return _isolated


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="asyncflask", input=input)


def _table(output: str) -> list[list[str]]:
    lines = output.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", "Rule"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    return [line.split("  ") for line in lines[2:]]


def _cells(output: str) -> list[tuple[str, ...]]:
    return [tuple(cell.strip() for cell in row if cell.strip()) for row in _table(output)]


# -- routes ------------------------------------------------------------------------


def test_routes_sorted_by_endpoint(module: str) -> None:
    result = invoke("--app", module, "routes")
    assert result.exit_code == 0, result.output
    assert _cells(result.output) == [
        ("admin.remove", "DELETE", "/admin/item/<int:id>"),
        ("index", "GET", "/"),
        ("static", "GET", "/static/<path:filename>"),
        ("users", "GET, POST", "/users"),
    ]


def test_routes_columns_line_up(module: str) -> None:
    lines = invoke("--app", module, "routes").output.splitlines()
    rule_column = lines[0].index("Rule")
    for line in lines[2:]:
        assert line[rule_column] == "/"
        assert line[rule_column - 2 : rule_column] == "  "


@pytest.mark.parametrize(
    ("sort", "first"),
    [("rule", "/"), ("methods", "/admin/item/<int:id>"), ("match", "/static/<path:filename>")],
)
def test_routes_sort(module: str, sort: str, first: str) -> None:
    result = invoke("--app", module, "routes", "--sort", sort)
    assert result.exit_code == 0, result.output
    assert _cells(result.output)[0][-1] == first


def test_routes_all_methods(module: str) -> None:
    result = invoke("--app", module, "routes", "--all-methods")
    assert result.exit_code == 0, result.output
    assert ("index", "GET, HEAD, OPTIONS", "/") in _cells(result.output)


def test_routes_of_an_app_without_any(module: str) -> None:
    result = invoke("--app", f"{module}:empty", "routes")
    assert result.exit_code == 0, result.output
    assert result.output == "No routes were registered.\n"


def test_routes_bad_sort_is_a_usage_error(module: str) -> None:
    result = invoke("--app", module, "routes", "--sort", "nope")
    assert result.exit_code == 2
    assert "Invalid value for '--sort'" in result.stderr


def test_routes_without_an_app_is_a_clean_error(module: str) -> None:
    result = invoke("routes")
    assert result.exit_code == 2
    assert "Error: Could not find the app" in result.stderr


# -- shell -------------------------------------------------------------------------

SHELL_INPUT = """\
from asyncflask import current_app
print("names:", current_app._get_current_object() is app, answer)
g.x = 5
print("g.x:", g.x)
"""


def test_shell_has_the_app_and_an_app_context(module: str) -> None:
    result = invoke("--app", module, "shell", input=SHELL_INPUT)
    assert result.exit_code == 0, result.output
    assert f"App: {module}" in result.output
    assert "names: True 42" in result.output
    assert "g.x: 5" in result.output
    assert "Traceback" not in result.output


def test_shell_shows_errors_and_goes_on(module: str) -> None:
    result = invoke("--app", module, "shell", input="1/0\nprint('after', 6 * 7)\n")
    assert result.exit_code == 0, result.output
    assert "ZeroDivisionError" in result.output
    assert "after 42" in result.output


def test_shell_in_a_subprocess(module: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ASYNCFLASK_APP", "FLASK_APP")}
    result = subprocess.run(
        [sys.executable, "-m", "asyncflask", "--app", module, "shell"],
        input="from asyncflask import current_app\nprint('ctx', current_app.name)\n",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"ctx {module}" in result.stdout


# -- .env and .flaskenv ------------------------------------------------------------

GREETING_MODULE = """
import os

import click
from asyncflask import Flask

app = Flask(__name__)


@app.cli.command()
def greet():
    click.echo(f"{os.environ.get('GREETING')} debug={app.debug}")
"""


@pytest.fixture
def greet_module(tmp_path: Path, module: str) -> str:
    name = f"{module}_greet"
    (tmp_path / f"{name}.py").write_text(GREETING_MODULE)
    return name


def test_flaskenv_gives_the_app_and_variables(greet_module: str, tmp_path: Path) -> None:
    (tmp_path / ".flaskenv").write_text(f"ASYNCFLASK_APP={greet_module}\nGREETING=from-flaskenv\n")
    result = invoke("greet")
    assert result.exit_code == 0, result.output
    assert result.output == "from-flaskenv debug=False\n"


def test_env_beats_flaskenv(greet_module: str, tmp_path: Path) -> None:
    (tmp_path / ".flaskenv").write_text(f"FLASK_APP={greet_module}\nGREETING=from-flaskenv\n")
    (tmp_path / ".env").write_text("GREETING=from-env\nASYNCFLASK_DEBUG=1\n")
    result = invoke("greet")
    assert result.exit_code == 0, result.output
    assert result.output == "from-env debug=True\n"


def test_env_file_option_beats_both(greet_module: str, tmp_path: Path) -> None:
    (tmp_path / ".flaskenv").write_text(f"ASYNCFLASK_APP={greet_module}\nGREETING=flaskenv\n")
    (tmp_path / ".env").write_text("GREETING=env\n")
    (tmp_path / "staging.env").write_text("GREETING=staging\n")
    result = invoke("--env-file", "staging.env", "greet")
    assert result.exit_code == 0, result.output
    assert result.output == "staging debug=False\n"


def test_the_real_environment_beats_the_files(
    greet_module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(f"ASYNCFLASK_APP={greet_module}\nGREETING=env\n")
    monkeypatch.setenv("GREETING", "real")
    result = invoke("greet")
    assert result.exit_code == 0, result.output
    assert result.output == "real debug=False\n"


def test_missing_env_file_is_a_usage_error(greet_module: str) -> None:
    result = invoke("--env-file", "missing.env", "--app", greet_module, "greet")
    assert result.exit_code == 2
    assert "'missing.env' does not exist" in result.stderr


def test_dotenv_found_in_a_parent_directory(greet_module: str, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"GREETING=parent\nASYNCFLASK_APP={greet_module}\n")
    (tmp_path / "sub").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ASYNCFLASK_APP", "GREETING")}
    env["PYTHONPATH"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "asyncflask", "greet"],
        cwd=tmp_path / "sub",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "parent debug=False\n"
