"""What the test client does with contexts: the handover through which
the app shares the caller's app context and gives a ``with client:`` block
its request's context, leaving such a context, and session transactions."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import typing as t
import weakref

from .globals import _cv_ctx

if t.TYPE_CHECKING:
    from .ctx import AppContext, RequestContext
    from .sessions import SessionMixin
    from .testing import TestClient

__all__ = ["Handover", "SessionTransaction", "leave_kept", "teardown_kept"]


class Handover:
    """Passed to the app in the scope: it lets the request share the app
    context current where the client was called, and hands the request's
    context to a client inside ``with client:``."""

    __slots__ = ("client", "outer")

    def __init__(self, client: TestClient) -> None:
        # (weakly: what the client's event loop keeps of a request must not
        # keep the client, whose collection closes that loop)
        self.client = weakref.ref(client)
        current = _cv_ctx.get(None)
        if current is not None and current in client._pushed:
            # a context the client kept for an earlier request (still seen
            # by a task started while it was kept) is not the caller's own
            current = None
        self.outer: AppContext | None = None if current is None else current.app_ctx

    def start(self, ctx: RequestContext) -> None:
        """Called by the app for a new request context."""
        outer = self.outer
        if outer is not None and outer.app is ctx.app:
            ctx._app_ctx = outer
        elif ctx._hooked:
            ctx._own_app_context()

    def keep(self, ctx: RequestContext) -> bool:
        """Called by the app after the request's context was popped: ``True``
        when the client keeps it (so the app leaves it as it is)."""
        client = self.client()
        if client is None or not client.preserve_context:
            if ctx._app_ctx is self.outer:
                ctx._app_ctx = None  # the caller's, which the request must not empty
            return False
        client._new_contexts.append((ctx, ctx._app_ctx is not self.outer))
        return True


async def teardown_kept(ctx: RequestContext, own_app_ctx: bool) -> None:
    """Run the teardown functions of a context the client kept, again, as
    Flask does when it pops it: each in a copy of the context variables
    where its context is the current one."""
    app = ctx.app
    loop = asyncio.get_running_loop()
    try:
        if app._tears_down_requests():
            await loop.create_task(app.do_teardown_request(None), context=_with_current(ctx))
    finally:
        app_ctx = ctx._app_ctx
        if (
            own_app_ctx
            and app_ctx is not None
            and ctx._pushed_app_ctx
            and len(app_ctx._tokens) == 1
            and app._tears_down_app_contexts()
        ):
            await loop.create_task(app.do_teardown_appcontext(None), context=_with_current(app_ctx))


def leave_kept(ctx: RequestContext, own_app_ctx: bool) -> None:
    """Reset the context variables set when the client pushed ``ctx``."""
    _reset(ctx._tokens.pop())
    if own_app_ctx and ctx._pushed_app_ctx:
        ctx._pushed_app_ctx = False
        app_ctx = ctx.app_ctx
        token, app_ctx.request_ctx = app_ctx._tokens.pop()
        _reset(token)


def _with_current(ctx: AppContext | RequestContext) -> contextvars.Context:
    variables = contextvars.copy_context()
    variables.run(_cv_ctx.set, ctx)
    return variables


def _reset(token: contextvars.Token[t.Any]) -> None:
    # a token set in another task's context (a client entered in an async
    # fixture and used by the test) cannot be reset: that context is gone
    # with its task
    with contextlib.suppress(ValueError):
        _cv_ctx.reset(token)


class SessionTransaction:
    """The session of the client's cookies, for a ``with`` or ``async with``
    block (see :meth:`TestClient.session_transaction`)."""

    def __init__(
        self, client: TestClient, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> None:
        self.client = client
        app = client.application
        headers = dict(kwargs.pop("headers", None) or {})
        cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
        if cookie:
            headers["Cookie"] = cookie
        self.ctx = app.test_request_context(*args, headers=headers, **kwargs)
        self.session: SessionMixin | None = None

    def _open(self) -> SessionMixin:
        app = self.client.application
        session = app.session_interface.open_session(app, self.ctx.request)  # type: ignore[arg-type]
        if session is None:
            raise RuntimeError("Session backend did not open a session.")
        self.session = session
        return session

    def _save(self) -> list[str]:
        app = self.client.application
        response = app.response_class()
        app.session_interface.save_session(app, self.session, response)  # type: ignore[arg-type]
        return response.headers.getlist("Set-Cookie")

    def _store(self, cookies: list[str]) -> None:
        request = self.ctx.request
        self.client._take_cookies(f"http://{request.host.partition(':')[0]}{request.path}", cookies)

    def _saves(self, exc_type: type[BaseException] | None) -> bool:
        app = self.client.application
        return exc_type is None and not app.session_interface.is_null_session(self.session)

    def __enter__(self) -> SessionMixin:
        with self.ctx:
            return self._open()

    def __exit__(self, exc_type: type[BaseException] | None, *exc: t.Any) -> None:
        if self._saves(exc_type):
            with self.ctx:
                cookies = self._save()
            self._store(cookies)

    async def __aenter__(self) -> SessionMixin:
        async with self.ctx:
            return self._open()

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: t.Any) -> None:
        if self._saves(exc_type):
            async with self.ctx:
                cookies = self._save()
            self._store(cookies)
