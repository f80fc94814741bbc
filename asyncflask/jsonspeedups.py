"""A faster JSON provider, from the ``speedups`` extra: orjson writes, msgspec
reads, with Flask's output rules wherever the libraries allow them."""

from __future__ import annotations

import re
import typing as t

import msgspec
import orjson

from .jsonprovider import JSONProvider

if t.TYPE_CHECKING:
    from .response import Response

__all__ = ["FastJSONProvider"]

# Dates and dataclasses go to ``default``, as with Flask's provider: orjson
# would otherwise write ISO 8601 dates and unsorted dataclass fields.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_SORTED = _PASSTHROUGH | orjson.OPT_SORT_KEYS
_NOT_ASCII = re.compile("[^\x00-\x7e]")
_COMPACT = (",", ":")


def _escape(match: re.Match[str]) -> str:
    """One character as the standard library's ``ensure_ascii`` escapes it."""
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}"


class FastJSONProvider(JSONProvider):
    """Flask's JSON provider run by C libraries: ``app.json =
    FastJSONProvider(app)``, or ``json_provider_class`` on a ``Flask``
    subclass.

    ``response()`` (and so ``jsonify`` and dict or list return values),
    ``dumps(obj, separators=(",", ":"))``, ``dumps(obj, indent=2)`` and
    ``loads()`` (and so ``request.get_json()``) take the fast path. It honours
    ``sort_keys``, ``ensure_ascii``, ``compact``, ``mimetype`` and
    ``default`` as Flask's provider does. Whatever the libraries cannot write
    as Flask would (other ``dumps`` arguments, Flask's default separators,
    non-string keys, integers beyond 64 bits) or cannot read goes to the
    standard library, so it comes out, or fails, as with Flask's provider.
    docs/benchmarks.md lists the differences that remain.
    """

    def _fast(self, obj: t.Any, option: int) -> bytes:
        """``obj`` as orjson writes it with ``option``, made ASCII as the
        standard library's would be when ``ensure_ascii`` is set; raises
        ``orjson.JSONEncodeError`` for what orjson cannot write."""
        out = orjson.dumps(obj, default=self.default, option=option)
        if self.ensure_ascii and (not out.isascii() or b"\x7f" in out):
            out = _NOT_ASCII.sub(_escape, out.decode()).encode()
        return out

    def _option(self) -> int:
        return _SORTED if self.sort_keys else _PASSTHROUGH

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to JSON. Compact (``separators=(",", ":")``) or
        indented by two (``indent=2``) output comes from orjson; anything
        else from the standard library, with ``**kwargs`` as ``json.dumps``
        takes them."""
        if kwargs == {"separators": _COMPACT}:
            option = self._option()
        elif kwargs == {"indent": 2}:
            option = self._option() | orjson.OPT_INDENT_2
        else:
            return super().dumps(obj, **kwargs)
        try:
            return self._fast(obj, option).decode()
        except orjson.JSONEncodeError:
            return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Parse JSON text or UTF-8 bytes with msgspec; what it refuses (or
        any ``**kwargs``) goes to ``json.loads``, which parses it as Flask's
        provider does or raises its error."""
        if not kwargs:
            try:
                return _decode(s)
            except (ValueError, RecursionError):
                pass
        return super().loads(s, **kwargs)

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """A JSON response of the arguments, as ``jsonify``: compact unless
        ``compact`` is false or (when unset) the app is in debug mode."""
        if args:
            if kwargs:
                raise TypeError("app.json.response() takes either args or kwargs, not both")
            obj = args[0] if len(args) == 1 else args
        else:
            obj = kwargs or None
        compact = self.compact
        indent = compact is False or (compact is None and self._app.config["DEBUG"])
        option = self._option() | orjson.OPT_INDENT_2 if indent else self._option()
        try:
            body = self._fast(obj, option) + b"\n"
        except orjson.JSONEncodeError:
            dumped = self._encoder(2, None).encode(obj) if indent else self._encode(obj, _COMPACT)
            body = f"{dumped}\n".encode()
        response_class: type[Response] = self._app.response_class  # type: ignore[assignment]
        return response_class(body, mimetype=self.mimetype)


_decode = msgspec.json.Decoder().decode
