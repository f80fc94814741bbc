"""URL-encoded forms parsed as the body arrives: the same fields however the
body is cut into chunks, the same as a parse of the whole body, and the
limits counted across chunks."""

from __future__ import annotations

import random
import typing as t
from collections.abc import AsyncIterator, Callable
from urllib.parse import parse_qsl

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from asyncflask import Flask, request
from asyncflask.formparser import _SLICE, _UrlencodedReader, parse_urlencoded

FORM = "application/x-www-form-urlencoded"
PIECES = [b"a", b"b", b"=", b"&", b"+", b"%", b"%2", b"%41", b"%zz", b"%c3", b"%a9", b"\xc3"]
PIECES += [b"\xa9", b"\xff", b";", b"%00", b"\x00", b"%2B", b"%26", b"%3D", b"%4", b"1", b" "]


async def incremental(
    body: bytes, sizes: Callable[[], int], limit: int | None = None, parts: int | None = None
) -> list[tuple[str, str]]:
    reader = _UrlencodedReader(limit, parts)
    at = 0
    while at < len(body):
        n = sizes()
        await reader.feed(body[at : at + n])
        at += n
    return reader.finish()


def chunkings(rnd: random.Random) -> list[Callable[[], int]]:
    return [
        lambda: 1,
        lambda: rnd.randint(1, 7),
        lambda: rnd.randint(1, 3 * _SLICE),
        lambda: 1 << 30,
    ]


async def test_random_bodies_parse_as_one_whole_body() -> None:
    rnd = random.Random(7)
    for _ in range(1500):
        body = b"".join(rnd.choices(PIECES, k=rnd.randint(0, 40)))
        whole = parse_urlencoded(body)
        for sizes in chunkings(rnd):
            assert await incremental(body, sizes) == whole, body
        if body.isascii():
            assert whole == parse_qsl(body.decode(), keep_blank_values=True, errors="replace")


LONG = [
    b"k=" + b"v" * 200_000,
    b"k" * 200_000 + b"=v&a=1",
    b"a=1&k=" + b"%41" * 100_000 + b"&b=2",
    b"x=" + b"%c3%a9" * 50_000 + b"+%",
    b"=" * 100_000,
    b"a=" + b"+%2" * 40_000 + b"&" * 70_000 + b"b",
    b"&".join(b"f%d=%s" % (i, b"%41" * (i % 300)) for i in range(1500)),
]


@pytest.mark.parametrize("body", LONG, ids=range(len(LONG)))
async def test_long_fields_parse_as_one_whole_body(body: bytes) -> None:
    rnd = random.Random(len(body))
    whole = parse_urlencoded(body)
    for sizes in [*chunkings(rnd)[2:], lambda: _SLICE, lambda: _SLICE - 1, lambda: 1000]:
        assert await incremental(body, sizes) == whole


@pytest.mark.parametrize(
    "body",
    [b"k=" + b"v" * 3000, b"k" * 3000 + b"=v", b"k=" + b"%41" * 3000, b"a=1&k=" + b"v" * 70_000],
    ids=["value", "key", "escaped-value", "past-a-slice"],
)
async def test_a_field_over_the_limit_is_413_however_it_is_cut(body: bytes) -> None:
    for size in (100, 4096, 1 << 30):
        with pytest.raises(RequestEntityTooLarge):
            await incremental(body, lambda s=size: s, limit=2000)  # type: ignore[misc]


async def test_escapes_count_once_unquoted_in_a_long_field() -> None:
    body = b"k=" + b"%41" * 30_000  # 90,000 bytes sent, 30,000 once unquoted
    assert await incremental(body, lambda: 1000, limit=30_000) == [("k", "A" * 30_000)]


async def test_fields_are_counted_across_chunks() -> None:
    body = b"&".join(b"f%d=%d" % (i, i) for i in range(1001))
    long_last = body + b"&k=" + b"v" * 100_000
    for sizes in (lambda: 7, lambda: 1 << 30):
        assert len(await incremental(body, sizes, parts=1001)) == 1001
        with pytest.raises(RequestEntityTooLarge):
            await incremental(body, sizes, parts=1000)
        with pytest.raises(RequestEntityTooLarge):
            await incremental(long_last, sizes, parts=1001)


async def test_a_form_sent_in_small_chunks_through_the_app() -> None:
    app = Flask(__name__)

    @app.post("/form")
    async def form() -> t.Any:
        return (await request.form).to_dict(flat=False)

    body = b"a=%C3%A9t%C3%A9&b=1+2&a=" + b"%41" * 50_000 + b"&empty=&&c"

    async def chunks() -> AsyncIterator[bytes]:
        for at in range(0, len(body), 999):
            yield body[at : at + 999]

    async with app.test_client() as client:
        r = await client.post("/form", content=chunks(), headers={"Content-Type": FORM})
    assert r.status_code == 200
    assert r.get_json() == {
        "a": ["\xe9t\xe9", "A" * 50_000],
        "b": ["1 2"],
        "empty": [""],
        "c": [""],
    }
