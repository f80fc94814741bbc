"""``ProxyFix``: Werkzeug's ``ProxyFix`` as ASGI middleware, for behind a
reverse proxy: ``app.asgi_app = ProxyFix(app.asgi_app, x_for=1, x_proto=1)``.
"""

from __future__ import annotations

import typing as t

from werkzeug.http import parse_list_header

if t.TYPE_CHECKING:
    from .typing import ASGIApp, ASGIReceive, ASGISend, Scope

__all__ = ["ProxyFix"]


class ProxyFix:
    """Take the client's address, the scheme, the host, the port and the
    mount prefix from the ``X-Forwarded-For``, ``-Proto``, ``-Host``,
    ``-Port`` and ``-Prefix`` headers, with the arguments and rules of
    Werkzeug's ``ProxyFix``.

    Each ``x_*`` argument is the number of proxies in front of the app that
    set that header (``0``: ignore the header). The value used is the one
    the outermost trusted proxy added; a header with fewer values than
    that, which a client may have forged, is ignored. Set only the headers
    your proxies set: a client can send any of them.
    """

    def __init__(
        self,
        app: ASGIApp,
        x_for: int = 1,
        x_proto: int = 1,
        x_host: int = 0,
        x_port: int = 0,
        x_prefix: int = 0,
    ) -> None:
        self.app = app
        self.x_for = x_for
        self.x_proto = x_proto
        self.x_host = x_host
        self.x_port = x_port
        self.x_prefix = x_prefix

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = self._fixed(scope)
        await self.app(scope, receive, send)

    def _fixed(self, scope: Scope) -> Scope:
        forwarded: dict[bytes, list[str]] = {}
        for name, value in scope["headers"]:
            if name.startswith(b"x-forwarded-"):
                forwarded.setdefault(name, []).append(value.decode("latin-1"))
        if not forwarded:
            return scope
        scope = dict(scope)

        def trusted(name: bytes, count: int) -> str | None:
            values = forwarded.get(name)
            if not count or not values:
                return None
            items = parse_list_header(",".join(values))
            return items[-count] if len(items) >= count else None

        client = trusted(b"x-forwarded-for", self.x_for)
        if client:
            scope["client"] = (client, 0)
        scheme = trusted(b"x-forwarded-proto", self.x_proto)
        if scheme:
            if scope["type"] == "websocket":
                scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
            scope["scheme"] = scheme
        host = trusted(b"x-forwarded-host", self.x_host)
        port = trusted(b"x-forwarded-port", self.x_port)
        if port:
            current = host or _header(scope, b"host")
            if current:
                host = f"{_without_port(current)}:{port}"
        if host:
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
            scope["headers"] = [(b"host", host.encode("latin-1")), *headers]
        prefix = trusted(b"x-forwarded-prefix", self.x_prefix)
        if prefix:
            # the prefix replaces the server's root_path (which "path" starts with)
            prefix = prefix.rstrip("/")
            old = scope.get("root_path", "")
            path = scope["path"]
            scope["path"] = prefix + (path[len(old) :] if path.startswith(old) else path)
            raw = scope.get("raw_path")
            if raw is not None:
                old_raw = old.encode("latin-1")
                rest = raw[len(old_raw) :] if raw.startswith(old_raw) else raw
                scope["raw_path"] = prefix.encode("latin-1") + rest
            scope["root_path"] = prefix
        return scope


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return t.cast(bytes, value).decode("latin-1")
    return None


def _without_port(host: str) -> str:
    if ":" in host and not host.endswith("]"):
        return host.rsplit(":", 1)[0]
    return host
