"""The ``speedups`` extra's JSON provider: Flask's output and parsing where
orjson and msgspec allow them, and the differences docs/benchmarks.md lists."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import math
import random
import struct
import typing as t
import uuid

import flask
import pytest
from markupsafe import Markup

from asyncflask import Flask, jsonify, request
from asyncflask import jsonspeedups as speedups
from asyncflask.jsonspeedups import FastJSONProvider
from asyncflask.response import JSONResponse


@dataclasses.dataclass
class Point:
    y: int
    x: int
    at: datetime.date


@dataclasses.dataclass
class Shape:
    name: str
    corners: list[Point]


class Html:
    def __html__(self) -> str:
        return "<b>bold</b>"


class Color(enum.IntEnum):
    RED = 1


class Plain(enum.Enum):
    A = "a"


def nested(depth: int) -> list[t.Any]:
    value: list[t.Any] = []
    for _ in range(depth):
        value = [value]
    return value


when = datetime.datetime(2024, 2, 29, 13, 5, 9)
CORPUS: list[t.Any] = [
    None,
    True,
    0,
    -(2**63),
    2**64 - 1,
    2**64,
    -(2**70),
    10**40,
    0.1,
    1.5,
    -0.0,
    1e16,
    1.234e17,
    1e300,
    5e-324,
    2.5e-10,
    123456789.123,
    "",
    "".join(chr(i) for i in range(0x80)),
    "café \u2013 naïve ☃ \u2028\u2029",
    "emoji 😀 and 𝄞",
    "lone \ud800 surrogate",
    {"message": "Hello, World!"},
    {"b": {"z": 1, "a": [1, {"y": 2, "x": 3}]}, "a": None, "é": "clé"},
    {"empty": {}, "list": [], "nested": [[], [{}], {"k": []}]},
    [1, [2, [3, [4]]]],
    (1, "two", (3,)),
    {1: "a", 10: "b", 2: "c"},
    {"a": {5: 1, 3: 2}},
    when,
    when.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
    datetime.date(1999, 12, 31),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    decimal.Decimal("3.140"),
    Point(2, 1, datetime.date(2020, 1, 1)),
    Shape("square", [Point(0, 0, when), Point(1, 1, when)]),
    Markup("<i>safe</i>"),
    Html(),
    {"html": Html(), "markup": Markup("<br>")},
    Color.RED,
    {"color": Color.RED},
    nested(253),
    nested(254),
    [{"id": i, "name": f"user {i}", "score": i / 4, "tags": ["a", "b"][: i % 3]} for i in range(9)],
]


#: the apps made here: a provider holds its app by a weak reference
APPS: list[t.Any] = []


def flask_app(**config: t.Any) -> flask.Flask:
    app = flask.Flask(__name__)
    app.config.update(config)
    APPS.append(app)
    return app


def fast_app(**config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    app.json = FastJSONProvider(app)
    APPS.append(app)
    return app


SETTINGS: list[dict[str, t.Any]] = [
    {},
    {"sort_keys": False},
    {"ensure_ascii": False},
    {"compact": False},
    {"sort_keys": False, "ensure_ascii": False, "compact": True},
    {"mimetype": "application/vnd.api+json"},
]


def configure(provider: t.Any, settings: dict[str, t.Any]) -> t.Any:
    for name, value in settings.items():
        setattr(provider, name, value)
    return provider


@pytest.mark.parametrize("settings", SETTINGS, ids=repr)
@pytest.mark.parametrize("debug", [False, True])
def test_responses_are_flasks(settings: dict[str, t.Any], debug: bool) -> None:
    want = configure(flask_app(DEBUG=debug).json, settings)
    got = configure(fast_app(DEBUG=debug).json, settings)
    for value in CORPUS:
        assert outcome(got.response, value) == outcome(want.response, value), value


def outcome(response: t.Callable[[t.Any], t.Any], value: t.Any) -> tuple[t.Any, ...]:
    """The body and type of ``response(value)``, or the error it raises (a
    lone surrogate cannot be UTF-8 when ``ensure_ascii`` is off)."""
    try:
        answer = response(value)
    except UnicodeEncodeError as e:
        return ("error", str(e))
    return (answer.get_data(), answer.mimetype)


@pytest.mark.parametrize("settings", SETTINGS, ids=repr)
def test_dumps_is_flasks(settings: dict[str, t.Any]) -> None:
    want = configure(flask_app().json, settings)
    got = configure(fast_app().json, settings)
    arguments: list[dict[str, t.Any]] = [
        {},
        {"separators": (",", ":")},
        {"indent": 2},
        {"indent": 4},
        {"separators": (", ", ": ")},
        {"sort_keys": not want.sort_keys},
    ]
    for value in CORPUS:
        for kwargs in arguments:
            assert got.dumps(value, **kwargs) == want.dumps(value, **kwargs), (value, kwargs)


def test_floats_outside_the_documented_range_are_flasks() -> None:
    """Apart from magnitudes below 1e-4, orjson spells every float as
    Python's ``repr``, which the standard library writes."""
    rng = random.Random(7)
    got, want = fast_app().json, flask_app().json
    checked = 0
    while checked < 20_000:
        (value,) = struct.unpack("d", rng.randbytes(8))
        if value != value or abs(value) in (float("inf"),) or 0 < abs(value) < 1e-4:
            continue
        assert got.dumps(value, separators=(",", ":")) == want.dumps(value), value
        checked += 1


def test_any_text_is_escaped_as_flasks() -> None:
    rng = random.Random(11)
    # about half ASCII, the rest anywhere outside the surrogates
    points = [*range(0x80)] * 0x21F0 + [*range(0xD800), *range(0xE000, 0x110000)]
    for ensure_ascii in (True, False):
        got = configure(fast_app().json, {"ensure_ascii": ensure_ascii})
        want = configure(flask_app().json, {"ensure_ascii": ensure_ascii})
        for _ in range(2000):
            text = "".join(chr(rng.choice(points)) for _ in range(rng.randrange(1, 12)))
            value = {text: [text, {"k": text}]}
            assert got.response(value).get_data() == want.response(value).get_data(), text


def test_the_errors_are_flasks() -> None:
    got, want = fast_app().json, flask_app().json
    for value in [object(), {"a": datetime.time(12)}, {1: "a", "b": 2}, {None: 1, True: 2}]:
        with pytest.raises(TypeError) as expected:
            want.dumps(value, separators=(",", ":"))
        with pytest.raises(TypeError) as raised:
            got.response(value)
        assert str(raised.value) == str(expected.value)
    circular: list[t.Any] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        got.dumps(circular, separators=(",", ":"))
    with pytest.raises(TypeError, match="args or kwargs"):
        got.response(1, a=2)


def test_the_default_hook_is_the_providers() -> None:
    provider = fast_app().json

    def default(value: t.Any) -> t.Any:
        if isinstance(value, set):
            return sorted(value)
        if isinstance(value, datetime.date):
            return value.isoformat()
        raise TypeError("no")

    provider.default = default  # type: ignore[method-assign]
    body = provider.response({"s": {3, 1, 2}, "d": datetime.date(2024, 1, 2)}).get_data()
    assert body == b'{"d":"2024-01-02","s":[1,2,3]}\n'


def test_the_documented_differences() -> None:
    """What orjson writes otherwise than the standard library (and
    docs/benchmarks.md says so)."""
    got, want = fast_app().json, flask_app().json

    def both(value: t.Any) -> tuple[bytes, bytes]:
        return got.response(value).get_data(), want.response(value).get_data()

    # not-a-number and infinities: null, where Flask writes invalid JSON
    assert both([float("nan"), float("inf"), float("-inf")]) == (
        b"[null,null,null]\n",
        b"[NaN,Infinity,-Infinity]\n",
    )
    # magnitudes below 1e-4: the same number, spelt otherwise
    assert both([1e-07, 1.5e-05, 2e-9]) == (
        b"[1e-7,0.000015,2e-9]\n",
        b"[1e-07,1.5e-05,2e-09]\n",
    )
    # every Enum is written as its value, where Flask's default refuses one
    # that is not also an int or str
    assert got.response(Plain.A).get_data() == b'"a"\n'
    with pytest.raises(TypeError):
        want.response(Plain.A)
    # UUIDs are written by orjson as str() would, without asking ``default``
    provider = fast_app().json
    provider.default = lambda value: "hook"  # type: ignore[method-assign]
    assert provider.response(uuid.UUID(int=1)).get_data() == (
        b'"00000000-0000-0000-0000-000000000001"\n'
    )


DOCUMENTS: list[str | bytes] = [
    b'{"message": "Hello, World!"}',
    b'{"a": [1, 2.5, -3e-7, true, false, null], "b": {"c": "\\u00e9\\n"}}',
    '{"text": "café ☃ 😀"}',
    '{"text": "café ☃ 😀"}'.encode(),
    b"18446744073709551616",
    b"-9999999999999999999",
    b"[123456789012345678901234567890, 1.0000000000000000001]",
    b"[NaN, Infinity, -Infinity]",
    b"[1e400]",
    b'{"a": 1, "a": 2}',
    b'"\\ud800"',
    b"\xef\xbb\xbf[1]",
    '[1, "two"]'.encode("utf-16"),
    '{"k": "v"}'.encode("utf-32-le"),
    b" \n[ ] ",
    b"[" * 900 + b"]" * 900,
]


def test_loads_is_flasks() -> None:
    got = fast_app().json
    for document in DOCUMENTS:
        expected = json.loads(document)
        answer = got.loads(document)
        assert answer == expected or (answer != answer and expected != expected), document
        assert json.dumps(answer) == json.dumps(expected), document
    assert got.loads(b'{"a": 1.5}', parse_float=decimal.Decimal) == {"a": decimal.Decimal("1.5")}


def test_numbers_are_read_as_flasks() -> None:
    rng = random.Random(5)
    got = fast_app().json
    for _ in range(5000):
        (value,) = struct.unpack("d", rng.randbytes(8))
        if not math.isfinite(value):
            continue
        for text in (repr(value), f"{value:.25g}", f"{value:.10e}"):
            assert got.loads(text) == json.loads(text), text
        whole, fraction, exponent = (
            rng.randrange(10**20),
            rng.randrange(10**30),
            rng.randrange(-340, 320),
        )
        text = f"{whole}.{fraction}e{exponent}"
        assert got.loads(text.encode()) == json.loads(text), text


@pytest.mark.parametrize(
    "document", [b"", b"{", b"[1,]", b'{"a" 1}', b"\xff", b"[1] x", b"[" * 5000 + b"]" * 5000]
)
def test_loads_fails_as_flasks(document: bytes) -> None:
    with pytest.raises((ValueError, RecursionError)) as expected:
        json.loads(document)
    with pytest.raises(expected.type):
        fast_app().json.loads(document)


def test_request_bodies_are_read_by_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[t.Any] = []
    decode = speedups._decode

    def counting(data: t.Any) -> t.Any:
        calls.append(data)
        return decode(data)

    monkeypatch.setattr(speedups, "_decode", counting)
    app = fast_app()

    @app.post("/echo")
    async def echo() -> t.Any:
        return jsonify(await request.get_json())

    client = app.test_client()
    response = client.post("/echo", json={"b": [1, 2], "a": "é"})
    assert response.status_code == 200
    assert response.data == b'{"a":"\\u00e9","b":[1,2]}\n'
    assert calls == [b'{"a": "\\u00e9", "b": [1, 2]}']
    bad = client.post("/echo", data=b"{nope", content_type="application/json")
    assert bad.status_code == 400
    assert response.get_json() == {"a": "é", "b": [1, 2]}


def test_chosen_as_flasks_json_provider_class() -> None:
    class App(Flask):
        json_provider_class = FastJSONProvider

    app = App(__name__)
    assert isinstance(app.json, FastJSONProvider)

    @app.get("/")
    async def index() -> t.Any:
        return {"when": when, "id": uuid.UUID(int=2), "items": [Point(1, 2, when)]}

    @app.get("/class")
    async def json_response() -> JSONResponse:
        return JSONResponse({"b": 1, "a": "ü"})

    client = app.test_client()
    want = flask_app().json
    response = client.get("/")
    assert (
        response.data
        == want.response(
            {"when": when, "id": uuid.UUID(int=2), "items": [Point(1, 2, when)]}
        ).get_data()
    )
    assert client.get("/class").data == b'{"a":"\\u00fc","b":1}\n'
    app.debug = True
    assert client.get("/class").data == b'{\n  "a": "\\u00fc",\n  "b": 1\n}\n'
