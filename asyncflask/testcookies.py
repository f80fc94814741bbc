"""The test client's cookies: its jar, which sends ``Secure`` cookies over
``http://`` as Flask's client does, and Flask's ``get_cookie``,
``set_cookie`` and ``delete_cookie``."""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime
from http.cookiejar import Cookie as JarCookie

import httpx
from werkzeug.http import dump_cookie, parse_cookie
from werkzeug.test import Cookie

__all__ = ["CookiesMixin"]

_SECURE = "asyncflask-secure"


class _Cookies(httpx.Cookies):
    """The client's cookie jar. It sends ``Secure`` cookies over ``http://``
    too, as Flask's client does (tests run on ``http://localhost``): they
    are stored as plain cookies, their ``Secure`` attribute kept aside."""

    def extract_cookies(self, response: httpx.Response) -> None:
        super().extract_cookies(response)
        for cookie in self.jar:
            if cookie.secure:
                cookie.secure = False
                cookie.set_nonstandard_attr(_SECURE, "")


class CookiesMixin(httpx.AsyncClient):
    """The cookie methods of :class:`~asyncflask.testing.TestClient`."""

    use_cookies: bool

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _Cookies(self._cookies)

    def _need_cookies(self) -> None:
        if not self.use_cookies:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")

    def _jar_cookies(self, key: str, domain: str, path: str) -> list[JarCookie]:
        domains = (domain, f"{domain}.local", f".{domain}")
        return [
            c for c in self.cookies.jar if c.name == key and c.domain in domains and c.path == path
        ]

    def get_cookie(self, key: str, domain: str = "localhost", path: str = "/") -> Cookie | None:
        """The cookie ``key`` set for ``domain`` and ``path`` (Werkzeug's
        ``Cookie``: ``value``, ``expires``, ``secure``, ...), or ``None``."""
        self._need_cookies()
        for c in self._jar_cookies(key, domain, path):
            rest = {k.lower(): v for k, v in c._rest.items()}  # type: ignore[attr-defined]
            expires = None
            if c.expires is not None:
                expires = datetime.fromtimestamp(c.expires, UTC)
            return Cookie(
                key=c.name,
                value=c.value or "",
                decoded_key=c.name,
                decoded_value=parse_cookie(f"{c.name}={c.value}").get(c.name, ""),
                expires=expires,
                max_age=None,
                domain=domain,
                origin_only=not c.domain_specified,
                path=c.path,
                secure=c.secure or c.has_nonstandard_attr(_SECURE) or None,
                http_only="httponly" in rest or None,
                same_site=rest.get("samesite"),
            )
        return None

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        domain: str = "localhost",
        origin_only: bool = True,
        path: str = "/",
        **kwargs: t.Any,
    ) -> None:
        """Set a cookie for the next requests, as Flask's client does
        (``kwargs`` go to Werkzeug's ``dump_cookie``)."""
        self._need_cookies()
        header = dump_cookie(
            key, value, domain=None if origin_only else domain, path=path, **kwargs
        )
        self._take_cookies(f"http://{domain}{path}", [header])

    def delete_cookie(self, key: str, *, domain: str = "localhost", path: str = "/") -> None:
        """Forget the cookie ``key`` set for ``domain`` and ``path``."""
        self._need_cookies()
        for c in self._jar_cookies(key, domain, path):
            self.cookies.jar.clear(c.domain, c.path, c.name)

    def _take_cookies(self, url: str, headers: list[str]) -> None:
        self.cookies.extract_cookies(
            httpx.Response(
                200,
                headers=[("set-cookie", v) for v in headers],
                request=httpx.Request("GET", url),
            )
        )
