"""Files: ``FileResponse``, ``send_file`` and ``send_from_directory``.

Opening and reading a file happen while the response is sent, in a worker
thread; the conditional request rules (304, 412, 206, 416) are applied
then, from the file's real size and modification time. ``send_file`` gives
a path's ``ETag`` and ``Last-Modified`` at once, as Flask does.
"""

from __future__ import annotations

import io
import mimetypes
import os
import stat
import typing as t
import unicodedata
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from time import time
from urllib.parse import quote

from werkzeug.datastructures import ETags
from werkzeug.exceptions import NotFound
from werkzeug.http import (
    parse_date,
    parse_etags,
    parse_if_range_header,
    parse_range_header,
    unquote_etag,
)
from werkzeug.security import safe_join

from .globals import _cv_ctx, current_app
from .request import Request
from .response import Response
from .typing import ASGIReceive, ASGISend, HeadersValue, Scope
from .utils import run_in_thread

__all__ = [
    "FileResponse",
    "StaticFilesMixin",
    "open_resource",
    "send_file",
    "send_from_directory",
]

MaxAge = int | t.Callable[[str | None], int | None] | None


class FileResponse(Response):
    """A file sent in chunks read off the event loop, with ``ETag``,
    ``Last-Modified``, conditional answers (304/412) and ``Range`` (206/416).

    ``path_or_file`` is a path or a binary file object (``BytesIO``, an open
    file); a file object is closed once it has been sent.
    """

    default_mimetype = "application/octet-stream"
    #: Bytes read (and sent) at a time.
    chunk_size = 256 * 1024
    #: As for Werkzeug's file responses: the body is a file, passed through.
    direct_passthrough = True

    def __init__(
        self,
        path_or_file: str | os.PathLike[str] | t.IO[bytes],
        status: int | str | None = None,
        headers: HeadersValue | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
        *,
        conditional: bool = True,
        etag: bool | str = True,
        last_modified: datetime | int | float | None = None,
    ) -> None:
        super().__init__(None, status, headers, mimetype, content_type)
        if isinstance(path_or_file, (str, os.PathLike)):
            self.path: str | None = os.fspath(path_or_file)
            self.file: t.IO[bytes] | None = None
        else:
            if isinstance(path_or_file, io.TextIOBase):
                raise ValueError("Files must be opened in binary mode or use BytesIO.")
            self.path, self.file = None, path_or_file
        self.conditional = conditional
        self.etag = etag
        if last_modified is not None:
            self.last_modified = last_modified  # type: ignore[assignment]
        self.response = _NOT_READ

    @property
    def is_sequence(self) -> bool:
        """``False`` until the file has been read (``get_data()``)."""
        return self.response is not _NOT_READ and isinstance(self.response, list)

    def get_data(self, as_text: bool = False) -> t.Any:
        """Read the whole file (blocking; meant for tests)."""
        if self.response is _NOT_READ:
            self.response = [b"".join(self._iter_file())]
        return super().get_data(as_text)

    def iter_encoded(self) -> Iterator[bytes]:
        """The file's bytes in chunks, read as the iterator is pulled
        (blocking: pull it in a worker thread, as while it is sent)."""
        if self.response is _NOT_READ:
            return self._iter_file()
        return super().iter_encoded()

    def _iter_file(self) -> Iterator[bytes]:
        file = self.file if self.file is not None else open(t.cast(str, self.path), "rb")
        self.file = None
        with file:
            while chunk := file.read(self.chunk_size):
                yield chunk

    def _open(self) -> tuple[t.IO[bytes], int, int, float | None]:
        """Open the file; return it with its start offset, length and mtime."""
        if self.file is None:
            file: t.IO[bytes] = open(t.cast(str, self.path), "rb")
            st = os.fstat(file.fileno())
            return file, 0, st.st_size, st.st_mtime
        file = self.file
        if isinstance(file, io.BytesIO):
            start = file.tell()
            return file, start, file.getbuffer().nbytes - start, None
        try:
            st = os.fstat(file.fileno())
            start = file.tell()
            return file, start, st.st_size - start, st.st_mtime
        except (AttributeError, OSError, io.UnsupportedOperation):
            start = file.tell()
            end = file.seek(0, io.SEEK_END)
            file.seek(start)
            return file, start, end - start, None

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if self.response is not _NOT_READ:
            # read already, or the body replaced (by a compressing extension)
            try:
                await super().__call__(scope, receive, send)
            finally:
                if self.file is not None:
                    await run_in_thread(self.file.close)
            return
        try:
            file, start, length, mtime = await run_in_thread(self._open)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            await Response("Not Found", 404, mimetype="text/plain")(scope, receive, send)
            return
        self._file_state = (file, start, length)
        self.response = self._read_file()
        try:
            self._set_validators(length, mtime)
            if self.conditional and scope.get("method") in ("GET", "HEAD"):
                self._evaluate(Request(scope), length)
            await super().__call__(scope, receive, send)
        finally:
            await run_in_thread(file.close)

    def _set_validators(self, length: int, mtime: float | None) -> None:
        if mtime is not None and "last-modified" not in self.headers:
            self.last_modified = mtime  # type: ignore[assignment]
        if "etag" not in self.headers:
            if isinstance(self.etag, str):
                self.set_etag(self.etag)
            elif self.etag and self.path is not None and mtime is not None:
                check = zlib.adler32(self.path.encode()) & 0xFFFFFFFF
                self.set_etag(f"{mtime}-{length}-{check}")
        self.headers["Content-Length"] = str(length)

    def _evaluate(self, request: Request, length: int) -> None:
        """Apply RFC 9110's preconditions, then ``Range``."""
        self.accept_ranges = "bytes"
        etag = unquote_etag(self.headers.get("ETag"))[0]
        last_modified = _as_seconds(self.headers.get("Last-Modified"))
        headers = request.headers
        if_match = headers.get("If-Match")
        ius = _as_seconds(headers.get("If-Unmodified-Since"))
        if (if_match is not None and not _matches(parse_etags(if_match), etag, strong=True)) or (
            if_match is None and ius is not None and (last_modified is None or last_modified > ius)
        ):
            self._precondition_failed()
            return
        if_none_match = headers.get("If-None-Match")
        ims = _as_seconds(headers.get("If-Modified-Since"))
        if (
            if_none_match is not None and _matches(parse_etags(if_none_match), etag, strong=False)
        ) or (
            if_none_match is None
            and ims is not None
            and last_modified is not None
            and last_modified <= ims
        ):
            self._not_modified()
            return
        range_header = headers.get("Range")
        if (
            range_header is not None
            and length
            and self._if_range_holds(headers.get("If-Range"), etag, last_modified)
        ):
            self._apply_range(range_header, length)

    def _if_range_holds(self, value: str | None, etag: str | None, mtime: int | None) -> bool:
        if value is None:
            return True
        if_range = parse_if_range_header(value)
        if if_range.etag is not None:
            return (
                etag is not None and not value.lstrip().startswith("W/") and if_range.etag == etag
            )
        date = if_range.date
        return date is not None and mtime is not None and int(date.timestamp()) == mtime

    def _apply_range(self, value: str, length: int) -> None:
        if value.partition("=")[0].strip().lower() != "bytes" or "," in value:
            return  # another unit is ignored; for several ranges the whole file is right
        parsed = parse_range_header(value)
        span = None
        if parsed is not None:
            begin, end = parsed.ranges[0]
            if begin < 0 and end is None and -begin > length:
                span = (0, length)  # a suffix longer than the file means all of it
            else:
                span = parsed.range_for_length(length)
        if span is None:
            self.status_code = 416
            self.headers["Content-Range"] = f"bytes */{length}"
            self.headers["Content-Length"] = "0"
            self.response = []
            return
        begin, end = span
        file, start, _ = self._file_state
        self._file_state = (file, start + begin, end - begin)
        self.status_code = 206
        self.headers["Content-Range"] = f"bytes {begin}-{end - 1}/{length}"
        self.headers["Content-Length"] = str(end - begin)

    def _not_modified(self) -> None:
        self.status_code = 304
        self.response = []

    def _precondition_failed(self) -> None:
        self.status_code = 412
        self.headers["Content-Length"] = "0"
        self.response = []

    async def _read_file(self) -> AsyncIterator[bytes]:
        file, start, remaining = self._file_state
        await run_in_thread(file.seek, start)
        size = self.chunk_size
        while remaining > 0:
            chunk = await run_in_thread(file.read, min(size, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


_NOT_READ: list[bytes] = []


def _matches(etags: ETags, etag: str | None, strong: bool) -> bool:
    if etags.star_tag:
        return True
    if etag is None:
        return False
    return etags.is_strong(etag) if strong else etags.contains_weak(etag)


def _as_seconds(value: str | None) -> int | None:
    date = parse_date(value)
    return int(date.timestamp()) if date is not None else None


def send_file(
    path_or_file: str | os.PathLike[str] | t.IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: MaxAge = None,
) -> FileResponse:
    """Send a file, with Flask's signature and headers. A relative path is
    relative to the app's ``root_path``. As in Flask, the returned response
    already has the file's ``ETag``, ``Last-Modified`` and
    ``Content-Length`` (from one ``stat`` of the path); the file is opened
    and read while the response is sent, off the event loop."""
    path: str | None = None
    if isinstance(path_or_file, (str, os.PathLike)):
        path = os.fspath(path_or_file)
        ctx = _cv_ctx.get(None)
        if ctx is not None:
            path = os.path.join(ctx.app.root_path, path)
        if download_name is None:
            download_name = os.path.basename(path)
    elif download_name is None:
        name = getattr(path_or_file, "name", None)
        if isinstance(name, str) and name:
            download_name = os.path.basename(name)
    headers: dict[str, str] = {}
    if mimetype is None:
        if download_name is None:
            raise TypeError(
                "Unable to detect the MIME type because a file name is not"
                " available. Either set 'download_name', pass a path instead"
                " of a file, or set 'mimetype'."
            )
        mimetype, encoding = mimetypes.guess_type(download_name)
        mimetype = mimetype or "application/octet-stream"
        if encoding is not None and not as_attachment:
            headers["Content-Encoding"] = encoding
    rv = FileResponse(
        path if path is not None else t.cast(t.IO[bytes], path_or_file),
        headers=headers,
        mimetype=mimetype,
        conditional=conditional,
        etag=etag,
        last_modified=last_modified,
    )
    if path is not None:
        _stat_validators(rv, path)
    elif isinstance(etag, str):
        rv.set_etag(etag)
    if download_name is not None:
        _set_disposition(rv, download_name, as_attachment)
    elif as_attachment:
        raise TypeError(
            "No name provided for attachment. Either set 'download_name' or"
            " pass a path instead of a file."
        )
    _set_cache(rv, path, max_age)
    return rv


def _stat_validators(rv: FileResponse, path: str) -> None:
    """Set the validators of the file at ``path`` now. A file that is not
    there is answered with a 404 when the response is sent."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return
    if stat.S_ISREG(st.st_mode):
        rv._set_validators(st.st_size, st.st_mtime)


def _set_disposition(rv: Response, name: str, as_attachment: bool) -> None:
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        quoted = quote(name, safe="!#$&+-.^_`|~")
        names = {"filename": simple, "filename*": f"UTF-8''{quoted}"}
    else:
        names = {"filename": name}
    rv.headers.set("Content-Disposition", "attachment" if as_attachment else "inline", **names)


def _set_cache(rv: Response, path: str | None, max_age: MaxAge) -> None:
    if max_age is None:
        ctx = _cv_ctx.get(None)
        if ctx is not None:
            max_age = ctx.app.get_send_file_max_age
    if callable(max_age):
        max_age = max_age(path)
    rv.cache_control.no_cache = True
    if max_age is not None:
        if max_age > 0:
            rv.cache_control.no_cache = None
            rv.cache_control.public = True
        rv.cache_control.max_age = max_age
        rv.expires = int(time() + max_age)  # type: ignore[assignment]


def send_from_directory(
    directory: str | os.PathLike[str], path: str | os.PathLike[str], **kwargs: t.Any
) -> FileResponse:
    """Send ``path`` from inside ``directory`` (relative to the app's
    ``root_path``). Any path that would leave the directory (``..``, absolute,
    backslashes, NUL, a symbolic link to somewhere outside it) and any
    missing file is a 404."""
    name = os.fspath(path)
    if "\\" in name or "\x00" in name:
        raise NotFound()
    directory = os.fspath(directory)
    joined = safe_join(directory, name)
    if joined is None:
        raise NotFound()
    ctx = _cv_ctx.get(None)
    if ctx is not None:
        directory = os.path.join(ctx.app.root_path, directory)
        joined = os.path.join(ctx.app.root_path, joined)
    if not os.path.isfile(joined) or not _inside(joined, directory):
        raise NotFound()
    return send_file(joined, **kwargs)


def _inside(path: str, directory: str) -> bool:
    """Whether ``path``, with its symbolic links resolved, is in
    ``directory`` (itself resolved)."""
    real = os.path.realpath(path)
    if real == os.path.abspath(path):  # no link on the way: safe_join sufficed
        return True
    return os.path.commonpath((real, os.path.realpath(directory))) == os.path.realpath(directory)


def open_resource(
    root: str, resource: str, mode: str = "rb", encoding: str | None = None
) -> t.IO[t.Any]:
    """Open ``resource`` relative to ``root`` for reading (modes ``"r"``,
    ``"rt"``, ``"rb"``); ``encoding`` is used in text mode. A blocking call,
    as Flask's: in a view, run it off the loop or read small files only."""
    if mode not in {"r", "rt", "rb"}:
        raise ValueError("Resources can only be opened for reading.")
    path = os.path.join(root, resource)
    if mode == "rb":
        return open(path, mode)
    return open(path, mode, encoding=encoding)


class StaticFilesMixin:
    """``send_static_file`` (the view of the ``static`` route) and
    ``get_send_file_max_age``, shared by the app and blueprints."""

    has_static_folder: bool
    static_folder: str | None

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """``SEND_FILE_MAX_AGE_DEFAULT`` in seconds, or ``None`` (the default:
        browsers then revalidate with conditional requests)."""
        value = current_app.config["SEND_FILE_MAX_AGE_DEFAULT"]
        if isinstance(value, timedelta):
            return int(value.total_seconds())
        return t.cast("int | None", value)

    def send_static_file(self, filename: str) -> FileResponse:
        """The view that serves files from ``static_folder``."""
        if not self.has_static_folder:
            raise RuntimeError("'static_folder' must be set to serve static_files.")
        max_age = self.get_send_file_max_age(filename)
        return send_from_directory(t.cast(str, self.static_folder), filename, max_age=max_age)
