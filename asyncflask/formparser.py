"""Form bodies: urlencoded and multipart, parsed as the bytes arrive.

Multipart bodies go through python-multipart's streaming parser. Uploaded
files stay in memory up to ``Request.file_memory_threshold`` and are then
spooled to an anonymous temporary file; every disk write runs in a worker
thread, batched so that a large upload costs few thread hops.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import typing as t
from urllib.parse import unquote_to_bytes

import anyio.lowlevel
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState
from werkzeug.datastructures import FileStorage as _FileStorage
from werkzeug.datastructures import Headers, ImmutableMultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.http import parse_options_header

from .utils import multidict, run_in_thread

if t.TYPE_CHECKING:
    from .request import Request

__all__ = ["FileStorage", "parse_form"]

Form = ImmutableMultiDict[str, str]
Files = ImmutableMultiDict[str, "FileStorage"]
_FLUSH_SIZE = 1024 * 1024
_MAX_PREAMBLE = 64 * 1024
# A chunk full of tiny parts is fed to the parser this much at a time (its
# callbacks are Python, and each part takes a while).
_SLICE = 64 * 1024


class FileStorage(_FileStorage):
    """An uploaded file, as Werkzeug's ``FileStorage`` (``filename``,
    ``name``, ``content_type``, ``mimetype``, ``headers``, ``stream``,
    ``read``), with an async ``save``."""

    async def save(  # type: ignore[override]
        self, dst: str | os.PathLike[str] | t.IO[bytes], buffer_size: int = 64 * 1024
    ) -> None:
        """Write the file to a path or a binary file object, in a worker
        thread so the event loop never waits on the disk."""
        await run_in_thread(self._save, dst, buffer_size)

    def _save(self, dst: str | os.PathLike[str] | t.IO[bytes], buffer_size: int) -> None:
        if isinstance(dst, (str, os.PathLike)):
            with open(dst, "wb") as f:
                shutil.copyfileobj(self.stream, f, buffer_size)
        else:
            shutil.copyfileobj(self.stream, dst, buffer_size)


class _Spool:
    """File data kept in memory up to a threshold, then in a temporary file."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.file: t.IO[bytes] = io.BytesIO()
        self.on_disk = False
        self.size = 0
        self.pending: list[bytes] = []
        self.pending_size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if not self.on_disk and not self.pending and self.size <= self.threshold:
            self.file.write(data)
        else:
            self.pending.append(data)
            self.pending_size += len(data)

    async def flush(self, force: bool = False) -> None:
        if self.pending and (force or not self.on_disk or self.pending_size >= _FLUSH_SIZE):
            chunks, self.pending, self.pending_size = self.pending, [], 0
            await run_in_thread(self._write_to_disk, chunks)

    def _write_to_disk(self, chunks: list[bytes]) -> None:
        if not self.on_disk:
            memory = t.cast(io.BytesIO, self.file)
            self.file = tempfile.TemporaryFile()
            self.on_disk = True
            self.file.write(memory.getbuffer())
        self.file.writelines(chunks)

    async def finish(self) -> None:
        await self.flush(force=True)
        if self.on_disk:
            await run_in_thread(self.file.seek, 0)
        else:
            self.file.seek(0)

    async def close(self) -> None:
        if self.on_disk:
            await run_in_thread(self.file.close)
        else:
            self.file.close()


_PART_CHARSETS = frozenset(("ascii", "us-ascii", "utf-8", "utf8", "iso-8859-1", "latin-1"))


def _header_text(data: bytearray) -> str:
    """Part headers are UTF-8 in practice (browsers send names that way);
    anything else is read as Latin-1."""
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data.decode("latin-1")


class _MultipartReader:
    """Collects fields and files from python-multipart's callbacks."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.max_field = request.max_form_memory_size
        self.max_parts = request.max_form_parts
        self.threshold = request.file_memory_threshold
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        self.parts = 0
        self.headers: list[tuple[str, str]] = []
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.name = ""
        self.field: bytearray | None = None
        self.spool: _Spool | None = None
        self.charset = "utf-8"
        self.file_info: tuple[str, Headers] = ("", Headers())
        self.finished: list[tuple[str, str, Headers, _Spool]] = []

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.max_parts is not None and self.parts > self.max_parts:
            raise RequestEntityTooLarge()
        self.headers = []

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers.append(
            (_header_text(self.header_field), _header_text(self.header_value).strip())
        )
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        headers = Headers(self.headers)
        disposition, options = parse_options_header(headers.get("Content-Disposition"))
        if disposition != "form-data" or "name" not in options:
            raise BadRequest("A multipart part has no valid Content-Disposition header.")
        self.name = options["name"]
        if "filename" in options:
            spool = _Spool(self.threshold)
            self.request.add_cleanup(spool.close)
            self.spool, self.field = spool, None
            self.file_info = (options["filename"], headers)
        else:
            self.spool, self.field = None, bytearray()
            charset = parse_options_header(headers.get("Content-Type"))[1].get("charset", "")
            self.charset = charset if charset.lower() in _PART_CHARSETS else "utf-8"

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.field is not None:
            self.field += data[start:end]
            if self.max_field is not None and len(self.field) > self.max_field:
                raise RequestEntityTooLarge()
        elif self.spool is not None:
            self.spool.write(data[start:end])

    def on_part_end(self) -> None:
        if self.field is not None:
            self.fields.append((self.name, self.field.decode(self.charset, "replace")))
            self.field = None
        elif self.spool is not None:
            self.finished.append((self.name, *self.file_info, self.spool))
            self.spool = None

    async def settle(self) -> None:
        """Do the disk work the last parsed chunk asked for."""
        if self.spool is not None:
            await self.spool.flush()
        finished, self.finished = self.finished, []
        for name, filename, headers, spool in finished:
            await spool.finish()
            storage = FileStorage(
                spool.file,
                filename=filename,
                name=name,
                content_type=headers.get("Content-Type"),
                headers=headers,
            )
            self.files.append((name, storage))

    def callbacks(self) -> dict[str, t.Callable[..., None]]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }


async def _parse_multipart(request: Request) -> tuple[Form, Files]:
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        raise BadRequest("The multipart body has no boundary.")
    reader = _MultipartReader(request)
    try:
        parser = MultipartParser(boundary.encode("latin-1"), reader.callbacks())  # type: ignore[arg-type]
    except (FormParserError, UnicodeEncodeError):
        raise BadRequest("The multipart boundary is invalid.") from None
    async for chunk in _without_preamble(request.stream, boundary.encode("latin-1")):
        # The first slice of a chunk tells: file data (a part or none in it)
        # goes on whole; many small parts go on a slice at a time, and the
        # loop gets a turn between slices.
        start, size, sliced = 0, len(chunk), True
        while start < size:
            end = min(start + _SLICE, size) if sliced else size
            parts = reader.parts
            try:
                parser.write(chunk if end - start == size else chunk[start:end])
            except FormParserError:
                raise BadRequest("The multipart body is malformed.") from None
            await reader.settle()
            sliced = reader.parts > parts + 1
            if sliced:
                await anyio.lowlevel.checkpoint()
            start = end
    if parser.state != MultipartState.END:
        raise BadRequest("The multipart body is truncated.")
    return ImmutableMultiDict(reader.fields), ImmutableMultiDict(reader.files)


async def _without_preamble(
    chunks: t.AsyncIterable[bytes], boundary: bytes
) -> t.AsyncIterator[bytes]:
    """Drop what comes before the first boundary (RFC 2046 allows a
    preamble, and Werkzeug accepts one; python-multipart does not)."""
    delimiter = b"--" + boundary
    pending: bytes | None = b""
    async for chunk in chunks:
        if pending is None:
            yield chunk
            continue
        pending += chunk
        start = 0
        while (found := pending.find(delimiter, start)) > 0 and pending[found - 1 : found] != b"\n":
            start = found + 1
        if found >= 0:
            yield pending[found:]
            pending = None
        elif len(pending) > _MAX_PREAMBLE:
            raise BadRequest("The multipart body does not start with its boundary.")
    if pending:
        yield pending  # no boundary at all: the parser reports it


async def _parse_urlencoded(request: Request) -> Form:
    limit = request.max_form_memory_size
    max_parts = request.max_form_parts
    # no form within both limits is longer than this: stop reading past it
    cap = None if limit is None or max_parts is None else max_parts * (2 * limit + 2)
    reader = _UrlencodedReader(limit, max_parts)
    size = 0
    async for chunk in request.stream:
        size += len(chunk)
        if cap is not None and size > cap:
            raise RequestEntityTooLarge()
        await reader.feed(chunk)
    return multidict(ImmutableMultiDict, reader.finish())


class _UrlencodedReader:
    """A URL-encoded body parsed as it arrives, so that the raw body and
    the form are never held whole at once: complete fields are parsed
    :data:`_SLICE` bytes at a time, and a field longer than that is
    unquoted piece by piece (:class:`_LongField`)."""

    def __init__(self, limit: int | None, max_parts: int | None) -> None:
        self.limit = limit
        self.left = max_parts  # fields still allowed
        self.pairs: list[tuple[str, str]] = []
        self.tail: list[bytes] = []  # the start of a field, not yet ended by "&"
        self.tail_size = 0
        self.long: _LongField | None = None

    async def feed(self, chunk: bytes) -> None:
        if self.long is not None:
            end = chunk.find(b"&")
            await self.long.add(chunk, 0, len(chunk) if end < 0 else end)
            if end < 0:
                return
            self._end_long()
            chunk = chunk[end + 1 :]
        self.tail.append(chunk)
        self.tail_size += len(chunk)
        if self.tail_size <= _SLICE:
            return
        data = b"".join(self.tail)
        start = 0
        while len(data) - start > _SLICE:
            cut = data.rfind(b"&", start, start + _SLICE)
            if cut >= 0:
                self._add(_checked_pairs(data[start:cut], self.limit, self.left))
            else:  # a field longer than a slice
                end = data.find(b"&", start + _SLICE)
                self.long = _LongField(self.limit)
                await self.long.add(data, start, len(data) if end < 0 else end)
                if end < 0:
                    self.tail, self.tail_size = [], 0
                    return
                self._end_long()
                cut = end
            start = cut + 1
            await anyio.lowlevel.checkpoint()
        rest = data[start:] if start else data
        self.tail, self.tail_size = [rest], len(rest)

    def finish(self) -> list[tuple[str, str]]:
        """The pairs, once the whole body has been fed."""
        if self.long is not None:
            self._end_long()
        elif self.tail_size:
            self._add(_checked_pairs(b"".join(self.tail), self.limit, self.left))
        return self.pairs

    def _add(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs += pairs
        if self.left is not None:
            self.left -= len(pairs)

    def _end_long(self) -> None:
        assert self.long is not None
        if self.left is not None and self.left < 1:
            raise RequestEntityTooLarge()
        self._add([self.long.pair()])
        self.long = None


class _LongField:
    """One ``key=value`` field, unquoted as its bytes arrive: a ``%XX``
    escape cut by the end of a piece waits for the next one."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.key: str | None = None
        self.text = bytearray()  # the unquoted bytes of the key, then the value
        self.held = b""

    async def add(self, data: bytes, start: int, end: int) -> None:
        """Unquote ``data[start:end]`` a slice at a time (a slice full of
        escapes takes milliseconds), the loop getting a turn after each."""
        for at in range(start, end, _SLICE):
            piece = data[at : min(at + _SLICE, end)]
            if self.key is None and (eq := piece.find(b"=")) >= 0:
                self._unquote(piece[:eq])
                self._flush()
                self.key = self.text.decode("utf-8", "replace")
                self.text = bytearray()
                piece = piece[eq + 1 :]
            self._unquote(piece)
            await anyio.lowlevel.checkpoint()

    def _unquote(self, piece: bytes) -> None:
        if self.held:
            piece = self.held + piece
        escape = piece.rfind(b"%", len(piece) - 2)
        self.held, piece = (piece[escape:], piece[:escape]) if escape >= 0 else (b"", piece)
        self.text += unquote_to_bytes(piece.replace(b"+", b" "))
        if self.limit is not None and len(self.text) > self.limit:
            raise RequestEntityTooLarge()

    def _flush(self) -> None:
        held, self.held = self.held, b""
        self.text += unquote_to_bytes(held.replace(b"+", b" "))
        if self.limit is not None and len(self.text) > self.limit:
            raise RequestEntityTooLarge()

    def pair(self) -> tuple[str, str]:
        """The field's ``(key, value)``, its last escape unquoted."""
        self._flush()
        text = self.text.decode("utf-8", "replace")
        self.text = bytearray()
        return (text, "") if self.key is None else (self.key, text)


_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")


def _checked_pairs(body: bytes, limit: int | None, max_parts: int | None) -> list[tuple[str, str]]:
    """The pairs of a form body, after checking the limits. Fields are
    counted before anything is split, so that a body of a million ``&``
    costs no million-item list (and no long call that holds the GIL)."""
    if max_parts is not None and body.count(b"&") >= max_parts:
        if body.find(b"&&") >= 0:
            body = _without_empty_fields(body)
        body = body.strip(b"&")
        if body and body.count(b"&") >= max_parts:
            raise RequestEntityTooLarge()
    if limit is not None and len(body) > limit and _piece_over(body, limit):
        raise RequestEntityTooLarge()
    return parse_urlencoded(body)


def _without_empty_fields(body: bytes) -> bytes:
    """``body`` with each run of ``&`` made one (the parser drops empty
    fields anyway), a slice at a time: one call over a huge body would hold
    the GIL for long."""
    slices = [body[i : i + _SLICE] for i in range(0, len(body), _SLICE)]
    for n, piece in enumerate(slices):
        while piece.find(b"&&") >= 0:
            piece = piece.replace(b"&&", b"&")
        slices[n] = piece
    body = b"".join(slices)
    while body.find(b"&&") >= 0:  # where two slices met
        body = body.replace(b"&&", b"&")
    return body


def _piece_over(body: bytes, limit: int) -> bool:
    """Whether a name or value of a form body is, unquoted, longer than
    ``limit`` (each ``%XX`` escape is one byte)."""
    pieces = (p for part in body.split(b"&") for p in part.split(b"=", 1))
    return any(len(p) > limit and _unquoted_length(p) > limit for p in pieces)


def _unquoted_length(piece: bytes) -> int:
    at_least = len(piece) - 2 * piece.count(b"%")
    if at_least == len(piece):
        return at_least
    # one at a time, in Python: a long C call would hold the GIL
    return len(piece) - 2 * sum(1 for _ in _ESCAPE.finditer(piece))


def parse_urlencoded(body: bytes) -> list[tuple[str, str]]:
    """``key=value&...`` pairs, as ``parse_qsl(keep_blank_values=True)``
    gives them (UTF-8, bad bytes replaced), unquoting all the text at once."""
    parts = [part.partition(b"=") for part in body.split(b"&") if part]
    pieces = [piece for key, _, value in parts for piece in (key, value)]
    if body.find(b"%") < 0 and body.find(b"+") < 0:  # (bytes.find: see Request)
        texts = [piece.decode("utf-8", "replace") for piece in pieces]
    else:
        # NUL cannot be in a form body as such (it would be %00), so it can
        # join the pieces: one unquote and one decode instead of one per piece
        joined = b"\x00".join(pieces).replace(b"+", b" ")
        texts = unquote_to_bytes(joined).decode("utf-8", "replace").split("\x00")
        if len(texts) != len(pieces) or body.find(b"\x00") >= 0:  # an encoded NUL
            texts = [
                unquote_to_bytes(p.replace(b"+", b" ")).decode("utf-8", "replace") for p in pieces
            ]
    return list(zip(texts[0::2], texts[1::2], strict=True))


async def parse_form(request: Request) -> tuple[Form, Files]:
    """Parse a form body into ``(form, files)``; other content types give
    two empty dicts and leave the body unread."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        return await _parse_multipart(request)
    if mimetype == "application/x-www-form-urlencoded":
        return await _parse_urlencoded(request), ImmutableMultiDict()
    return ImmutableMultiDict(), ImmutableMultiDict()
