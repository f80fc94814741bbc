"""Static files: the app's and blueprints' static folders, ``static_url_path``,
``url_for('static', ...)``, conditional requests (ETag/304), Range (206/416)
and path traversal, compared with Flask 3.1."""

from __future__ import annotations

import gc
import os
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import flask
import pytest
from werkzeug.http import http_date, parse_date

from asyncflask import Blueprint, Flask, request, send_from_directory, url_for
from asyncflask.testing import TestClient

CSS = b"body { color: red; }\n" * 10  # 210 bytes


@pytest.fixture
def root(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    static.mkdir()
    (static / "style.css").write_bytes(CSS)
    (static / "sub").mkdir()
    (static / "sub" / "app.js").write_text("console.log(1);\n")
    (static / "empty.txt").write_bytes(b"")
    (tmp_path / "secret.txt").write_text("top secret")
    bp_static = tmp_path / "bp" / "assets"
    bp_static.mkdir(parents=True)
    (bp_static / "bp.css").write_text("/* bp */\n")
    # a fixed modification time, so Last-Modified is predictable
    for path in (static / "style.css", bp_static / "bp.css"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return tmp_path


@pytest.fixture
def sapp(root: Path) -> Flask:
    return Flask("staticapp", root_path=str(root))


@pytest.fixture
async def sclient(sapp: Flask) -> AsyncIterator[TestClient]:
    async with sapp.test_client() as client:
        yield client


def _flask(root: Path, **kwargs: Any) -> flask.Flask:
    return flask.Flask("staticapp", root_path=str(root), **kwargs)


def _flask_get(app: flask.Flask, path: str, headers: dict[str, str] | None = None) -> Any:
    """GET from a Flask app, read the body and close the response (and its
    file)."""
    fr = app.test_client().get(path, headers=headers or {})
    fr.get_data()
    fr.close()
    return fr


# -- serving --------------------------------------------------------------------------


async def test_static_file_served(sapp: Flask, sclient: TestClient) -> None:
    r = await sclient.get("/static/style.css")
    assert r.status_code == 200
    assert r.data == CSS
    assert r.mimetype == "text/css"
    assert r.headers["Content-Length"] == str(len(CSS))
    assert r.headers["Last-Modified"] == http_date(1_700_000_000)
    assert "ETag" in r.headers
    assert r.headers["Cache-Control"] == "no-cache"
    assert r.headers["Content-Disposition"] == "inline; filename=style.css"


async def test_static_headers_match_flask(root: Path, sclient: TestClient) -> None:
    r = await sclient.get("/static/style.css")
    fr = _flask_get(_flask(root), "/static/style.css")
    assert fr.status_code == r.status_code == 200
    for name in (
        "Content-Type",
        "Content-Length",
        "Last-Modified",
        "ETag",
        "Cache-Control",
        "Content-Disposition",
        "Accept-Ranges",
    ):
        assert r.headers.get(name) == fr.headers.get(name), name
    assert r.data == fr.data


async def test_static_subfolder(sclient: TestClient) -> None:
    r = await sclient.get("/static/sub/app.js")
    assert r.status_code == 200
    assert r.text == "console.log(1);\n"
    assert r.mimetype in ("text/javascript", "application/javascript")


async def test_static_empty_file(sclient: TestClient) -> None:
    r = await sclient.get("/static/empty.txt")
    assert r.status_code == 200
    assert r.data == b""
    assert r.headers["Content-Length"] == "0"


async def test_static_head(sclient: TestClient) -> None:
    r = await sclient.head("/static/style.css")
    assert r.status_code == 200
    assert r.data == b""
    assert r.headers["Content-Length"] == str(len(CSS))


async def test_static_missing_is_404(sclient: TestClient) -> None:
    assert (await sclient.get("/static/missing.css")).status_code == 404
    assert (await sclient.get("/static/sub")).status_code == 404
    assert (await sclient.get("/static/sub/")).status_code == 404


async def test_static_post_is_405(sclient: TestClient) -> None:
    r = await sclient.post("/static/style.css")
    assert r.status_code == 405
    assert set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


async def test_send_file_max_age(sapp: Flask, sclient: TestClient, root: Path) -> None:
    sapp.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    r = await sclient.get("/static/style.css")
    fapp = _flask(root)
    fapp.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    fr = _flask_get(fapp, "/static/style.css")
    assert r.headers["Cache-Control"] == fr.headers["Cache-Control"] == "public, max-age=3600"
    expires = parse_date(r.headers["Expires"])
    fexpires = parse_date(fr.headers["Expires"])
    assert expires is not None
    assert fexpires is not None
    assert abs((expires - fexpires).total_seconds()) < 5


async def test_get_send_file_max_age_override(root: Path) -> None:
    class App(Flask):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 60 if filename and filename.endswith(".css") else None

    app = App("staticapp", root_path=str(root))
    async with app.test_client() as client:
        assert (await client.get("/static/style.css")).headers[
            "Cache-Control"
        ] == "public, max-age=60"
        assert (await client.get("/static/sub/app.js")).headers["Cache-Control"] == "no-cache"


# -- static_url_path, static_folder and url_for ------------------------------------------------


async def test_url_for_static(sapp: Flask) -> None:
    async with sapp.test_request_context("/"):
        assert url_for("static", filename="style.css") == "/static/style.css"
        assert url_for("static", filename="sub/app.js") == "/static/sub/app.js"
        assert url_for("static", filename="style.css", v=3) == "/static/style.css?v=3"
        assert (
            url_for("static", filename="style.css", _external=True)
            == "http://localhost/static/style.css"
        )


async def test_custom_static_url_path(root: Path) -> None:
    app = Flask("staticapp", root_path=str(root), static_url_path="/assets")
    async with app.test_client() as client:
        assert (await client.get("/assets/style.css")).data == CSS
        assert (await client.get("/static/style.css")).status_code == 404
    async with app.test_request_context("/"):
        assert url_for("static", filename="style.css") == "/assets/style.css"


async def test_empty_static_url_path(root: Path) -> None:
    app = Flask("staticapp", root_path=str(root), static_url_path="")
    async with app.test_client() as client:
        assert (await client.get("/style.css")).data == CSS
    async with app.test_request_context("/"):
        assert url_for("static", filename="style.css") == "/style.css"


async def test_custom_static_folder(root: Path) -> None:
    app = Flask("staticapp", root_path=str(root), static_folder="bp/assets")
    assert app.static_url_path == "/assets"
    async with app.test_client() as client:
        assert (await client.get("/assets/bp.css")).text == "/* bp */\n"
    fapp = _flask(root, static_folder="bp/assets")
    assert fapp.static_url_path == app.static_url_path


async def test_no_static_folder(root: Path) -> None:
    app = Flask("staticapp", root_path=str(root), static_folder=None)
    assert "static" not in app.view_functions
    async with app.test_client() as client:
        assert (await client.get("/static/style.css")).status_code == 404


async def test_blueprint_static_folder(sapp: Flask, sclient: TestClient, root: Path) -> None:
    bp = Blueprint(
        "bp",
        "bpmodule",
        root_path=str(root / "bp"),
        static_folder="assets",
        static_url_path="/bpstatic",
    )
    sapp.register_blueprint(bp, url_prefix="/bp")
    r = await sclient.get("/bp/bpstatic/bp.css")
    assert r.status_code == 200
    assert r.text == "/* bp */\n"
    assert r.mimetype == "text/css"
    assert r.headers["Last-Modified"] == http_date(1_700_000_000)
    async with sapp.test_request_context("/"):
        assert url_for("bp.static", filename="bp.css") == "/bp/bpstatic/bp.css"

    fapp = _flask(root)
    fbp = flask.Blueprint(
        "bp",
        "bpmodule",
        root_path=str(root / "bp"),
        static_folder="assets",
        static_url_path="/bpstatic",
    )
    fapp.register_blueprint(fbp, url_prefix="/bp")
    fr = _flask_get(fapp, "/bp/bpstatic/bp.css")
    assert fr.headers["ETag"] == r.headers["ETag"]
    assert fr.headers["Cache-Control"] == r.headers["Cache-Control"]


async def test_blueprint_static_default_url_path(
    sapp: Flask, sclient: TestClient, root: Path
) -> None:
    bp = Blueprint("bp", "bpmodule", root_path=str(root / "bp"), static_folder="assets")
    sapp.register_blueprint(bp, url_prefix="/bp")
    assert (await sclient.get("/bp/assets/bp.css")).status_code == 200
    async with sapp.test_request_context("/"):
        assert url_for("bp.static", filename="bp.css") == "/bp/assets/bp.css"


async def test_blueprint_relative_static_endpoint(
    sapp: Flask, sclient: TestClient, root: Path
) -> None:
    bp = Blueprint("bp", "bpmodule", root_path=str(root / "bp"), static_folder="assets")

    @bp.route("/link")
    async def link() -> str:
        return url_for(".static", filename="bp.css")

    sapp.register_blueprint(bp, url_prefix="/bp")
    assert (await sclient.get("/bp/link")).text == "/bp/assets/bp.css"


# -- conditional requests -------------------------------------------------------------------


async def test_if_none_match_304(sclient: TestClient) -> None:
    first = await sclient.get("/static/style.css")
    etag = first.headers["ETag"]
    r = await sclient.get("/static/style.css", headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.data == b""
    assert r.headers["ETag"] == etag
    assert "Content-Length" not in r.headers


async def test_if_none_match_other_etag_200(sclient: TestClient) -> None:
    r = await sclient.get("/static/style.css", headers={"If-None-Match": '"other"'})
    assert r.status_code == 200
    assert r.data == CSS


async def test_if_modified_since_304(sclient: TestClient) -> None:
    r = await sclient.get(
        "/static/style.css", headers={"If-Modified-Since": http_date(1_700_000_000)}
    )
    assert r.status_code == 304
    r = await sclient.get(
        "/static/style.css", headers={"If-Modified-Since": http_date(1_600_000_000)}
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": "*"},
        {"If-Modified-Since": http_date(1_700_000_000)},
        {"If-Modified-Since": http_date(1_600_000_000)},
        {"If-Match": '"nope"'},
        {"Range": "bytes=0-9"},
        {"Range": "bytes=-10"},
        {"Range": "bytes=200-"},
        {"Range": "bytes=1000-2000"},
        {"Range": "bytes=0-9", "If-Range": '"nope"'},
        {"Range": "bytes=0-9", "If-Range": http_date(1_700_000_000)},
    ],
)
async def test_conditional_status_matches_flask(
    sclient: TestClient, root: Path, headers: dict[str, str]
) -> None:
    r = await sclient.get("/static/style.css", headers=headers)
    fr = _flask_get(_flask(root), "/static/style.css", headers)
    assert r.status_code == fr.status_code
    assert r.headers.get("Content-Range") == fr.headers.get("Content-Range")
    if fr.status_code in (200, 206, 304):
        assert r.data == fr.data
        assert r.headers.get("ETag") == fr.headers.get("ETag")
        assert r.headers.get("Accept-Ranges") == fr.headers.get("Accept-Ranges")


async def test_if_match(sclient: TestClient) -> None:
    etag = (await sclient.get("/static/style.css")).headers["ETag"]
    assert (await sclient.get("/static/style.css", headers={"If-Match": etag})).status_code == 200
    r = await sclient.get("/static/style.css", headers={"If-Match": '"nope"'})
    assert r.status_code == 412
    assert r.data == b""
    # RFC 9110 13.1.1: "*" matches any current representation. (Werkzeug's
    # make_conditional answers 412 here; asyncflask follows the RFC.)
    assert (await sclient.get("/static/style.css", headers={"If-Match": "*"})).status_code == 200


async def test_if_unmodified_since(sclient: TestClient) -> None:
    # RFC 9110 13.1.4 (Werkzeug ignores this header; asyncflask does not)
    old = {"If-Unmodified-Since": http_date(1_600_000_000)}
    assert (await sclient.get("/static/style.css", headers=old)).status_code == 412
    same = {"If-Unmodified-Since": http_date(1_700_000_000)}
    assert (await sclient.get("/static/style.css", headers=same)).status_code == 200


async def test_etag_match_with_flask_cookie_of_etag(sclient: TestClient, root: Path) -> None:
    # an ETag that Flask gave for the same file is honoured by asyncflask
    fetag = _flask_get(_flask(root), "/static/style.css").headers["ETag"]
    r = await sclient.get("/static/style.css", headers={"If-None-Match": fetag})
    assert r.status_code == 304


# -- Range ------------------------------------------------------------------------------------


async def test_range_206(sclient: TestClient) -> None:
    r = await sclient.get("/static/style.css", headers={"Range": "bytes=5-9"})
    assert r.status_code == 206
    assert r.data == CSS[5:10]
    assert r.headers["Content-Range"] == f"bytes 5-9/{len(CSS)}"
    assert r.headers["Content-Length"] == "5"
    assert r.headers["Accept-Ranges"] == "bytes"


async def test_range_suffix(sclient: TestClient) -> None:
    r = await sclient.get("/static/style.css", headers={"Range": "bytes=-4"})
    assert r.status_code == 206
    assert r.data == CSS[-4:]


async def test_range_unsatisfiable_416(sclient: TestClient) -> None:
    r = await sclient.get("/static/style.css", headers={"Range": "bytes=5000-6000"})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{len(CSS)}"
    assert r.data == b""


async def test_if_range_current_etag_gives_206(sclient: TestClient) -> None:
    etag = (await sclient.get("/static/style.css")).headers["ETag"]
    r = await sclient.get("/static/style.css", headers={"Range": "bytes=0-3", "If-Range": etag})
    assert r.status_code == 206
    assert r.data == CSS[:4]


async def test_multiple_ranges_never_wrong_body(sclient: TestClient) -> None:
    r = await sclient.get("/static/style.css", headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code in (200, 206)
    if r.status_code == 200:
        assert r.data == CSS
    else:
        assert r.mimetype == "multipart/byteranges"


async def test_range_on_head(sclient: TestClient) -> None:
    r = await sclient.head("/static/style.css", headers={"Range": "bytes=0-9"})
    assert r.status_code == 206
    assert r.data == b""
    assert r.headers["Content-Length"] == "10"


# -- traversal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/sub/%2e%2e/%2e%2e/secret.txt",
        "/static/%2e%2e%2f%2e%2e%2fetc/passwd",
        "/static/..%5csecret.txt",
        "/static/%00style.css",
    ],
)
async def test_static_traversal_404(sclient: TestClient, path: str) -> None:
    r = await sclient.get(path)
    assert r.status_code == 404
    assert b"top secret" not in r.data


@pytest.mark.parametrize(
    "name",
    [
        "../secret.txt",
        "sub/../../secret.txt",
        "/etc/passwd",
        "..\\secret.txt",
        "style.css\x00.txt",
        "",
        ".",
        "sub/..",
    ],
)
async def test_send_from_directory_traversal_404(
    sapp: Flask, sclient: TestClient, root: Path, name: str
) -> None:
    @sapp.route("/files")
    async def files() -> Any:
        return send_from_directory(root / "static", request.args["name"])

    r = await sclient.get("/files", query_string={"name": name})
    assert r.status_code == 404
    assert b"top secret" not in r.data


async def test_send_from_directory_relative_to_root_path(sapp: Flask, sclient: TestClient) -> None:
    @sapp.route("/files/<path:name>")
    async def files(name: str) -> Any:
        return send_from_directory("static", name)

    assert (await sclient.get("/files/style.css")).data == CSS
    assert (await sclient.get("/files/sub/app.js")).status_code == 200
    assert (await sclient.get("/files/nothere")).status_code == 404


async def test_static_host_needs_host_matching(root: Path) -> None:
    """Flask's check, with Flask's exception: a static host only with host
    matching, and host matching with a static folder only with a static host."""
    app = Flask("staticapp", root_path=str(root), host_matching=True, static_host="cdn.test")
    async with app.test_client() as client:
        rv = await client.get("http://cdn.test/static/style.css")
        assert (rv.status_code, rv.content) == (200, CSS)
        assert (await client.get("http://other.test/static/style.css")).status_code == 404
    for kwargs in ({"static_host": "cdn.test"}, {"host_matching": True}):
        with pytest.raises(AssertionError, match="Invalid static_host/host_matching"):
            Flask("staticapp", root_path=str(root), **kwargs)
    Flask("staticapp", root_path=str(root), host_matching=True, static_folder=None)


async def test_app_is_freed_without_the_garbage_collector(root: Path) -> None:
    """As in Flask, the static route does not keep its app alive: the app is
    freed when the last reference to it goes, with no cycle to collect."""
    gc.disable()
    try:
        app = Flask("staticapp", root_path=str(root))
        assert app.view_functions["static"]
        ref = weakref.ref(app)
        del app
        assert ref() is None
    finally:
        gc.enable()
