"""Tracebacks in the browser, for development: ``asyncflask run --debug``.

:class:`DebugTraceback` wraps an ASGI app. When a request fails before its
response has started, it logs the traceback and answers a 500 whose HTML
page shows it (rendered by Werkzeug's ``tbtools``, without the interactive
console). It is for a developer's own machine only: the page shows source
code and local file paths. ``asyncflask run`` uses it only with ``--debug``.
"""

from __future__ import annotations

import functools
import logging
import re
import traceback
import typing as t
from importlib.resources import files

from markupsafe import escape
from werkzeug.debug.tbtools import DebugTraceback as _Traceback

if t.TYPE_CHECKING:
    from .typing import ASGIApp, ASGIReceive, ASGISend, Message, Scope

__all__ = ["DebugTraceback", "render_traceback_page"]

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} // asyncflask debug</title>
<style>{css}</style>
</head>
<body style="background-color: #fff">
<div class="debugger">
<h1>{exc_type}</h1>
<div class="detail"><p class="errormsg">{title}</p></div>
<h2 class="traceback">{where}</h2>
{traceback}
<div class="plain">
<p>The traceback as text:</p>
<pre>{text}</pre>
</div>
<div class="footer">Debug mode is on: never run it in production.</div>
</div>
</body>
</html>
"""


@functools.cache
def _css() -> str:
    """Werkzeug's debugger style, without its images (served by its
    console, which this page does not have)."""
    try:
        css = (files("werkzeug.debug") / "shared" / "style.css").read_text("utf-8")
    except OSError:  # pragma: no cover - a werkzeug installed without its data
        return ""
    return re.sub(r"url\([^)]*\)", "none", css)


def render_traceback_page(exc: BaseException, where: str = "") -> str:
    """The HTML page that shows ``exc``'s traceback."""
    tb = _Traceback(exc)
    summary = "".join(traceback.format_exception_only(exc)).strip()
    return _PAGE.format(
        title=escape(summary),
        exc_type=escape(type(exc).__name__),
        where=escape(where),
        css=_css(),
        traceback=tb.render_traceback_html(include_title=True),
        text=escape(tb.render_traceback_text()),
    )


class DebugTraceback:
    """ASGI middleware: an unhandled error of a request whose response has
    not started is logged on ``logger`` and answered with
    :func:`render_traceback_page`. An error after the response started is
    left to the server (which logs it and closes the connection)."""

    def __init__(self, app: ASGIApp, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.logger = logger or logging.getLogger("asyncflask")

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as e:
            if started:
                raise
            where = f"{scope.get('method', '')} {scope.get('path', '')}"
            self.logger.error(
                f"Exception on {scope.get('path')} [{scope.get('method')}]", exc_info=e
            )
            body = render_traceback_page(e, where).encode("utf-8")
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
