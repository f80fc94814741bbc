"""A pytest plugin that runs Flask's own test suite against asyncflask.

Loaded with ``-p``, before Flask's ``tests/conftest.py`` is imported, it
points names on the real ``flask`` package and its submodules at
asyncflask's objects, so ``flask.Flask``, ``from flask import request`` and
``flask.views.MethodView`` in Flask's tests are asyncflask's. It maps names
only: no function here has behaviour of its own. asyncflask is imported
first, so the Flask objects it builds on (``flask.sansio``, ``flask.views``,
``flask.ctx._AppCtxGlobals``...) are the originals.

The tests that cannot apply to an ASGI framework are listed, each with its
reason, in ``not_applicable.toml`` next to this file; they are deselected
(not skipped), and the summary says how many and why.
"""

from __future__ import annotations

import importlib
import tomllib
from collections import Counter
from pathlib import Path

import _pytest.compat
import _pytest.monkeypatch
import flask.ctx
import pytest

import asyncflask

NOT_APPLICABLE = Path(__file__).with_name("not_applicable.toml")

# the public names, on ``flask`` and on the submodule Flask defines each in
_PUBLIC = {
    "flask.app": ["Flask"],
    "flask.blueprints": ["Blueprint"],
    "flask.wrappers": ["Request", "Response"],
    "flask.globals": ["current_app", "g", "request", "session"],
    "flask.ctx": [
        "after_this_request",
        "copy_current_request_context",
        "has_app_context",
        "has_request_context",
    ],
    "flask.helpers": [
        "abort",
        "flash",
        "get_flashed_messages",
        "make_response",
        "redirect",
        "send_file",
        "send_from_directory",
        "stream_with_context",
        "url_for",
    ],
    "flask.json": ["jsonify"],
    "flask.templating": [
        "render_template",
        "render_template_string",
        "stream_template",
        "stream_template_string",
    ],
}

# (flask module, name) -> (asyncflask module, name), where asyncflask's
# public package does not carry the name
_OTHER = {
    ("flask.ctx", "AppContext"): ("asyncflask.ctx", "AppContext"),
    ("flask.ctx", "RequestContext"): ("asyncflask.ctx", "RequestContext"),
    ("flask.views", "View"): ("asyncflask.views", "View"),
    ("flask.views", "MethodView"): ("asyncflask.views", "MethodView"),
    ("flask.testing", "FlaskClient"): ("asyncflask.testing", "TestClient"),
}


def name_table() -> dict[tuple[str, str], object]:
    """Every ``(flask module, name)`` the adapter points elsewhere, with the
    asyncflask object it points at."""
    # the context variables asyncflask put on flask.ctx at import, which
    # read asyncflask's contexts, under the names the tests import them by
    table: dict[tuple[str, str], object] = {
        ("flask.globals", "_cv_app"): flask.ctx._cv_app,
        ("flask.globals", "_cv_request"): flask.ctx._cv_request,
    }
    for module, names in _PUBLIC.items():
        for name in names:
            table["flask", name] = table[module, name] = getattr(asyncflask, name)
    for (module, name), (source, source_name) in _OTHER.items():
        table[module, name] = getattr(importlib.import_module(source), source_name)
    return table


def install() -> None:
    """Point the names of :func:`name_table` at asyncflask's objects."""
    # Flask 3.1.3's tests read pytest's "not set" marker by its pytest 8 name;
    # pytest 9 renamed it
    if not hasattr(_pytest.monkeypatch, "notset"):
        _pytest.monkeypatch.notset = _pytest.compat.NOTSET  # type: ignore[attr-defined]
    for (module, name), obj in name_table().items():
        target = importlib.import_module(module)
        if not hasattr(target, name):
            raise AttributeError(f"{module} has no {name}: the adapter is out of date")
        setattr(target, name, obj)


install()


def load_not_applicable(path: Path = NOT_APPLICABLE) -> dict[str, str]:
    """Node id (or file, or node id prefix) -> the reason it cannot apply."""
    with path.open("rb") as f:
        groups = tomllib.load(f)
    entries: dict[str, str] = {}
    for key, group in groups.items():
        reason = group.get("reason", "").strip()
        if not reason:
            raise ValueError(f"{path.name}: [{key}] has no reason")
        for test in group["tests"]:
            if test in entries:
                raise ValueError(f"{path.name}: {test} is listed twice")
            entries[test] = f"{key}: {reason}"
    return entries


def _matches(nodeid: str, entry: str) -> bool:
    return nodeid == entry or nodeid.startswith((entry + "::", entry + "["))


class NotApplicable:
    """Deselects the listed tests and reports them at the end."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = entries
        self.deselected: Counter[str] = Counter()
        self.used: set[str] = set()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        keep, drop = [], []
        for item in items:
            entry = next((e for e in self.entries if _matches(item.nodeid, e)), None)
            if entry is None:
                keep.append(item)
            else:
                drop.append(item)
                self.used.add(entry)
                self.deselected[self.entries[entry]] += 1
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        tr = terminalreporter
        total = sum(self.deselected.values())
        tr.section("not applicable to an ASGI framework")
        tr.write_line(f"{total} deselected, listed in {NOT_APPLICABLE.name}:")
        for reason, count in sorted(self.deselected.items()):
            tr.write_line(f"  {count:3d}  {reason}")
        unused = sorted(set(self.entries) - self.used)
        if unused and total:
            tr.write_line(f"{len(unused)} listed but not collected: " + ", ".join(unused))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(NotApplicable(load_not_applicable()), "flask-not-applicable")
