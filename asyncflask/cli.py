"""The ``asyncflask`` command: Flask's ``flask`` command, serving with uvicorn.

``asyncflask --app module:app run [--debug]``, ``routes``, ``shell`` and the
app's own ``@app.cli.command()`` commands. It is Flask's click group
(``flask.cli.FlaskGroup``: ``--app``, ``--debug``, ``--env-file``, ``.env``
and ``.flaskenv`` loading through python-dotenv) with asyncflask's app
loading and these three commands.
"""

from __future__ import annotations

import ast
import code
import contextlib
import importlib
import inspect
import os
import signal
import sys
import threading
import typing as t
from collections.abc import Iterator
from importlib.metadata import version

import click
from click.core import ParameterSource
from flask.cli import (
    FlaskGroup,
    NoAppException,
    ScriptInfo,
    _called_with_wrong_args,
    load_dotenv,
    pass_script_info,
)
from flask.helpers import get_debug_flag

from .app import Flask

__all__ = [
    "AppInfo",
    "app_from_env",
    "cli",
    "debug_app",
    "load_app",
    "locate_app",
    "main",
]

APP_ENV = ("ASYNCFLASK_APP", "FLASK_APP")
DEBUG_ENV = ("ASYNCFLASK_DEBUG", "FLASK_DEBUG")
_DEFAULT_MODULES = ("wsgi", "app")
_DEFAULT_NAMES = ("app", "application")
_DEFAULT_FACTORIES = ("create_app", "make_app")


# -- finding the app ---------------------------------------------------------------


def _split_target(target: str) -> tuple[str, str]:
    module, _, name = target.partition(":")
    if module.endswith(".py"):
        module = module[:-3].replace("/", ".").replace(os.sep, ".")
    return module, name


def _import(module_name: str) -> t.Any:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not (e.name == module_name or module_name.startswith(e.name + ".")):
            raise  # the module exists but imports something missing
        raise NoAppException(f"Could not import {module_name!r}: no such module.") from None


def _best_name(module: t.Any) -> str:
    """``app`` or ``application``, the one Flask app of the module, or a
    ``create_app`` / ``make_app`` factory (written ``name()``)."""
    for name in _DEFAULT_NAMES:
        if isinstance(getattr(module, name, None), Flask):
            return name
    apps = [name for name, value in vars(module).items() if isinstance(value, Flask)]
    if len(apps) == 1:
        return str(apps[0])
    if len(apps) > 1:
        raise NoAppException(
            f"Several apps in {module.__name__!r} ({', '.join(apps)}): give one as"
            f" '{module.__name__}:name'."
        )
    for name in _DEFAULT_FACTORIES:
        if inspect.isfunction(getattr(module, name, None)):
            return f"{name}()"
    raise NoAppException(f"No app in {module.__name__!r}: give it as '{module.__name__}:name'.")


def _parse_name(name: str) -> tuple[str, list[t.Any], dict[str, t.Any], bool]:
    """``name`` as Flask's ``--app`` reads it: an attribute, or a call of one
    with literal arguments (``create_app("dev", debug=True)``). Returns the
    attribute's name, the arguments and whether it is a call."""
    try:
        expr = ast.parse(name.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(f"Could not read {name!r} as a name or a function call.") from None
    if isinstance(expr, ast.Name):
        return expr.id, [], {}, False
    if not isinstance(expr, ast.Call) or not isinstance(expr.func, ast.Name):
        raise NoAppException(f"Could not read {name!r} as a name or a call of a plain name.")
    try:
        args = [ast.literal_eval(arg) for arg in expr.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in expr.keywords if kw.arg}
    except ValueError:
        raise NoAppException(f"The arguments of {name!r} must be literal values.") from None
    return expr.func.id, args, kwargs, True


def locate_app(target: str | None) -> str:
    """The full ``module:name`` (or ``module:factory(...)``) that ``target``
    means: ``module`` alone finds the app in it, a name that is a function
    is a factory (``create_app`` means ``create_app()``), and no target at
    all looks in ``wsgi.py`` then ``app.py`` of the working directory, as
    ``flask`` does. Imports the module."""
    if not target:
        for module_name in _DEFAULT_MODULES:
            if os.path.isfile(f"{module_name}.py"):
                target = module_name
                break
        else:
            raise NoAppException(
                "Could not find the app: give it with '--app module:app' or"
                " $ASYNCFLASK_APP, or put it in wsgi.py or app.py."
            )
    module_name, name = _split_target(target)
    module = _import(module_name)
    if not name:
        return f"{module_name}:{_best_name(module)}"
    attr, _, _, called = _parse_name(name)
    if not called and inspect.isfunction(getattr(module, attr, None)):
        name = f"{attr}()"
    return f"{module_name}:{name.strip()}"


def load_app(target: str | None) -> Flask:
    """The app ``target`` names (see :func:`locate_app`): ``module:name``,
    or ``module`` alone; a factory (``module:create_app``,
    ``module:create_app("dev")``) is called, as by ``flask --app``."""
    module_name, name = _split_target(locate_app(target))
    attr, args, kwargs, called = _parse_name(name)
    try:
        obj = getattr(_import(module_name), attr)
    except AttributeError:
        raise NoAppException(f"Module {module_name!r} has no attribute {attr!r}.") from None
    app = obj
    if called:
        try:
            app = obj(*args, **kwargs)
        except TypeError as e:
            if not _called_with_wrong_args(obj):
                raise  # raised inside the factory: its own error
            raise NoAppException(
                f"The factory '{module_name}:{name}' could not be called with"
                f" {'these' if args or kwargs else 'no'} arguments ({e}). Give"
                f" them as '{module_name}:{attr}(arguments)'."
            ) from None
    if not isinstance(app, Flask):
        raise NoAppException(
            f"'{module_name}:{name}' is not an asyncflask app (it is {type(app).__name__!r})."
        )
    return app


def app_from_env() -> Flask:
    """The app of ``$ASYNCFLASK_APP``: the factory ``run`` gives uvicorn
    (also in the reloader's and the workers' processes) for an app made by
    a factory called with arguments."""
    return load_app(os.environ.get("ASYNCFLASK_APP"))


class AppInfo(ScriptInfo):
    """Flask's ``ScriptInfo`` (what the commands share), loading the app
    with :func:`load_app` (or its ``create_app`` function, if given)."""

    def load_app(self) -> t.Any:
        if self._loaded_app is None:
            app: t.Any
            if self.create_app is not None:
                app = self.create_app()
            else:
                app = load_app(self.app_import_path)
            if self.set_debug_flag:
                app.debug = get_debug_flag()
            self._loaded_app = app
        return self._loaded_app


# -- the group's options -------------------------------------------------------------


def _set_app(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(AppInfo).app_import_path = value


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    source = ctx.get_parameter_source(param.name or "")
    if source not in (None, ParameterSource.DEFAULT):
        # the app reads it when it is created, in the server's process too
        os.environ["FLASK_DEBUG"] = "1" if value else "0"


def _load_env_file(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    info = ctx.ensure_object(AppInfo)
    if value is not None or info.load_dotenv_defaults:
        load_dotenv(value, load_defaults=info.load_dotenv_defaults)


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for package in ("asyncflask", "flask", "werkzeug", "uvicorn"):
        click.echo(f"{package} {version(package)}")
    click.echo(f"Python {sys.version.split()[0]}")
    ctx.exit()


def _debug_option() -> click.Option:
    return click.Option(
        ["--debug/--no-debug"],
        envvar=list(DEBUG_ENV),
        default=None,
        help="Debug mode: reloader and tracebacks in the browser (never in production).",
        expose_value=False,
        callback=_set_debug,
    )


_OPTIONS = [
    click.Option(
        ["-e", "--env-file"],
        type=click.Path(exists=True, dir_okay=False),
        help="Load environment variables from this file (python-dotenv), over .env and .flaskenv.",
        is_eager=True,
        expose_value=False,
        callback=_load_env_file,
    ),
    click.Option(
        ["-A", "--app"],
        metavar="IMPORT",
        envvar=list(APP_ENV),
        help="The app as 'module:name' or 'module:create_app()' (default: $ASYNCFLASK_APP).",
        is_eager=True,
        expose_value=False,
        callback=_set_app,
    ),
    _debug_option(),
    click.Option(
        ["--version"],
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=_show_version,
        help="Show the versions and exit.",
    ),
]


class AsyncFlaskGroup(FlaskGroup):
    """Flask's ``FlaskGroup`` with asyncflask's options, app loading and
    commands; the app's own commands are looked up as ``flask`` does."""

    def __init__(self, **extra: t.Any) -> None:
        extra.setdefault("context_settings", {})["auto_envvar_prefix"] = "ASYNCFLASK"
        super().__init__(add_default_commands=False, add_version_option=False, **extra)
        self.params[:] = list(_OPTIONS)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: t.Any,
    ) -> click.Context:
        extra.setdefault(
            "obj", AppInfo(create_app=self.create_app, load_dotenv_defaults=self.load_dotenv)
        )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (len(args) == 1 and args[0] in self.get_help_option_names(ctx)):
            # --help lists the app's commands: read --env-file and --app first
            for option in _OPTIONS[:2]:
                option.handle_parse_result(ctx, {}, [])
        return click.Group.parse_args(self, ctx, args)


#: The ``asyncflask`` command: ``run``, ``routes``, ``shell`` and the app's own commands.
cli = AsyncFlaskGroup(
    name="asyncflask",
    help="""\
Run an asyncflask app and its commands.

Give the app with '--app module:app' or $ASYNCFLASK_APP ($FLASK_APP), or put
it in wsgi.py or app.py. .env and .flaskenv files are read (python-dotenv).
""",
)


# -- run -----------------------------------------------------------------------------


def debug_app() -> t.Any:
    """The app of ``$ASYNCFLASK_APP`` in debug mode, wrapped in
    ``asyncflask.debug.DebugTraceback``: the factory that ``run
    --debug`` gives uvicorn (also in the reloader's process)."""
    from .debug import DebugTraceback

    app = load_app(os.environ.get("ASYNCFLASK_APP"))
    app.debug = True
    return DebugTraceback(app, app.logger)


def _interrupt(signum: int, frame: t.Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _stopped_by_signal() -> Iterator[None]:
    """A stop asked for with Ctrl-C (SIGINT) or SIGTERM ends the command
    quietly with status 0. uvicorn shuts down on either, then raises the
    signal again: SIGINT becomes a ``KeyboardInterrupt`` (caught here, with
    one that comes before uvicorn listens), and SIGTERM, which would kill
    the process with status 143, raises one too while the server runs."""
    if threading.current_thread() is not threading.main_thread():
        yield  # pragma: no cover - signals reach the main thread only
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@cli.command("run", short_help="Serve the app with uvicorn.")
@click.option("--host", "-h", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", "-p", type=int, default=5000, show_default=True, help="Port to bind.")
@click.option(
    "--reload/--no-reload", default=None, help="Restart when code changes (default: --debug)."
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes.")
@click.option("--root-path", default="", help="The ASGI root_path (a mount prefix).")
@click.option("--log-level", default="info", show_default=True, help="uvicorn's log level.")
@click.option("--no-access-log", is_flag=True, help="Turn the access log off.")
@click.option(
    "--timeout-graceful-shutdown",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="On SIGTERM, seconds to wait for open responses (streams) before closing them.",
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    reload: bool | None,
    workers: int | None,
    root_path: str,
    log_level: str,
    no_access_log: bool,
    timeout_graceful_shutdown: int | None,
) -> None:
    """Serve the app with uvicorn. With --debug: uvicorn's reloader, and an
    unhandled error shows its traceback in the browser and in the log."""
    import uvicorn

    target = locate_app(info.app_import_path)  # a clean error now if it cannot be found
    info.load_app()
    debug = get_debug_flag()
    click.echo(f" * Serving asyncflask app '{target}'", err=True)
    click.echo(f" * Debug mode: {'on' if debug else 'off'}", err=True)
    if debug:
        os.environ["ASYNCFLASK_APP"] = target
        app, factory = "asyncflask.cli:debug_app", True
    elif target.endswith(")") and not target.endswith("()"):
        os.environ["ASYNCFLASK_APP"] = target  # uvicorn calls a factory without arguments
        app, factory = "asyncflask.cli:app_from_env", True
    else:
        app, factory = target.removesuffix("()"), target.endswith("()")
    with _stopped_by_signal():
        uvicorn.run(
            app,
            factory=factory,
            host=host,
            port=port,
            reload=debug if reload is None else reload,
            workers=workers,
            root_path=root_path,
            log_level=log_level,
            access_log=not no_access_log,
            timeout_graceful_shutdown=timeout_graceful_shutdown,
            app_dir=os.getcwd(),
        )


run_command.params.insert(0, _debug_option())


# -- routes and shell -------------------------------------------------------------------


@cli.command("routes", short_help="Show the app's routes.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "rule", "match")),
    default="endpoint",
    show_default=True,
    help="Sort by this column; 'match' is the order in which requests are matched.",
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS too.")
@pass_script_info
def routes_command(info: ScriptInfo, sort: str, all_methods: bool) -> None:
    """Show the app's routes: endpoint, methods and rule."""
    app = info.load_app()
    hidden = set() if all_methods else {"HEAD", "OPTIONS"}
    rows = [
        (rule.endpoint, ", ".join(sorted((rule.methods or set()) - hidden)), rule.rule)
        for rule in app.url_map.iter_rules()
    ]
    if not rows:
        click.echo("No routes were registered.")
        return
    if sort != "match":
        column = ("endpoint", "methods", "rule").index(sort)
        rows.sort(key=lambda row: row[column])
    header = ("Endpoint", "Methods", "Rule")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def shell_context(app: t.Any) -> dict[str, t.Any]:
    """The names a shell starts with: ``app``, ``g`` and those of the app's
    ``@app.shell_context_processor`` functions."""
    from .globals import g

    names: dict[str, t.Any] = {"app": app, "g": g}
    for processor in app.shell_context_processors:
        names.update(processor())
    return names


@cli.command("shell", short_help="Run a Python shell in the app context.")
@click.pass_context
def shell_command(ctx: click.Context) -> None:
    """Run an interactive Python shell with ``app`` and an app context."""
    app = ctx.ensure_object(AppInfo).load_app()
    ctx.with_resource(app.app_context())
    banner = f"Python {sys.version} on {sys.platform}\nApp: {app.import_name}"
    names = shell_context(app)
    hook = getattr(sys, "__interactivehook__", None)
    if hook is not None and sys.stdin.isatty():  # pragma: no cover - needs a terminal
        import readline
        from rlcompleter import Completer

        readline.set_completer(Completer(names).complete)
        hook()
    code.interact(banner=banner, local=names, exitmsg="")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``asyncflask`` command."""
    cli.main(args=argv, prog_name="asyncflask")
