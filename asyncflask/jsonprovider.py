"""The default JSON provider: Flask's, with encoders made once and reused."""

from __future__ import annotations

import json
import typing as t
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]

from flask.json.provider import DefaultJSONProvider

if t.TYPE_CHECKING:
    from .response import Response

__all__ = ["JSONProvider"]

_DECODER = json.JSONDecoder()


class JSONProvider(DefaultJSONProvider):
    """Flask's ``DefaultJSONProvider`` (same settings: ``ensure_ascii``,
    ``sort_keys``, ``compact``, ``mimetype``, ``default``, and the same
    output) that keeps its encoders from one call to the next instead of
    building them for every call."""

    def __init__(self, app: t.Any) -> None:
        super().__init__(app)
        self._encoders: dict[tuple[t.Any, ...], json.JSONEncoder] = {}
        self._c_encoders: dict[tuple[t.Any, ...], t.Any] = {}

    def _encoder(self, indent: int | None, separators: tuple[str, str] | None) -> json.JSONEncoder:
        key = (self.ensure_ascii, self.sort_keys, self.default, indent, separators)
        encoders = self._encoders
        encoder = encoders.get(key)
        if encoder is None:
            encoder = encoders[key] = json.JSONEncoder(
                ensure_ascii=self.ensure_ascii,
                sort_keys=self.sort_keys,
                default=self.default,
                indent=indent,
                separators=separators,
            )
        return encoder

    def _encode(self, obj: t.Any, separators: tuple[str, str]) -> str:
        """``obj`` as unindented JSON. The C encoder is made once and runs
        without the circular-reference check; if it fails, for whatever
        reason, the standard encoder runs again to raise the standard error."""
        key = (self.ensure_ascii, self.sort_keys, self.default, separators)
        encoders = self._c_encoders
        encode = encoders.get(key)
        if encode is None:
            if c_make_encoder is None:  # pragma: no cover - CPython always has it
                return self._encoder(None, separators).encode(obj)
            encode = encoders[key] = c_make_encoder(
                None,
                self.default,
                encode_basestring_ascii if self.ensure_ascii else encode_basestring,
                None,
                separators[1],
                separators[0],
                self.sort_keys,
                False,
                True,
            )
        try:
            return "".join(encode(obj, 0))
        except Exception:
            return self._encoder(None, separators).encode(obj)

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to JSON (``**kwargs`` go to ``json.dumps``)."""
        if kwargs:
            return super().dumps(obj, **kwargs)
        return self._encode(obj, (", ", ": "))

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Deserialize JSON (``**kwargs`` go to ``json.loads``)."""
        if kwargs or type(s) is not bytes:
            return json.loads(s, **kwargs)
        # what json.loads does with bytes, one call shorter
        return _DECODER.decode(s.decode(json.detect_encoding(s), "surrogatepass"))

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
        if compact is False or (compact is None and self._app.config["DEBUG"]):
            body = self._encoder(2, None).encode(obj)
        else:
            body = self._encode(obj, (",", ":"))
        response: Response = self._app.response_class(  # type: ignore[assignment]
            f"{body}\n", mimetype=self.mimetype
        )
        return response
