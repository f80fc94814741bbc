"""A faster JSON provider, from the ``speedups`` extra: orjson writes, msgspec
reads, with Flask's output rules wherever the libraries allow them."""

from __future__ import annotations

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
_COMPACT = (",", ":")


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
    non-string keys, integers beyond 64 bits, and text outside ASCII while
    ``ensure_ascii`` is set) or cannot read goes to the standard library, so
    it comes out, or fails, as with Flask's provider.
    docs/benchmarks.md lists the differences that remain.
    """

    def _fast(self, obj: t.Any, option: int) -> bytes | None:
        """``obj`` as orjson writes it with ``option``, or None where the
        standard library must write it: what orjson cannot write, and, when
        ``ensure_ascii`` is set, text outside ASCII or with DEL, which
        orjson leaves as it is (escaping it afterwards costs more than the
        standard library's whole run)."""
        try:
            out = orjson.dumps(obj, default=self.default, option=option)
        except orjson.JSONEncodeError:
            return None
        if self.ensure_ascii and (not out.isascii() or b"\x7f" in out):
            return None
        return out

    def _stdlib(self, obj: t.Any, indent: bool) -> str:
        """``obj`` as the standard library writes it, as Flask's provider
        would, with the encoders asyncflask's provider keeps."""
        return self._encoder(2, None).encode(obj) if indent else self._encode(obj, _COMPACT)

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to JSON. Compact (``separators=(",", ":")``) or
        indented by two (``indent=2``) output comes from orjson; anything
        else from the standard library, with ``**kwargs`` as ``json.dumps``
        takes them."""
        if kwargs == {"separators": _COMPACT}:
            indent = False
        elif kwargs == {"indent": 2}:
            indent = True
        else:
            return super().dumps(obj, **kwargs)
        option = _SORTED if self.sort_keys else _PASSTHROUGH
        out = self._fast(obj, option | orjson.OPT_INDENT_2 if indent else option)
        return self._stdlib(obj, indent) if out is None else out.decode()

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
        option = _SORTED if self.sort_keys else _PASSTHROUGH
        out = self._fast(obj, option | orjson.OPT_INDENT_2 if indent else option)
        body = f"{self._stdlib(obj, indent)}\n".encode() if out is None else out + b"\n"
        response_class: type[Response] = self._app.response_class  # type: ignore[assignment]
        return response_class(body, mimetype=self.mimetype)


_decode = msgspec.json.Decoder().decode
