"""The package's import order: a module imports, when it runs, only modules
of a lower layer than its own (docs/architecture.md draws the layers).

Imports under ``if TYPE_CHECKING:`` do not run and may point anywhere;
imports inside functions run, and count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import asyncflask

PACKAGE = Path(asyncflask.__file__).parent

#: Lowest first. A module may import, at run time, only modules of an
#: earlier layer; modules of one layer do not import each other.
LAYERS: list[list[str]] = [
    [
        *("typing", "utils", "signals", "sessions", "jsonprovider", "matcher", "globals"),
        *("debug", "deadline", "proxy"),
    ],
    ["asgi", "formparser", "flaskglobals", "serving", "body", "headerlimits", "jsonspeedups"],
    ["streaming", "request", "responsebody", "conditional"],
    ["response", "websocket"],
    [
        *("files", "sse", "routing", "views", "ctxhelpers"),
        *("wstesting", "testtransport", "testbuild", "testctx", "testcookies", "testloop"),
    ],
    ["ctx", "helpers", "testing", "blueprints", "broadcast"],
    [
        *("templating", "wsdispatch"),
        *("appcontexts", "appfiles", "apptesting", "makeresponse", "viewcalls"),
    ],
    ["app"],
    ["cli", "__init__"],
    ["__main__"],
]

LAYER_OF = {name: n for n, layer in enumerate(LAYERS) for name in layer}


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def runtime_imports(source: str) -> set[str]:
    """The package modules a module's source imports when it runs."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    visit_stmt(stmt)
            else:
                visit_stmt(child)

    def visit_stmt(node: ast.AST) -> None:
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:
                if module:
                    found.add(module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif node.level == 0 and module.split(".")[0] == "asyncflask":
                parts = module.split(".")
                found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "asyncflask":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        visit(node)

    visit(ast.parse(source))
    return found


def violations(module: str, source: str) -> list[str]:
    """Each runtime import of ``module`` that does not go down a layer."""
    layer = LAYER_OF[module]
    return [
        f"{module} (layer {layer}) imports {name} (layer {LAYER_OF.get(name, '?')})"
        for name in sorted(runtime_imports(source))
        if name not in LAYER_OF or LAYER_OF[name] >= layer
    ]


MODULES = sorted(path.stem for path in PACKAGE.glob("*.py"))


def test_every_module_has_a_layer() -> None:
    assert sorted(LAYER_OF) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_imports_go_down(module: str) -> None:
    assert violations(module, (PACKAGE / f"{module}.py").read_text()) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from .app import Flask", ["request (layer 2) imports app (layer 7)"]),
        ("import asyncflask.ctx", ["request (layer 2) imports ctx (layer 5)"]),
        ("def f():\n    from . import app", ["request (layer 2) imports app (layer 7)"]),
        ("from asyncflask import Flask", ["request (layer 2) imports __init__ (layer 8)"]),
        ("from .streaming import send_stream", ["request (layer 2) imports streaming (layer 2)"]),
        ("from .nowhere import x", ["request (layer 2) imports nowhere (layer ?)"]),
        ("import typing as t\nif t.TYPE_CHECKING:\n    from .app import Flask", []),
        (
            "if TYPE_CHECKING:\n    pass\nelse:\n    from .ctx import x",
            ["request (layer 2) imports ctx (layer 5)"],
        ),
        ("from .globals import _cv_ctx\nfrom .formparser import parse_form", []),
    ],
)
def test_the_check_sees_upward_imports(source: str, expected: list[str]) -> None:
    assert violations("request", source) == expected
