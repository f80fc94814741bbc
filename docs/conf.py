"""Sphinx configuration: ``make docs`` builds the README and docs/ into build/docs.

The source directory is the repository itself (only ``README.md`` and
``docs/`` are read), so a relative link that works on the repository's own
pages, such as ``docs/cli.md`` in the README or ``../README.md`` in a page,
is a link in the site too.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docstrings import prepare_docstring
from sphinx.util.docutils import SphinxDirective

# the package of this checkout, whichever one the environment has installed
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LOGGER = logging.getLogger(__name__)

project = "asyncflask"
root_doc = "README"
include_patterns = ["README.md", "docs/**"]
exclude_patterns = [".venv", ".git", "build", "docs/_templates"]
templates_path = ["_templates"]
# build/docs/index.html sends the reader to the front page, README.html
html_additional_pages = {"index": "redirect.html"}

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
# the anchors GitHub gives headings, which the pages link to
myst_heading_anchors = 4
myst_enable_extensions = ["deflist"]

html_theme = "furo"
html_title = "asyncflask"
html_show_sourcelink = False
html_show_copyright = False

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
python_use_unqualified_type_names = True

# Every reference written in a docstring or a page must resolve. No
# inventory of another project can be fetched offline, so a docstring names
# Flask's, Werkzeug's or the standard library's objects as ``literals``, and
# no reference needs ignoring (see _generated_reference for the signatures).
nitpicky = True
nitpick_ignore: list[tuple[str, str]] = []

# The pages of the site, in the order of its navigation: the README is the
# front page and holds no directive of its own, so the table of contents is
# added to it when it is read.
PAGES = [
    "docs/migrating-from-flask",
    "docs/flask-compatibility",
    "docs/extensions",
    "docs/websockets",
    "docs/broadcast",
    "docs/socketio",
    "docs/reliability",
    "docs/cli",
    "docs/deployment",
    "docs/benchmarks",
    "docs/architecture",
    "docs/api/index",
]
_TOC = "\n\n```{toctree}\n:hidden:\n\n" + "\n".join(f"/{page}" for page in PAGES) + "\n```\n"


def _add_toc(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname == root_doc:
        source[0] += _TOC


class PublicModule(SphinxDirective):
    """``{public-module} asyncflask.x``: the names in the module's ``__all__``.

    A name that ``asyncflask`` itself exports is documented there, under its
    public name, and only mentioned on the page of the module that also
    exports it. The directive reads ``__all__`` when the site is built, so
    moving code between modules changes nothing here.
    """

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        module = importlib.import_module(name)
        top = importlib.import_module("asyncflask")
        # py:currentmodule, not py:module: ``asyncflask.request`` and
        # ``asyncflask.websocket`` are modules and also the context proxies
        rst = [f".. py:currentmodule:: {name}", "", inspect.getdoc(module) or "", ""]
        elsewhere, foreign = [], []
        for member in module.__all__:
            obj = getattr(module, member)
            if module is not top and getattr(top, member, None) is obj:
                elsewhere.append(f":py:obj:`asyncflask.{member}`")
                continue
            home = _defining_module(member, obj)
            if not home.startswith("asyncflask"):
                foreign.append(f"``{home}.{member}``")
            elif inspect.isclass(obj):
                kind = "exception" if issubclass(obj, BaseException) else "class"
                rst += [f".. auto{kind}:: {member}", "   :members:", ""]
            elif inspect.isfunction(obj):
                rst += [f".. autofunction:: {member}", ""]
            else:
                rst += [*_data_entry(home, member, self.get_location()), ""]
        if elsewhere:
            rst += [f"Also exported here: {', '.join(elsewhere)}.", ""]
        if foreign:
            rst += [f"Exported here as they are: {', '.join(foreign)}.", ""]
        # the pages are Markdown and autodoc writes reStructuredText
        return self.parse_text_to_nodes("\n".join(["```{eval-rst}", *rst, "```"]))


def _defining_module(member: str, obj: object) -> str:
    """The name of the module whose source assigns or defines ``member``."""
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return obj.__module__
    for modname, module in sorted(sys.modules.items()):
        if getattr(module, member, None) is obj and member in _top_level(modname):
            return modname
    raise ValueError(f"no module defines {member}")


@functools.cache
def _top_level(modname: str) -> dict[str, ast.stmt]:
    """The statements that bind a name at the top level of a module's source."""
    try:
        tree = ast.parse(inspect.getsource(sys.modules[modname]))
    except (OSError, TypeError):
        return {}
    names: dict[str, ast.stmt] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[stmt.name] = stmt
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
        for target in targets:
            if isinstance(target, ast.Name):
                names[target.id] = stmt
    return names


def _data_entry(modname: str, member: str, location: str) -> list[str]:
    """A ``py:data`` entry for a module-level object, such as a context proxy
    or a click group, with the ``#:`` comment above it or its docstring."""
    doc = ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", member))
    stmt = _top_level(modname)[member]
    if not doc and isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        doc = prepare_docstring(ast.get_docstring(stmt, clean=False) or "")
    if not doc:
        LOGGER.warning("%s.%s has no docstring", modname, member, location=location)
    return [f".. py:data:: {member}", "", *(f"   {line}" for line in doc or [])]


def _generated_reference(
    app: Sphinx, env: BuildEnvironment, node: addnodes.pending_xref, contnode: nodes.Element
) -> nodes.Element | None:
    """A reference that autodoc writes itself, for an annotation in a
    signature or a class attribute's "alias of", may name a type the reference
    does not document (a type variable, a private class, a name imported only
    for type checking): it stays plain text. References written in a
    docstring or a page have a source, and they must resolve."""
    if node.get("refdomain") == "py" and not node.source:
        return contnode
    return None


def _own_docstring(
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """An attribute made by a descriptor that keeps its function's docstring
    (the request's computed-once properties) shows that docstring, not the
    comment Werkzeug wrote on the base class's attribute of the same name."""
    doc = getattr(obj, "__doc__", None)
    if what == "attribute" and doc and doc != type(obj).__doc__:
        lines[:] = prepare_docstring(doc)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the table of contents and the ``public-module`` directive."""
    app.connect("source-read", _add_toc)
    app.add_directive("public-module", PublicModule)
    app.connect("missing-reference", _generated_reference)
    app.connect("autodoc-process-docstring", _own_docstring)
    return {"parallel_read_safe": True}
