"""Class-based views: Flask's ``View`` and ``MethodView``, with ``async def``
methods awaited and plain ones run in a worker thread (as plain views are)."""

from __future__ import annotations

import typing as t

from flask import views as _flask_views

from .globals import request
from .utils import caller_awaits, is_async_callable, run_in_thread, wait_for

__all__ = ["MethodView", "View"]


async def _call(func: t.Callable[..., t.Any], kwargs: dict[str, t.Any]) -> t.Any:
    if is_async_callable(func):
        return await func(**kwargs)
    return await run_in_thread(func, **kwargs)


def _for_any_caller(view: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """``view`` for the decorators of a class: an async decorator awaits
    what it returns; a plain one (which runs in a worker thread) gets the
    value, as Flask's ``as_view`` gives it."""

    def call(**kwargs: t.Any) -> t.Any:
        if caller_awaits():
            return view(**kwargs)
        return wait_for(view(**kwargs))

    call.__wrapped__ = view  # type: ignore[attr-defined]
    return call


class View(_flask_views.View):
    """Subclass it and override ``dispatch_request`` (``async def`` or plain);
    ``View.as_view(name)`` gives the view function to register. ``methods``,
    ``decorators``, ``provide_automatic_options`` and ``init_every_request``
    work as in Flask."""

    @classmethod
    def as_view(cls, name: str, *class_args: t.Any, **class_kwargs: t.Any) -> t.Any:
        """The view function: it makes an instance (once, or per request with
        ``init_every_request``) and awaits its ``dispatch_request``. A plain
        ``dispatch_request`` gives a plain view function (run in a worker
        thread like any plain view), so plain ``decorators`` get its value."""
        if not is_async_callable(cls.dispatch_request):
            view = cls._plain_view(class_args, class_kwargs)
        elif cls.init_every_request:

            async def view(**kwargs: t.Any) -> t.Any:
                self = view.view_class(*class_args, **class_kwargs)  # type: ignore[attr-defined]
                return await _call(self.dispatch_request, kwargs)

        else:
            instance = cls(*class_args, **class_kwargs)

            async def view(**kwargs: t.Any) -> t.Any:
                return await _call(instance.dispatch_request, kwargs)

        return cls._finish_view(view, name)

    @classmethod
    def _plain_view(cls, class_args: tuple[t.Any, ...], class_kwargs: dict[str, t.Any]) -> t.Any:
        if cls.init_every_request:

            def view(**kwargs: t.Any) -> t.Any:
                self = view.view_class(*class_args, **class_kwargs)  # type: ignore[attr-defined]
                return self.dispatch_request(**kwargs)

        else:
            instance = cls(*class_args, **class_kwargs)

            def view(**kwargs: t.Any) -> t.Any:
                return instance.dispatch_request(**kwargs)

        return view

    @classmethod
    def _finish_view(cls, view: t.Any, name: str) -> t.Any:
        # the undecorated function makes the instances from its view_class
        view.view_class = cls
        if cls.decorators:
            if is_async_callable(view):
                view = _for_any_caller(view)
            view.__name__ = name
            view.__module__ = cls.__module__
            for decorator in cls.decorators:
                view = decorator(view)
        view.view_class = cls
        view.__name__ = name
        view.__doc__ = cls.__doc__
        view.__module__ = cls.__module__
        view.methods = cls.methods
        view.provide_automatic_options = cls.provide_automatic_options
        return view


class MethodView(View, _flask_views.MethodView):
    """Dispatches each request to the method named after the HTTP method
    (``get``, ``post``, ...; ``HEAD`` falls back to ``get``); ``methods`` is
    set from the methods the class defines."""

    async def dispatch_request(self, **kwargs: t.Any) -> t.Any:  # type: ignore[override]
        """Call the handler for the request's method."""
        method = getattr(self, request.method.lower(), None)
        if method is None and request.method == "HEAD":
            method = getattr(self, "get", None)
        if method is None:
            raise AssertionError(f"Unimplemented method {request.method!r}")
        return await _call(method, kwargs)
