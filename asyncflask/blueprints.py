"""Blueprints: Flask's, plus ``before_serving`` / ``while_serving`` /
``after_serving``."""

from __future__ import annotations

import typing as t

from flask.blueprints import Blueprint as FlaskBlueprint
from flask.sansio.blueprints import BlueprintSetupState
from flask.sansio.scaffold import setupmethod

from .files import StaticFilesMixin
from .serving import check_while_serving
from .websocket import WebsocketScaffold

T = t.TypeVar("T", bound=t.Callable[..., t.Any])

__all__ = ["Blueprint", "BlueprintSetupState"]


class Blueprint(StaticFilesMixin, FlaskBlueprint, WebsocketScaffold):  # type: ignore[misc]
    """A group of routes, hooks and error handlers registered on an app
    later, with an optional ``url_prefix`` (as Flask's ``Blueprint``, and a
    ``flask.Blueprint`` to extensions that check, such as Flask-Limiter).
    Its ``cli`` holds click commands, merged into ``app.cli`` on
    registration."""

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

    @setupmethod
    def while_serving(self, func: T) -> T:
        """Register an async generator function on the app (see
        ``Flask.while_serving``) once the blueprint is registered."""
        check_while_serving(func)
        self.record_once(lambda s: s.app.while_serving_funcs.append(func))  # type: ignore[attr-defined]
        return func
