"""Routing: matching requests to rules and building URLs."""

from __future__ import annotations

import typing as t
import warnings
from urllib.parse import quote as _url_quote

import flask.app as _flask_app
from flask.debughelpers import FormDataRoutingRedirect
from flask.sansio.app import App
from werkzeug.routing import BuildError, Map, MapAdapter, RequestRedirect, Rule
from werkzeug.routing.rules import RuleFactory

from .globals import _cv_ctx, _find_request_ctx, _request_ctx
from .matcher import Matcher

if t.TYPE_CHECKING:
    from .ctx import RequestContext
    from .request import Request
    from .response import Response

__all__ = ["RoutingMixin", "URLMap"]


class URLMap(Map):
    """Werkzeug's ``Map`` with a faster matcher (same results), that counts
    the rules added, so a request can tell cheaply whether the routing table
    changed."""

    version = 0

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        matcher = Matcher(self._matcher.merge_slashes)
        for rule in self._rules:
            matcher.add(rule)
        self._matcher = matcher

    def add(self, rulefactory: RuleFactory) -> None:
        """Add a rule (or rule factory) to the map."""
        super().add(rulefactory)
        self.version += 1


class RoutingMixin(App):
    """The app's routing: a fast match for the common case, the URL adapter
    for the rest, routing errors, automatic ``OPTIONS`` and ``url_for``."""

    response_class: type[Response]

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # (path, method) -> rule, for rules without arguments
        self._static_routes: dict[tuple[str, str], Rule] = {}
        self._static_routes_version = -1

    def fast_match(self, request: Request) -> tuple[Rule, dict[str, t.Any]] | None:
        """Match a request without binding a URL adapter, for the common case
        (no host or subdomain matching, no redirect). ``None`` means: use the
        adapter, which handles every case and raises the routing errors."""
        url_map = self.url_map
        matcher = url_map._matcher
        # (a Map class of the user's has Werkzeug's matcher: the adapter it is)
        if url_map.host_matching or self.subdomain_matching or type(matcher) is not Matcher:
            return None
        version = url_map.version  # type: ignore[attr-defined]
        if url_map._remap or version != self._static_routes_version:
            url_map.update()
            self._static_routes.clear()
            self._static_routes_version = version
        key = (request.path, request.method)
        rule = self._static_routes.get(key)
        if rule is not None:
            return rule, {}
        path = request.path
        if path[1:2] == "/":  # as the adapter: one leading slash
            path = f"/{path.lstrip('/')}"
        found = matcher.find(url_map.default_subdomain or "", path, request.method)
        if found is not None and not found[0].arguments and len(self._static_routes) < 4096:
            self._static_routes[key] = found[0]
        return found

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Bind the URL map to a request (or, outside one, to
        ``SERVER_NAME``)."""
        if request is not None:
            if (trusted_hosts := self.config["TRUSTED_HOSTS"]) is not None:
                request.trusted_hosts = trusted_hosts
            host = request.host
            subdomain = None
            server_name = self.config["SERVER_NAME"]
            if self.url_map.host_matching:
                server_name = None
            elif not self.subdomain_matching:
                subdomain = self.url_map.default_subdomain or ""
            elif server_name is not None:
                server_name, subdomain = _subdomain(host, server_name, request.scheme)
            return self.url_map.bind(
                server_name or host,
                script_name=request.root_path or "/",
                subdomain=subdomain,
                url_scheme=request.scheme,
                default_method=request.method,
                path_info=request.path,
                query_args=request.query_string.decode("latin-1"),
            )
        if self.config["SERVER_NAME"] is not None:
            return self.url_map.bind(
                self.config["SERVER_NAME"],
                script_name=self.config["APPLICATION_ROOT"],
                url_scheme=self.config["PREFERRED_URL_SCHEME"],
            )
        return None

    def raise_routing_exception(self, request: Request) -> t.NoReturn:
        """Raise the request's routing error. In debug mode a redirect that
        would make the browser drop a form's body (a 301 or 302 answering a
        ``POST``) raises Flask's ``FormDataRoutingRedirect`` instead."""
        exc = t.cast(Exception, request.routing_exception)
        if (
            not self.debug
            or not isinstance(exc, RequestRedirect)
            or exc.code in {307, 308}
            or request.method in {"GET", "HEAD", "OPTIONS"}
        ):
            raise exc
        raise FormDataRoutingRedirect(request)  # type: ignore[arg-type]

    def make_default_options_response(self, ctx: RequestContext | None = None) -> Response:
        """The answer to an automatic ``OPTIONS`` request: an empty 200 with
        ``Allow``."""
        adapter = t.cast(MapAdapter, (ctx or _request_ctx()).url_adapter)
        rv = self.response_class()
        rv.allow.update(adapter.allowed_methods())
        return rv

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: t.Any,
    ) -> str:
        """Build the URL of ``endpoint`` (see :func:`asyncflask.url_for`)."""
        req_ctx = _find_request_ctx()
        url_adapter: MapAdapter | None
        if req_ctx is not None:
            url_adapter = req_ctx.url_adapter
            blueprint_name = req_ctx.request.blueprint
            if endpoint[:1] == ".":
                endpoint = f"{blueprint_name}{endpoint}" if blueprint_name else endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            app_ctx = _cv_ctx.get(None)
            if app_ctx is not None:
                url_adapter = app_ctx.url_adapter
            else:
                url_adapter = self.create_url_adapter(None)
            if url_adapter is None:
                raise RuntimeError(
                    "Unable to build URLs outside an active request without"
                    " 'SERVER_NAME' configured. Also configure"
                    " 'APPLICATION_ROOT' and 'PREFERRED_URL_SCHEME' as needed."
                )
            if _external is None:
                _external = True
        if _scheme is not None and not _external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")
        self.inject_url_defaults(endpoint, values)
        try:
            rv = t.cast(MapAdapter, url_adapter).build(
                endpoint, values, method=_method, url_scheme=_scheme, force_external=_external
            )
        except BuildError as error:
            values.update(_anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external)
            return self.handle_url_build_error(error, endpoint, values)
        if _anchor is not None:
            rv = f"{rv}#{_url_quote(_anchor, safe='%!#$&()*+,/:;=?@')}"
        return rv


def _subdomain(host: str, server_name: str, scheme: str) -> tuple[str, str]:
    """``SERVER_NAME`` (without the scheme's default port) and the
    request's subdomain under it, as Werkzeug's ``bind_to_environ`` finds
    them: a host outside ``SERVER_NAME`` is the ``<invalid>`` subdomain (only
    rules with a subdomain variable match it), with a warning."""
    host = host.lower()
    server_name = server_name.lower()
    if scheme in {"http", "ws"} and server_name.endswith(":80"):
        server_name = server_name[:-3]
    elif scheme in {"https", "wss"} and server_name.endswith(":443"):
        server_name = server_name[:-4]
    host_parts = host.split(".")
    server_parts = server_name.split(".")
    offset = -len(server_parts)
    if host_parts[offset:] != server_parts:
        # attributed to flask.app, where Flask's comes from, so that warning
        # filters written for Flask apps apply
        warnings.warn_explicit(
            f"Current server name {host!r} doesn't match configured server name {server_name!r}",
            UserWarning,
            _flask_app.__file__,
            0,
            module="flask.app",
            registry=_flask_app.__dict__.setdefault("__warningregistry__", {}),
        )
        return server_name, "<invalid>"
    return server_name, ".".join(filter(None, host_parts[:offset]))
