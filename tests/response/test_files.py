"""Files: ``FileResponse``, ``send_file`` and ``send_from_directory``.

Paths and file objects, mimetypes, ``Content-Disposition``, ``ETag`` and
``Last-Modified``, the conditional requests (304, 412), ``Range`` (206,
416, ``If-Range``, several ranges), ``HEAD``, caching headers, directory
escapes, and the static folders of apps and blueprints. Header details are
compared with real Flask's ``send_file`` where Flask's answer is the right
one. Every test that streams a file is bounded by ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import flask
import pytest
from werkzeug.exceptions import NotFound
from werkzeug.http import http_date, parse_date
from werkzeug.wsgi import FileWrapper

from asyncflask import (
    Blueprint,
    FileResponse,
    Flask,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from asyncflask.testing import TestClient, TestResponse
from asyncflask.typing import Message
from tests.support import guarded, http_scope

GUARD = 10.0
DATA = bytes((i * 7 + i // 251) % 256 for i in range(1000))
SECRET = b"top secret, outside the served directory"
MTIME = 1_700_000_000  # 2023-11-14T22:13:20Z


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """``<tmp>/public`` (served) with data.bin, hello.txt, sub/inner.txt,
    empty.txt, big.bin; ``<tmp>/secret.txt`` outside it."""
    public = tmp_path / "public"
    (public / "sub").mkdir(parents=True)
    (public / "data.bin").write_bytes(DATA)
    (public / "hello.txt").write_text("Hello, file!\n")
    (public / "sub" / "inner.txt").write_text("inner")
    (public / "empty.txt").write_bytes(b"")
    (public / "big.bin").write_bytes(os.urandom(1024 * 1024 + 17))
    (tmp_path / "secret.txt").write_bytes(SECRET)
    for path in [*public.rglob("*"), tmp_path / "secret.txt"]:
        os.utime(path, (MTIME, MTIME))
    return public


def make_sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def etag_of(r: TestResponse) -> str:
    return r.headers["etag"]


async def get(client: TestClient, url: str, method: str = "GET", **headers: str) -> TestResponse:
    """A request with headers given as keywords (``If_None_Match=...``)."""
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    return await asyncio.wait_for(client.request(method, url, headers=hdrs), GUARD)


def serve(app: Flask, path_or_file: Any, **kwargs: Any) -> None:
    """``GET /f`` answers ``send_file(path_or_file(), **kwargs)``."""

    @app.route("/f", methods=["GET", "HEAD", "POST"])
    async def f() -> Any:
        target = path_or_file() if callable(path_or_file) else path_or_file
        return send_file(target, **kwargs)


def flask_reference(
    path_or_file: Any, method: str = "GET", headers: dict[str, str] | None = None, **kwargs: Any
) -> tuple[int, dict[str, str], bytes]:
    """What real Flask's ``send_file`` answers."""
    fapp = flask.Flask("reference")

    @fapp.route("/f", methods=["GET", "HEAD"])
    def f() -> Any:
        target = path_or_file() if callable(path_or_file) else path_or_file
        return flask.send_file(target, **kwargs)

    with fapp.test_client() as c:
        r = c.open("/f", method=method, headers=headers or {})
        data = r.get_data()
        r.close()
    return r.status_code, {k.lower(): v for k, v in r.headers.items()}, data


# -- plain sending ---------------------------------------------------------------------------


@guarded()
async def test_send_path(app: Flask, client: TestClient, files: Path) -> None:
    serve(app, files / "data.bin")
    r = await get(client, "/f")
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["content-length"] == str(len(DATA))
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["last-modified"] == http_date(MTIME)
    assert r.headers["etag"].startswith('"')
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-disposition"] == "inline; filename=data.bin"
    assert r.headers["cache-control"] == "no-cache"
    assert "expires" not in r.headers


@guarded()
async def test_file_response_directly(app: Flask, client: TestClient, files: Path) -> None:
    @app.route("/f")
    async def f() -> Any:
        return FileResponse(files / "hello.txt", mimetype="text/plain")

    r = await get(client, "/f")
    assert r.status_code == 200
    assert r.text == "Hello, file!\n"
    assert r.mimetype == "text/plain"
    assert r.headers["last-modified"] == http_date(MTIME)
    assert "etag" in r.headers
    r2 = await get(client, "/f", If_None_Match=etag_of(r))
    assert r2.status_code == 304


async def test_send_file_is_passed_through_as_werkzeugs(app: Flask, files: Path) -> None:
    """As Flask's ``send_file``: ``direct_passthrough`` is set; turned off, the
    body reads as data."""
    async with app.test_request_context():
        rv = send_file(files / "hello.txt")
        assert rv.direct_passthrough is True
        rv.direct_passthrough = False
        assert rv.data == b"Hello, file!\n"
        rv.close()


@guarded()
async def test_big_file_in_several_chunks(app: Flask, client: TestClient, files: Path) -> None:
    serve(app, files / "big.bin")
    expected = (files / "big.bin").read_bytes()
    async with client.stream("GET", "/f") as r:
        chunks = [c async for c in r.aiter_raw()]
    assert b"".join(chunks) == expected
    assert len(chunks) > 1, "a 1 MiB file should not be sent as one message"
    assert max(len(c) for c in chunks) <= 1024 * 1024


@guarded()
async def test_relative_path_is_relative_to_root_path(tmp_path: Path, files: Path) -> None:
    app = Flask("rooted", root_path=str(tmp_path))
    serve(app, "public/hello.txt")
    async with app.test_client() as client:
        r = await get(client, "/f")
    assert r.status_code == 200
    assert r.text == "Hello, file!\n"
    assert r.headers["content-disposition"] == "inline; filename=hello.txt"


@guarded()
async def test_head_has_headers_and_no_body(app: Flask, client: TestClient, files: Path) -> None:
    serve(app, files / "data.bin")
    r = await get(client, "/f", method="HEAD")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == str(len(DATA))
    assert "etag" in r.headers


@guarded()
async def test_empty_file(app: Flask, client: TestClient, files: Path) -> None:
    serve(app, files / "empty.txt")
    r = await get(client, "/f")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == "0"
    r = await get(client, "/f", Range="bytes=0-10")
    assert r.status_code in (200, 416)
    assert r.content == b""


# -- compared with Flask -------------------------------------------------------------------


HEADER_KEYS = (
    "content-type",
    "content-length",
    "content-disposition",
    "content-encoding",
    "cache-control",
    "etag",
    "last-modified",
    "accept-ranges",
    "content-range",
)


def _pick(headers: Any) -> dict[str, str | None]:
    return {k: headers.get(k) for k in HEADER_KEYS}


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"as_attachment": True},
        {"download_name": "report.csv"},
        {"download_name": "résumé ünïcode.pdf", "as_attachment": True},
        {"mimetype": "image/png"},
        {"max_age": 60},
        {"max_age": 0},
        {"etag": False},
        {"etag": "my-tag"},
        {"last_modified": datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)},
        {"conditional": False},
    ],
    ids=repr,
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Range": "bytes=10-19"}, {"Range": "bytes=-5"}, {"If-None-Match": "{etag}"}],
    ids=repr,
)
@guarded()
async def test_headers_match_flask(
    app: Flask, client: TestClient, files: Path, kwargs: dict[str, Any], headers: dict[str, str]
) -> None:
    path = str(files / "data.bin")
    serve(app, path, **kwargs)
    ref_etag = flask_reference(path, **kwargs)[1].get("etag", '"none"')
    headers = {k: v.replace("{etag}", ref_etag) for k, v in headers.items()}
    r = await client.get("/f", headers=headers)
    status, ref_headers, ref_body = flask_reference(path, headers=headers, **kwargs)
    assert r.status_code == status
    assert _pick(r.headers) == _pick(ref_headers)
    assert r.content == ref_body
    if "expires" in ref_headers:
        expires = parse_date(r.headers["expires"])
        ref_expires = parse_date(ref_headers["expires"])
        assert expires is not None and ref_expires is not None
        assert abs((expires - ref_expires).total_seconds()) <= 2
    else:
        assert "expires" not in r.headers


@pytest.mark.parametrize(
    "name",
    [
        "a.txt",
        "a.html",
        "a.css",
        "a.js",
        "a.json",
        "a.png",
        "a.svg",
        "a.csv",
        "a.pdf",
        "archive.tar.gz",
        "file.unknownextension",
        "no_extension",
    ],
)
@guarded()
async def test_mimetype_guessed_like_flask(app: Flask, client: TestClient, name: str) -> None:
    serve(app, lambda: io.BytesIO(b"content"), download_name=name)
    async with client.stream("GET", "/f") as r:
        raw = b"".join([chunk async for chunk in r.aiter_raw()])  # no gzip decoding
    _, ref, _ = flask_reference(lambda: io.BytesIO(b"content"), download_name=name)
    assert r.headers["content-type"] == ref["content-type"]
    assert r.headers.get("content-encoding") == ref.get("content-encoding")
    assert raw == b"content"


def test_tar_gz_as_attachment_has_no_content_encoding(app: Flask) -> None:
    with app.test_request_context():
        inline = send_file(io.BytesIO(b"x"), download_name="a.tar.gz")
        attachment = send_file(io.BytesIO(b"x"), download_name="a.tar.gz", as_attachment=True)
    assert inline.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in attachment.headers


@pytest.mark.parametrize(
    "name",
    [
        "report.pdf",
        "résumé.pdf",
        "naïve file name.txt",
        "日本語.txt",
        "emoji 😀.txt",
        "spaces in name.txt",
        "semi;colon.txt",
        'quote".txt',
        "percent%20.txt",
        "comma,name.txt",
    ],
)
@pytest.mark.parametrize("as_attachment", [True, False])
@guarded()
async def test_content_disposition_like_flask(
    app: Flask, client: TestClient, name: str, as_attachment: bool
) -> None:
    serve(
        app,
        lambda: io.BytesIO(b"x"),
        download_name=name,
        as_attachment=as_attachment,
        mimetype="application/pdf",
    )
    r = await get(client, "/f")
    _, ref, _ = flask_reference(
        lambda: io.BytesIO(b"x"),
        download_name=name,
        as_attachment=as_attachment,
        mimetype="application/pdf",
    )
    assert r.headers["content-disposition"] == ref["content-disposition"]


def test_content_disposition_rfc5987(app: Flask) -> None:
    with app.test_request_context():
        rv = send_file(io.BytesIO(b"x"), download_name="résumé €.pdf", as_attachment=True)
    assert rv.headers["Content-Disposition"] == (
        "attachment; filename=\"resume .pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.pdf"
    )


@guarded()
async def test_etag_and_last_modified_match_flask(
    app: Flask, client: TestClient, files: Path
) -> None:
    path = str(files / "hello.txt")
    serve(app, path)
    r = await get(client, "/f")
    _, ref, _ = flask_reference(path)
    assert r.headers["etag"] == ref["etag"]
    assert r.headers["last-modified"] == ref["last-modified"] == http_date(MTIME)


# -- file objects ----------------------------------------------------------------------------


@guarded()
async def test_bytesio(app: Flask, client: TestClient) -> None:
    serve(app, lambda: io.BytesIO(b"in memory"), mimetype="text/plain")
    r = await get(client, "/f")
    assert r.status_code == 200
    assert r.text == "in memory"
    assert r.headers["content-length"] == "9"
    assert r.mimetype == "text/plain"
    assert "content-disposition" not in r.headers
    r = await get(client, "/f", Range="bytes=3-8")
    assert r.status_code == 206
    assert r.text == "memory"
    assert r.headers["content-range"] == "bytes 3-8/9"


@guarded()
async def test_open_binary_file_is_served_and_closed(
    app: Flask, client: TestClient, files: Path
) -> None:
    opened: list[io.BufferedReader] = []

    def open_file() -> io.BufferedReader:
        f = open(files / "data.bin", "rb")
        opened.append(f)
        return f

    serve(app, open_file, download_name="data.bin")
    r = await get(client, "/f")
    assert r.content == DATA
    assert r.headers["content-length"] == str(len(DATA))
    r = await get(client, "/f", Range="bytes=100-199")
    assert r.status_code == 206
    assert r.content == DATA[100:200]
    r = await get(client, "/f", method="HEAD")
    assert r.content == b""
    r = await get(client, "/f", Range="bytes=5000-")
    assert r.status_code == 416
    assert len(opened) == 4
    assert all(f.closed for f in opened)


def test_bytesio_without_name_or_mimetype_is_a_type_error(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(TypeError):
        send_file(io.BytesIO(b"x"))


def test_attachment_without_a_name_is_a_type_error(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(TypeError):
        send_file(io.BytesIO(b"x"), mimetype="text/plain", as_attachment=True)


def test_text_mode_file_is_refused(app: Flask, files: Path) -> None:
    with open(files / "hello.txt") as f, app.test_request_context(), pytest.raises(ValueError):
        send_file(f, mimetype="text/plain")  # type: ignore[arg-type]


# -- conditional requests ----------------------------------------------------------------


@pytest.fixture
async def data_client(app: Flask, files: Path) -> AsyncIterator[tuple[TestClient, str]]:
    """A client for ``GET /f`` = data.bin, and the file's ETag."""
    serve(app, files / "data.bin")
    async with app.test_client() as client:
        r = await get(client, "/f")
        yield client, etag_of(r)


LM = http_date(MTIME)
BEFORE = http_date(MTIME - 3600)
AFTER = http_date(MTIME + 3600)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"If-None-Match": "{etag}"}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": "W/{etag}"}, 304),  # weak comparison
        ({"If-None-Match": '"other", {etag}'}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": LM}, 304),
        ({"If-Modified-Since": AFTER}, 304),
        ({"If-Modified-Since": BEFORE}, 200),
        ({"If-Modified-Since": "not a date"}, 200),
        ({"If-None-Match": '"other"', "If-Modified-Since": AFTER}, 200),  # INM wins
        ({"If-Match": "{etag}"}, 200),
        ({"If-Match": "*"}, 200),
        ({"If-Match": '"other", {etag}'}, 200),
        ({"If-Match": '"other"'}, 412),
        ({"If-Match": "W/{etag}"}, 412),  # strong comparison
        ({"If-Unmodified-Since": BEFORE}, 412),
        ({"If-Unmodified-Since": LM}, 200),
        ({"If-Unmodified-Since": AFTER}, 200),
        ({"If-Match": "{etag}", "If-Unmodified-Since": BEFORE}, 200),  # If-Match wins
        ({"If-Match": '"other"', "If-None-Match": "{etag}"}, 412),  # 412 first
        ({"If-Match": '"other"', "Range": "bytes=0-1"}, 412),
        ({"If-None-Match": "{etag}", "Range": "bytes=0-1"}, 304),
    ],
    ids=repr,
)
@guarded()
async def test_conditional_matrix(
    data_client: tuple[TestClient, str], headers: dict[str, str], status: int
) -> None:
    client, etag = data_client
    hdrs = {k: v.replace("{etag}", etag) for k, v in headers.items()}
    r = await asyncio.wait_for(client.get("/f", headers=hdrs), GUARD)
    assert r.status_code == status
    if status == 200:
        assert r.content == DATA
    else:
        assert r.content == b""
    if status == 304:
        assert r.headers["etag"] == etag
        assert r.headers["cache-control"] == "no-cache"
        assert "content-range" not in r.headers


@guarded()
async def test_304_on_head(data_client: tuple[TestClient, str]) -> None:
    client, etag = data_client
    r = await get(client, "/f", method="HEAD", If_None_Match=etag)
    assert r.status_code == 304
    assert r.content == b""


@guarded()
async def test_304_headers_match_flask(data_client: tuple[TestClient, str], files: Path) -> None:
    client, etag = data_client
    r = await get(client, "/f", If_None_Match=etag)
    _, ref, _ = flask_reference(str(files / "data.bin"), headers={"If-None-Match": etag})
    drop = {"date", "expires", "content-disposition"}
    assert {k for k in r.headers if k not in drop} <= {k for k in ref if k not in drop}
    assert r.headers["etag"] == ref["etag"]


@guarded()
async def test_conditional_false_ignores_validators_and_range(
    app: Flask, client: TestClient, files: Path
) -> None:
    serve(app, files / "data.bin", conditional=False)
    r = await get(client, "/f")
    r2 = await get(client, "/f", If_None_Match=etag_of(r), Range="bytes=0-9")
    assert r2.status_code == 200
    assert r2.content == DATA


@guarded()
async def test_etag_false_still_uses_last_modified(
    app: Flask, client: TestClient, files: Path
) -> None:
    serve(app, files / "data.bin", etag=False)
    r = await get(client, "/f")
    assert "etag" not in r.headers
    assert (await get(client, "/f", If_Modified_Since=LM)).status_code == 304
    assert (await get(client, "/f", If_None_Match="*")).status_code == 304


@guarded()
async def test_custom_etag_and_last_modified(app: Flask, client: TestClient, files: Path) -> None:
    when = datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)
    serve(app, files / "data.bin", etag="v42", last_modified=when)
    r = await get(client, "/f")
    assert r.headers["etag"] == '"v42"'
    assert r.headers["last-modified"] == http_date(when)
    assert (await get(client, "/f", If_None_Match='"v42"')).status_code == 304
    assert (await get(client, "/f", If_None_Match='"v41"')).status_code == 200
    assert (await get(client, "/f", If_Modified_Since=http_date(when))).status_code == 304
    assert (await get(client, "/f", If_Match='"v41"')).status_code == 412


@guarded()
async def test_modified_file_is_not_304(app: Flask, client: TestClient, files: Path) -> None:
    serve(app, files / "hello.txt")
    r = await get(client, "/f")
    (files / "hello.txt").write_text("Changed!\n")
    os.utime(files / "hello.txt", (MTIME + 10, MTIME + 10))
    r2 = await get(client, "/f", If_None_Match=etag_of(r))
    assert r2.status_code == 200
    assert r2.text == "Changed!\n"
    assert etag_of(r2) != etag_of(r)


@guarded()
async def test_hostile_if_none_match_is_fast(data_client: tuple[TestClient, str]) -> None:
    client, _ = data_client
    tags = ", ".join(f'"tag{i}"' for i in range(10_000))
    started = time.monotonic()
    r = await get(client, "/f", If_None_Match=tags)
    assert r.status_code == 200
    assert r.content == DATA
    assert time.monotonic() - started < 2.0


# -- Range ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "begin", "end"),
    [
        ("bytes=0-9", 0, 10),
        ("bytes=10-19", 10, 20),
        ("bytes=990-", 990, 1000),
        ("bytes=0-", 0, 1000),
        ("bytes=-10", 990, 1000),
        ("bytes=-5000", 0, 1000),  # a suffix longer than the file is all of it
        ("bytes=995-2000", 995, 1000),  # last-pos past the end is clamped
        ("bytes=999-999", 999, 1000),
        ("bytes=0-0", 0, 1),
        ("BYTES=5-9", 5, 10),
        ("bytes= 5-9", 5, 10),
    ],
)
@guarded()
async def test_range(data_client: tuple[TestClient, str], spec: str, begin: int, end: int) -> None:
    client, _ = data_client
    r = await get(client, "/f", Range=spec)
    assert r.status_code == 206
    assert r.content == DATA[begin:end]
    assert r.headers["content-range"] == f"bytes {begin}-{end - 1}/{len(DATA)}"
    assert r.headers["content-length"] == str(end - begin)
    assert r.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize("spec", ["bytes=1000-", "bytes=1000-1001", "bytes=5000-6000", "bytes=-0"])
@guarded()
async def test_unsatisfiable_range(data_client: tuple[TestClient, str], spec: str) -> None:
    client, _ = data_client
    r = await get(client, "/f", Range=spec)
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{len(DATA)}"
    assert r.content == b""


@pytest.mark.parametrize(
    "spec", ["bytes=abc", "bytes=9-5", "bytes 0-5", "bytes=--1", "bytes=", "bytes=1-2-3", "=0-5"]
)
@guarded()
async def test_malformed_range_never_gives_a_wrong_body(
    data_client: tuple[TestClient, str], spec: str
) -> None:
    """An invalid Range may be ignored (200) or refused (416)."""
    client, _ = data_client
    r = await get(client, "/f", Range=spec)
    assert r.status_code in (200, 416)
    assert r.content == (DATA if r.status_code == 200 else b"")


@guarded()
async def test_unknown_range_unit_is_ignored(data_client: tuple[TestClient, str]) -> None:
    """RFC 9110 14.2: a server MUST ignore a Range in a unit it does not
    understand (real Flask answers 416 here)."""
    client, _ = data_client
    r = await get(client, "/f", Range="items=0-5")
    assert r.status_code == 200
    assert r.content == DATA


@pytest.mark.parametrize(
    "spec", ["bytes=0-1,5-6", "bytes=0-1, 5-6", "bytes=0-499,250-999", "bytes=-5,0-1", "bytes=0-1,"]
)
@guarded()
async def test_several_ranges_get_the_whole_file(
    data_client: tuple[TestClient, str], spec: str
) -> None:
    client, _ = data_client
    r = await get(client, "/f", Range=spec)
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["content-length"] == str(len(DATA))
    assert "content-range" not in r.headers


@guarded()
async def test_ten_thousand_ranges_answer_quickly(data_client: tuple[TestClient, str]) -> None:
    client, _ = data_client
    spec = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 20_000, 2))
    started = time.monotonic()
    r = await get(client, "/f", Range=spec)
    elapsed = time.monotonic() - started
    assert r.status_code == 200
    assert r.content == DATA
    assert elapsed < 1.0


@guarded()
async def test_huge_numbers_in_range_answer_quickly(data_client: tuple[TestClient, str]) -> None:
    client, _ = data_client
    started = time.monotonic()
    r = await get(client, "/f", Range="bytes=0-" + "9" * 5000)
    assert r.status_code in (206, 416, 200)
    if r.status_code == 206:
        assert r.content == DATA
    r = await get(client, "/f", Range="bytes=" + "1" * 5000 + "-")
    assert r.status_code in (416, 200)
    assert time.monotonic() - started < 1.0


@guarded()
async def test_head_with_range(data_client: tuple[TestClient, str]) -> None:
    client, _ = data_client
    r = await get(client, "/f", method="HEAD", Range="bytes=0-99")
    assert r.status_code == 206
    assert r.content == b""
    assert r.headers["content-range"] == f"bytes 0-99/{len(DATA)}"
    assert r.headers["content-length"] == "100"


@guarded()
async def test_range_ignored_for_post(data_client: tuple[TestClient, str]) -> None:
    client, _ = data_client
    r = await get(client, "/f", method="POST", Range="bytes=0-9")
    assert r.status_code == 200
    assert r.content == DATA


@guarded()
async def test_range_across_chunks_of_a_big_file(
    app: Flask, client: TestClient, files: Path
) -> None:
    serve(app, files / "big.bin")
    big = (files / "big.bin").read_bytes()
    size = FileResponse.chunk_size
    for begin, end in [(size - 3, size + 3), (1, 3 * size + 5), (len(big) - 20, len(big))]:
        r = await get(client, "/f", Range=f"bytes={begin}-{end - 1}")
        assert r.status_code == 206
        assert r.content == big[begin:end]
        assert r.headers["content-range"] == f"bytes {begin}-{end - 1}/{len(big)}"


@pytest.mark.parametrize(
    ("if_range", "status"),
    [
        ("{etag}", 206),
        ('"different"', 200),
        ("W/{etag}", 200),  # If-Range needs a strong match
        (LM, 206),
        (BEFORE, 200),
        (AFTER, 200),  # only an exact date match counts
        ("garbage", 200),
    ],
    ids=repr,
)
@guarded()
async def test_if_range(data_client: tuple[TestClient, str], if_range: str, status: int) -> None:
    client, etag = data_client
    r = await get(client, "/f", Range="bytes=0-9", If_Range=if_range.replace("{etag}", etag))
    assert r.status_code == status
    assert r.content == (DATA[:10] if status == 206 else DATA)


@guarded()
async def test_if_range_without_range_is_ignored(data_client: tuple[TestClient, str]) -> None:
    client, etag = data_client
    r = await get(client, "/f", If_Range=etag)
    assert r.status_code == 200
    assert r.content == DATA


# -- caching headers ------------------------------------------------------------------------


@guarded()
async def test_max_age(app: Flask, client: TestClient, files: Path) -> None:
    serve(app, files / "data.bin", max_age=60)
    r = await get(client, "/f")
    assert r.headers["cache-control"] == "public, max-age=60"
    expires = parse_date(r.headers["expires"])
    assert expires is not None
    assert abs(expires.timestamp() - (time.time() + 60)) < 5


@guarded()
async def test_send_file_max_age_default_config(
    app: Flask, client: TestClient, files: Path
) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(minutes=5)
    serve(app, files / "data.bin")
    r = await get(client, "/f")
    assert r.headers["cache-control"] == "public, max-age=300"
    assert "expires" in r.headers


@guarded()
async def test_send_file_max_age_default_int(app: Flask, client: TestClient, files: Path) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 120
    serve(app, files / "data.bin")
    r = await get(client, "/f")
    assert r.headers["cache-control"] == "public, max-age=120"


@guarded()
async def test_max_age_callable(app: Flask, client: TestClient, files: Path) -> None:
    seen: list[str | None] = []

    def max_age(path: str | None) -> int:
        seen.append(path)
        return 42

    serve(app, files / "data.bin", max_age=max_age)
    r = await get(client, "/f")
    assert r.headers["cache-control"] == "public, max-age=42"
    assert seen == [str(files / "data.bin")]


# -- disconnects -------------------------------------------------------------------------------


@guarded()
async def test_disconnect_mid_file_closes_it(app: Flask, files: Path) -> None:
    opened: list[io.BufferedReader] = []
    big = make_sparse(files / "huge.bin", 64 * 1024 * 1024)

    def open_file() -> io.BufferedReader:
        f = open(big, "rb")
        opened.append(f)
        return f

    serve(app, open_file, mimetype="application/octet-stream")
    async with app.test_client() as client:
        async with client.stream("GET", "/f") as r:
            assert r.headers["content-length"] == str(64 * 1024 * 1024)
            first = await asyncio.wait_for(anext(r.aiter_raw()), 2)
            assert first
            left = time.monotonic()
        assert time.monotonic() - left < 1.0
    assert len(opened) == 1
    for _ in range(100):
        if opened[0].closed:
            break
        await asyncio.sleep(0.01)
    assert opened[0].closed


# -- send_from_directory -------------------------------------------------------------------


@guarded()
async def test_send_from_directory(tmp_path: Path, files: Path) -> None:
    app = Flask("dirs", root_path=str(tmp_path))

    @app.route("/files/<path:name>")
    async def serve_file(name: str) -> Any:
        return send_from_directory("public", name)

    async with app.test_client() as client:
        r = await get(client, "/files/hello.txt")
        assert r.status_code == 200
        assert r.text == "Hello, file!\n"
        r = await get(client, "/files/sub/inner.txt")
        assert r.text == "inner"
        etag = etag_of(r)
        assert (await get(client, "/files/sub/inner.txt", If_None_Match=etag)).status_code == 304
        r = await get(client, "/files/data.bin", Range="bytes=1-2")
        assert r.status_code == 206
        assert r.content == DATA[1:3]
        r = await get(client, "/files/missing.txt")
        assert r.status_code == 404
        r = await get(client, "/files/sub")
        assert r.status_code == 404


def test_send_from_directory_passes_keywords(app: Flask, files: Path) -> None:
    with app.test_request_context():
        rv = send_from_directory(files, "hello.txt", as_attachment=True, max_age=10)
    assert rv.headers["Content-Disposition"] == "attachment; filename=hello.txt"
    assert rv.headers["Cache-Control"] == "public, max-age=10"


ESCAPES = [
    "../secret.txt",
    "sub/../../secret.txt",
    "sub/../../../etc/passwd",
    "..",
    "../",
    "/etc/passwd",
    "//etc/passwd",
    "{secret}",
    "..\\secret.txt",
    "sub\\..\\..\\secret.txt",
    "\\etc\\passwd",
    "hello.txt\x00",
    "hello.txt\x00.png",
    "\x00",
    "%2e%2e%2fsecret.txt",
    "..%2fsecret.txt",
    "%2e%2e/secret.txt",
    "....//secret.txt",
    "sub/./../../secret.txt",
    "C:\\secret.txt",
    "",
    ".",
    "sub",
    "sub/",
    "missing.txt",
    "sub/missing.txt",
]


@pytest.mark.parametrize("name", ESCAPES)
def test_send_from_directory_refuses(app: Flask, files: Path, name: str) -> None:
    name = name.replace("{secret}", str(files.parent / "secret.txt"))
    with app.test_request_context(), pytest.raises(NotFound):
        send_from_directory(files, name)


@pytest.mark.parametrize("name", ESCAPES)
@guarded()
async def test_send_from_directory_refuses_through_a_view(
    app: Flask, client: TestClient, files: Path, name: str
) -> None:
    @app.route("/download")
    async def download() -> Any:
        return send_from_directory(files, request.args["name"])

    name = name.replace("{secret}", str(files.parent / "secret.txt"))
    r = await asyncio.wait_for(client.get("/download", params={"name": name}), GUARD)
    assert r.status_code == 404
    assert SECRET not in r.content


async def asgi_get(
    app: Flask, raw_path: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Call the app with the path a server would give for ``raw_path``
    (percent-decoded, nothing normalized), as httpx would tidy it."""
    from urllib.parse import unquote_to_bytes

    path = unquote_to_bytes(raw_path).decode("utf-8", "surrogateescape")
    messages: list[Message] = []
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: Message) -> None:
        messages.append(message)

    await asyncio.wait_for(
        app(
            {
                **http_scope(path, headers=[(b"host", b"localhost"), *(headers or [])]),
                "raw_path": raw_path,
            },
            receive,
            send,
        ),
        GUARD,
    )
    start = messages[0]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    return start["status"], dict(start["headers"]), body


RAW_ESCAPES = [
    b"/../secret.txt",
    b"/%2e%2e%2fsecret.txt",
    b"/%2E%2E%2Fsecret.txt",
    b"/..%2fsecret.txt",
    b"/%2e%2e/secret.txt",
    b"/sub/../../secret.txt",
    b"/sub/%2e%2e/%2e%2e/secret.txt",
    b"/..%5csecret.txt",
    b"/sub%5c..%5c..%5csecret.txt",
    b"/hello.txt%00",
    b"/%00",
    b"/%252e%252e%252fsecret.txt",
]


@pytest.mark.parametrize("raw", RAW_ESCAPES)
@guarded()
async def test_send_from_directory_refuses_raw_paths(app: Flask, files: Path, raw: bytes) -> None:
    @app.route("/files/<path:name>")
    async def serve_file(name: str) -> Any:
        return send_from_directory(files, name)

    status, _, body = await asgi_get(app, b"/files" + raw)
    assert status == 404
    assert SECRET not in body


# -- static folders --------------------------------------------------------------------------


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    static = tmp_path / "static_files"
    (static / "css").mkdir(parents=True)
    (static / "css" / "app.css").write_text("body { color: red; }\n")
    (static / "app.js").write_text("console.log('hi');\n" * 100)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    return static


@guarded()
async def test_app_static_folder(static_dir: Path) -> None:
    app = Flask("static_app", static_folder=str(static_dir), static_url_path="/static")
    async with app.test_client() as client:
        r = await get(client, "/static/css/app.css")
        assert r.status_code == 200
        assert r.text == "body { color: red; }\n"
        assert r.mimetype == "text/css"
        assert r.headers["cache-control"] == "no-cache"
        assert (await get(client, "/static/css/app.css", If_None_Match=etag_of(r))).status_code == (
            304
        )
        modified = r.headers["last-modified"]
        assert (
            await get(client, "/static/css/app.css", If_Modified_Since=modified)
        ).status_code == 304
        r = await get(client, "/static/app.js", Range="bytes=0-6")
        assert r.status_code == 206
        assert r.text == "console"
        assert (await get(client, "/static/missing.css")).status_code == 404
        async with app.test_request_context():
            assert url_for("static", filename="app.js") == "/static/app.js"
    for raw in (b"/static/../secret.txt", b"/static/%2e%2e%2fsecret.txt", b"/static/..%5csecret"):
        status, _, body = await asgi_get(app, raw)
        assert status == 404
        assert SECRET not in body


@guarded()
async def test_static_folder_max_age(static_dir: Path) -> None:
    app = Flask("static_app", static_folder=str(static_dir), static_url_path="/static")
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    async with app.test_client() as client:
        r = await get(client, "/static/app.js")
    assert r.headers["cache-control"] == "public, max-age=3600"
    assert "expires" in r.headers


@guarded()
async def test_blueprint_static_folder(static_dir: Path) -> None:
    app = Flask("bp_app")
    bp = Blueprint("bp", __name__, static_folder=str(static_dir), static_url_path="/assets")
    app.register_blueprint(bp, url_prefix="/bp")
    async with app.test_client() as client:
        r = await get(client, "/bp/assets/app.js")
        assert r.status_code == 200
        assert r.text == "console.log('hi');\n" * 100
        assert r.mimetype in ("text/javascript", "application/javascript")
        assert (await get(client, "/bp/assets/app.js", If_None_Match=etag_of(r))).status_code == 304
        r = await get(client, "/bp/assets/app.js", Range="bytes=-3")
        assert r.status_code == 206
        assert r.text == "');\n"[-3:]
        assert r.headers["content-range"] == f"bytes {1900 - 3}-{1900 - 1}/1900"
        r = await get(client, "/bp/assets/app.js", Range="bytes=0-3", If_Range='"nope"')
        assert r.status_code == 200
        assert (await get(client, "/bp/assets/nope.js")).status_code == 404
        async with app.test_request_context():
            assert url_for("bp.static", filename="app.js") == "/bp/assets/app.js"
    status, _, body = await asgi_get(app, b"/bp/assets/%2e%2e%2fsecret.txt")
    assert status == 404
    assert SECRET not in body


# -- Flask's own send_file, send_from_directory and blueprints ---------------------------------


def flask_serve(app: Flask, make: Any, plain: bool = True) -> None:
    """``GET /ff`` answers ``make()``, which calls Flask's own helpers (what
    an extension does), from a plain view (a worker thread) or an async one
    (plain code on the loop)."""
    if plain:
        app.add_url_rule("/ff", "ff", lambda: make(), methods=["GET", "HEAD"])
    else:

        async def ff() -> Any:
            return make()

        app.add_url_rule("/ff", "ff", ff, methods=["GET", "HEAD"])


@guarded()
@pytest.mark.parametrize("plain", [True, False])
async def test_flask_send_file(app: Flask, client: TestClient, files: Path, plain: bool) -> None:
    made: list[Any] = []

    def make() -> Any:
        made.append(flask.send_file(files / "data.bin"))
        return made[-1]

    flask_serve(app, make, plain)
    r = await get(client, "/ff")
    # Flask's response, as Flask makes it: the file in a wrapper, passed through
    assert made[0].direct_passthrough is True
    assert isinstance(made[0].response, FileWrapper)
    assert r.status_code == 200
    assert r.content == DATA
    status, theirs, _ = flask_reference(files / "data.bin")
    assert status == r.status_code
    ours = {k.lower(): v for k, v in r.headers.items()}
    for name in ("content-type", "content-length", "etag", "last-modified", "cache-control"):
        assert ours[name] == theirs[name], name
    assert ours["content-disposition"] == theirs["content-disposition"]
    assert ours["accept-ranges"] == "bytes"
    assert (await get(client, "/ff", If_None_Match=ours["etag"])).status_code == 304
    r = await get(client, "/ff", Range="bytes=10-19")
    assert (r.status_code, r.content) == (206, DATA[10:20])
    assert r.headers["content-range"] == f"bytes 10-19/{len(DATA)}"
    assert (await get(client, "/ff", Range="bytes=5000-6000")).status_code == 416
    r = await get(client, "/ff", "HEAD")
    assert (r.status_code, r.content) == (200, b"")
    assert r.headers["content-length"] == str(len(DATA))


@guarded()
async def test_flask_send_file_of_a_big_file_and_a_file_object(
    app: Flask, client: TestClient, files: Path
) -> None:
    opened: list[io.BytesIO] = []

    def from_memory() -> Any:
        f = io.BytesIO(b"in memory")
        opened.append(f)
        return flask.send_file(f, mimetype="text/plain", download_name="m.txt")

    flask_serve(app, from_memory)
    app.add_url_rule("/big", "big", lambda: flask.send_file(files / "big.bin"))
    r = await get(client, "/ff")
    assert (r.status_code, r.content) == (200, b"in memory")
    assert opened[0].closed
    r = await get(client, "/big")
    assert r.status_code == 200
    assert r.content == (files / "big.bin").read_bytes()


@guarded()
async def test_flask_send_from_directory(app: Flask, client: TestClient, files: Path) -> None:
    @app.route("/d/<path:name>")
    def d(name: str) -> Any:
        return flask.send_from_directory(files, name)

    r = await get(client, "/d/sub/inner.txt")
    assert (r.status_code, r.text) == (200, "inner")
    assert (await get(client, "/d/missing.txt")).status_code == 404
    status, _, body = await asgi_get(app, b"/d/..%2fsecret.txt")
    assert status == 404
    assert SECRET not in body


@guarded()
async def test_flask_blueprint_static_folder(static_dir: Path) -> None:
    app = Flask("fbp_app")
    bp = flask.Blueprint("fbp", __name__, static_folder=str(static_dir), static_url_path="/assets")
    app.register_blueprint(bp, url_prefix="/fbp")
    async with app.test_client() as client:
        r = await get(client, "/fbp/assets/css/app.css")
        assert (r.status_code, r.text) == (200, "body { color: red; }\n")
        assert r.mimetype == "text/css"
        assert (
            await get(client, "/fbp/assets/css/app.css", If_None_Match=etag_of(r))
        ).status_code == (304)
        r = await get(client, "/fbp/assets/app.js", Range="bytes=0-6")
        assert (r.status_code, r.text) == (206, "console")
        assert (await get(client, "/fbp/assets/nope.js")).status_code == 404
    status, _, body = await asgi_get(app, b"/fbp/assets/%2e%2e%2fsecret.txt")
    assert status == 404
    assert SECRET not in body


async def test_file_response_read_from_plain_code(files: Path) -> None:
    r = FileResponse(files / "big.bin")
    assert r.is_streamed
    chunks = list(r.iter_encoded())
    assert len(chunks) > 1
    assert b"".join(chunks) == (files / "big.bin").read_bytes()
    f = io.BytesIO(b"abc")
    r = FileResponse(f)
    assert r.get_data() == b"abc"
    assert r.is_sequence
    assert list(r.iter_encoded()) == [b"abc"]
    assert f.closed


@guarded()
async def test_file_closed_when_its_body_was_replaced(app: Flask, client: TestClient) -> None:
    opened: list[io.BytesIO] = []

    @app.route("/f")
    async def f() -> Any:
        opened.append(io.BytesIO(b"original"))
        return send_file(opened[-1], mimetype="text/plain")

    @app.after_request
    def replace(response: Any) -> Any:
        response.response = [b"replaced"]
        response.headers.pop("Content-Length", None)
        return response

    r = await get(client, "/f")
    assert (r.status_code, r.content) == (200, b"replaced")
    assert opened[0].closed


async def test_file_response_get_data_twice(files: Path) -> None:
    r = FileResponse(files / "hello.txt")
    assert r.get_data() == r.get_data(as_text=True).encode() == b"Hello, file!\n"


# -- open_resource ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["r", "rb", "rt"])
def test_open_resource_reads_relative_to_root_path(tmp_path: Path, mode: str) -> None:
    (tmp_path / "schema.sql").write_text("create table t;")
    app = Flask(__name__, root_path=str(tmp_path))
    with app.open_resource("schema.sql", mode) as f:
        data = f.read()
    assert data == (b"create table t;" if mode == "rb" else "create table t;")


@pytest.mark.parametrize("mode", ["w", "x", "a", "r+"])
def test_open_resource_refuses_to_write(tmp_path: Path, mode: str) -> None:
    app = Flask(__name__, root_path=str(tmp_path))
    with pytest.raises(ValueError, match="only be opened for reading"):
        app.open_resource("schema.sql", mode)
    assert not (tmp_path / "schema.sql").exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le"])
def test_open_resource_with_encoding(tmp_path: Path, encoding: str) -> None:
    (tmp_path / "text").write_text("caf\u00e9", encoding=encoding)
    app = Flask(__name__, root_path=str(tmp_path))
    with app.open_resource("text", "rt", encoding=encoding) as f:
        assert f.read() == "caf\u00e9"


def test_blueprint_open_resource_is_relative_to_its_root_and_utf8(tmp_path: Path) -> None:
    (tmp_path / "bp").mkdir()
    (tmp_path / "bp" / "data.txt").write_text("caf\u00e9", encoding="utf-8")
    bp = Blueprint("bp", __name__, root_path=str(tmp_path / "bp"))
    with bp.open_resource("data.txt", "r") as f:
        assert f.read() == "caf\u00e9"
    with bp.open_resource("data.txt") as f:
        assert f.read() == "caf\u00e9".encode()
    with pytest.raises(ValueError):
        bp.open_resource("data.txt", "w")


def test_open_instance_resource_reads_and_writes(tmp_path: Path) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    os.makedirs(app.instance_path)
    with app.open_instance_resource("app.cfg", "w") as f:
        f.write("DEBUG = True\n")
    with app.open_instance_resource("app.cfg") as f:
        assert f.read() == b"DEBUG = True\n"
    with app.open_instance_resource("app.cfg", "r") as f:
        assert f.read() == "DEBUG = True\n"
    with app.open_instance_resource("latin", "w", encoding="latin-1") as f:
        f.write("\u00e9")
    assert (tmp_path / "instance" / "latin").read_bytes() == b"\xe9"


# -- validators at call time ----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"etag": False},
        {"etag": "my-tag"},
        {"last_modified": datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)},
    ],
    ids=repr,
)
def test_send_file_sets_validators_on_the_returned_response(
    files: Path, kwargs: dict[str, Any]
) -> None:
    """``send_file``'s response has Flask's ``ETag`` and ``Last-Modified``
    before it is sent (an ``after_request`` function or the view can read
    or change them)."""
    path = str(files / "data.bin")
    fapp = flask.Flask("reference")
    with fapp.test_request_context():
        ref = flask.send_file(path, **kwargs)
        ref.close()
    app = Flask("validators")
    with app.test_request_context():
        rv = send_file(path, **kwargs)
    assert rv.headers.get("ETag") == ref.headers.get("ETag")
    assert rv.headers.get("Last-Modified") == ref.headers.get("Last-Modified")
    assert rv.content_length == ref.content_length == os.path.getsize(path)


async def test_send_file_of_a_missing_path_is_a_404_when_sent(tmp_path: Path) -> None:
    app = Flask("missing", root_path=str(tmp_path))

    @app.route("/")
    def index() -> Any:
        rv = send_file("missing.txt")
        assert "ETag" not in rv.headers
        return rv

    async with app.test_client() as client:
        assert (await client.get("/")).status_code == 404


@guarded()
async def test_after_request_sees_and_changes_the_etag(
    app: Flask, client: TestClient, files: Path
) -> None:
    path = str(files / "data.bin")
    seen: list[str | None] = []
    serve(app, path)

    @app.after_request
    async def weaken(response: Any) -> Any:
        seen.append(response.headers.get("ETag"))
        response.set_etag("custom")
        return response

    r = await client.get("/f")
    assert seen[0] is not None and seen[0].startswith('"')
    assert r.headers["ETag"] == '"custom"'
    r = await get(client, "/f", If_None_Match='"custom"')
    assert r.status_code == 304
