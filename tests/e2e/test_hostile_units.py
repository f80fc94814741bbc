"""In-process checks of what the hostile corpus (``tests/e2e/test_hostile.py``)
made the framework do: counting the fields of a huge URL-encoded body
without splitting it, the unquoted length of long pieces, feeding the
multipart parser in slices, and refusing symbolic links that lead out of a
``send_from_directory`` folder."""

from __future__ import annotations

import asyncio
import typing as t
from pathlib import Path

import pytest

from asyncflask import Flask, request, send_from_directory
from asyncflask.formparser import _checked_pairs, _unquoted_length, _without_empty_fields

FORM = "application/x-www-form-urlencoded"
MiB = 1024 * 1024


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)

    @app.post("/form")
    async def form() -> t.Any:
        return (await request.form).to_dict(flat=False)

    return app


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"&" * (2 * MiB), {}),
        (b"&" * 5000 + b"a=1" + b"&" * 5000 + b"b=2&&", {"a": ["1"], "b": ["2"]}),
        (b"a=1&" * 1000, {"a": ["1"] * 1000}),
        (b"x=" + b"y" * 100_000 + b"&" * 70_000 + b"z=1", {"x": ["y" * 100_000], "z": ["1"]}),
    ],
    ids=["only-ampersands", "runs-around-fields", "1000-fields-trailing-&", "long-run"],
)
async def test_empty_fields_do_not_count(app: Flask, body: bytes, fields: dict[str, t.Any]) -> None:
    async with app.test_client() as client:
        r = await client.post("/form", content=body, headers={"Content-Type": FORM})
    assert r.status_code == 200
    assert r.get_json() == fields


@pytest.mark.parametrize(
    "body",
    [b"a=1&" * 1001, b"&&".join([b"a=1"] * 1001), b"&=" * (MiB // 2)],
    ids=["1001-fields", "1001-fields-double-&", "half-a-million-empty-pairs"],
)
async def test_more_fields_than_max_form_parts_is_413(app: Flask, body: bytes) -> None:
    async with app.test_client() as client:
        r = await client.post("/form", content=body, headers={"Content-Type": FORM})
    assert r.status_code == 413


def test_without_empty_fields_joins_slices() -> None:
    body = b"a=1" + b"&" * (16 * 1024 - 3) + b"&" * 5 + b"b=2"  # a run across two slices
    assert _without_empty_fields(body) == b"a=1&b=2"
    assert _without_empty_fields(b"&&a&&") == b"&a&"


@pytest.mark.parametrize(
    ("piece", "length"),
    [
        (b"plain", 5),
        (b"%41%42", 2),
        (b"%zz%4", 5),
        (b"%41" * 10 + b"%" * 3, 13),
    ],
)
def test_unquoted_length(piece: bytes, length: int) -> None:
    assert _unquoted_length(piece) == length


def test_a_piece_over_the_limit_only_once_unquoted_is_allowed() -> None:
    # 300 escapes: 900 bytes as sent, 300 once unquoted
    assert _checked_pairs(b"k=" + b"%41" * 300, 500, 10) == [("k", "A" * 300)]
    with pytest.raises(Exception, match="Request Entity Too Large"):
        _checked_pairs(b"k=" + b"%zz" * 300, 500, 10)  # invalid escapes stay 3 bytes


async def test_many_small_multipart_parts_in_one_chunk_are_413() -> None:
    app = Flask(__name__)

    @app.post("/form")
    async def form() -> t.Any:
        return {"n": len((await request.form).getlist("f"))}

    boundary = "b0undary"
    one = f'--{boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n'.encode()
    ctype = f"multipart/form-data; boundary={boundary}"
    async with app.test_client() as client:
        many = await client.post(
            "/form", content=one * 5000 + b"--b0undary--\r\n", headers={"Content-Type": ctype}
        )
        within = await client.post(
            "/form", content=one * 900 + b"--b0undary--\r\n", headers={"Content-Type": ctype}
        )
    assert many.status_code == 413
    assert within.get_json() == {"n": 900}


async def test_a_big_chunk_of_small_parts_is_parsed_a_slice_at_a_time() -> None:
    """One ASGI message of 3,000 small parts and a 200 kB file: all of it is
    parsed, and other tasks run while the parts are (the file data, after
    them, goes to the parser whole)."""
    app = Flask(__name__)
    app.config["MAX_FORM_PARTS"] = 5000

    @app.post("/form")
    async def form() -> t.Any:
        files = await request.files
        return {"n": len((await request.form).getlist("f")), "file": len(files["up"].read())}

    one = b'--b0undary\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n'
    upload = (
        b'--b0undary\r\nContent-Disposition: form-data; name="up"; filename="a.bin"\r\n\r\n'
        + b"x" * 200_000
        + b"\r\n"
    )
    body = one * 3000 + upload + b"--b0undary--\r\n"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/form",
        "raw_path": b"/form",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"multipart/form-data; boundary=b0undary"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    messages: list[dict[str, t.Any]] = []
    ticks = 0

    async def receive() -> dict[str, t.Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, t.Any]) -> None:
        messages.append(message)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    await app(scope, receive, send)
    task.cancel()
    assert messages[0]["status"] == 200
    assert messages[1]["body"] == b'{"file":200000,"n":3000}\n'
    assert ticks - before > 2  # the loop had turns while the parts were parsed


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    public = tmp_path / "public"
    (public / "sub").mkdir(parents=True)
    (public / "ok.txt").write_text("ok")
    (public / "sub" / "inner.txt").write_text("inner")
    (tmp_path / "secret.txt").write_text("secret")
    (public / "out").symlink_to(tmp_path / "secret.txt")
    (public / "in").symlink_to(public / "sub" / "inner.txt")
    (tmp_path / "linked").symlink_to(public, target_is_directory=True)
    return tmp_path


@pytest.mark.parametrize(
    ("directory", "name", "status", "body"),
    [
        ("public", "ok.txt", 200, b"ok"),
        ("public", "in", 200, b"inner"),
        ("public", "out", 404, None),
        ("linked", "ok.txt", 200, b"ok"),  # the folder itself may be a link
        ("linked", "out", 404, None),
    ],
)
async def test_symbolic_links_out_of_the_folder_are_404(
    folder: Path, directory: str, name: str, status: int, body: bytes | None
) -> None:
    app = Flask(__name__, root_path=str(folder))

    @app.get("/<path:name>")
    async def download(name: str) -> t.Any:
        return send_from_directory(directory, name)

    async with app.test_client() as client:
        r = await client.get(f"/{name}")
    assert r.status_code == status
    if body is not None:
        assert r.data == body
