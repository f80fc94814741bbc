"""Config and trust: TRUSTED_HOSTS, SERVER_NAME, APPLICATION_ROOT and the
ASGI root_path, PREFERRED_URL_SCHEME, config loading and app.logger,
compared with Flask 3.1."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import flask
import pytest

from asyncflask import Flask, redirect, request, session, url_for
from asyncflask.testing import ASGITransport, TestClient

# -- defaults ----------------------------------------------------------------------------


def test_default_config_is_flasks() -> None:
    ours = dict(Flask("a").config)
    theirs = dict(flask.Flask("a").config)
    assert ours == theirs


def test_config_class_is_flasks() -> None:
    assert isinstance(Flask("a").config, flask.Config)


def test_secret_key_and_debug_properties(app: Flask) -> None:
    app.config["SECRET_KEY"] = "k"
    assert app.secret_key == "k"
    app.debug = True
    assert app.config["DEBUG"] is True
    app.testing = True
    assert app.config["TESTING"] is True


# -- TRUSTED_HOSTS ------------------------------------------------------------------------


@pytest.fixture
def hosts_app(app: Flask) -> Flask:
    @app.route("/")
    async def index() -> str:
        return request.host

    return app


@pytest.mark.parametrize(
    ("trusted", "host", "status"),
    [
        (None, "anything.example", 200),
        (["example.com"], "example.com", 200),
        (["example.com"], "example.com:8080", 200),
        (["example.com"], "evil.com", 400),
        (["example.com"], "sub.example.com", 400),
        ([".example.com"], "sub.example.com", 200),
        ([".example.com"], "example.com", 200),
        ([".example.com"], "example.org", 400),
        (["localhost", "example.com"], "localhost", 200),
    ],
)
async def test_trusted_hosts(
    hosts_app: Flask, client: TestClient, trusted: list[str] | None, host: str, status: int
) -> None:
    hosts_app.config["TRUSTED_HOSTS"] = trusted
    r = await client.get("/", headers={"Host": host})
    assert r.status_code == status
    if status == 200:
        assert r.text == host

    fapp = flask.Flask("reference")
    fapp.config["TRUSTED_HOSTS"] = trusted
    fapp.add_url_rule("/", "index", lambda: flask.request.host)
    assert fapp.test_client().get("/", headers={"Host": host}).status_code == status


async def test_untrusted_host_runs_error_handler(hosts_app: Flask, client: TestClient) -> None:
    hosts_app.config["TRUSTED_HOSTS"] = ["example.com"]

    @hosts_app.errorhandler(400)
    async def bad(e: Any) -> tuple[str, int]:
        return "bad host", 400

    r = await client.get("/", headers={"Host": "evil.com"})
    assert r.status_code == 400
    assert r.text == "bad host"


async def test_untrusted_host_view_not_called(hosts_app: Flask, client: TestClient) -> None:
    called: list[str] = []

    @hosts_app.route("/side-effect")
    async def side_effect() -> str:
        called.append("view")
        return "ok"

    hosts_app.config["TRUSTED_HOSTS"] = ["example.com"]
    assert (await client.get("/side-effect", headers={"Host": "evil.com"})).status_code == 400
    assert called == []


# -- SERVER_NAME, APPLICATION_ROOT, PREFERRED_URL_SCHEME: url_for outside a request ------------


def _routes(target: Any) -> None:
    target.add_url_rule("/page/<int:n>", "page", lambda n: str(n))
    target.add_url_rule("/", "index", lambda: "index")


@pytest.mark.parametrize(
    "config",
    [
        {"SERVER_NAME": "example.com"},
        {"SERVER_NAME": "example.com:8080"},
        {"SERVER_NAME": "example.com", "PREFERRED_URL_SCHEME": "https"},
        {"SERVER_NAME": "example.com", "APPLICATION_ROOT": "/app"},
        {
            "SERVER_NAME": "example.com",
            "APPLICATION_ROOT": "/app/",
            "PREFERRED_URL_SCHEME": "https",
        },
    ],
)
async def test_url_for_outside_request_matches_flask(app: Flask, config: dict[str, Any]) -> None:
    _routes(app)
    app.config.update(config)
    fapp = flask.Flask("reference")
    _routes(fapp)
    fapp.config.update(config)
    calls: list[dict[str, Any]] = [
        {"endpoint": "page", "n": 3},
        {"endpoint": "page", "n": 3, "q": "x y"},
        {"endpoint": "index", "_external": False},
        {"endpoint": "index", "_anchor": "top"},
        {"endpoint": "index", "_scheme": "ftp"},
    ]
    with fapp.app_context():
        expected = [flask.url_for(**c) for c in calls]
    async with app.app_context():
        ours = [url_for(**c) for c in calls]
    assert ours == expected
    assert ours[0].startswith(("http://example.com", "https://example.com"))


async def test_url_for_outside_request_without_server_name(app: Flask) -> None:
    _routes(app)
    async with app.app_context():
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            url_for("index")


async def test_app_url_for_without_any_context(app: Flask) -> None:
    _routes(app)
    app.config.update(SERVER_NAME="example.com", PREFERRED_URL_SCHEME="https")
    assert app.url_for("page", n=1) == "https://example.com/page/1"


async def test_server_name_does_not_restrict_hosts(app: Flask, client: TestClient) -> None:
    # Flask 3.1: SERVER_NAME no longer restricts requests to that host
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/")
    async def index() -> str:
        return url_for("index", _external=True)

    fapp = flask.Flask("reference")
    fapp.config["SERVER_NAME"] = "example.com"
    fapp.add_url_rule("/", "index", lambda: flask.url_for("index", _external=True))
    fr = fapp.test_client().get("/", headers={"Host": "other.org"})
    r = await client.get("/", headers={"Host": "other.org"})
    assert r.status_code == fr.status_code
    assert r.text == fr.text


async def test_preferred_scheme_inside_request(app: Flask, client: TestClient) -> None:
    app.config["PREFERRED_URL_SCHEME"] = "https"

    @app.route("/")
    async def index() -> str:
        return url_for("index", _external=True)

    # inside a request the request's own scheme wins, as in Flask
    assert (await client.get("http://localhost/")).text == "http://localhost/"
    fapp = flask.Flask("reference")
    fapp.config["PREFERRED_URL_SCHEME"] = "https"
    fapp.add_url_rule("/", "index", lambda: flask.url_for("index", _external=True))
    fclient = fapp.test_client()
    assert fclient.get("/", base_url="http://localhost/").text == "http://localhost/"


@pytest.mark.parametrize(
    "config",
    [
        {"PREFERRED_URL_SCHEME": "https"},
        {"SERVER_NAME": "example.com"},
        {"SERVER_NAME": "example.com:8080", "PREFERRED_URL_SCHEME": "https"},
    ],
)
async def test_test_client_requests_preferred_scheme_and_server_name(
    app: Flask, config: dict[str, Any]
) -> None:
    # Flask's test client sends requests to PREFERRED_URL_SCHEME://SERVER_NAME
    app.config.update(config)

    @app.route("/")
    async def index() -> str:
        return request.url

    fapp = flask.Flask("reference")
    fapp.config.update(config)
    fapp.add_url_rule("/", "index", lambda: flask.request.url)
    expected = fapp.test_client().get("/").text
    async with app.test_client() as client:
        assert (await client.get("/")).text == expected


# -- the ASGI root_path --------------------------------------------------------------------------


@pytest.fixture
async def rooted(app: Flask) -> AsyncIterator[TestClient]:
    app.secret_key = "root"

    @app.route("/x")
    async def x() -> dict[str, Any]:
        return {
            "path": request.path,
            "script_root": request.script_root,
            "root_path": request.root_path,
            "url": request.url,
            "full_path": request.full_path,
            "url_for": url_for("x"),
            "external": url_for("x", _external=True),
        }

    @app.route("/go")
    async def go() -> Any:
        return redirect(url_for("x"))

    @app.route("/set")
    async def set_() -> str:
        session["k"] = "v"
        return "ok"

    async with app.test_client(transport=ASGITransport(app, root_path="/app")) as client:
        yield client


async def test_root_path(rooted: TestClient) -> None:
    r = await rooted.get("/x?a=1")
    assert r.status_code == 200
    data = r.get_json()
    fapp = flask.Flask("reference")

    @fapp.route("/x")
    def x() -> dict[str, Any]:
        return {
            "path": flask.request.path,
            "script_root": flask.request.script_root,
            "root_path": flask.request.root_path,
            "url": flask.request.url,
            "full_path": flask.request.full_path,
            "url_for": flask.url_for("x"),
            "external": flask.url_for("x", _external=True),
        }

    expected = fapp.test_client().get("/x?a=1", base_url="http://localhost/app").get_json()
    assert data == expected
    assert data["path"] == "/x"
    assert data["url_for"] == "/app/x"
    assert data["external"] == "http://localhost/app/x"


async def test_root_path_redirect(rooted: TestClient) -> None:
    r = await rooted.get("/go")
    assert r.status_code == 302
    assert r.headers["Location"] == "/app/x"


async def test_root_path_unknown_route(rooted: TestClient) -> None:
    assert (await rooted.get("/nope")).status_code == 404


async def test_application_root_sets_session_cookie_path(app: Flask, client: TestClient) -> None:
    app.secret_key = "root"
    app.config["APPLICATION_ROOT"] = "/app"

    @app.route("/set")
    async def set_() -> str:
        session["k"] = "v"
        return "ok"

    r = await client.get("/set")
    assert "Path=/app" in r.headers["Set-Cookie"]


# -- config loading -----------------------------------------------------------------------------


class BaseConfig:
    DEBUG = False
    SECRET_KEY = "from-object"
    CUSTOM_SETTING = (1, 2)
    lowercase_ignored = "no"


class DevConfig(BaseConfig):
    DEBUG = True


def test_from_object(app: Flask) -> None:
    app.config.from_object(DevConfig)
    assert app.config["DEBUG"] is True
    assert app.debug is True
    assert app.config["SECRET_KEY"] == "from-object"
    assert app.secret_key == "from-object"
    assert app.config["CUSTOM_SETTING"] == (1, 2)
    assert "lowercase_ignored" not in app.config


def test_from_object_import_string(app: Flask) -> None:
    app.config.from_object("tests.app.test_config.BaseConfig")
    assert app.config["SECRET_KEY"] == "from-object"


def test_from_prefixed_env(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-env")
    monkeypatch.setenv("FLASK_MAX_CONTENT_LENGTH", "1024")
    monkeypatch.setenv("FLASK_TESTING", "true")
    monkeypatch.setenv("FLASK_LIST", "[1, 2]")
    monkeypatch.setenv("FLASK_NESTED__inner", "3")
    monkeypatch.setenv("MYAPP_NAME", "custom prefix")
    app.config["NESTED"] = {}
    app.config.from_prefixed_env()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["MAX_CONTENT_LENGTH"] == 1024
    assert app.config["TESTING"] is True
    assert app.config["LIST"] == [1, 2]
    assert app.config["NESTED"] == {"inner": 3}
    assert "NAME" not in app.config
    app.config.from_prefixed_env("MYAPP")
    assert app.config["NAME"] == "custom prefix"


async def test_from_prefixed_env_takes_effect(
    app: Flask, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_MAX_CONTENT_LENGTH", "10")

    @app.post("/upload")
    async def upload() -> str:
        return str(len(await request.get_data()))

    app.config.from_prefixed_env()
    assert (await client.post("/upload", data=b"12345")).text == "5"
    assert (await client.post("/upload", data=b"x" * 11)).status_code == 413


def test_from_file_json(app: Flask, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"SECRET_KEY": "from-json", "ITEMS": [1, 2], "lower": 1})
    )
    assert app.config.from_file(str(tmp_path / "config.json"), load=json.load) is True
    assert app.config["SECRET_KEY"] == "from-json"
    assert app.config["ITEMS"] == [1, 2]
    assert "lower" not in app.config


def test_from_file_missing(app: Flask, tmp_path: Path) -> None:
    assert app.config.from_file(str(tmp_path / "none.json"), json.load, silent=True) is False
    with pytest.raises(FileNotFoundError):
        app.config.from_file(str(tmp_path / "none.json"), json.load)


def test_from_file_relative_to_root_path(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"A_SETTING": "rooted"}')
    app = Flask("rooted", root_path=str(tmp_path))
    app.config.from_file("settings.json", load=json.load)
    assert app.config["A_SETTING"] == "rooted"


def test_from_pyfile_and_envvar(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "settings.py").write_text("SECRET_KEY = 'from-py'\nlower = 1\n")
    app.config.from_pyfile(str(tmp_path / "settings.py"))
    assert app.config["SECRET_KEY"] == "from-py"
    assert "lower" not in app.config
    (tmp_path / "other.py").write_text("OTHER = 2\n")
    monkeypatch.setenv("APP_SETTINGS", str(tmp_path / "other.py"))
    app.config.from_envvar("APP_SETTINGS")
    assert app.config["OTHER"] == 2


def test_instance_relative_config(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "cfg.py").write_text("INSTANCE_VALUE = 'inst'\n")
    app = Flask("inst", instance_path=str(instance), instance_relative_config=True)
    app.config.from_pyfile("cfg.py")
    assert app.config["INSTANCE_VALUE"] == "inst"


def test_from_mapping_and_namespace(app: Flask) -> None:
    app.config.from_mapping({"IMAGE_STORE_TYPE": "fs", "IMAGE_STORE_PATH": "/x"}, OTHER=1)
    assert app.config.get_namespace("IMAGE_STORE_") == {"type": "fs", "path": "/x"}
    assert app.config["OTHER"] == 1


async def test_config_visible_through_current_app(app: Flask, client: TestClient) -> None:
    app.config["GREETING"] = "hello"

    @app.route("/")
    async def index() -> str:
        from asyncflask import current_app

        return str(current_app.config["GREETING"])

    assert (await client.get("/")).text == "hello"


# -- app.logger ----------------------------------------------------------------------------


def test_logger_is_named_after_the_app(app: Flask) -> None:
    assert app.logger is logging.getLogger("testapp")
    assert app.logger.name == flask.Flask("testapp").logger.name


def test_logger_level_follows_debug() -> None:
    app = Flask("debuglogger")
    app.debug = True
    assert app.logger.level == logging.DEBUG


async def test_logger_logs_from_view(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/")
    async def index() -> str:
        app.logger.warning("view says %s", "hi")
        return "ok"

    with caplog.at_level(logging.INFO, logger="testapp"):
        await client.get("/")
    records = [r for r in caplog.records if r.name == "testapp"]
    assert [r.getMessage() for r in records] == ["view says hi"]
    assert records[0].levelno == logging.WARNING


async def test_logger_logs_unhandled_exception(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/boom")
    async def boom() -> str:
        raise RuntimeError("kaput")

    with caplog.at_level(logging.ERROR, logger="testapp"):
        r = await client.get("/boom")
    assert r.status_code == 500
    records = [r for r in caplog.records if r.name == "testapp"]
    assert len(records) == 1
    assert records[0].getMessage() == "Exception on /boom [GET]"
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], RuntimeError)
