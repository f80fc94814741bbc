"""``app.make_response``: a view's return value made a response, by
Flask's rules."""

from __future__ import annotations

import inspect
import typing as t
from collections.abc import AsyncIterator, Iterator

from flask.sansio.app import App
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.response import Response as SansIOResponse

from .globals import _request_ctx
from .response import Response, from_werkzeug
from .utils import quote_controls, wait_for

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response as BaseResponse

    from .typing import ResponseReturnValue

__all__ = ["MakeResponseMixin"]


class MakeResponseMixin(App):
    """The app's ``make_response``."""

    response_class: type[Response]

    def redirect(self, location: str, code: int = 302) -> BaseResponse:
        """A redirect to ``location``, its control characters (CR, LF, ...)
        percent-encoded: a target taken from user input never splits the
        response's headers."""
        return App.redirect(self, quote_controls(location), code)

    def make_response(self, rv: ResponseReturnValue | HTTPException) -> Response:
        """Convert a view's return value into a response, following Flask's
        rules (str, bytes, dict, list, generators, responses and the
        ``(body, status)``, ``(body, headers)``, ``(body, status, headers)``
        tuples)."""
        if type(rv) is str:
            return self.response_class(rv)
        if isinstance(rv, self.response_class):
            return rv
        status: t.Any = None
        headers: t.Any = None
        if isinstance(rv, tuple):
            if len(rv) == 3:
                rv, status, headers = rv
            elif len(rv) == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple."
                    " The tuple must have the form (body, status, headers),"
                    " (body, status), or (body, headers)."
                )
        if rv is None:
            endpoint = _request_ctx().request.endpoint
            raise TypeError(
                f"The view function for {endpoint!r} did not return a valid"
                " response. The function either returned None or ended"
                " without a return statement."
            )
        if not isinstance(rv, self.response_class):
            if isinstance(rv, (dict, list)):
                rv = t.cast(Response, self.json.response(rv))
            elif isinstance(rv, (str, bytes, bytearray, Iterator, AsyncIterator)):
                rv = self.response_class(rv, status=status, headers=headers)
                status = headers = None
            elif isinstance(rv, (HTTPException, SansIOResponse)):
                rv = self._coerce_response(rv)
            elif inspect.iscoroutine(rv):
                # a plain function called an async one (Flask-CORS wraps the
                # error handlers so): its value, as ensure_sync gives it
                rv = self.make_response(wait_for(rv))
            else:
                raise TypeError(
                    "The view function did not return a valid response. The"
                    " return type must be a string, dict, list, tuple with"
                    " headers or status, Response instance, or generator, but"
                    f" it was a {type(rv).__name__}."
                )
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                rv.status = status if isinstance(status, str) else status.decode()
            else:
                rv.status_code = status
        if headers:
            rv.headers.update(headers)
        return rv

    def _coerce_response(self, rv: HTTPException | SansIOResponse) -> Response:
        if isinstance(rv, HTTPException):
            rv = rv.get_response()
            if isinstance(rv, self.response_class):
                return rv
        if isinstance(rv, Response):  # asyncflask's own, of another class
            return rv
        return from_werkzeug(self.response_class, rv)
