"""asyncflask: Flask's request/response API for async code on ASGI."""

from . import flaskglobals as _flaskglobals  # noqa: F401 - binds flask.request & co.
from .app import Flask
from .blueprints import Blueprint
from .broadcast import Broadcast
from .ctx import (
    after_this_request,
    copy_current_app_context,
    copy_current_request_context,
    copy_current_websocket_context,
    has_app_context,
    has_request_context,
)
from .files import FileResponse, send_file, send_from_directory
from .globals import current_app, g, request, session
from .helpers import (
    abort,
    flash,
    get_flashed_messages,
    jsonify,
    load_body,
    make_response,
    redirect,
    stream_with_context,
    url_for,
)
from .request import ClientDisconnected, Request
from .response import JSONResponse, Response, StreamingResponse
from .sse import EventStream, ServerSentEvent
from .templating import (
    get_template_attribute,
    render_template,
    render_template_string,
    stream_template,
    stream_template_string,
)
from .websocket import Websocket, WebSocketDisconnect, has_websocket_context, websocket

__all__ = [
    "Blueprint",
    "Broadcast",
    "ClientDisconnected",
    "EventStream",
    "FileResponse",
    "Flask",
    "JSONResponse",
    "Request",
    "Response",
    "ServerSentEvent",
    "StreamingResponse",
    "WebSocketDisconnect",
    "Websocket",
    "abort",
    "after_this_request",
    "copy_current_app_context",
    "copy_current_request_context",
    "copy_current_websocket_context",
    "current_app",
    "flash",
    "g",
    "get_flashed_messages",
    "get_template_attribute",
    "has_app_context",
    "has_request_context",
    "has_websocket_context",
    "jsonify",
    "load_body",
    "make_response",
    "redirect",
    "render_template",
    "render_template_string",
    "request",
    "send_file",
    "send_from_directory",
    "session",
    "stream_template",
    "stream_template_string",
    "stream_with_context",
    "url_for",
    "websocket",
]
