"""The app's test helpers: ``test_client``, ``test_app``,
``test_request_context`` and ``test_cli_runner``."""

from __future__ import annotations

import typing as t

from flask.sansio.app import App
from flask.testing import FlaskCliRunner

if t.TYPE_CHECKING:
    from .app import Flask
    from .ctx import RequestContext
    from .testing import TestApp, TestClient

__all__ = ["AppTestingMixin"]


class AppTestingMixin(App):
    """What the app makes for tests (the test client's module is imported
    when the first one is made: serving never loads it)."""

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> TestClient:
        """A test client that calls the app in-process (``test_client_class``
        if set): awaited in async code, synchronous in plain functions."""
        from .testing import TestClient

        cls = self.test_client_class or TestClient
        return t.cast("TestClient", cls(t.cast("Flask", self), use_cookies=use_cookies, **kwargs))

    def test_app(self) -> TestApp:
        """The app with its lifespan, for tests: ``async with app.test_app()
        as test_app:`` runs startup on entering and shutdown (which waits for
        background tasks) on leaving; ``test_app.test_client()`` calls it."""
        from .testing import TestApp

        return TestApp(t.cast("Flask", self))

    def test_request_context(self, *args: t.Any, **kwargs: t.Any) -> RequestContext:
        """A request context for a made-up request, as Flask's (the arguments
        of Flask's ``EnvironBuilder``: ``path``, ``method``, ``query_string``,
        ``headers``, ``data``, ``json``, ``url_scheme``, ...). Its body is in
        memory, so plain code reads ``form`` or ``get_json()`` without
        ``await``."""
        from .testbuild import load_test_body, make_test_request

        app = t.cast("Flask", self)
        scope, receive, body = make_test_request(app, *args, **kwargs)
        ctx = app.request_context(scope, receive)
        load_test_body(app, ctx.request, body)
        return ctx

    def test_cli_runner(self, **kwargs: t.Any) -> FlaskCliRunner:
        """A click runner for the app's commands (``app.cli``): an instance
        of ``test_cli_runner_class``, by default Flask's
        ``FlaskCliRunner``."""
        cls = self.test_cli_runner_class or FlaskCliRunner
        return cls(self, **kwargs)  # type: ignore[arg-type]
