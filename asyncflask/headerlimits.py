"""Bounds on the request headers that are parsed into lists: ``Accept-*``
and ``Cookie``.

Werkzeug parses them whole, and a hostile client can send one of a
megabyte (uvicorn's httptools lets any size through) whose parse holds the
event loop for hundreds of milliseconds. These properties parse the first
entries only, within a size: far more than any browser sends, little
enough to take a few milliseconds at worst. A header within its bounds is
parsed exactly as Werkzeug does.
"""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import (
    Accept,
    CharsetAccept,
    ImmutableMultiDict,
    LanguageAccept,
    MIMEAccept,
)
from werkzeug.http import parse_accept_header
from werkzeug.sansio.http import parse_cookie

from .utils import lazy

if t.TYPE_CHECKING:
    from werkzeug.datastructures import Headers, MultiDict

__all__ = ["BoundedHeaders", "first_entries"]


def first_entries(value: str, size: int, count: int, sep: str) -> str:
    """``value`` cut to its first ``count`` entries separated by ``sep``,
    and to the entries that end within its first ``size`` characters."""
    if len(value) > size:
        value = value[: max(value.rfind(sep, 0, size + 1), 0)]
    if len(value) > count and value.count(sep) >= count:
        value = sep.join(value.split(sep, count)[:count])
    return value


class BoundedHeaders:
    """``cookies`` and ``accept_*``, as Werkzeug's request has them, with
    bounds; a subclass may change the bounds."""

    #: ``Cookie`` (all its headers, joined with ``;``): the cookies that
    #: end within this many characters are read.
    max_cookie_header_size: int = 32 * 1024
    #: At most this many cookies are read (``;``-separated entries, empty
    #: ones included).
    max_request_cookies: int = 512
    #: ``Accept``, ``Accept-Charset``, ``Accept-Encoding``,
    #: ``Accept-Language``: the entries that end within this many
    #: characters are read.
    max_accept_size: int = 4 * 1024
    #: At most this many entries of an ``Accept-*`` header are read.
    max_accept_entries: int = 64

    headers: Headers
    dict_storage_class: type[MultiDict[str, t.Any]]

    @lazy
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """The request's cookies (the first :attr:`max_request_cookies`
        within :attr:`max_cookie_header_size`)."""
        value = ";".join(self.headers.getlist("Cookie"))
        if len(value) > self.max_request_cookies:
            value = first_entries(value, self.max_cookie_header_size, self.max_request_cookies, ";")
        return parse_cookie(value, cls=self.dict_storage_class)  # type: ignore[return-value]

    def _accept(self, name: str) -> str | None:
        value = self.headers.get(name)
        if value is not None and len(value) > self.max_accept_entries:
            value = first_entries(value, self.max_accept_size, self.max_accept_entries, ",")
        return value

    @lazy
    def accept_mimetypes(self) -> MIMEAccept:
        """The media types of ``Accept`` (the first :attr:`max_accept_entries`
        within :attr:`max_accept_size`)."""
        return parse_accept_header(self._accept("Accept"), MIMEAccept)

    @lazy
    def accept_charsets(self) -> CharsetAccept:
        """The charsets of ``Accept-Charset``, bounded as ``accept_mimetypes``."""
        return parse_accept_header(self._accept("Accept-Charset"), CharsetAccept)

    @lazy
    def accept_encodings(self) -> Accept:
        """The encodings of ``Accept-Encoding``, bounded as ``accept_mimetypes``."""
        return parse_accept_header(self._accept("Accept-Encoding"))

    @lazy
    def accept_languages(self) -> LanguageAccept:
        """The languages of ``Accept-Language``, bounded as ``accept_mimetypes``."""
        return parse_accept_header(self._accept("Accept-Language"), LanguageAccept)
