"""Uploaded files: ``await request.files`` gives ``FileStorage`` objects,
kept in memory up to ``request.file_memory_threshold`` and spooled to a
temporary file beyond; ``await file.save(dst)``; and every temporary file is
closed and gone when the request ends, however it ends."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tempfile
import typing as t
from collections.abc import AsyncIterator
from pathlib import Path

import flask
import pytest
from werkzeug.datastructures import FileStorage as WerkzeugFileStorage

from asyncflask import ClientDisconnected, Flask, Request, abort, request
from asyncflask.formparser import FileStorage
from asyncflask.testing import TestClient
from tests.request.test_request_body import (
    DISCONNECT,
    assert_no_errors_logged,
    body_messages,
    call_asgi,
    gen_body,
)

TIMEOUT = 10.0
MiB = 1024 * 1024
BOUNDARY = "uploadboundary5678"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def file_part(
    name: str, filename: str, data: bytes, ctype: str = "application/octet-stream"
) -> bytes:
    head = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n"
    )
    return head.encode() + data + b"\r\n"


def field_part(name: str, value: bytes) -> bytes:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
    return head.encode() + value + b"\r\n"


END = f"--{BOUNDARY}--\r\n".encode()


def pattern(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that are not all alike (so misplaced data shows)."""
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fds_under(directory: Path) -> list[str]:
    """Open file descriptors of this process that point into ``directory``
    (anonymous temporary files show as ``<dir>/#123 (deleted)``)."""
    found = []
    prefix = str(directory) + os.sep
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(prefix):
            found.append(target)
    return found


def where(storage: FileStorage) -> str:
    """``"memory"`` for an in-memory file, else the path of its descriptor."""
    try:
        fileno = storage.stream.fileno()
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return "memory"
    return os.readlink(f"/proc/self/fd/{fileno}")


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files go to a fresh directory, checked empty at the end."""
    directory = tmp_path / "spool"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def assert_clean(directory: Path) -> None:
    assert os.listdir(directory) == []
    assert fds_under(directory) == []


# -- FileStorage ------------------------------------------------------------------


async def test_file_storage_attributes(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        f = (await request.files)["doc"]
        assert isinstance(f, FileStorage)
        assert isinstance(f, WerkzeugFileStorage)
        return {
            "filename": f.filename,
            "name": f.name,
            "content_type": f.content_type,
            "mimetype": f.mimetype,
            "mimetype_params": f.mimetype_params,
            "disposition": f.headers["Content-Disposition"],
            "header_ctype": f.headers.get("Content-Type"),
            "content": f.read().decode(),
            "bool": bool(f),
        }

    r = await client.post(
        "/", data={"doc": (io.BytesIO(b"hello file"), "notes.txt", "text/plain; charset=utf-8")}
    )
    assert r.status_code == 200
    body = r.get_json()
    disposition = body.pop("disposition")
    assert body == {
        "filename": "notes.txt",
        "name": "doc",
        "content_type": "text/plain; charset=utf-8",
        "mimetype": "text/plain",
        "mimetype_params": {"charset": "utf-8"},
        "header_ctype": "text/plain; charset=utf-8",
        "content": "hello file",
        "bool": True,
    }
    assert disposition.startswith("form-data")
    assert 'name="doc"' in disposition
    assert 'filename="notes.txt"' in disposition


async def test_file_storage_stream_and_read(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        f = (await request.files)["f"]
        head = f.stream.read(4)
        rest = f.read()
        f.stream.seek(0)
        return {"head": head.decode(), "rest": rest.decode(), "again": f.stream.read().decode()}

    r = await client.post("/", data={"f": (io.BytesIO(b"0123456789"), "digits.txt")})
    assert r.get_json() == {"head": "0123", "rest": "456789", "again": "0123456789"}


async def test_files_from_httpx_files_keyword(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        files = await request.files
        return {k: [f.filename, f.mimetype, f.read().decode()] for k, f in files.items()}

    r = await client.post(
        "/",
        files={
            "a": ("a.csv", b"1,2", "text/csv"),
            "b": ("b.json", io.BytesIO(b"{}"), "application/json"),
        },
    )
    assert r.get_json() == {
        "a": ["a.csv", "text/csv", "1,2"],
        "b": ["b.json", "application/json", "{}"],
    }


async def test_several_files_under_one_name(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        files = await request.files
        return {
            "first": files["f"].filename,
            "all": [[f.filename, f.read().decode()] for f in files.getlist("f")],
            "has_f": "f" in files,
            "has_g": "g" in files,
        }

    r = await client.post(
        "/", data={"f": [(io.BytesIO(b"one"), "1.txt"), (io.BytesIO(b"two"), "2.txt")]}
    )
    assert r.get_json() == {
        "first": "1.txt",
        "all": [["1.txt", "one"], ["2.txt", "two"]],
        "has_f": True,
        "has_g": False,
    }


async def test_file_metadata_matches_flask(app: Flask, client: TestClient) -> None:
    body = (
        file_part("a", "a.txt", b"alpha", "text/plain")
        + file_part("b", "dir/b.bin", b"", "application/x-thing; v=1")
        + field_part("c", b"field")
        + file_part("d", "d.png", pattern(300), "image/png")
        + END
    )

    def describe(files: t.Any, form: t.Any) -> dict[str, t.Any]:
        return {
            "files": {
                k: [f.filename, f.name, f.content_type, f.mimetype, sha(f.read())]
                for k, f in files.items(multi=True)
            },
            "form": form.to_dict(),
        }

    @app.post("/")
    async def view() -> t.Any:
        return describe(await request.files, await request.form)

    ref = flask.Flask("ref")

    @ref.post("/")
    def ref_view() -> t.Any:
        return describe(flask.request.files, flask.request.form)

    expected = ref.test_client().post("/", data=body, content_type=MULTIPART).get_json()
    assert list(expected["files"]) == ["a", "b", "d"]
    r = await client.post("/", content=body, headers={"Content-Type": MULTIPART})
    assert r.get_json() == expected


async def test_empty_file_field_like_flasks_client(app: Flask, client: TestClient) -> None:
    """A file input left empty: Flask's client (like a browser) sends a part
    with ``filename=""``, which is a file with an empty name."""

    @app.post("/")
    async def view() -> t.Any:
        files = await request.files
        return {k: [f.filename, f.read().decode()] for k, f in files.items()}

    ref = flask.Flask("ref")

    @ref.post("/")
    def ref_view() -> t.Any:
        return {k: [f.filename, f.read().decode()] for k, f in flask.request.files.items()}

    expected = ref.test_client().post("/", data={"f": (io.BytesIO(b""), "")}).get_json()
    assert expected == {"f": ["", ""]}
    assert (await client.post("/", data={"f": (io.BytesIO(b""), "")})).get_json() == expected


# -- memory or disk ------------------------------------------------------------------


async def test_small_file_stays_in_memory_large_file_is_spooled(
    app: Flask, client: TestClient, spool_dir: Path
) -> None:
    kept: list[FileStorage] = []

    @app.post("/")
    async def view() -> t.Any:
        files = await request.files
        kept.extend(files.values())
        return {k: [where(f), sha(f.read())] for k, f in files.items()}

    threshold = Request.file_memory_threshold
    assert threshold == MiB
    at = pattern(threshold, 1)
    over = pattern(threshold + 1, 2)
    big = pattern(3 * MiB + 17, 3)
    r = await client.post(
        "/",
        data={
            "at": (io.BytesIO(at), "at.bin"),
            "over": (io.BytesIO(over), "over.bin"),
            "big": (io.BytesIO(big), "big.bin"),
        },
    )
    assert r.status_code == 200
    result = r.get_json()
    assert result["at"] == ["memory", sha(at)]
    assert result["over"][1] == sha(over)
    assert result["big"][1] == sha(big)
    for key in ("over", "big"):
        assert result[key][0].startswith(str(spool_dir) + os.sep), result[key][0]
    assert len(kept) == 3
    assert all(f.stream.closed for f in kept)
    assert_clean(spool_dir)


async def test_spooling_follows_a_per_request_threshold(
    app: Flask, client: TestClient, spool_dir: Path
) -> None:
    class SmallThreshold(Request):
        file_memory_threshold = 100

    app.request_class = SmallThreshold

    @app.post("/")
    async def view() -> t.Any:
        files = await request.files
        return {k: where(f) != "memory" for k, f in files.items()}

    r = await client.post(
        "/", data={"small": (io.BytesIO(b"x" * 100), "s"), "large": (io.BytesIO(b"x" * 101), "l")}
    )
    assert r.get_json() == {"small": False, "large": True}
    assert_clean(spool_dir)


async def test_spooled_file_from_many_small_chunks(
    app: Flask, client: TestClient, spool_dir: Path
) -> None:
    data = pattern(5 * MiB + 3, 7)
    body = (
        field_part("before", b"1") + file_part("f", "f.bin", data) + field_part("after", b"2") + END
    )

    @app.post("/")
    async def view() -> t.Any:
        form = await request.form
        f = (await request.files)["f"]
        return {"form": form.to_dict(), "sha": sha(f.read()), "spooled": where(f) != "memory"}

    async def chunks() -> AsyncIterator[bytes]:
        step = 64 * 1024 + 7
        for i in range(0, len(body), step):
            yield body[i : i + step]

    r = await asyncio.wait_for(
        client.post("/", content=chunks(), headers={"Content-Type": MULTIPART}), TIMEOUT
    )
    assert r.get_json() == {
        "form": {"before": "1", "after": "2"},
        "sha": sha(data),
        "spooled": True,
    }
    assert_clean(spool_dir)


async def test_spooled_file_from_one_huge_chunk(
    app: Flask, client: TestClient, spool_dir: Path
) -> None:
    data = pattern(4 * MiB, 8)

    @app.post("/")
    async def view() -> t.Any:
        f = (await request.files)["f"]
        return {"sha": sha(f.read()), "spooled": where(f) != "memory"}

    r = await client.post("/", data={"f": (io.BytesIO(data), "f.bin")})
    assert r.get_json() == {"sha": sha(data), "spooled": True}
    assert_clean(spool_dir)


# -- save ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 3 * MiB], ids=["memory", "spooled"])
async def test_save_to_a_path(
    app: Flask, client: TestClient, spool_dir: Path, tmp_path: Path, size: int
) -> None:
    data = pattern(size, 4)
    dest = tmp_path / "saved.bin"
    dest_str = tmp_path / "saved-str.bin"

    @app.post("/")
    async def view() -> t.Any:
        f = (await request.files)["f"]
        await f.save(dest)
        f.stream.seek(0)
        await f.save(str(dest_str))
        return "saved"

    r = await client.post("/", data={"f": (io.BytesIO(data), "f.bin")})
    assert r.status_code == 200
    assert dest.read_bytes() == data
    assert dest_str.read_bytes() == data
    assert_clean(spool_dir)


@pytest.mark.parametrize("size", [10, 3 * MiB], ids=["memory", "spooled"])
async def test_save_to_a_file_object(
    app: Flask, client: TestClient, spool_dir: Path, tmp_path: Path, size: int
) -> None:
    data = pattern(size, 5)
    buffers: list[io.BytesIO] = []
    dest = tmp_path / "out.bin"

    @app.post("/")
    async def view() -> t.Any:
        f = (await request.files)["f"]
        buffer = io.BytesIO()
        await f.save(buffer)
        buffers.append(buffer)
        f.stream.seek(0)
        with dest.open("wb") as out:
            await f.save(out, buffer_size=1000)
            assert not out.closed
        return "saved"

    r = await client.post("/", data={"f": (io.BytesIO(data), "f.bin")})
    assert r.status_code == 200
    assert buffers[0].getvalue() == data
    assert dest.read_bytes() == data
    assert_clean(spool_dir)


async def test_save_is_a_coroutine_function() -> None:
    import inspect

    assert inspect.iscoroutinefunction(FileStorage.save)


async def test_save_runs_off_the_event_loop(
    app: Flask, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import threading

    threads: list[threading.Thread] = []
    copy = shutil.copyfileobj

    def spy(*args: t.Any, **kwargs: t.Any) -> None:
        threads.append(threading.current_thread())
        copy(*args, **kwargs)

    monkeypatch.setattr(shutil, "copyfileobj", spy)

    @app.post("/")
    async def view() -> t.Any:
        await (await request.files)["f"].save(tmp_path / "x.bin")
        return "ok"

    r = await client.post("/", data={"f": (io.BytesIO(b"abc"), "f.bin")})
    assert r.status_code == 200
    assert threads
    assert all(thread is not threading.main_thread() for thread in threads)
    assert (tmp_path / "x.bin").read_bytes() == b"abc"


# -- cleanup ------------------------------------------------------------------------


async def test_files_are_closed_after_the_request_even_if_unused(
    app: Flask, client: TestClient, spool_dir: Path
) -> None:
    kept: list[FileStorage] = []
    during: list[list[str]] = []

    @app.post("/")
    async def view() -> t.Any:
        files = await request.files
        kept.extend(files.getlist("f"))
        during.append(fds_under(spool_dir))
        assert not any(f.stream.closed for f in kept)
        return "ok"

    r = await client.post(
        "/",
        data={
            "f": [
                (io.BytesIO(b"small"), "small.txt"),
                (io.BytesIO(pattern(2 * MiB)), "big1.bin"),
                (io.BytesIO(pattern(2 * MiB, 1)), "big2.bin"),
            ]
        },
    )
    assert r.status_code == 200
    assert len(during[0]) == 2  # the two big files were on disk, in the spool dir
    assert len(kept) == 3
    assert all(f.stream.closed for f in kept)
    assert_clean(spool_dir)


async def test_files_are_closed_after_a_streamed_response(
    app: Flask, client: TestClient, spool_dir: Path
) -> None:
    kept: list[FileStorage] = []

    @app.post("/")
    async def view() -> t.Any:
        f = (await request.files)["f"]
        kept.append(f)

        async def generate() -> AsyncIterator[bytes]:
            # the file can still be read while the response streams
            while chunk := f.read(MiB):
                yield chunk

        return generate()

    data = pattern(3 * MiB, 9)
    r = await client.post("/", data={"f": (io.BytesIO(data), "f.bin")})
    assert r.status_code == 200
    assert r.content == data
    assert kept[0].stream.closed
    assert_clean(spool_dir)


async def test_files_are_closed_when_the_view_fails(
    app: Flask, client: TestClient, spool_dir: Path
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    kept: list[FileStorage] = []

    @app.post("/")
    async def view() -> t.Any:
        kept.extend((await request.files).values())
        raise RuntimeError("boom")

    r = await client.post("/", data={"f": (io.BytesIO(pattern(2 * MiB)), "f.bin")})
    assert r.status_code == 500
    assert kept[0].stream.closed
    assert_clean(spool_dir)


async def test_files_are_closed_when_a_hook_aborts(
    app: Flask, client: TestClient, spool_dir: Path
) -> None:
    kept: list[FileStorage] = []

    @app.before_request
    async def check() -> None:
        kept.extend((await request.files).values())
        abort(403)

    @app.post("/")
    async def view() -> t.Any:
        return "never"

    r = await client.post("/", data={"f": (io.BytesIO(pattern(2 * MiB)), "f.bin")})
    assert r.status_code == 403
    assert kept[0].stream.closed
    assert_clean(spool_dir)


@pytest.mark.parametrize("case", ["too-many-parts", "field-too-large", "too-long", "truncated"])
async def test_spooled_files_are_removed_when_parsing_fails(
    app: Flask, client: TestClient, spool_dir: Path, case: str
) -> None:
    """A large file was already spooled when the body turned out bad."""
    app.config["MAX_FORM_PARTS"] = 3
    app.config["MAX_FORM_MEMORY_SIZE"] = 1000
    app.config["MAX_CONTENT_LENGTH"] = 4 * MiB
    big = file_part("f", "f.bin", pattern(3 * MiB))
    bodies = {
        "too-many-parts": (big + field_part("a", b"1") * 3 + END, 413),
        "field-too-large": (big + field_part("a", b"x" * 1001) + END, 413),
        "too-long": (big + file_part("g", "g.bin", pattern(2 * MiB)) + END, 413),
        "truncated": (big + field_part("a", b"1")[:-5], 400),
    }
    body, status = bodies[case]
    peak: list[int] = []

    @app.post("/")
    async def view() -> t.Any:
        await request.form
        return "parsed?"

    @app.teardown_request
    def watch(exc: BaseException | None) -> None:
        peak.append(len(fds_under(spool_dir)))

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 256 * 1024):
            yield body[i : i + 256 * 1024]

    r = await asyncio.wait_for(
        client.post("/", content=chunks(), headers={"Content-Type": MULTIPART}), TIMEOUT
    )
    assert r.status_code == status
    assert len(peak) == 1
    assert peak[0] >= 1  # the spooled file existed until the request ended
    assert_clean(spool_dir)


async def test_spooled_file_is_removed_when_the_client_disconnects(
    app: Flask, spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caught: list[BaseException] = []
    open_during: list[int] = []

    @app.post("/")
    async def view() -> t.Any:
        try:
            await request.files
        except ClientDisconnected as e:
            caught.append(e)
            open_during.append(len(fds_under(spool_dir)))
            raise
        return "complete?"

    head = file_part("f", "f.bin", b"")[:-2]
    messages = [
        *body_messages(head, pattern(MiB), pattern(MiB, 1), pattern(MiB, 2), end=False),
        DISCONNECT,
    ]
    result = await call_asgi(
        app,
        messages,
        headers=[("content-type", MULTIPART), ("content-length", str(100 * MiB))],
        seconds=TIMEOUT,
    )
    assert len(caught) == 1
    assert open_during == [1]
    assert result.sent == []
    assert result.unread == 0
    assert_clean(spool_dir)
    assert_no_errors_logged(caplog)


async def test_no_leak_over_many_requests(app: Flask, client: TestClient, spool_dir: Path) -> None:
    @app.post("/")
    async def view() -> t.Any:
        f = (await request.files)["f"]
        return sha(f.read(100))

    before = len(os.listdir("/proc/self/fd"))
    for i in range(20):
        r = await client.post("/", data={"f": (io.BytesIO(pattern(MiB + 10, i)), "f.bin")})
        assert r.status_code == 200
    assert_clean(spool_dir)
    assert len(os.listdir("/proc/self/fd")) <= before + 2


async def test_flasks_client_style_upload_of_a_real_file(
    app: Flask, client: TestClient, tmp_path: Path
) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(b"%PDF-1.4 fake")

    @app.post("/")
    async def view() -> t.Any:
        f = (await request.files)["report"]
        return {"filename": f.filename, "data": f.read().decode()}

    with source.open("rb") as fh:
        r = await client.post("/", data={"report": (fh, "report.pdf")})
    assert r.get_json() == {"filename": "report.pdf", "data": "%PDF-1.4 fake"}

    # a bare file object: the filename is its name, as with Flask's client
    ref = flask.Flask("ref")

    @ref.post("/")
    def ref_view() -> t.Any:
        f = flask.request.files["report"]
        return {"filename": f.filename, "data": f.read().decode()}

    with source.open("rb") as fh:
        expected = ref.test_client().post("/", data={"report": fh}).get_json()
    assert expected == {"filename": str(source), "data": "%PDF-1.4 fake"}
    with source.open("rb") as fh:
        r = await client.post("/", data={"report": fh})
    assert r.get_json() == expected


async def test_upload_with_chunked_body_and_gen_body(app: Flask, client: TestClient) -> None:
    body = field_part("a", b"1") + file_part("f", "f.txt", b"chunky") + END

    @app.post("/")
    async def view() -> t.Any:
        files = await request.files
        return {"f": files["f"].read().decode(), "a": (await request.form)["a"]}

    r = await client.post(
        "/",
        content=gen_body(body[:10], body[10:50], body[50:]),
        headers={"Content-Type": MULTIPART},
    )
    assert r.get_json() == {"f": "chunky", "a": "1"}
