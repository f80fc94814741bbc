"""Jinja templates: awaited by async code, rendered at once by plain code.

The app's environment is in async mode. Plain code (a ``def`` view, an
extension calling ``flask.render_template``) renders through a synchronous
copy of it that shares its loader, globals, filters and tests, so a template
renders the same either way, on the event loop's thread or in a worker.
"""

from __future__ import annotations

import functools
import sys
import typing as t
import weakref
from collections import ChainMap
from collections.abc import AsyncIterator, Iterator

import jinja2
from flask.sansio.app import App
from flask.templating import Environment as _FlaskEnvironment

from .globals import _current_app, _cv_ctx, _find_request_ctx, g, request, session
from .helpers import get_flashed_messages
from .request import _awaits
from .signals import before_render_template, send, template_rendered
from .utils import call_maybe_async, is_async_callable, run_in_thread, wait_for

if t.TYPE_CHECKING:
    from blinker import NamedSignal

    from .app import Flask

__all__ = [
    "Environment",
    "Template",
    "TemplatesMixin",
    "get_template_attribute",
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
]

_getframe = sys._getframe
TemplateArg = str | jinja2.Template | list[str | jinja2.Template]


class Template(jinja2.Template):
    """A template of the app's environment. ``render``, ``generate``,
    ``stream``, ``module`` and ``make_module`` work from plain code as in
    Flask: in async mode they use the same template compiled for the
    synchronous copy of the environment."""

    _source: str | None = None
    _sync: jinja2.Template | None = None

    def _twin(self) -> jinja2.Template:
        """This template in the synchronous copy of its environment."""
        env = sync_environment(t.cast("Environment", self.environment))
        extra = self.globals.maps[0] if isinstance(self.globals, ChainMap) else None
        if self.name is not None:
            return env.get_template(self.name, globals=extra or None)
        if self._source is None:
            raise RuntimeError(
                "This async-mode template was not made by the app's environment;"
                " render it with await template.render_async()."
            )
        if self._sync is None or self._sync.environment is not env:
            self._sync = env.from_string(self._source, globals=extra or None)
        return self._sync

    def render(self, *args: t.Any, **kwargs: t.Any) -> str:
        """Render to a string (from plain code; async code awaits
        ``render_async``)."""
        if self.environment.is_async:
            return self._twin().render(*args, **kwargs)
        return super().render(*args, **kwargs)

    def generate(self, *args: t.Any, **kwargs: t.Any) -> Iterator[str]:
        """Render piece by piece, from plain code."""
        if self.environment.is_async:
            return self._twin().generate(*args, **kwargs)
        return super().generate(*args, **kwargs)

    def make_module(
        self,
        vars: dict[str, t.Any] | None = None,
        shared: bool = False,
        locals: t.Mapping[str, t.Any] | None = None,
    ) -> jinja2.environment.TemplateModule:
        """The template's exported macros and variables, for plain code."""
        if self.environment.is_async:
            return self._twin().make_module(vars, shared, locals)
        return super().make_module(vars, shared, locals)

    @property
    def module(self) -> jinja2.environment.TemplateModule:
        """The template's macros and variables (``module.macro(...)``),
        callable from plain code."""
        if self.environment.is_async:
            return self._twin().module
        return self._get_default_module()


class Environment(_FlaskEnvironment):
    """Flask's Jinja environment, made with :class:`Template` templates."""

    template_class = Template
    _sync_copy: jinja2.Environment | None = None

    def from_string(
        self,
        source: str | jinja2.nodes.Template,
        globals: t.MutableMapping[str, t.Any] | None = None,
        template_class: type[jinja2.Template] | None = None,
    ) -> jinja2.Template:
        """A template from source text (kept, to render it from plain code)."""
        rv = super().from_string(source, globals, template_class)
        if isinstance(rv, Template) and isinstance(source, str):
            rv._source = source
        return rv


def sync_environment(env: Environment) -> jinja2.Environment:
    """The synchronous copy of the async environment ``env``.

    It shares the loader, globals, filters, tests and policies (the same
    objects), and follows ``auto_reload``; it is remade when extensions
    are added to ``env``.
    """
    copy = env._sync_copy
    if (
        copy is None
        or copy.linked_to is not env  # an overlay of env took env's attribute
        or copy.extensions.keys() != env.extensions.keys()
    ):
        copy = env.overlay(enable_async=False)
        env._sync_copy = copy
    copy.auto_reload = env.auto_reload
    return copy


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
    cls: type[t.Any] = app.jinja_environment
    if not issubclass(cls, Environment):
        # a Flask environment class of a subclass: given this module's
        # templates, which plain code can render too
        cls = type(cls.__name__, (Environment, cls), {"__module__": cls.__module__})
    env: Environment = cls(weak_app, **options)
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


class TemplatesMixin(App):
    """The app's Jinja environment and template context."""

    #: The class of ``jinja_env``; a subclass may set a Flask ``Environment``
    #: subclass of its own.
    jinja_environment = Environment

    def create_jinja_environment(self) -> Environment:
        """The Jinja environment (async mode) with Flask's globals."""
        return create_environment(self)  # type: ignore[arg-type]

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add what the context processors give to ``context`` (the values
        already in it win), for code that renders synchronously, such as
        Flask's ``render_template``."""
        update_template_context_sync(self, context)  # type: ignore[arg-type]


def _calls(weak_app: Flask, name: str) -> t.Callable[..., t.Any]:
    """A function calling the method ``name`` of the app, through its weak
    proxy (the bound method would hold the app)."""

    def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
        return getattr(weak_app, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def _processor_names() -> list[str | None]:
    req_ctx = _find_request_ctx()
    names: list[str | None] = [None]
    if req_ctx is not None:
        names.extend(reversed(req_ctx.request.blueprints))
    return names


async def update_template_context(app: Flask, context: dict[str, t.Any]) -> None:
    """Add what the context processors give (the caller's values win)."""
    original = context.copy()
    for name in _processor_names():
        for func in app.template_context_processors.get(name, ()):
            context.update(await call_maybe_async(func))
    context.update(original)


def update_template_context_sync(app: Flask, context: dict[str, t.Any]) -> None:
    """:func:`update_template_context` for plain code (``app.
    update_template_context``, which Flask's ``render_template`` calls)."""
    original = context.copy()
    for name in _processor_names():
        for func in app.template_context_processors.get(name, ()):
            if is_async_callable(func):
                context.update(run_from_plain_code(func, "context processor"))
            else:
                context.update(t.cast(dict[str, t.Any], func()))
    context.update(original)


def run_from_plain_code(
    func: t.Callable[..., t.Any], what: str, *args: t.Any, name: str | None = None
) -> t.Any:
    """The value of the async ``func`` for plain code that renders, as
    :func:`~asyncflask.utils.wait_for` gives it: on the event loop's own
    thread only when it does not wait (else a ``TypeError`` says to render
    with ``await render_template(...)``)."""
    name = name or getattr(func, "__qualname__", repr(func))
    return wait_for(
        func(*args),
        what=f"The {what} {name!r} (render with 'await render_template(...)', or make"
        f" the {what} a plain function)",
    )


def _send_sync(signal: NamedSignal, app: Flask, **kwargs: t.Any) -> None:
    if signal.receivers:

        def wrap(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
            def call(sender: t.Any, **kw: t.Any) -> t.Any:
                bound = functools.partial(func, sender, **kw)
                return run_from_plain_code(bound, "signal receiver", name=func.__qualname__)

            return call

        signal.send(app, _async_wrapper=wrap, **kwargs)


class Rendered(str):
    """A template rendered for plain code: a ``str``, which async code that
    received it through a plain helper (a lambda, a comprehension) may
    still ``await``."""

    __slots__ = ()

    def __await__(self) -> t.Generator[t.Any, None, str]:
        yield from ()
        return str(self)


def _render_sync(template: TemplateArg, context: dict[str, t.Any], source: bool) -> Rendered:
    """Flask's ``render_template``, for plain code."""
    app = _current_app()
    env = app.jinja_env
    tpl = env.from_string(template) if isinstance(template, str) and source else None
    if tpl is None:
        tpl = env.get_or_select_template(template)
    app.update_template_context(context)
    _send_sync(before_render_template, app, template=tpl, context=context)
    rv = Rendered(tpl.render(context))
    _send_sync(template_rendered, app, template=tpl, context=context)
    return rv


async def _prepare(
    template: TemplateArg, context: dict[str, t.Any], source: bool
) -> tuple[Flask, jinja2.Template]:
    app = _current_app()
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


async def _render(template: TemplateArg, context: dict[str, t.Any], source: bool) -> str:
    app, tpl = await _prepare(template, context, source)
    rv = await tpl.render_async(context)
    if template_rendered.receivers:
        await send(template_rendered, app, template=tpl, context=context)
    return rv


def render_template(template_name_or_list: TemplateArg, **context: t.Any) -> t.Any:
    """Render a template from the template folders with ``context``: async
    code awaits it (``await render_template(...)``); plain code gets the
    string, as from Flask's."""
    if _awaits(_getframe(1)):
        return _render(template_name_or_list, context, source=False)
    return _render_sync(template_name_or_list, context, source=False)


def render_template_string(source: str, **context: t.Any) -> t.Any:
    """Render a template given as a string: awaited by async code, a string
    for plain code."""
    if _awaits(_getframe(1)):
        return _render(source, context, source=True)
    return _render_sync(source, context, source=True)


def get_template_attribute(template_name: str, attribute: str) -> t.Any:
    """A macro (or variable) of a template, to call from code:
    ``get_template_attribute("_macros.html", "hello")("World")``."""
    return getattr(_current_app().jinja_env.get_template(template_name).module, attribute)


async def _stream(
    template: TemplateArg, context: dict[str, t.Any], source: bool
) -> AsyncIterator[str]:
    app, tpl = await _prepare(template, context, source)
    async for chunk in tpl.generate_async(context):
        yield chunk
    if template_rendered.receivers:
        await send(template_rendered, app, template=tpl, context=context)


def stream_template(template_name_or_list: TemplateArg, **context: t.Any) -> AsyncIterator[str]:
    """Render a template piece by piece while the response is sent: return
    it from a view (or wrap it in a ``Response``)."""
    return _stream(template_name_or_list, context, source=False)


def stream_template_string(source: str, **context: t.Any) -> AsyncIterator[str]:
    """``stream_template`` for a template given as a string."""
    return _stream(source, context, source=True)
