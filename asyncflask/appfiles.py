"""The app's files: its ``static`` route, ``open_resource`` and
``open_instance_resource``."""

from __future__ import annotations

import os
import typing as t
import weakref

from flask.sansio.app import App

from .files import StaticFilesMixin, open_resource

__all__ = ["AppFilesMixin"]


class AppFilesMixin(StaticFilesMixin, App):
    """What the app adds to the static files blueprints have too."""

    def _add_static_route(self, static_host: str | None, host_matching: bool) -> None:
        """Route ``<static_url_path>/<path:filename>`` to the static folder,
        as Flask's app does, when it has one."""
        if not self.has_static_folder:
            return
        if bool(static_host) != host_matching:
            # Flask's own exception for it
            raise AssertionError("Invalid static_host/host_matching combination")
        self.add_url_rule(
            f"{self.static_url_path}/<path:filename>",
            endpoint="static",
            host=static_host,
            view_func=_static_view(weakref.ref(self)),
        )

    def open_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = None
    ) -> t.IO[t.Any]:
        """Open a file relative to ``root_path`` for reading, as Flask's
        (``with app.open_resource("schema.sql") as f:``). ``mode`` is
        ``"rb"``, ``"r"`` or ``"rt"``; ``encoding`` applies in text mode. It
        blocks: in an async view, call it through a worker thread."""
        return open_resource(self.root_path, resource, mode, encoding)

    def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.Any]:
        """Open a file relative to ``instance_path``, in any mode
        (writing too), as Flask's."""
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, encoding=encoding)


def _static_view(app_ref: weakref.ref[AppFilesMixin]) -> t.Callable[..., t.Any]:
    """The ``static`` view, holding the app weakly: a bound method in
    ``view_functions`` would keep the app alive in a reference cycle."""

    def send_static_file(filename: str) -> t.Any:
        return t.cast(AppFilesMixin, app_ref()).send_static_file(filename)

    return send_static_file
