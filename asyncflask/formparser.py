"""Form parsing (placeholder until request bodies land)."""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import FileStorage, ImmutableMultiDict

if t.TYPE_CHECKING:
    from .request import Request


async def parse_form(
    request: Request,
) -> tuple[ImmutableMultiDict[str, str], ImmutableMultiDict[str, FileStorage]]:
    """Parse the request's form body."""
    return ImmutableMultiDict(), ImmutableMultiDict()
