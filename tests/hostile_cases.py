"""The hostile-input corpus: raw HTTP requests and the answer each must get.

Each :class:`Case` is one request as bytes on the wire (built on demand, as
some are tens of megabytes) and the statuses the server may answer with;
``CLOSED`` stands for a connection closed without any response, which is
the answer to a client that gives up halfway. The app runs with
``BODY_TIMEOUT`` = :data:`BODY_TIMEOUT`. ``tests/e2e/test_hostile.py``
sends them to the app in :data:`APP` and checks the answer, the time it
took and that the event loop kept serving ``GET /ping`` meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = ["APP", "BODY_TIMEOUT", "CASES", "CLOSED", "FILES", "Case"]

#: Stands for "the server closed the connection without answering".
CLOSED = 0
#: The app's ``BODY_TIMEOUT`` (seconds): the stalled-body cases wait it out.
BODY_TIMEOUT = 2
MiB = 1024 * 1024

APP = """
import json
import os
from pathlib import Path

from asyncflask import (
    EventStream,
    Flask,
    redirect,
    request,
    send_file,
    send_from_directory,
    session,
    url_for,
)
from werkzeug.utils import secure_filename

ROOT = Path(__file__).parent
PUBLIC = ROOT / "public"
UPLOADS = ROOT / "uploads"
UPLOADS.mkdir(exist_ok=True)
for name, target in (("link_out", ROOT / "secret.txt"), ("link_in", PUBLIC / "ok.txt")):
    if not (PUBLIC / name).is_symlink():
        (PUBLIC / name).symlink_to(target)

app = Flask(__name__, static_folder="public", static_url_path="/static")
app.config["SECRET_KEY"] = "corpus-secret"
app.config.update(json.loads(os.environ.get("APP_CONFIG", "{}")))


@app.get("/ping")
async def ping():
    return "pong"


@app.post("/json")
async def json_body():
    data = await request.get_json()
    return {"type": type(data).__name__}


@app.post("/form")
async def form():
    fields = await request.form
    files = await request.files
    saved = []
    for f in files.values():
        name = secure_filename(f.filename or "")[:100] or "unnamed"
        await f.save(UPLOADS / name)
        saved.append(name)
    return {"fields": len(fields), "files": len(saved), "saved": saved}


@app.post("/json-limited")
async def json_limited():
    request.max_content_length = 1024 * 1024
    data = await request.get_json()
    return {"type": type(data).__name__}


@app.post("/data")
async def data():
    return {"size": len(await request.get_data())}


@app.post("/stream")
async def stream():
    size = 0
    async for chunk in request.stream:
        size += len(chunk)
    return {"size": size}


@app.route("/args", methods=["GET", "POST"])
async def args():
    return {"count": len(request.args), "a": request.args.get("a")}


@app.get("/headers")
async def headers():
    return {"count": len(request.headers), "host": request.host}


@app.get("/cookies")
async def cookies():
    return {"count": len(request.cookies)}


@app.get("/session")
async def read_session():
    return {"user": session.get("user")}


@app.get("/accept")
async def accept():
    return {
        "mimetypes": len(request.accept_mimetypes),
        "languages": len(request.accept_languages),
        "charsets": len(request.accept_charsets),
        "encodings": len(request.accept_encodings),
        "best": request.accept_languages.best_match(["en", "fr"]),
    }


@app.get("/redirect")
async def redirect_to():
    return redirect(request.args.get("to", "/"))


@app.get("/redirect-built")
async def redirect_built():
    to = request.args.get("to", "")
    return redirect(url_for("ping", next=to, _anchor=to))


@app.get("/file")
async def file():
    return send_file(ROOT / "data.bin")


@app.get("/dl/<path:name>")
async def download(name):
    return send_from_directory(PUBLIC, name)


@app.get("/sse")
async def sse():
    async def events():
        for i in range(3):
            yield {"data": i}

    return EventStream(events())


@app.get("/gen")
async def gen():
    async def chunks():
        for i in range(3):
            yield f"chunk {i}\\n"

    return chunks()


@app.get("/sync")
def sync_view():
    return {"args": len(request.args)}
"""

#: The files written next to the app.
FILES: dict[str, str | bytes] = {
    "data.bin": bytes(range(256)) * 40,  # 10240 bytes
    "secret.txt": "the secret\n",
    "public/ok.txt": "ok\n",
    "public/sub/inner.txt": "inner\n",
}
FILE_SIZE = 10240


@dataclass(frozen=True)
class Case:
    """One hostile request and its acceptable answers."""

    id: str
    #: Builds the bytes to send (lazily: some are large).
    build: Callable[[], bytes]
    #: Acceptable status codes (``CLOSED``: no response, connection closed).
    expect: frozenset[int]
    #: Shut the sending side down after the bytes (the client gives up).
    half_close: bool = False
    #: Most bytes the response may have (a guard against huge answers).
    max_response: int = 1 * MiB
    #: A check on the response body, when the status alone says too little.
    body_has: bytes = b""
    #: Bytes the response (head and body, lowercased) must not hold.
    lacks: bytes = b""
    tags: tuple[str, ...] = field(default_factory=tuple)


def request(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    *,
    length: bool = True,
    version: str = "HTTP/1.1",
) -> bytes:
    """A request as bytes, with ``Host``, ``Connection: close`` and (when
    ``length``) a ``Content-Length`` for a non-empty body."""
    lines = [f"{method} {target} {version}", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers or []]
    if length and body:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def raw(head: bytes, body: bytes = b"") -> Callable[[], bytes]:
    """A request given byte for byte (the head ends with a blank line)."""
    return lambda: head + body


def post(path: str, ctype: str, body: bytes | Callable[[], bytes]) -> Callable[[], bytes]:
    def build() -> bytes:
        data = body() if callable(body) else body
        return request("POST", path, [("Content-Type", ctype)], data)

    return build


def get(path: str, headers: list[tuple[str, str]] | None = None) -> Callable[[], bytes]:
    return lambda: request("GET", path, headers)


def case(
    id: str, build: Callable[[], bytes], *expect: int, **kwargs: object
) -> Case:  # a short constructor for the tables below
    return Case(id, build, frozenset(expect), **kwargs)  # type: ignore[arg-type]


# -- JSON ---------------------------------------------------------------------

JSON = "application/json"


def _json_cases() -> Iterator[Case]:
    invalid = {
        "empty": b"",
        "open-brace": b"{",
        "missing-value": b'{"a":}',
        "unclosed-array": b"[1,2",
        "bare-word": b"nul",
        "single-quotes": b"{'a': 1}",
        "trailing-garbage": b"{} x",
        "trailing-comma": b"[1,]",
        "control-char": b'"\x01"',
        "lone-surrogate-escape-bad": b'"\\ud800\\u"',
        "invalid-utf8": b'"\xff\xfe"',
        "truncated-utf8": b'{"a":"\xc3"}',
        "overlong-utf8": b'"\xc0\xaf"',
        "nul-byte": b"\x00",
        "deep-array-100k": b"[" * 100_000 + b"]" * 100_000,
        "deep-object-100k": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        "deep-unclosed-100k": b"[" * 100_000,
        "int-100k-digits": b"1" * 100_000,
        "int-5k-digits-in-array": b"[" + b"9" * 5_000 + b"]",
    }
    for name, body in invalid.items():
        yield case(f"json-{name}", post("/json", JSON, body), 400)
    valid = {
        "exponent-overflow": b"1e999999",
        "negative-exponent-overflow": b"-1e999999",
        "nan": b"NaN",
        "infinity": b"[Infinity, -Infinity]",
        "bom-utf8": b"\xef\xbb\xbf{}",
        "utf16-bom": '{"a": 1}'.encode("utf-16"),
        "lone-surrogate": b'"\\ud800"',
        "utf8-surrogate-bytes": b'"\xed\xa0\x80"',  # decoded with surrogatepass, as Flask does
        "deep-500": b"[" * 500 + b"]" * 500,
        "int-4300-digits": b"7" * 4300,
        # CPython's JSON decoder holds the GIL for the whole document, in a
        # worker thread too: a large one stalls the loop for as long as it
        # takes (docs/reliability.md); these take well under 100 ms
        "array-256kb": lambda: b"[" + b"1," * (128 * 1024) + b"1]",
        "string-5mb": lambda: b'"' + b"a" * 5 * MiB + b'"',
        "keys-10k": lambda: json.dumps({str(i): i for i in range(10_000)}).encode(),
    }
    for name, body in valid.items():
        yield case(f"json-{name}", post("/json", JSON, body), 200)
    yield case(
        "json-limited-keys-200k",
        post(
            "/json-limited", JSON, lambda: json.dumps({str(i): i for i in range(200_000)}).encode()
        ),
        413,
    )
    yield case(
        "json-limited-20mb",
        post("/json-limited", JSON, lambda: b"[" + b"1," * 10 * MiB + b"1]"),
        413,
    )
    yield case(
        "json-limited-20mb-chunked",
        lambda: request(
            "POST",
            "/json-limited",
            [("Content-Type", JSON), ("Transfer-Encoding", "chunked")],
            b"%x\r\n%s\r\n0\r\n\r\n" % (20 * MiB, b"[" + b"1," * (10 * MiB - 1) + b"1]"),
            length=False,
        ),
        413,
    )
    yield case("json-wrong-content-type", post("/json", "text/plain", b"{}"), 415)
    yield case("json-bogus-charset", post("/json", "application/json; charset=bogus", b"{}"), 200)


# -- URL-encoded forms ----------------------------------------------------------

FORM = "application/x-www-form-urlencoded"


def _urlencoded_cases() -> Iterator[Case]:
    ok = {
        "lone-percent": b"a=%",
        "bad-hex": b"a=%zz&b=%4",
        "percents-only": b"%%%=%%%",
        "invalid-utf8-escape": b"a=%c3%28&b=%ff",
        "raw-invalid-utf8": b"a=\xff\xfe",
        "empty-pairs": b"=&=&&&",
        "no-equals": b"a&b&c",
        "encoded-nul": b"a=%00&%00=b",
        "raw-nul": b"a=\x00b",
        "plus-and-space": b"a=+++&b=%20%2B",
        "400k-key": lambda: b"k" * 400_000 + b"=v",
        "1000-fields": lambda: b"&".join(b"f%d=%d" % (i, i) for i in range(1000)),
        "20mb-ampersands": lambda: b"&" * 20 * MiB,  # no field at all
    }
    for name, body in ok.items():
        yield case(f"form-{name}", post("/form", FORM, body), 200)
    big = {
        "100k-fields": lambda: b"&".join(b"f%d=%d" % (i, i) for i in range(100_000)),
        "100k-empty-fields": lambda: b"&" * 100_000 + b"a=1&" * 1001,
        "1mb-key": lambda: b"k" * MiB + b"=v",
        "1mb-value": lambda: b"k=" + b"v" * MiB,
        "1mb-escaped-value": lambda: b"k=" + b"%41" * 600_000,
        "20mb-one-value": lambda: b"k=" + b"v" * 20 * MiB,
        "20mb-of-empty-fields": lambda: b"&=" * 10 * MiB,
    }
    for name, body in big.items():
        yield case(f"form-{name}", post("/form", FORM, body), 413)


# -- multipart ------------------------------------------------------------------

B = "hostileboundary"
MP = f"multipart/form-data; boundary={B}"


def part(
    name: str | None = "f",
    body: bytes = b"value",
    filename: str | None = None,
    extra: str = "",
    disposition: str | None = None,
) -> bytes:
    if disposition is None:
        disposition = "form-data"
        if name is not None:
            disposition += f'; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
    head = f"--{B}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n"
    return head.encode("latin-1") + body + b"\r\n"


END = f"--{B}--\r\n".encode()


def _multipart_cases() -> Iterator[Case]:
    good = part() + END
    yield case("mp-control-good", post("/form", MP, good), 200, body_has=b'"fields":1')
    yield case("mp-missing-boundary", post("/form", "multipart/form-data", good), 400)
    yield case("mp-empty-boundary", post("/form", "multipart/form-data; boundary=", good), 400)
    yield case(
        "mp-quoted-empty-boundary", post("/form", 'multipart/form-data; boundary=""', good), 400
    )
    yield case("mp-wrong-boundary", post("/form", "multipart/form-data; boundary=other", good), 400)
    long_b = "x" * 1000
    yield case(
        "mp-1000-char-boundary",
        post(
            "/form",
            f"multipart/form-data; boundary={long_b}",
            good.replace(B.encode(), long_b.encode()),
        ),
        200,
        400,
    )
    yield case(
        "mp-100k-char-boundary",
        post("/form", "multipart/form-data; boundary=" + "y" * 100_000, good),
        400,
        431,
    )
    yield case("mp-no-final-boundary", post("/form", MP, part()), 400)
    yield case("mp-final-boundary-no-crlf", post("/form", MP, part() + f"--{B}--".encode()), 200)
    yield case("mp-truncated-in-headers", post("/form", MP, f"--{B}\r\nContent-Disp".encode()), 400)
    yield case("mp-truncated-in-data", post("/form", MP, part()[:-4]), 400)
    yield case("mp-garbage-body", post("/form", MP, b"\x00\xff" * 1000), 400)
    yield case("mp-empty-body", post("/form", MP, b""), 400)
    yield case("mp-only-end", post("/form", MP, END), 200, 400)
    yield case("mp-10k-parts", post("/form", MP, lambda: part() * 10_000 + END), 413)
    yield case(
        "mp-10k-file-parts", post("/form", MP, lambda: part(filename="a.txt") * 10_000 + END), 413
    )
    # python-multipart allows 8 headers of 4 KiB per part: more is malformed
    yield case(
        "mp-1mb-part-header",
        post("/form", MP, lambda: part(extra="X-Big: " + "h" * MiB + "\r\n") + END),
        400,
    )
    yield case(
        "mp-10k-part-headers",
        post("/form", MP, lambda: part(extra="X-H: v\r\n" * 10_000) + END),
        400,
    )
    yield case("mp-9-part-headers", post("/form", MP, part(extra="X-H: v\r\n" * 8) + END), 400)
    yield case("mp-8-part-headers", post("/form", MP, part(extra="X-H: v\r\n" * 7) + END), 200)
    yield case(
        "mp-1mb-disposition-name", post("/form", MP, lambda: part(name="n" * MiB) + END), 400
    )
    yield case("mp-crlf-flood-preamble", post("/form", MP, lambda: b"\r\n" * MiB + good), 400)
    yield case("mp-crlf-flood-epilogue", post("/form", MP, lambda: good + b"\r\n" * 5 * MiB), 200)
    yield case("mp-lf-flood-epilogue", post("/form", MP, lambda: good + b"\n" * 5 * MiB), 200)
    yield case(
        "mp-cr-flood-in-field", post("/form", MP, lambda: part(body=b"\r" * 400_000) + END), 200
    )
    yield case(
        "mp-crlf-flood-in-file",
        post("/form", MP, lambda: part(body=b"\r\n" * MiB, filename="f.txt") + END),
        200,
    )
    yield case(
        "mp-dashes-flood",
        post("/form", MP, lambda: part(body=b"-" * MiB, filename="d.bin") + END),
        200,
    )
    yield case("mp-50mb-field", post("/form", MP, lambda: part(body=b"x" * 50 * MiB) + END), 413)
    yield case("mp-600k-field", post("/form", MP, lambda: part(body=b"x" * 600_000) + END), 413)
    yield case(
        "mp-50mb-file",
        post("/form", MP, lambda: part(body=b"x" * 50 * MiB, filename="big.bin") + END),
        200,
    )
    names = {
        "dotdot": "../../etc/passwd",
        "backslash": "..\\..\\windows\\win.ini",
        "absolute": "/etc/passwd",
        "drive": "C:\\boot.ini",
        "nul": "a\x00.txt",
        "empty": "",
        "dots-only": "..",
        "unicode": "r\xe9sum\xe9.txt",
        "long": "n" * 4000,
    }
    for key, name in names.items():
        yield case(f"mp-filename-{key}", post("/form", MP, part(filename=name) + END), 200)
    star = {
        "rfc2231-utf8": "form-data; name=\"f\"; filename*=UTF-8''%E2%82%AC.txt",
        "rfc2231-traversal": "form-data; name=\"f\"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd",
        "rfc2231-bad-charset": "form-data; name=\"f\"; filename*=bogus''x.txt",
        "rfc2231-bad-escape": "form-data; name=\"f\"; filename*=UTF-8''%zz%",
        "both-filenames": 'form-data; name="f"; filename="a.txt"; filename*=UTF-8\'\'b.txt',
        "unquoted": "form-data; name=f; filename=x.txt",
    }
    yield case("mp-filename-10k", post("/form", MP, part(filename="n" * 10_000) + END), 400)
    for key, disposition in star.items():
        yield case(f"mp-{key}", post("/form", MP, part(disposition=disposition) + END), 200)
    yield case(
        "mp-file-without-filename",
        post("/form", MP, part(extra="Content-Type: application/octet-stream\r\n") + END),
        200,
    )
    yield case(
        "mp-no-disposition", post("/form", MP, f"--{B}\r\nX: y\r\n\r\nv\r\n".encode() + END), 400
    )
    yield case(
        "mp-disposition-not-form-data",
        post("/form", MP, part(disposition='attachment; name="f"') + END),
        400,
    )
    yield case("mp-disposition-no-name", post("/form", MP, part(name=None) + END), 400)
    yield case(
        "mp-header-without-colon",
        post("/form", MP, f"--{B}\r\nbroken header\r\n\r\nv\r\n".encode() + END),
        400,
    )
    yield case(
        "mp-bad-part-charset",
        post("/form", MP, part(extra="Content-Type: text/plain; charset=bogus\r\n") + END),
        200,
    )
    yield case(
        "mp-invalid-utf8-name",
        post(
            "/form",
            MP,
            f'--{B}\r\nContent-Disposition: form-data; name="'.encode()
            + b"\xff\xfe"
            + b'"\r\n\r\nv\r\n'
            + END,
        ),
        200,
    )
    yield case("mp-bare-lf-lines", post("/form", MP, good.replace(b"\r\n", b"\n")), 400)


# -- framing: Content-Length, Transfer-Encoding, chunks ---------------------------


def _framing_cases() -> Iterator[Case]:
    head = b"POST /data HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    bad_lengths = {
        "negative": b"-1",
        "non-numeric": b"abc",
        "hex": b"0x10",
        "plus": b"+5",
        "float": b"5.0",
        "exponent": b"1e3",
        "comma-list-differ": b"5, 6",
        "overflow": b"99999999999999999999999999",
        "empty": b"",
    }
    for name, value in bad_lengths.items():
        yield case(
            f"cl-{name}", raw(head + b"Content-Length: " + value + b"\r\n\r\n", b"hello"), 400
        )
    yield case(
        "cl-conflicting",
        raw(head + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", b"hello!"),
        400,
    )
    yield case(
        "cl-duplicate-same",
        raw(head + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\n", b"hello"),
        200,
        400,
    )
    yield case(
        "cl-with-chunked",
        raw(
            head + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"5\r\nhello\r\n0\r\n\r\n",
        ),
        200,
        400,
    )
    yield case(
        "cl-short-body-client-stops",
        raw(head + b"Content-Length: 100\r\n\r\n", b"only a part"),
        CLOSED,
        half_close=True,
    )
    yield case(
        "cl-short-stream-client-stops",
        raw(head.replace(b"/data", b"/stream") + b"Content-Length: 100000\r\n\r\n", b"x" * 5000),
        CLOSED,
        half_close=True,
    )
    yield case(
        "cl-short-form-client-stops",
        raw(
            head.replace(b"/data", b"/form")
            + b"Content-Type: "
            + MP.encode()
            + b"\r\nContent-Length: 100000\r\n\r\n",
            part(filename="a.bin"),
        ),
        CLOSED,
        half_close=True,
    )
    # the client stops sending but keeps the connection open: BODY_TIMEOUT
    yield case("stall-no-body", raw(head + b"Content-Length: 100\r\n\r\n"), 408)
    yield case("stall-part-of-body", raw(head + b"Content-Length: 100\r\n\r\n", b"only ten b"), 408)
    yield case(
        "stall-chunked",
        raw(head + b"Transfer-Encoding: chunked\r\n\r\n", b"5\r\nhello\r\n"),
        408,
    )
    yield case(
        "stall-multipart",
        raw(
            head.replace(b"/data", b"/form")
            + b"Content-Type: "
            + MP.encode()
            + b"\r\nContent-Length: 100000\r\n\r\n",
            part(filename="a.bin"),
        ),
        408,
    )
    yield case(
        "cl-huge-declared",
        raw(head + b"Content-Length: 999999999999\r\n\r\n", b"x"),
        CLOSED,
        half_close=True,
    )
    yield case("cl-body-longer", raw(head + b"Content-Length: 2\r\n\r\n", b"hello"), 200)
    te = head + b"Transfer-Encoding: chunked\r\n\r\n"
    chunks = {
        "bad-size": b"zz\r\nhello\r\n0\r\n\r\n",
        "negative-size": b"-1\r\nhello\r\n0\r\n\r\n",
        "overflow-size": b"fffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "missing-crlf": b"5\r\nhelloXX0\r\n\r\n",
        "size-too-small": b"2\r\nhello\r\n0\r\n\r\n",
        "space-in-size": b"5 5\r\nhello\r\n0\r\n\r\n",
        "lf-only": b"5\nhello\n0\n\n",
    }
    for name, body in chunks.items():
        yield case(f"chunk-{name}", raw(te, body), 400, CLOSED)
    yield case("chunk-extension", raw(te, b"5;ext=1\r\nhello\r\n0\r\n\r\n"), 200, 400)
    yield case("chunk-trailers", raw(te, b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"), 200, 400)
    yield case("chunk-client-stops", raw(te, b"ffff\r\nabc"), CLOSED, half_close=True)
    yield case("chunk-no-last-chunk", raw(te, b"5\r\nhello\r\n"), CLOSED, half_close=True)
    encodings = {
        "gzip": b"gzip",
        "chunked-twice": b"chunked, chunked",
        "xchunked": b"xchunked",
        "identity": b"identity",
        "two-headers": b"chunked\r\nTransfer-Encoding: gzip",
    }
    for name, value in encodings.items():
        yield case(
            f"te-{name}",
            raw(head + b"Transfer-Encoding: " + value + b"\r\n\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
            200,
            400,
            501,
        )


# -- headers, request line, methods -------------------------------------------------


def _header_cases() -> Iterator[Case]:
    yield case(
        "headers-10k", get("/headers", [(f"X-H{i}", "v") for i in range(10_000)]), 200, 400, 431
    )
    yield case("headers-10k-same-name", get("/headers", [("X-Same", "v")] * 10_000), 200, 400, 431)
    yield case("header-1mb-value", get("/headers", [("X-Big", "v" * MiB)]), 200, 400, 431)
    yield case(
        "header-1mb-host",
        lambda: request("GET", "/headers").replace(b"Host: 127.0.0.1", b"Host: " + b"h" * MiB),
        200,
        400,
        431,
        max_response=3 * MiB,
    )
    yield case("header-no-colon", raw(b"GET /ping HTTP/1.1\r\nHost: x\r\nbroken\r\n\r\n"), 400)
    yield case(
        "header-space-in-name", raw(b"GET /ping HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n"), 400
    )
    yield case(
        "header-space-before-colon", raw(b"GET /ping HTTP/1.1\r\nHost: x\r\nX-A : v\r\n\r\n"), 400
    )
    yield case(
        "header-obs-fold",
        raw(b"GET /ping HTTP/1.1\r\nHost: x\r\nX-A: v\r\n  folded\r\nConnection: close\r\n\r\n"),
        200,
        400,
    )
    yield case(
        "header-nul-in-value", raw(b"GET /ping HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"), 400
    )
    yield case(
        "header-latin1-value",
        raw(b"GET /headers HTTP/1.1\r\nHost: x\r\nX-A: \xe9\xff\r\nConnection: close\r\n\r\n"),
        200,
        400,
    )
    yield case("header-empty-name", raw(b"GET /ping HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n"), 400)
    yield case("host-missing", raw(b"GET /headers HTTP/1.1\r\nConnection: close\r\n\r\n"), 200, 400)
    yield case(
        "host-garbage",
        raw(b"GET /headers HTTP/1.1\r\nHost: a b/c?\r\nConnection: close\r\n\r\n"),
        200,
        400,
    )
    yield case(
        "host-bad-ipv6",
        raw(b"GET /headers HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n"),
        200,
        400,
    )
    yield case(
        "host-two",
        raw(b"GET /headers HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"),
        200,
        400,
    )
    yield case(
        "host-bad-port",
        raw(b"GET /headers HTTP/1.1\r\nHost: a:99999999\r\nConnection: close\r\n\r\n"),
        200,
        400,
    )
    yield case("line-garbage", raw(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"), 400)
    yield case("line-no-version", raw(b"GET /ping\r\n\r\n"), 200, 400)
    yield case("line-http-0.9", raw(b"GET /ping HTTP/0.9\r\n\r\n"), 200, 400, 505)
    yield case("line-http-9.9", raw(b"GET /ping HTTP/9.9\r\nHost: x\r\n\r\n"), 400, 505)
    yield case("line-http-1.0", raw(b"GET /ping HTTP/1.0\r\n\r\n"), 200)
    yield case(
        "line-extra-spaces",
        raw(b"GET  /ping  HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        200,
        400,
    )
    yield case("line-bare-lf", raw(b"GET /ping HTTP/1.1\nHost: x\nConnection: close\n\n"), 200, 400)
    yield case("line-1mb-path", get("/" + "p" * MiB), 404, 414, 400)
    yield case("line-nul-in-path", raw(b"GET /pi\x00ng HTTP/1.1\r\nHost: x\r\n\r\n"), 400)
    yield case(
        "line-absolute-uri",
        raw(b"GET http://evil.example/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        200,
        400,
    )
    yield case(
        "line-asterisk",
        raw(b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        200,
        400,
        404,
    )
    yield case(
        "line-no-leading-slash",
        raw(b"GET ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        200,
        400,
        404,
    )
    for method in ("FOO", "BREW", "PROPFIND", "PATCH", "DELETE", "TRACE"):
        yield case(f"method-{method.lower()}", lambda m=method: request(m, "/ping"), 400, 405)
    yield case("method-lowercase", lambda: request("get", "/ping"), 400, 405)
    yield case("method-1k-long", lambda: request("X" * 1000, "/ping"), 400, 405)
    yield case("method-connect", raw(b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n"), 400, 405)
    yield case("method-options", lambda: request("OPTIONS", "/ping"), 200)
    for path in ("/sse", "/gen", "/file", "/dl/ok.txt", "/sync"):
        yield case(
            f"head-{path.strip('/').replace('/', '-')}",
            lambda p=path: request("HEAD", p),
            200,
            max_response=4096,
        )
    yield case(
        "post-on-get-route",
        lambda: request("POST", "/ping", [("Content-Type", "text/plain")], b"x"),
        405,
    )


# -- cookies and the session ---------------------------------------------------------


def _cookie_cases() -> Iterator[Case]:
    cookies = {
        "semicolons": ";;;==;=",
        "no-equals": "a",
        "lone-quote": '"',
        "unbalanced-quotes": 'a="b; c=d',
        "bad-escapes": 'a="\\x\\"',
        "latin1": "a=\xe9\xff",
        "1mb": "a=" + "v" * MiB,
        "10k-cookies": "; ".join(f"c{i}=v" for i in range(10_000)),
        "10k-same-name": "; ".join("c=v" for _ in range(10_000)),
        "spaces": "  a  =  b  ",
    }
    for name, value in cookies.items():
        yield case(f"cookie-{name}", get("/cookies", [("Cookie", value)]), 200, 400, 431)
    yield case(
        "cookie-nul", raw(b"GET /cookies HTTP/1.1\r\nHost: x\r\nCookie: a=\x00\r\n\r\n"), 400
    )
    yield case(
        "cookie-1000-headers",
        get("/cookies", [("Cookie", f"c{i}=v") for i in range(1000)]),
        200,
        body_has=b'"count":512',
    )
    # parsed whole, these held the loop 0.3-3 s; the first 512 cookies
    # within 32 KiB are read
    bounded = {
        "200k-pairs": lambda: "; ".join(f"c{i}=v" for i in range(200_000)),
        "1mb-semicolons": lambda: ";" * MiB,
        "1mb-quoted-escapes": lambda: 'a="' + "\\x" * (MiB // 2) + '"',
        "1mb-spaces-and-equals": lambda: " = ;" * (MiB // 4),
    }
    for name, value in bounded.items():
        yield case(
            f"cookie-{name}", lambda v=value: request("GET", "/cookies", [("Cookie", v())]), 200
        )
    yield case(
        "cookie-session-then-200k-pairs",
        lambda: request(
            "GET",
            "/session",
            [("Cookie", "session=x; " + "; ".join(f"c{i}=v" for i in range(200_000)))],
        ),
        200,
        body_has=b'"user":null',
    )
    sessions = {
        "garbage": "not-a-session",
        "dot-only": ".",
        "bad-signature": "eyJ1c2VyIjoiYWRtaW4ifQ.Z0000w.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "compressed-garbage": ".eJzLSM3JyVcozy_KSQEAGgQEXQ.Z0000w.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "compressed-bad-zlib": ".AAAA.Z0000w.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "huge": "a" * 100_000,
        "invalid-base64": "!!!.@@@.###",
        "many-dots": "." * 10_000,
    }
    for name, value in sessions.items():
        yield case(
            f"session-{name}",
            get("/session", [("Cookie", f"session={value}")]),
            200,
            body_has=b'"user":null',
        )


# -- Accept-* ------------------------------------------------------------------------


def _accept_cases() -> Iterator[Case]:
    # parsed whole, a 300 kB Accept-Language held the loop 200 ms; the first
    # 64 entries within 4 KiB are read
    long = {
        "language-300kb-qlist": (
            "Accept-Language",
            lambda: ",".join(f"l{i};q=0.{i % 10}" for i in range(30_000)),
        ),
        "1mb-params": ("Accept", lambda: "a/b" + ";p=1" * (MiB // 4)),
        "1mb-commas": ("Accept", lambda: "," * MiB),
        "1mb-quotes": ("Accept-Charset", lambda: 'a;b="' + '\\"' * (MiB // 2)),
        "encoding-100k-entries": ("Accept-Encoding", lambda: ", ".join(["gzip"] * 100_000)),
        "language-1mb-one-entry": ("Accept-Language", lambda: "x" * MiB),
    }
    for name, (header, value) in long.items():
        yield case(
            f"accept-{name}",
            lambda h=header, v=value: request("GET", "/accept", [(h, v())]),
            200,
        )
    yield case(
        "accept-language-best-in-the-first-64",
        get("/accept", [("Accept-Language", "fr;q=0.9," + ",".join(["xx;q=0.1"] * 10_000))]),
        200,
        body_has=b'"best":"fr"',
    )


# -- redirect targets ---------------------------------------------------------------------


def _redirect_cases() -> Iterator[Case]:
    # (the target, what the response must not hold)
    targets = {
        "crlf-header": ("/next\r\nSet-Cookie: a=1", b"\r\nset-cookie"),
        "crlf-body": ("/next\r\n\r\n<script>alert(1)</script>", b"<script>"),
        "lone-lf": ("/next\nSet-Cookie: a=1", b"\nset-cookie"),
        "lone-cr": ("/next\rSet-Cookie: a=1", b"\rset-cookie"),
        "nul-and-controls": ("/next\x00\x0b\x1f\x7f", b"\x00"),
    }
    for name, (to, lacks) in targets.items():
        query = quote(to)
        for path in ("/redirect", "/redirect-built"):
            yield case(
                f"{path.strip('/')}-{name}",
                lambda p=path, q=query: request("GET", f"{p}?to={q}"),
                302,
                lacks=lacks,
            )
    yield case(
        "redirect-crlf-encoded-in-location",
        get("/redirect?to=" + quote("/next\r\nSet-Cookie: a=1")),
        302,
        body_has=b"\r\nlocation: /next%0D%0ASet-Cookie:%20a=1\r\n",
    )


# -- Range and conditional requests ------------------------------------------------------


def _range_cases() -> Iterator[Case]:
    def rng(value: str, *expect: int, other: str = "Range", **kwargs: object) -> Case:
        return case(
            f"range-{other.lower()}-{value[:40]}-{len(value)}",
            get("/file", [(other, value)]),
            *expect,
            **kwargs,
        )  # type: ignore[arg-type]

    small = 64 * 1024  # the whole file is 10 KiB; no answer may be larger than this
    yield rng(",".join(["0-0"] * 10_000).join(("bytes=", "")), 200, 206, 416, max_response=small)
    yield rng(
        "bytes=" + ",".join(f"{i}-{i}" for i in range(5000)), 200, 206, 416, max_response=small
    )
    yield rng("bytes=" + ",".join(["0-"] * 1000), 200, 206, 416, max_response=small)
    yield rng("bytes=0-10,5-15", 200, 206, max_response=small)
    yield rng("bytes=5-1", 200, 416)
    yield rng("bytes=0-99999999999999999999999", 206)
    yield rng("bytes=99999999999999999999999-", 416)
    yield rng("bytes=20000-", 416)
    yield rng("bytes=-0", 200, 416)
    yield rng("bytes=-99999999999999999999", 200, 206)
    yield rng("bytes=--1", 200, 416)
    yield rng("bytes=-1-2", 200, 416)
    yield rng("bytes=abc", 200, 416)
    yield rng("bytes=", 200, 416)
    yield rng("bytes=0-1,", 200, 206, 416)
    yield rng("items=0-1", 200, 416)
    yield rng("bytes=0-1" + " " * 10_000, 200, 206, 416)
    yield rng("bytes=\xff-\xfe", 200, 416)
    for header in (
        "If-Range",
        "If-None-Match",
        "If-Modified-Since",
        "If-Unmodified-Since",
        "If-Match",
    ):
        for value in (
            '"',
            "W/",
            "*,*,*",
            "garbage date",
            "Mon, 99 Foo 9999 99:99:99 GMT",
            "x" * 10_000,
            ",".join(['"a"'] * 5000),
        ):
            kwargs = {"other": header}
            expect = (
                (200, 206, 304, 412)
                if header in ("If-Match", "If-Unmodified-Since", "If-None-Match")
                else (200,)
            )
            yield rng(value, *expect, **kwargs)
    yield case(
        "range-with-garbage-if-range",
        get("/file", [("Range", "bytes=0-1"), ("If-Range", "nonsense")]),
        200,
        206,
    )


# -- send_from_directory traversal ----------------------------------------------------------


def _traversal_cases() -> Iterator[Case]:
    yield case("path-control-ok", get("/dl/ok.txt"), 200, body_has=b"ok")
    yield case("path-control-sub", get("/dl/sub/inner.txt"), 200, body_has=b"inner")
    yield case("path-control-static", get("/static/ok.txt"), 200, body_has=b"ok")
    yield case("path-symlink-inside", get("/dl/link_in"), 200, body_has=b"ok")
    bad = [
        "../secret.txt",
        "../app.py",
        "sub/../../secret.txt",
        "%2e%2e/secret.txt",
        "%2e%2e%2fsecret.txt",
        "..%2fsecret.txt",
        "..%2Fsecret.txt",
        "%2E%2E%2Fsecret.txt",
        "..%5csecret.txt",
        "..\\secret.txt",
        "sub\\..\\..\\secret.txt",
        "%252e%252e/secret.txt",
        "....//secret.txt",
        "..;/secret.txt",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        "//etc/passwd",
        "C:\\Windows\\win.ini",
        "C:/Windows/win.ini",
        "ok.txt%00.png",
        "%00",
        "ok.txt%00",
        "link_out",
        "link_out/",
        "sub",
        "sub/",
        ".",
        "%c0%ae%c0%ae/secret.txt",
        "%e0%80%ae%e0%80%ae/secret.txt",
        "\u2025/secret.txt",
    ]
    for i, name in enumerate(bad):
        # a doubled slash is merged by a redirect, to a path that is a 404
        expect = (308, 404) if name.startswith(("/", "%2f")) else (400, 404)
        for prefix in ("/dl/", "/static/"):
            yield case(
                f"path-{prefix.strip('/')}-{i:02d}-{name[:20].encode('ascii', 'replace').decode()}",
                lambda p=prefix, n=name: request("GET", p + quote(n, safe="/%")),
                *expect,
            )
    yield case(
        "path-raw-backslash",
        raw(b"GET /dl/..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        400,
        404,
    )
    yield case("path-raw-nul", raw(b"GET /dl/ok.txt\x00 HTTP/1.1\r\nHost: x\r\n\r\n"), 400, 404)


# -- query strings --------------------------------------------------------------------


def _query_cases() -> Iterator[Case]:
    # uvicorn (httptools) refuses a request target over 64 KiB
    for name, qs in {
        "100k-params": lambda: "&".join(f"p{i}={i}" for i in range(100_000)),
        "100k-ampersands": lambda: "&" * 100_000,
        "1mb-value": lambda: "a=" + "v" * MiB,
    }.items():
        yield case(f"query-{name}", lambda q=qs: request("GET", f"/args?{q()}"), 400)
    queries = {
        "6k-params": lambda: "&".join(f"p{i}={i}" for i in range(6_000)),
        "10k-escaped-params": lambda: "a=%41&" * 10_000,
        "20k-same-param": lambda: "a=1&" * 15_000,
        "60k-ampersands": lambda: "&" * 60_000,
        "60kb-value": lambda: "a=" + "v" * 60_000,
        "invalid-utf8": lambda: "a=%ff%fe&b=%c3",
        "lone-percent": lambda: "a=%&b=%z",
        "encoded-nul": lambda: "a=%00",
        "only-equals": lambda: "=&==&===",
        "brackets": lambda: "a[]=1&a[b]=2",
    }
    for name, qs in queries.items():
        for path in ("/args", "/sync"):
            yield case(
                f"query-{path.strip('/')}-{name}",
                lambda p=path, q=qs: request("GET", f"{p}?{q()}"),
                200,
            )
    yield case(
        "query-raw-invalid-utf8",
        raw(b"GET /args?a=\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        200,
        400,
    )
    yield case(
        "query-on-post-form",
        lambda: request(
            "POST",
            "/args?" + "&".join(f"p{i}" for i in range(10_000)),
            [("Content-Type", FORM)],
            b"a=1",
        ),
        200,
    )


def _all() -> list[Case]:
    cases = [
        *_json_cases(),
        *_urlencoded_cases(),
        *_multipart_cases(),
        *_framing_cases(),
        *_header_cases(),
        *_cookie_cases(),
        *_accept_cases(),
        *_redirect_cases(),
        *_range_cases(),
        *_traversal_cases(),
        *_query_cases(),
    ]
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:  # pragma: no cover - a mistake in this table
        raise ValueError(f"duplicate case ids: {sorted(duplicates)}")
    return cases


#: Every case of the corpus.
CASES = _all()
