"""``request.cookies`` and ``request.accept_*``: parsed as Werkzeug parses
them, and only their first entries when a header is hostile."""

from __future__ import annotations

import random
import typing as t

import pytest
from werkzeug.datastructures import Headers
from werkzeug.sansio.request import Request as WerkzeugRequest

from asyncflask import Flask, Request, session
from asyncflask.headerlimits import first_entries

ATTRS = {
    "Cookie": "cookies",
    "Accept": "accept_mimetypes",
    "Accept-Charset": "accept_charsets",
    "Accept-Encoding": "accept_encodings",
    "Accept-Language": "accept_languages",
}


def ours(headers: list[tuple[str, str]], cls: type[Request] = Request) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers],
    }
    return cls(scope)


def werkzeugs(headers: list[tuple[str, str]]) -> WerkzeugRequest:
    return WerkzeugRequest("GET", "http", None, "/", "/", b"", Headers(headers), None)


def parsed(request: t.Any, header: str) -> t.Any:
    value = getattr(request, ATTRS[header])
    if header == "Cookie":
        return type(value), list(value.items(multi=True))
    return type(value), list(value)


BROWSERS = [
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"),
    ("Accept", "application/json, text/plain, */*"),
    ("Accept", 'text/html;level=1;q=0.7, text/*;q=0.3, */*;q=0.1, a/b;p="x,y"'),
    ("Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"),
    ("Accept-Language", "en-US,en;q=0.9"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Accept-Charset", "utf-8, iso-8859-1;q=0.5"),
    ("Cookie", "session=eyJ1IjoxfQ.Z0.abc; theme=dark; _ga=GA1.1.1.1"),
    ("Cookie", 'a="quoted \\"value\\""; b=; c; =d; e=f;;'),
    ("Cookie", "; ".join(f"c{i}={'v' * 40}" for i in range(180))),
    ("Cookie", "x=" + "v" * 4000),
]


@pytest.mark.parametrize(("header", "value"), BROWSERS)
def test_headers_browsers_send_are_parsed_as_werkzeug_does(header: str, value: str) -> None:
    assert parsed(ours([(header, value)]), header) == parsed(werkzeugs([(header, value)]), header)


def test_random_headers_are_parsed_as_werkzeug_does() -> None:
    pieces = ["a", "b", "=", ";", ",", " ", "\t", '"', "\\", "q=0.5", "q=1", "q=x", "*/*"]
    pieces += ["text/html", "en-US", "\xe9", "c=d", "%", "level=1"]
    rnd = random.Random(23)
    for _ in range(3000):
        value = "".join(rnd.choices(pieces, k=rnd.randint(0, 40)))
        for header in ATTRS:
            headers = [(header, value)]
            if header == "Cookie" and rnd.random() < 0.3:
                headers.append(("Cookie", "x=1; y"))
            assert parsed(ours(headers), header) == parsed(werkzeugs(headers), header), headers


def test_cookies_past_the_count_are_not_read() -> None:
    value = "; ".join(f"c{i}=v" for i in range(100_000))
    cookies = ours([("Cookie", value)]).cookies
    assert list(cookies) == [f"c{i}" for i in range(Request.max_request_cookies)]


def test_cookies_past_the_size_are_not_read() -> None:
    big = "v" * 4000
    value = "; ".join(f"c{i}={big}" for i in range(20))
    cookies = ours([("Cookie", value)]).cookies
    # each cookie takes 4,007 characters with its "; ": 8 end within 32 KiB
    assert list(cookies) == [f"c{i}" for i in range(8)]


def test_many_cookie_headers_count_together() -> None:
    cookies = ours([("Cookie", f"c{i}=v") for i in range(1000)]).cookies
    assert len(cookies) == Request.max_request_cookies


def test_accept_entries_past_the_count_are_not_read() -> None:
    value = "fr;q=0.5," + ",".join(f"l{i};q=0.1" for i in range(10_000)) + ",en"
    languages = ours([("Accept-Language", value)]).accept_languages
    assert len(languages) == Request.max_accept_entries
    assert languages.best == "fr"
    assert "en" not in languages


@pytest.mark.parametrize("header", ["Accept", "Accept-Charset", "Accept-Encoding"])
def test_an_accept_entry_past_the_size_is_not_read(header: str) -> None:
    value = "a/b, " + "c/" + "d" * 5000
    accept = getattr(ours([(header, value)]), ATTRS[header])
    assert [v for v, _ in accept] == ["a/b"]


def test_a_subclass_sets_its_own_bounds() -> None:
    class Strict(Request):
        max_request_cookies = 2
        max_accept_entries = 1

    request = ours([("Cookie", "a=1; b=2; c=3"), ("Accept", "a/b, c/d")], Strict)
    assert list(request.cookies) == ["a", "b"]
    assert list(request.accept_mimetypes) == [("a/b", 1)]


@pytest.mark.parametrize(
    ("value", "size", "count", "expected"),
    [
        ("a;b;c", 100, 10, "a;b;c"),
        ("a;b;c", 100, 2, "a;b"),
        ("a;b;c", 3, 10, "a;b"),
        ("a;b;c", 2, 10, "a"),
        ("abc;d", 2, 10, ""),
        (";;;;", 100, 2, ";"),
    ],
)
def test_first_entries(value: str, size: int, count: int, expected: str) -> None:
    assert first_entries(value, size, count, ";") == expected


async def test_the_session_is_read_from_a_huge_cookie_header() -> None:
    app = Flask(__name__)
    app.secret_key = "test"

    @app.post("/login")
    async def login() -> str:
        session["user"] = "ada"
        return "ok"

    @app.get("/me")
    async def me() -> t.Any:
        return {"user": session.get("user")}

    async with app.test_client() as client:
        r = await client.post("/login")
        cookie = r.headers["Set-Cookie"].split(";")[0]
        junk = "; ".join(f"c{i}=v" for i in range(200_000))
        r = await client.get("/me", headers={"Cookie": f"{cookie}; {junk}"})
    assert r.get_json() == {"user": "ada"}
