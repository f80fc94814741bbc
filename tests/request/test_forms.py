"""Form bodies: ``await request.form`` / ``files`` / ``values`` for
urlencoded and multipart bodies, their limits, and malformed multipart."""

from __future__ import annotations

import asyncio
import io
import typing as t
from collections.abc import AsyncIterator, Awaitable, Callable

import flask
import pytest
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict

from asyncflask import Flask, request
from asyncflask.testing import TestClient
from tests.request.test_request_body import (
    DISCONNECT,
    assert_no_errors_logged,
    body_messages,
    call_asgi,
    gen_body,
)
from tests.support import URLENCODED_EDGE_CASES

TIMEOUT = 5.0
URLENCODED = "application/x-www-form-urlencoded"
BOUNDARY = "testboundary1234"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str, value: bytes, *, filename: str | None = None, extra: str = "") -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n"
    return head.encode() + value + b"\r\n"


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def post(client: TestClient, body: bytes | AsyncIterator[bytes], ctype: str) -> t.Any:
    return await asyncio.wait_for(
        client.post("/", content=body, headers={"Content-Type": ctype}), TIMEOUT
    )


def form_view(app: Flask, methods: tuple[str, ...] = ("POST",)) -> None:
    @app.route("/", methods=list(methods))
    async def view() -> t.Any:
        form = await request.form
        files = await request.files
        return {
            "form": form.to_dict(flat=False),
            "files": {k: [f.filename for f in files.getlist(k)] for k in files},
        }


def flask_form_app() -> flask.Flask:
    ref = flask.Flask("ref")

    @ref.route("/", methods=["GET", "POST"])
    def view() -> t.Any:
        form = flask.request.form
        files = flask.request.files
        return {
            "form": form.to_dict(flat=False),
            "files": {k: [f.filename for f in files.getlist(k)] for k in files},
        }

    return ref


# -- urlencoded ----------------------------------------------------------------------


async def test_urlencoded_form_has_multidict_semantics(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        form = await request.form
        assert isinstance(form, ImmutableMultiDict)
        return {
            "a": form["a"],
            "a_list": form.getlist("a"),
            "b": form.get("b"),
            "missing": form.get("missing", "default"),
            "has_a": "a" in form,
            "has_z": "z" in form,
            "empty": form["empty"],
            "number": form.get("n", type=int),
            "keys": sorted(form.keys()),
        }

    r = await client.post("/", data={"a": ["1", "2"], "b": "x y&z=ü", "empty": "", "n": "42"})
    assert r.status_code == 200
    assert r.get_json() == {
        "a": "1",
        "a_list": ["1", "2"],
        "b": "x y&z=ü",
        "missing": "default",
        "has_a": True,
        "has_z": False,
        "empty": "",
        "number": 42,
        "keys": ["a", "b", "empty", "n"],
    }


async def test_urlencoded_decoding_matches_flask(app: Flask, client: TestClient) -> None:
    form_view(app)
    body = b"plus=a+b&pct=%C3%BC%26%3D&blank=&flag&semi=1;2&rep=1&rep=2&%E2%9C%93=check"
    expected = flask_form_app().test_client().post("/", data=body, content_type=URLENCODED)
    assert expected.status_code == 200
    r = await post(client, body, URLENCODED)
    assert r.status_code == 200
    assert r.get_json() == expected.get_json()


async def test_urlencoded_form_from_a_chunked_body(app: Flask, client: TestClient) -> None:
    form_view(app)
    r = await post(client, gen_body(b"a=1&b", b"=2&c=%C3", b"%BC"), URLENCODED)
    assert r.get_json() == {"form": {"a": ["1"], "b": ["2"], "c": ["ü"]}, "files": {}}


async def test_urlencoded_content_type_with_charset_parameter(
    app: Flask, client: TestClient
) -> None:
    form_view(app)
    r = await post(client, b"a=1", f"{URLENCODED}; charset=utf-8")
    assert r.get_json() == {"form": {"a": ["1"]}, "files": {}}


async def test_missing_form_key_is_400(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        return (await request.form)["missing"]

    r = await client.post("/", data={"present": "1"})
    assert r.status_code == 400
    r = await post(client, multipart(part("present", b"1")), MULTIPART)
    assert r.status_code == 400


async def test_missing_files_key_is_400(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        return (await request.files)["missing"].filename or "?"

    r = await client.post("/", data={"f": (io.BytesIO(b"x"), "x.txt")})
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("ctype", "body"),
    [
        ("application/json", b'{"a": 1}'),
        ("text/plain", b"a=1"),
        ("application/octet-stream", b"\x00\x01"),
        (None, b"a=1"),
    ],
)
async def test_form_of_a_non_form_body_is_empty_and_the_body_is_kept(
    app: Flask, client: TestClient, ctype: str | None, body: bytes
) -> None:
    @app.post("/")
    async def view() -> t.Any:
        form = await request.form
        files = await request.files
        values = await request.values
        return {
            "form": form.to_dict(),
            "files": list(files),
            "values": values.to_dict(),
            "data": (await request.get_data()).decode("latin-1"),
        }

    headers = {"Content-Type": ctype} if ctype else {}
    r = await client.post("/", content=body, headers=headers)
    assert r.status_code == 200
    assert r.get_json() == {"form": {}, "files": [], "values": {}, "data": body.decode("latin-1")}


async def test_form_on_a_bodyless_get_is_empty(app: Flask, client: TestClient) -> None:
    form_view(app, ("GET",))
    r = await client.get("/")
    assert r.get_json() == {"form": {}, "files": {}}


async def test_form_is_parsed_once_and_cached(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        first = await request.form
        second = await request.form
        files = await request.files
        return {"same": first is second, "again": (await request.files) is files}

    r = await client.post("/", data={"a": "1", "f": (io.BytesIO(b"x"), "x.txt")})
    assert r.get_json() == {"same": True, "again": True}


# -- values --------------------------------------------------------------------------


async def test_values_combines_args_and_form(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        values = await request.values
        assert isinstance(values, CombinedMultiDict)
        return {
            "a": values["a"],
            "a_list": values.getlist("a"),
            "b": values["b"],
            "c": values.get("c"),
            "has_b": "b" in values,
        }

    r = await client.post("/", query_string={"a": "query"}, data={"a": "form", "b": "2"})
    assert r.get_json() == {
        "a": "query",
        "a_list": ["query", "form"],
        "b": "2",
        "c": None,
        "has_b": True,
    }


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_values_match_flask_for_each_method(
    app: Flask, client: TestClient, method: str
) -> None:
    """GET ignores a form body in ``values`` (as Werkzeug does); other
    methods include it."""

    @app.route("/", methods=[method])
    async def view() -> t.Any:
        return {"values": (await request.values).to_dict(flat=False)}

    ref = flask.Flask("ref")

    @ref.route("/", methods=[method])
    def ref_view() -> t.Any:
        return {"values": flask.request.values.to_dict(flat=False)}

    expected = ref.test_client().open(
        "/?a=1", method=method, data="b=2&a=3", content_type=URLENCODED
    )
    r = await client.request(
        method, "/?a=1", content=b"b=2&a=3", headers={"Content-Type": URLENCODED}
    )
    assert r.status_code == 200
    assert r.get_json() == expected.get_json()
    if method == "GET":
        assert r.get_json() == {"values": {"a": ["1"]}}
    else:
        assert r.get_json() == {"values": {"a": ["1", "3"], "b": ["2"]}}


async def test_missing_values_key_is_400(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        return (await request.values)["nope"]

    assert (await client.post("/?a=1", data={"b": "2"})).status_code == 400


# -- multipart fields -----------------------------------------------------------------


async def test_multipart_fields_and_files_from_flask_style_data(
    app: Flask, client: TestClient
) -> None:
    form_view(app)
    data = {
        "a": ["1", "2"],
        "text": "hello world",
        "f": (io.BytesIO(b"content"), "one.txt"),
        "many": [(io.BytesIO(b"1"), "m1.txt"), (io.BytesIO(b"2"), "m2.bin")],
    }
    r = await client.post("/", data=data)
    assert r.status_code == 200
    assert r.get_json() == {
        "form": {"a": ["1", "2"], "text": ["hello world"]},
        "files": {"f": ["one.txt"], "many": ["m1.txt", "m2.bin"]},
    }


async def test_multipart_fields_from_httpx_files(app: Flask, client: TestClient) -> None:
    form_view(app)
    r = await client.post(
        "/", data={"field": "v"}, files={"up": ("up.csv", b"a,b\n1,2\n", "text/csv")}
    )
    assert r.get_json() == {"form": {"field": ["v"]}, "files": {"up": ["up.csv"]}}


async def test_multipart_matches_flask_for_a_handmade_body(app: Flask, client: TestClient) -> None:
    form_view(app)
    body = multipart(
        part("a", b"1"),
        part("a", b"2"),
        part("empty", b""),
        part("crlf", b"line1\r\nline2\r\n"),
        part("dashes", f"--{BOUNDARY}-not-quite".encode()),
        part("utf8", "ünïcödé ✓".encode()),
        part("bad", b"ok\xff\xfe"),
        part("latin", b"caf\xe9", extra="Content-Type: text/plain; charset=iso-8859-1\r\n"),
        part("f", b"file data", filename="data.bin"),
        part("noname-file", b"", filename=""),
    )
    expected = flask_form_app().test_client().post("/", data=body, content_type=MULTIPART)
    assert expected.status_code == 200
    r = await post(client, body, MULTIPART)
    assert r.status_code == 200
    assert r.get_json() == expected.get_json()
    form = r.get_json()["form"]
    assert form["crlf"] == ["line1\r\nline2\r\n"]
    assert form["latin"] == ["café"]
    assert form["bad"] == ["ok\ufffd\ufffd"]


async def test_multipart_with_quoted_boundary_and_extra_params(
    app: Flask, client: TestClient
) -> None:
    form_view(app)
    body = multipart(part("a", b"1"))
    r = await post(client, body, f'multipart/form-data; charset=utf-8; boundary="{BOUNDARY}"')
    assert r.status_code == 200
    assert r.get_json() == {"form": {"a": ["1"]}, "files": {}}


async def test_multipart_body_split_into_tiny_chunks(app: Flask, client: TestClient) -> None:
    form_view(app)
    body = multipart(
        part("a", b"value one"),
        part("f", b"x" * 100, filename="f.txt"),
        part("b", "ü".encode()),
    )
    chunks = [body[i : i + 3] for i in range(0, len(body), 3)]
    r = await post(client, gen_body(*chunks), MULTIPART)
    assert r.status_code == 200
    assert r.get_json() == {"form": {"a": ["value one"], "b": ["ü"]}, "files": {"f": ["f.txt"]}}


async def test_multipart_non_ascii_names_match_flask(app: Flask, client: TestClient) -> None:
    """Browsers send UTF-8 field names and filenames; Werkzeug decodes part
    headers as UTF-8."""
    form_view(app)
    body = multipart(
        part("naïve", b"v"),
        part("fichier", b"data", filename="résumé ✓.txt"),
    )
    expected = flask_form_app().test_client().post("/", data=body, content_type=MULTIPART)
    assert expected.get_json() == {"form": {"naïve": ["v"]}, "files": {"fichier": ["résumé ✓.txt"]}}
    r = await post(client, body, MULTIPART)
    assert r.get_json() == expected.get_json()
    r = await client.post("/", data={"naïve": "v", "fichier": (io.BytesIO(b"d"), "résumé ✓.txt")})
    assert r.get_json() == expected.get_json()


async def test_multipart_unknown_part_charset_is_not_a_server_error(
    app: Flask, client: TestClient
) -> None:
    """A part's charset comes from the client; like Werkzeug, an unknown one
    falls back to UTF-8 rather than failing."""
    form_view(app)
    body = multipart(
        part("a", "ü".encode() + b"\xff", extra="Content-Type: text/plain; charset=no-such\r\n"),
        part("b", b"x", extra="Content-Type: text/plain; charset=zlib\r\n"),
    )
    expected = flask_form_app().test_client().post("/", data=body, content_type=MULTIPART)
    assert expected.get_json() == {"form": {"a": ["ü\ufffd"], "b": ["x"]}, "files": {}}
    r = await post(client, body, MULTIPART)
    assert r.status_code == 200
    assert r.get_json() == expected.get_json()


# -- limits ------------------------------------------------------------------------


async def read_form() -> t.Any:
    return len(await request.form)


async def read_files() -> t.Any:
    return len(await request.files)


async def read_values() -> t.Any:
    return len(await request.values)


FORM_READERS: dict[str, Callable[[], Awaitable[t.Any]]] = {
    "form": read_form,
    "files": read_files,
    "values": read_values,
}


def add_reader_view(app: Flask, reader: Callable[[], Awaitable[t.Any]]) -> None:
    @app.post("/")
    async def view() -> t.Any:
        return {"result": await reader()}


BIG_MULTIPART = multipart(part("a", b"1"), part("f", b"x" * 5000, filename="f.bin"))


@pytest.mark.parametrize("reader", list(FORM_READERS))
@pytest.mark.parametrize("kind", ["multipart", "urlencoded"])
async def test_content_length_over_max_content_length_is_413_before_reading(
    app: Flask, reader: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    add_reader_view(app, FORM_READERS[reader])
    body, ctype = (
        (BIG_MULTIPART, MULTIPART) if kind == "multipart" else (b"a=" + b"x" * 2000, URLENCODED)
    )
    result = await call_asgi(
        app,
        body_messages(body),
        headers=[("content-type", ctype), ("content-length", str(len(body)))],
    )
    assert result.status == 413
    assert result.receive_calls == 0
    assert_no_errors_logged(caplog)


@pytest.mark.parametrize("reader", list(FORM_READERS))
@pytest.mark.parametrize("kind", ["multipart", "urlencoded"])
async def test_chunked_form_over_max_content_length_is_413_by_counting(
    app: Flask, reader: str, kind: str
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    app.config["MAX_FORM_MEMORY_SIZE"] = None
    add_reader_view(app, FORM_READERS[reader])
    body, ctype = (
        (BIG_MULTIPART, MULTIPART) if kind == "multipart" else (b"a=" + b"x" * 5000, URLENCODED)
    )
    chunks = [body[i : i + 400] for i in range(0, len(body), 400)]
    result = await call_asgi(
        app,
        body_messages(*chunks),
        headers=[("content-type", ctype), ("transfer-encoding", "chunked")],
    )
    assert result.status == 413
    assert result.receive_calls == 3  # 1200 bytes > 1000: the rest is never read
    assert result.unread == len(chunks) + 1 - 3


@pytest.mark.parametrize("reader", list(FORM_READERS))
async def test_form_over_max_content_length_through_the_test_client(
    app: Flask, client: TestClient, reader: str
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    add_reader_view(app, FORM_READERS[reader])
    r = await client.post("/", data={"a": "x" * 2000})
    assert r.status_code == 413
    r = await client.post("/", data={"a": "1", "f": (io.BytesIO(b"x" * 2000), "f.bin")})
    assert r.status_code == 413
    r = await post(client, gen_body(BIG_MULTIPART[:600], BIG_MULTIPART[600:]), MULTIPART)
    assert r.status_code == 413
    r = await client.post("/", data={"a": "x" * 100, "f": (io.BytesIO(b"x" * 100), "f.bin")})
    assert r.status_code == 200


async def test_multipart_field_over_max_form_memory_size_is_413(
    app: Flask, client: TestClient
) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 100
    form_view(app)
    r = await post(client, multipart(part("a", b"x" * 101)), MULTIPART)
    assert r.status_code == 413
    r = await post(client, multipart(part("ok", b"x" * 100), part("a", b"x" * 101)), MULTIPART)
    assert r.status_code == 413
    r = await post(client, multipart(part("a", b"x" * 100), part("b", b"y" * 100)), MULTIPART)
    assert r.status_code == 200
    assert r.get_json()["form"] == {"a": ["x" * 100], "b": ["y" * 100]}


async def test_multipart_field_limit_counts_a_chunked_field(app: Flask, client: TestClient) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 100
    form_view(app)
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n'.encode()
    chunks = [head, *[b"x" * 30] * 4, f"\r\n--{BOUNDARY}--\r\n".encode()]
    r = await post(client, gen_body(*chunks), MULTIPART)
    assert r.status_code == 413


async def test_files_do_not_count_against_max_form_memory_size(
    app: Flask, client: TestClient
) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 100
    form_view(app)
    r = await client.post("/", data={"a": "x" * 50, "f": (io.BytesIO(b"x" * 10_000), "f.bin")})
    assert r.status_code == 200
    assert r.get_json() == {"form": {"a": ["x" * 50]}, "files": {"f": ["f.bin"]}}


async def test_urlencoded_body_over_max_form_memory_size_is_413(
    app: Flask, client: TestClient
) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 100
    form_view(app)
    assert (await client.post("/", data={"a": "x" * 200})).status_code == 413
    # the limit is per field: many small fields may add up to more
    many = {f"k{i}": "x" * 10 for i in range(10)}
    r = await client.post("/", data=many)
    assert r.status_code == 200
    assert r.get_json()["form"] == {k: [v] for k, v in many.items()}
    # and so is a name
    assert (await client.post("/", data={"n" * 101: "v"})).status_code == 413
    # percent-escapes count as the bytes they stand for
    assert (await client.post("/", data={"a": "é" * 50})).status_code == 200
    r = await post(client, gen_body(b"a=" + b"x" * 60, b"x" * 60), URLENCODED)
    assert r.status_code == 413
    r = await client.post("/", data={"a": "x" * 98})
    assert r.status_code == 200


async def test_more_parts_than_max_form_parts_is_413(app: Flask, client: TestClient) -> None:
    app.config["MAX_FORM_PARTS"] = 5
    form_view(app)
    five = [part(f"f{i}", b"v") for i in range(4)] + [part("file", b"d", filename="d.txt")]
    r = await post(client, multipart(*five), MULTIPART)
    assert r.status_code == 200
    assert len(r.get_json()["form"]) == 4
    r = await post(client, multipart(*five, part("sixth", b"v")), MULTIPART)
    assert r.status_code == 413
    r = await post(client, multipart(*five, part("sixth", b"v", filename="s.txt")), MULTIPART)
    assert r.status_code == 413


async def test_default_limits_are_flasks(app: Flask, client: TestClient) -> None:
    @app.post("/")
    async def view() -> t.Any:
        return {
            "max_content_length": request.max_content_length,
            "max_form_memory_size": request.max_form_memory_size,
            "max_form_parts": request.max_form_parts,
        }

    ref = flask.Flask("ref")
    assert (await client.post("/")).get_json() == {
        "max_content_length": ref.config["MAX_CONTENT_LENGTH"],
        "max_form_memory_size": ref.config["MAX_FORM_MEMORY_SIZE"],
        "max_form_parts": ref.config["MAX_FORM_PARTS"],
    }
    assert ref.config["MAX_FORM_MEMORY_SIZE"] == 500_000
    assert ref.config["MAX_FORM_PARTS"] == 1000


async def test_default_max_form_memory_size_applies(app: Flask, client: TestClient) -> None:
    form_view(app)
    r = await post(client, multipart(part("a", b"x" * 500_001)), MULTIPART)
    assert r.status_code == 413
    r = await post(client, multipart(part("a", b"x" * 500_000)), MULTIPART)
    assert r.status_code == 200


async def test_default_max_form_parts_applies(app: Flask, client: TestClient) -> None:
    form_view(app)
    r = await post(client, multipart(*[part("p", b"v")] * 1001), MULTIPART)
    assert r.status_code == 413
    r = await post(client, multipart(*[part("p", b"v")] * 1000), MULTIPART)
    assert r.status_code == 200
    assert len(r.get_json()["form"]["p"]) == 1000


LIMITS = {
    "max_form_memory_size": (
        "MAX_FORM_MEMORY_SIZE",
        multipart(part("a", b"x" * 500)),
    ),
    "max_form_parts": (
        "MAX_FORM_PARTS",
        multipart(*[part("p", b"v")] * 20),
    ),
    "max_content_length": (
        "MAX_CONTENT_LENGTH",
        multipart(part("a", b"x" * 200), part("f", b"y" * 300, filename="f.txt")),
    ),
}


@pytest.mark.parametrize("limit", list(LIMITS))
@pytest.mark.parametrize("where", ["before_request", "view"])
async def test_form_limits_can_be_lowered_per_request(
    app: Flask, client: TestClient, limit: str, where: str
) -> None:
    config_key, body = LIMITS[limit]
    app.config[config_key] = None if limit == "max_content_length" else 100_000

    def lower() -> None:
        if request.path == "/strict":
            setattr(request, limit, 10)

    if where == "before_request":
        app.before_request(lower)

    @app.post("/strict")
    @app.post("/lenient")
    async def view() -> t.Any:
        if where == "view":
            lower()
        return {"fields": len(await request.form), "limit": getattr(request, limit)}

    r = await client.post("/strict", content=body, headers={"Content-Type": MULTIPART})
    assert r.status_code == 413
    r = await client.post("/lenient", content=body, headers={"Content-Type": MULTIPART})
    assert r.status_code == 200
    assert r.get_json()["limit"] == app.config[config_key]


@pytest.mark.parametrize("limit", list(LIMITS))
@pytest.mark.parametrize("where", ["before_request", "view"])
async def test_form_limits_can_be_raised_per_request(
    app: Flask, client: TestClient, limit: str, where: str
) -> None:
    config_key, body = LIMITS[limit]
    app.config[config_key] = 10

    def raise_it() -> None:
        if request.path == "/generous":
            setattr(request, limit, 100_000)

    if where == "before_request":
        app.before_request(raise_it)

    @app.post("/generous")
    @app.post("/default")
    async def view() -> t.Any:
        if where == "view":
            raise_it()
        return {"fields": len(await request.form), "limit": getattr(request, limit)}

    r = await client.post("/generous", content=body, headers={"Content-Type": MULTIPART})
    assert r.status_code == 200
    assert r.get_json()["limit"] == 100_000
    r = await client.post("/default", content=body, headers={"Content-Type": MULTIPART})
    assert r.status_code == 413


async def test_urlencoded_body_longer_than_any_valid_form_is_413_before_the_end(
    app: Flask, client: TestClient
) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 10
    app.config["MAX_FORM_PARTS"] = 3
    form_view(app)
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for i in range(10_000):
            sent.append(i)
            yield b"a=1&"

    r = await post(client, endless(), URLENCODED)
    assert r.status_code == 413
    assert len(sent) < 100


async def test_urlencoded_limit_can_be_raised_per_request(app: Flask, client: TestClient) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 10

    @app.before_request
    def raise_it() -> None:
        request.max_form_memory_size = 10_000

    form_view(app)
    r = await client.post("/", data={"a": "x" * 1000})
    assert r.status_code == 200
    assert r.get_json()["form"] == {"a": ["x" * 1000]}


# -- malformed multipart ----------------------------------------------------------------

GOOD_PART = part("a", b"1")

MALFORMED: dict[str, tuple[str, bytes]] = {
    "no-boundary": ("multipart/form-data", multipart(GOOD_PART)),
    "empty-boundary": ('multipart/form-data; boundary=""', multipart(GOOD_PART)),
    "wrong-boundary": ("multipart/form-data; boundary=other", multipart(GOOD_PART)),
    "garbage": (MULTIPART, b"this is not multipart at all"),
    "binary-garbage": (MULTIPART, bytes(range(256)) * 4),
    "empty-body": (MULTIPART, b""),
    "only-crlf": (MULTIPART, b"\r\n\r\n"),
    "truncated-in-data": (MULTIPART, multipart(GOOD_PART, part("b", b"x" * 50))[:-30]),
    "truncated-in-headers": (MULTIPART, f"--{BOUNDARY}\r\nContent-Disp".encode()),
    "no-closing-boundary": (MULTIPART, GOOD_PART),
    "closing-without-dashes": (MULTIPART, GOOD_PART + f"--{BOUNDARY}\r\n".encode()),
    "header-without-colon": (
        MULTIPART,
        f"--{BOUNDARY}\r\nContent-Disposition form-data\r\n\r\nv\r\n--{BOUNDARY}--\r\n".encode(),
    ),
    "header-with-space-in-name": (
        MULTIPART,
        f"--{BOUNDARY}\r\nbroken header: x\r\n\r\nv\r\n--{BOUNDARY}--\r\n".encode(),
    ),
    "no-content-disposition": (
        MULTIPART,
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nv\r\n--{BOUNDARY}--\r\n".encode(),
    ),
    "disposition-not-form-data": (
        MULTIPART,
        f'--{BOUNDARY}\r\nContent-Disposition: attachment; name="a"\r\n\r\nv\r\n'
        f"--{BOUNDARY}--\r\n".encode(),
    ),
    "disposition-without-name": (
        MULTIPART,
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; filename="a.txt"\r\n\r\nv\r\n'
        f"--{BOUNDARY}--\r\n".encode(),
    ),
    "bare-lf-line-endings": (
        MULTIPART,
        f'--{BOUNDARY}\nContent-Disposition: form-data; name="a"\n\nv\n--{BOUNDARY}--\n'.encode(),
    ),
}


@pytest.mark.parametrize("reader", list(FORM_READERS))
@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_multipart_is_400(
    app: Flask, client: TestClient, case: str, reader: str
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    add_reader_view(app, FORM_READERS[reader])
    ctype, body = MALFORMED[case]
    r = await post(client, body, ctype)
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_chunked_multipart_is_400(
    app: Flask, client: TestClient, case: str
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    form_view(app)
    ctype, body = MALFORMED[case]
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    r = await post(client, gen_body(*chunks), ctype)
    assert r.status_code == 400, r.text


async def test_malformed_multipart_is_not_logged_as_an_error(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    form_view(app)
    for ctype, body in MALFORMED.values():
        r = await post(client, body, ctype)
        assert r.status_code == 400
    assert_no_errors_logged(caplog)


async def test_malformed_body_after_valid_parts_is_still_400(
    app: Flask, client: TestClient
) -> None:
    form_view(app)
    body = GOOD_PART + part("f", b"x" * 3000, filename="f.bin") + b"--" + b"garbage" * 10
    r = await post(client, body, MULTIPART)
    assert r.status_code == 400


async def test_the_400_can_be_caught_by_the_view(app: Flask, client: TestClient) -> None:
    from werkzeug.exceptions import BadRequest

    @app.post("/")
    async def view() -> t.Any:
        try:
            await request.form
        except BadRequest as e:
            return {"caught": e.code}
        return {"caught": None}

    r = await post(client, b"garbage", MULTIPART)
    assert r.get_json() == {"caught": 400}


async def test_disconnect_while_parsing_a_form(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    from asyncflask import ClientDisconnected

    caught: list[BaseException] = []

    @app.post("/")
    async def view() -> t.Any:
        try:
            await request.form
        except Exception as e:
            caught.append(e)
            raise
        return "no"

    for ctype, first in [(URLENCODED, b"a=1&b="), (MULTIPART, GOOD_PART[:20])]:
        result = await call_asgi(
            app,
            [*body_messages(first, end=False), DISCONNECT],
            headers=[("content-type", ctype), ("content-length", "5000")],
        )
        assert result.sent == []
    assert [type(e) for e in caught] == [ClientDisconnected, ClientDisconnected]
    assert_no_errors_logged(caplog)


@pytest.mark.parametrize(
    "body",
    [
        *URLENCODED_EDGE_CASES,
        b"a=%00&b=2",
        b"a=%C3&b=%A9",
        b"k%3D=v%26",
        b"a=\x00b",
        b"n=%ff%fe&m=%e2%82",
    ],
)
def test_urlencoded_parsing_matches_parse_qsl(body: bytes) -> None:
    from urllib.parse import parse_qsl

    from asyncflask.formparser import parse_urlencoded

    expected = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    assert parse_urlencoded(body) == expected


@pytest.mark.parametrize("chunk_size", [3, 1 << 20])
async def test_multipart_preamble_is_skipped_like_werkzeug(
    app: Flask, client: TestClient, chunk_size: int
) -> None:
    form_view(app)
    body = (
        b"A preamble, with --"
        + BOUNDARY.encode()
        + b" inside a line.\r\n"
        + multipart(part("a", b"1"))
    )

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), chunk_size):
            yield body[i : i + chunk_size]

    r = await post(client, chunks(), MULTIPART)
    assert r.status_code == 200
    assert r.get_json()["form"] == {"a": ["1"]}


async def test_multipart_endless_preamble_is_400(app: Flask, client: TestClient) -> None:
    form_view(app)
    r = await post(client, b"x" * (200 * 1024), MULTIPART)
    assert r.status_code == 400


# -- debug mode: a form without enctype="multipart/form-data" ---------------------


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_debug_names_the_missing_enctype(app: Flask, kind: str) -> None:
    from flask.debughelpers import DebugFilesKeyError

    app.debug = True
    if kind == "async":

        async def fail() -> str:
            return str((await request.files)["foo"].filename)
    else:

        def fail() -> str:
            return str(request.files["foo"].filename)  # type: ignore[index]

    app.add_url_rule("/fail", view_func=fail, methods=["POST"])
    async with app.test_client() as client:
        with pytest.raises(DebugFilesKeyError) as info:
            await client.post("/fail", data={"foo": "index.txt"})
    assert "no file contents were transmitted" in str(info.value)
    assert "This was submitted: 'index.txt'" in str(info.value)


async def test_missing_file_without_debug_is_a_400(app: Flask) -> None:
    @app.route("/fail", methods=["POST"])
    async def fail() -> str:
        return str((await request.files)["foo"].filename)

    async with app.test_client() as client:
        assert (await client.post("/fail", data={"foo": "index.txt"})).status_code == 400


@pytest.mark.parametrize("data", [{"bar": "index.txt"}, None])
async def test_debug_help_only_when_the_form_has_the_name(
    app: Flask, data: dict[str, str] | None
) -> None:
    """A name the form lacks, or a multipart body, is a plain missing key
    (which debug mode raises, as Flask does)."""
    from flask.debughelpers import DebugFilesKeyError
    from werkzeug.exceptions import BadRequestKeyError

    app.debug = True

    @app.route("/fail", methods=["POST"])
    async def fail() -> str:
        return str((await request.files)["foo"].filename)

    async with app.test_client() as client:
        with pytest.raises(BadRequestKeyError) as info:
            if data is None:
                files = {"other": ("a.txt", b"abc")}
                await client.post("/fail", data={"foo": "x"}, files=files)
            else:
                await client.post("/fail", data=data)
    assert not isinstance(info.value, DebugFilesKeyError)
    assert "foo" in str(info.value)
