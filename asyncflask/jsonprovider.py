"""The default JSON provider: Flask's, with encoders made once and reused."""

from __future__ import annotations

import json
import typing as t

from flask.json.provider import DefaultJSONProvider

if t.TYPE_CHECKING:
    from .response import Response

__all__ = ["JSONProvider"]


class JSONProvider(DefaultJSONProvider):
    """Flask's ``DefaultJSONProvider`` (same settings: ``ensure_ascii``,
    ``sort_keys``, ``compact``, ``mimetype``, ``default``) that keeps one
    ``json.JSONEncoder`` per combination of settings instead of building one
    for every call."""

    def _encoder(self, indent: int | None, separators: tuple[str, str] | None) -> json.JSONEncoder:
        key = (self.ensure_ascii, self.sort_keys, self.default, indent, separators)
        encoders: dict[tuple[t.Any, ...], json.JSONEncoder] = self.__dict__.setdefault(
            "_encoders", {}
        )
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

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to JSON (``**kwargs`` go to ``json.dumps``)."""
        if kwargs:
            return super().dumps(obj, **kwargs)
        return self._encoder(None, None).encode(obj)

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """A JSON response of the arguments, as ``jsonify``: compact unless
        ``compact`` is false or (when unset) the app is in debug mode."""
        obj = self._prepare_response_obj(args, kwargs)
        if (self.compact is None and self._app.debug) or self.compact is False:
            encoder = self._encoder(2, None)
        else:
            encoder = self._encoder(None, (",", ":"))
        body = encoder.encode(obj)
        return t.cast("Response", self._app.response_class(f"{body}\n", mimetype=self.mimetype))
