"""Jinja templates, rendered asynchronously."""

from __future__ import annotations

import typing as t
import weakref
from collections.abc import AsyncIterator

from flask.templating import Environment
from jinja2 import Template

from .globals import _cv_ctx, _find_request_ctx, current_app, g, request, session
from .helpers import get_flashed_messages
from .signals import before_render_template, send, template_rendered
from .utils import call_maybe_async, run_in_thread

if t.TYPE_CHECKING:
    from .app import Flask

__all__ = [
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
]


def default_context_processor() -> dict[str, t.Any]:
    """Put ``g`` and ``request`` (the objects, not the proxies) in templates."""
    rv: dict[str, t.Any] = {}
    app_ctx = _cv_ctx.get(None)
    if app_ctx is not None:
        rv["g"] = app_ctx.g
    req_ctx = _find_request_ctx()
    if req_ctx is not None:
        rv["request"] = req_ctx.request
    return rv


def create_environment(app: Flask) -> Environment:
    """The app's Jinja environment (of the class ``app.jinja_environment``),
    in async mode, with Flask's globals. It holds the app weakly (as Flask's
    JSON provider does), so an app that is let go of is freed at once."""
    weak_app = t.cast("Flask", weakref.proxy(app))
    options = dict(app.jinja_options)
    options.setdefault("autoescape", _calls(weak_app, "select_jinja_autoescape"))
    options.setdefault("enable_async", True)
    options.setdefault("loader", type(app).create_global_jinja_loader(weak_app))
    if "auto_reload" not in options:
        auto_reload = app.config["TEMPLATES_AUTO_RELOAD"]
        options["auto_reload"] = app.debug if auto_reload is None else auto_reload
    env = app.jinja_environment(weak_app, **options)
    env.globals.update(
        url_for=_calls(weak_app, "url_for"),
        get_flashed_messages=get_flashed_messages,
        config=app.config,
        request=request,
        session=session,
        g=g,
    )
    env.policies["json.dumps_function"] = app.json.dumps
    return env


def _calls(weak_app: Flask, name: str) -> t.Callable[..., t.Any]:
    """A function calling the method ``name`` of the app, through its weak
    proxy (the bound method would hold the app)."""

    def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
        return getattr(weak_app, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


async def update_template_context(app: Flask, context: dict[str, t.Any]) -> None:
    """Add what the context processors give (the caller's values win)."""
    req_ctx = _find_request_ctx()
    names: list[str | None] = [None]
    if req_ctx is not None:
        names.extend(reversed(req_ctx.request.blueprints))
    original = context.copy()
    for name in names:
        for func in app.template_context_processors.get(name, ()):
            context.update(await call_maybe_async(func))
    context.update(original)


async def _prepare(
    template: Template | str | list[str | Template], context: dict[str, t.Any], source: bool
) -> tuple[Flask, Template]:
    app = t.cast("Flask", current_app._get_current_object())  # type: ignore[attr-defined]
    env = app.jinja_env
    if source:
        tpl = env.from_string(t.cast(str, template))
    else:
        # loading a template may read (or stat) a file
        tpl = await run_in_thread(env.get_or_select_template, template)
    await update_template_context(app, context)
    if before_render_template.receivers:
        await send(before_render_template, app, template=tpl, context=context)
    return app, tpl


async def render_template(
    template_name_or_list: str | Template | list[str | Template], **context: t.Any
) -> str:
    """Render a template from the template folders with ``context``."""
    app, tpl = await _prepare(template_name_or_list, context, source=False)
    rv = await tpl.render_async(context)
    if template_rendered.receivers:
        await send(template_rendered, app, template=tpl, context=context)
    return rv


async def render_template_string(source: str, **context: t.Any) -> str:
    """Render a template given as a string."""
    app, tpl = await _prepare(source, context, source=True)
    rv = await tpl.render_async(context)
    if template_rendered.receivers:
        await send(template_rendered, app, template=tpl, context=context)
    return rv


async def _stream(
    template: str | Template | list[str | Template], context: dict[str, t.Any], source: bool
) -> AsyncIterator[str]:
    app, tpl = await _prepare(template, context, source)
    async for chunk in tpl.generate_async(context):
        yield chunk
    if template_rendered.receivers:
        await send(template_rendered, app, template=tpl, context=context)


def stream_template(
    template_name_or_list: str | Template | list[str | Template], **context: t.Any
) -> AsyncIterator[str]:
    """Render a template piece by piece while the response is sent: return
    it from a view (or wrap it in a ``Response``)."""
    return _stream(template_name_or_list, context, source=False)


def stream_template_string(source: str, **context: t.Any) -> AsyncIterator[str]:
    """``stream_template`` for a template given as a string."""
    return _stream(source, context, source=True)
