"""Flask's signals (blinker). The objects are Flask's own, so extensions that
connect to ``flask.signals`` hear asyncflask apps too; each is sent only when
something is connected."""

import typing as t

from blinker import NamedSignal
from flask.signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    before_render_template,
    got_request_exception,
    message_flashed,
    request_finished,
    request_started,
    request_tearing_down,
    template_rendered,
)

__all__ = [
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_request_exception",
    "message_flashed",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "template_rendered",
]


_AROUND_REQUESTS = (
    request_started,
    request_finished,
    request_tearing_down,
    appcontext_pushed,
    appcontext_popped,
    appcontext_tearing_down,
)

#: Whether any of the signals sent around every request (request started,
#: finished and tearing down; app context pushed, popped and tearing down)
#: has a receiver. Kept up to date as receivers connect and disconnect
#: (one dropped by the garbage collector leaves it on, which only costs
#: the checks it saves).
listened = False


def _recount(*args: t.Any, **kwargs: t.Any) -> None:
    global listened
    listened = any(signal.receivers for signal in _AROUND_REQUESTS)


for _signal in _AROUND_REQUESTS:
    _signal.receiver_connected.connect(_recount)
    _signal.receiver_disconnected.connect(_recount)
_recount()


def _as_async(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Coroutine[t.Any, t.Any, t.Any]]:
    async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        return func(*args, **kwargs)

    return wrapper


async def send(signal: NamedSignal, sender: t.Any, **kwargs: t.Any) -> None:
    """Send ``signal`` to sync and async receivers alike; costs nothing when
    nobody listens."""
    if signal.receivers:
        await signal.send_async(sender, _sync_wrapper=_as_async, **kwargs)
