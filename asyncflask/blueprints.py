"""Blueprints: Flask's, plus ``before_serving`` / ``after_serving``."""

from __future__ import annotations

import typing as t
from datetime import timedelta

from flask.cli import AppGroup
from flask.sansio.blueprints import Blueprint as SansIOBlueprint
from flask.sansio.blueprints import BlueprintSetupState
from flask.sansio.scaffold import setupmethod

from .globals import current_app

if t.TYPE_CHECKING:
    from .response import Response

T = t.TypeVar("T", bound=t.Callable[..., t.Any])

__all__ = ["Blueprint", "BlueprintSetupState"]


class Blueprint(SansIOBlueprint):
    """A group of routes, hooks and error handlers registered on an app
    later, with an optional ``url_prefix`` (as Flask's ``Blueprint``)."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        #: Click commands, merged into ``app.cli`` on registration.
        self.cli = AppGroup()

    @setupmethod
    def before_serving(self, func: T) -> T:
        """Run ``func`` at server startup once the blueprint is registered."""
        self.record_once(lambda s: s.app.before_serving_funcs.append(func))  # type: ignore[attr-defined]
        return func

    @setupmethod
    def after_serving(self, func: T) -> T:
        """Run ``func`` at server shutdown once the blueprint is registered."""
        self.record_once(lambda s: s.app.after_serving_funcs.append(func))  # type: ignore[attr-defined]
        return func

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """``SEND_FILE_MAX_AGE_DEFAULT`` in seconds, or ``None``."""
        value = current_app.config["SEND_FILE_MAX_AGE_DEFAULT"]
        if isinstance(value, timedelta):
            return int(value.total_seconds())
        return t.cast("int | None", value)

    def send_static_file(self, filename: str) -> Response:
        """The view that serves files from the blueprint's static folder."""
        if not self.has_static_folder:
            raise RuntimeError("'static_folder' must be set to serve static_files.")
        from .helpers import send_from_directory

        max_age = self.get_send_file_max_age(filename)
        return send_from_directory(t.cast(str, self.static_folder), filename, max_age=max_age)
