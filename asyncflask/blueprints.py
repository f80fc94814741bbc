"""Blueprints: Flask's, plus ``before_serving`` / ``after_serving``."""

from __future__ import annotations

import typing as t

from flask.cli import AppGroup
from flask.sansio.blueprints import Blueprint as SansIOBlueprint
from flask.sansio.blueprints import BlueprintSetupState
from flask.sansio.scaffold import setupmethod

from .files import StaticFilesMixin, open_resource
from .websocket import WebsocketScaffold

T = t.TypeVar("T", bound=t.Callable[..., t.Any])

__all__ = ["Blueprint", "BlueprintSetupState"]


class Blueprint(StaticFilesMixin, SansIOBlueprint, WebsocketScaffold):
    """A group of routes, hooks and error handlers registered on an app
    later, with an optional ``url_prefix`` (as Flask's ``Blueprint``)."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        #: Click commands, merged into ``app.cli`` on registration.
        self.cli = AppGroup()

    def open_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.Any]:
        """Open a file relative to the blueprint's :attr:`root_path` for
        reading (``mode`` ``"rb"``, ``"r"`` or ``"rt"``), as Flask's."""
        return open_resource(self.root_path, resource, mode, encoding)

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
