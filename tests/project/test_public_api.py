"""The public API: ``asyncflask.__all__`` is sorted, importable, contains
every name of the documented public API, and every public name is
documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType
from typing import Any

import pytest

import asyncflask

#: The public API: ``from asyncflask import ...``
PUBLIC_NAMES = [
    "Flask",
    "Blueprint",
    "Request",
    "Response",
    "JSONResponse",
    "StreamingResponse",
    "FileResponse",
    "request",
    "g",
    "session",
    "current_app",
    "make_response",
    "jsonify",
    "redirect",
    "abort",
    "url_for",
    "send_file",
    "send_from_directory",
    "stream_with_context",
    "after_this_request",
    "copy_current_request_context",
    "has_request_context",
    "has_app_context",
    "render_template",
    "render_template_string",
    "stream_template",
    "flash",
    "get_flashed_messages",
    "ServerSentEvent",
    "EventStream",
]

#: Context-local proxies: their docstring is the proxied object's, so they
#: are checked for being proxies instead.
PROXIES = {"request", "g", "session", "current_app", "websocket"}


def test_all_is_sorted() -> None:
    assert asyncflask.__all__ == sorted(asyncflask.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(asyncflask.__all__) == len(set(asyncflask.__all__))


@pytest.mark.parametrize("name", asyncflask.__all__)
def test_every_name_in_all_is_importable(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"from asyncflask import {name}", namespace)
    assert namespace[name] is getattr(asyncflask, name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, Any] = {}
    exec("from asyncflask import *", namespace)
    names = {n for n in namespace if n != "__builtins__"}
    assert names == set(asyncflask.__all__)


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_design_names_exported(name: str) -> None:
    assert name in asyncflask.__all__
    assert hasattr(asyncflask, name)


def test_design_names_list_is_complete() -> None:
    # the list above is section 1's, item by item
    assert len(PUBLIC_NAMES) == len(set(PUBLIC_NAMES)) == 30


def test_package_docstring() -> None:
    assert asyncflask.__doc__
    assert asyncflask.__doc__.strip()


@pytest.mark.parametrize("name", sorted(set(asyncflask.__all__) - PROXIES))
def test_public_name_has_docstring(name: str) -> None:
    obj = getattr(asyncflask, name)
    doc = inspect.getdoc(obj)
    assert doc, f"asyncflask.{name} has no docstring"
    if inspect.isclass(obj):
        # a class's own docstring, not one inherited from a base class
        assert obj.__doc__, f"asyncflask.{name} inherits its docstring"


@pytest.mark.parametrize("name", sorted(PROXIES))
def test_proxies_are_local_proxies(name: str) -> None:
    from werkzeug.local import LocalProxy

    assert isinstance(getattr(asyncflask, name), LocalProxy)


def _public_modules() -> list[ModuleType]:
    modules = [asyncflask]
    for info in pkgutil.iter_modules(asyncflask.__path__):
        if info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"asyncflask.{info.name}"))
    return modules


@pytest.mark.parametrize("module", _public_modules(), ids=lambda m: m.__name__)
def test_every_module_has_docstring(module: ModuleType) -> None:
    assert module.__doc__, f"{module.__name__} has no docstring"


def _public_members() -> list[tuple[str, type | None, Any]]:
    """Every public class and function in ``asyncflask.__all__`` and the
    ``__all__`` of each public module, and every public method of those
    classes, as ``(qualified name, owning class or None, object)``."""
    seen: set[int] = set()
    members: list[tuple[str, type | None, Any]] = []
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if name.startswith("_") or name in PROXIES:
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("asyncflask"):
                continue  # re-exported from Flask/Werkzeug; documented there
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            members.append((f"{module.__name__}.{name}", None, obj))
            if not inspect.isclass(obj):
                continue
            for attr, value in vars(obj).items():
                func = value.fget if isinstance(value, property) else value
                if isinstance(func, (staticmethod, classmethod)):
                    func = func.__func__
                if not attr.startswith("_") and inspect.isfunction(func):
                    members.append((f"{module.__name__}.{name}.{attr}", obj, func))
    return members


def _inherited_doc(cls: type, attr: str) -> str | None:
    """The docstring of the base-class attribute ``attr`` overrides."""
    for base in cls.__mro__[1:]:
        value = vars(base).get(attr)
        if value is None:
            continue
        func = value.fget if isinstance(value, property) else value
        doc = getattr(func, "__doc__", None)
        if doc:
            return str(doc)
    return None


_MEMBERS = _public_members()


@pytest.mark.parametrize(("qualname", "owner", "obj"), _MEMBERS, ids=[m[0] for m in _MEMBERS])
def test_public_members_documented(qualname: str, owner: type | None, obj: Any) -> None:
    # a method overriding a documented base-class method may inherit its docstring
    doc = obj.__doc__
    if not doc and owner is not None:
        doc = _inherited_doc(owner, qualname.rpartition(".")[2])
    assert doc and doc.strip(), f"{qualname} has no docstring"


def test_module_all_is_sorted() -> None:
    for module in _public_modules():
        names = getattr(module, "__all__", None)
        if names is not None:
            assert list(names) == sorted(names), module.__name__
