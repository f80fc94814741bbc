"""The ``asyncflask`` command: ``asyncflask --app module:app run``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import typing as t

__all__ = ["load_app", "main"]


def _split_target(target: str) -> tuple[str, str]:
    module, _, name = target.partition(":")
    if module.endswith(".py"):
        module = module[:-3].replace("/", ".").replace(os.sep, ".")
    return module, name


def load_app(target: str) -> t.Any:
    """Import ``module:name`` (or ``module``, finding ``app``); a name ending
    in ``()`` is an app factory and is called."""
    module_name, name = _split_target(target)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not (e.name == module_name or module_name.startswith(e.name + ".")):
            raise  # the module exists but imports something missing
        raise SystemExit(f"Error: could not import {module_name!r}: no such module.") from None
    attr = (name or "app").removesuffix("()")
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise SystemExit(f"Error: module {module_name!r} has no attribute {attr!r}.") from None
    return obj() if name.endswith("()") else obj


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(
        prog="asyncflask",
        description="Run an asyncflask application with uvicorn.",
        epilog="Any other command is one the app registered with @app.cli.command().",
    )
    parser.add_argument(
        "--app",
        default=os.environ.get("ASYNCFLASK_APP") or os.environ.get("FLASK_APP"),
        help="the application, as module:name (default: $ASYNCFLASK_APP)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve the application")
    run.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    run.add_argument("--port", type=int, default=5000, help="port to bind (5000)")
    run.add_argument("--reload", action="store_true", help="restart when code changes")
    run.add_argument("--workers", type=int, default=None, help="number of worker processes")
    run.add_argument("--root-path", default="", help="the ASGI root_path (mount prefix)")
    run.add_argument("--log-level", default="info", help="uvicorn's log level")
    run.add_argument("--no-access-log", action="store_true", help="turn the access log off")
    return parser


def _app_command(argv: list[str]) -> tuple[str | None, list[str]] | None:
    """``(--app value, command and its arguments)`` when the command is one of
    the app's own click commands rather than ``run``."""
    target = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--app" and i + 1 < len(argv):
            target, i = argv[i + 1], i + 2
        elif arg.startswith("--app="):
            target, i = arg.removeprefix("--app="), i + 1
        elif arg.startswith("-") or arg == "run":
            return None
        else:
            return target, argv[i:]
    return None


def run_app_command(target: str, args: list[str]) -> None:
    """Run one of the app's click commands (``@app.cli.command()``) in an
    application context, as ``flask <command>`` does."""
    from flask.cli import ScriptInfo

    app = load_app(target)
    app.cli.main(args=args, prog_name="asyncflask", obj=ScriptInfo(create_app=lambda: app))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``asyncflask`` command."""
    argv = sys.argv[1:] if argv is None else argv
    command = _app_command(argv)
    if command is not None:
        target = command[0] or os.environ.get("ASYNCFLASK_APP") or os.environ.get("FLASK_APP")
        if not target:
            raise SystemExit("Error: give the application with --app module:app.")
        run_app_command(target, command[1])
        return
    args = build_parser().parse_args(argv)
    if not args.app:
        raise SystemExit("Error: give the application with --app module:app.")
    import uvicorn

    module_name, name = _split_target(args.app)
    attr = name or "app"
    load_app(args.app)  # fail here, with a clear message, if it cannot be imported
    uvicorn.run(
        f"{module_name}:{attr.removesuffix('()')}",
        factory=attr.endswith("()"),
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        root_path=args.root_path,
        log_level=args.log_level,
        access_log=not args.no_access_log,
        app_dir=os.getcwd(),
    )
