"""Templates: awaited rendering, streaming, template folders (app and
blueprints), context processors, filters/tests/globals, autoescaping and
auto-reload, compared with Flask 3.1 where the output should be identical."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import flask
import pytest
from jinja2 import TemplateNotFound, TemplateSyntaxError

from asyncflask import (
    Blueprint,
    Flask,
    flash,
    g,
    render_template,
    render_template_string,
    request,
    session,
    stream_template,
    stream_template_string,
)
from asyncflask.testing import TestClient


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tapp(tmp_path: Path) -> Flask:
    """An app rooted in ``tmp_path`` with a ``templates`` folder."""
    (tmp_path / "templates").mkdir()
    app = Flask("tplapp", root_path=str(tmp_path))
    app.secret_key = "templates"
    return app


@pytest.fixture
async def tclient(tapp: Flask) -> AsyncIterator[TestClient]:
    async with tapp.test_client() as client:
        yield client


def _flask_app(tmp_path: Path) -> flask.Flask:
    fapp = flask.Flask("tplapp", root_path=str(tmp_path))
    fapp.secret_key = "templates"
    return fapp


# -- render_template and render_template_string ----------------------------------------


async def test_render_template(tapp: Flask, tclient: TestClient, tmp_path: Path) -> None:
    _write(tmp_path / "templates", "hello.html", "Hello {{ name }}!")

    @tapp.route("/<name>")
    async def hello(name: str) -> str:
        return await render_template("hello.html", name=name)

    r = await tclient.get("/World")
    assert r.status_code == 200
    assert r.text == "Hello World!"
    assert r.mimetype == "text/html"


async def test_render_template_is_a_coroutine(tapp: Flask, tmp_path: Path) -> None:
    _write(tmp_path / "templates", "a.html", "a")
    async with tapp.app_context():
        pending = render_template("a.html")
        assert asyncio.iscoroutine(pending)
        assert await pending == "a"


async def test_render_template_string(tapp: Flask, tclient: TestClient) -> None:
    @tapp.route("/")
    async def index() -> str:
        return await render_template_string("{{ a }} + {{ b }} = {{ a + b }}", a=1, b=2)

    assert (await tclient.get("/")).text == "1 + 2 = 3"


async def test_render_template_subfolder_and_inheritance(
    tapp: Flask, tclient: TestClient, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    _write(folder, "base.html", "<title>{% block title %}{% endblock %}</title>")
    _write(folder, "pages/page.html", '{% extends "base.html" %}{% block title %}T{% endblock %}')
    _write(folder, "pages/inc.html", '[{% include "pages/part.html" %}]')
    _write(folder, "pages/part.html", "part")

    @tapp.route("/page")
    async def page() -> str:
        return await render_template("pages/page.html")

    @tapp.route("/inc")
    async def inc() -> str:
        return await render_template("pages/inc.html")

    assert (await tclient.get("/page")).text == "<title>T</title>"
    assert (await tclient.get("/inc")).text == "[part]"


async def test_render_template_list_picks_first_existing(
    tapp: Flask, tclient: TestClient, tmp_path: Path
) -> None:
    _write(tmp_path / "templates", "second.html", "second")

    @tapp.route("/")
    async def index() -> str:
        return await render_template(["missing.html", "second.html"])

    assert (await tclient.get("/")).text == "second"


async def test_missing_template_is_500(tapp: Flask, tclient: TestClient) -> None:
    errors: list[BaseException] = []

    @tapp.errorhandler(500)
    async def on_500(e: Any) -> tuple[str, int]:
        errors.append(e.original_exception)
        return "error", 500

    @tapp.route("/")
    async def index() -> str:
        return await render_template("missing.html")

    r = await tclient.get("/")
    assert r.status_code == 500
    assert isinstance(errors[0], TemplateNotFound)


async def test_render_outside_request_in_app_context(tapp: Flask) -> None:
    tapp.config["GREETING"] = "hi"
    async with tapp.app_context():
        g.who = "g"
        text = await render_template_string("{{ config.GREETING }} {{ g.who }}")
    assert text == "hi g"


async def test_render_without_app_context_fails(tapp: Flask) -> None:
    with pytest.raises(RuntimeError, match="application context"):
        await render_template_string("x")


async def test_output_matches_flask(tapp: Flask, tclient: TestClient, tmp_path: Path) -> None:
    source = (
        "{% macro item(x) %}<li>{{ x }}</li>{% endmacro %}"
        "<ul>{% for x in items %}{{ item(x) }}{% endfor %}</ul>"
        "{{ data|tojson }} {{ '<b>'|e }} {{ missing is defined }} {{ 3 is odd }}"
    )
    _write(tmp_path / "templates", "same.html", source)
    context = {"items": ["a", "<b>", "&"], "data": {"k": "<v>", "n": [1, 2]}}

    @tapp.route("/")
    async def index() -> str:
        return await render_template("same.html", **context)

    fapp = _flask_app(tmp_path)

    @fapp.route("/")
    def findex() -> str:
        return flask.render_template("same.html", **context)

    expected = fapp.test_client().get("/").text
    assert (await tclient.get("/")).text == expected
    assert "&lt;b&gt;" in expected


# -- streaming -------------------------------------------------------------------


async def test_stream_template_from_view(tapp: Flask, tclient: TestClient, tmp_path: Path) -> None:
    _write(tmp_path / "templates", "list.html", "{% for x in items %}<{{ x }}>{% endfor %}")
    release = asyncio.Event()

    async def items() -> AsyncIterator[str]:
        yield "first"
        await release.wait()
        yield "second"

    @tapp.route("/")
    async def index() -> Any:
        return stream_template("list.html", items=items())

    async def read() -> list[bytes]:
        chunks: list[bytes] = []
        async with tclient.stream("GET", "/") as r:
            assert r.status_code == 200
            assert r.headers["Content-Type"] == "text/html; charset=utf-8"
            assert "Content-Length" not in r.headers
            async for chunk in r.aiter_bytes():
                chunks.append(chunk)
                if b"first" in b"".join(chunks):
                    release.set()
        return chunks

    chunks = await asyncio.wait_for(read(), timeout=5)
    # the first item arrived before the second one existed
    assert b"".join(chunks) == b"<first><second>"
    assert len(chunks) >= 2


async def test_stream_template_string_with_request(tapp: Flask, tclient: TestClient) -> None:
    @tapp.route("/s")
    async def s() -> Any:
        return stream_template_string(
            "{% for i in range(3) %}{{ i }}{{ request.args.sep }}{% endfor %}{{ request.path }}"
        )

    r = await tclient.get("/s", query_string={"sep": ","})
    assert r.status_code == 200
    assert r.text == "0,1,2,/s"


async def test_stream_template_in_response(tapp: Flask, tclient: TestClient) -> None:
    @tapp.route("/")
    async def index() -> Any:
        return tapp.response_class(
            stream_template_string("{{ a }}-{{ b }}", a=1, b=2), mimetype="text/plain"
        )

    r = await tclient.get("/")
    assert r.text == "1-2"
    assert r.mimetype == "text/plain"


async def test_stream_template_autoescapes(
    tapp: Flask, tclient: TestClient, tmp_path: Path
) -> None:
    _write(tmp_path / "templates", "s.html", "{{ v }}")
    _write(tmp_path / "templates", "s.txt", "{{ v }}")

    @tapp.route("/<ext>")
    async def index(ext: str) -> Any:
        return stream_template(f"s.{ext}", v="<i>")

    assert (await tclient.get("/html")).text == "&lt;i&gt;"
    assert (await tclient.get("/txt")).text == "<i>"


# -- template folders: app and blueprints -----------------------------------------------


async def test_custom_app_template_folder(tmp_path: Path) -> None:
    _write(tmp_path / "views", "x.html", "from views")
    app = Flask("custom", root_path=str(tmp_path), template_folder="views")

    @app.route("/")
    async def index() -> str:
        return await render_template("x.html")

    async with app.test_client() as client:
        assert (await client.get("/")).text == "from views"


async def test_blueprint_template_folder(tapp: Flask, tclient: TestClient, tmp_path: Path) -> None:
    bp_root = tmp_path / "bp"
    _write(bp_root / "bp_templates", "bp/page.html", "bp page {{ request.blueprint }}")
    _write(bp_root / "bp_templates", "shared.html", "blueprint shared")
    _write(tmp_path / "templates", "shared.html", "app shared")
    bp = Blueprint("bp", "bpmodule", root_path=str(bp_root), template_folder="bp_templates")

    @bp.route("/page")
    async def page() -> str:
        return await render_template("bp/page.html")

    @bp.route("/shared")
    async def shared() -> str:
        return await render_template("shared.html")

    tapp.register_blueprint(bp, url_prefix="/bp")
    assert (await tclient.get("/bp/page")).text == "bp page bp"
    # the app's folder comes first, as in Flask
    assert (await tclient.get("/bp/shared")).text == "app shared"

    fapp = _flask_app(tmp_path)
    fbp = flask.Blueprint("bp", "bpmodule", root_path=str(bp_root), template_folder="bp_templates")

    @fbp.route("/shared")
    def fshared() -> str:
        return flask.render_template("shared.html")

    fapp.register_blueprint(fbp, url_prefix="/bp")
    assert fapp.test_client().get("/bp/shared").text == "app shared"


async def test_blueprint_template_usable_from_app_view(
    tapp: Flask, tclient: TestClient, tmp_path: Path
) -> None:
    _write(tmp_path / "bp" / "templates", "only_in_bp.html", "found")
    tapp.register_blueprint(
        Blueprint("bp", "bpmodule", root_path=str(tmp_path / "bp"), template_folder="templates")
    )

    @tapp.route("/")
    async def index() -> str:
        return await render_template("only_in_bp.html")

    assert (await tclient.get("/")).text == "found"


# -- context processors and what templates see ------------------------------------------


async def test_flask_names_available_in_templates(tapp: Flask, tclient: TestClient) -> None:
    tapp.config["SITE"] = "example"

    @tapp.route("/set")
    async def set_() -> str:
        session["user"] = "alice"
        flash("hello there")
        return "ok"

    @tapp.route("/page")
    async def page() -> str:
        g.color = "blue"
        return await render_template_string(
            "{{ request.path }}|{{ request.args.q }}|{{ session.user }}|{{ g.color }}"
            "|{{ url_for('page', x=1) }}|{{ get_flashed_messages() }}|{{ config.SITE }}"
            "|{{ config['SITE'] }}"
        )

    await tclient.get("/set")
    r = await tclient.get("/page", query_string={"q": "z"})
    assert r.text == "/page|z|alice|blue|/page?x=1|[&#39;hello there&#39;]|example|example"


async def test_names_match_flask(tapp: Flask, tclient: TestClient, tmp_path: Path) -> None:
    source = (
        "{{ request.url }} {{ request.method }} {{ url_for('p', _external=True) }}"
        " {{ session.get('k') }} {{ g.get('v', 'none') }} {{ config.DEBUG }}"
    )

    @tapp.route("/p")
    async def p() -> str:
        return await render_template_string(source)

    fapp = _flask_app(tmp_path)

    @fapp.route("/p", endpoint="p")
    def fp() -> str:
        return flask.render_template_string(source)

    expected = fapp.test_client().get("/p?a=1").text
    assert (await tclient.get("/p?a=1")).text == expected


async def test_sync_and_async_context_processors(tapp: Flask, tclient: TestClient) -> None:
    @tapp.context_processor
    def sync_processor() -> dict[str, Any]:
        return {"sync_value": "S", "from_request": request.args.get("q"), "shared": "sync"}

    @tapp.context_processor
    async def async_processor() -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"async_value": "A", "user": session.get("user"), "shared": "async"}

    @tapp.route("/")
    async def index() -> str:
        session["user"] = "u"
        return await render_template_string(
            "{{ sync_value }}{{ async_value }}{{ from_request }}{{ user }}{{ shared }}"
        )

    assert (await tclient.get("/?q=Q")).text == "SAQuasync"


async def test_context_processor_loses_to_explicit_context(
    tapp: Flask, tclient: TestClient
) -> None:
    @tapp.context_processor
    def proc() -> dict[str, Any]:
        return {"name": "processor"}

    @tapp.route("/")
    async def index() -> str:
        return await render_template_string("{{ name }}", name="explicit")

    assert (await tclient.get("/")).text == "explicit"


async def test_context_processor_function_value(tapp: Flask, tclient: TestClient) -> None:
    @tapp.context_processor
    def utilities() -> dict[str, Callable[..., str]]:
        def money(amount: float, currency: str = "€") -> str:
            return f"{amount:.2f}{currency}"

        return {"money": money}

    @tapp.route("/")
    async def index() -> str:
        return await render_template_string("{{ money(3) }}")

    assert (await tclient.get("/")).text == "3.00€"


async def test_blueprint_context_processors(tapp: Flask, tclient: TestClient) -> None:
    bp = Blueprint("bp", __name__)

    @bp.context_processor
    def bp_only() -> dict[str, Any]:
        return {"scope": "blueprint"}

    @bp.app_context_processor
    def everywhere() -> dict[str, Any]:
        return {"everywhere": "yes"}

    source = "{{ scope|default('none') }} {{ everywhere }}"

    @bp.route("/in")
    async def inside() -> str:
        return await render_template_string(source)

    @tapp.route("/out")
    async def outside() -> str:
        return await render_template_string(source)

    tapp.register_blueprint(bp, url_prefix="/bp")
    assert (await tclient.get("/bp/in")).text == "blueprint yes"
    assert (await tclient.get("/out")).text == "none yes"


async def test_context_processors_in_stream_template(tapp: Flask, tclient: TestClient) -> None:
    @tapp.context_processor
    async def proc() -> dict[str, Any]:
        return {"v": request.args["v"]}

    @tapp.route("/")
    async def index() -> Any:
        return stream_template_string("{{ v }}")

    assert (await tclient.get("/?v=streamed")).text == "streamed"


# -- filters, tests and globals -------------------------------------------------------------


async def test_template_filter_test_global(tapp: Flask, tclient: TestClient) -> None:
    @tapp.template_filter()
    def reverse(s: str) -> str:
        return s[::-1]

    @tapp.template_filter("shout")
    def loud(s: str) -> str:
        return s.upper() + "!"

    def double(x: int) -> int:
        return x * 2

    tapp.add_template_filter(double)

    @tapp.template_test()
    def even(n: int) -> bool:
        return n % 2 == 0

    @tapp.template_test("big")
    def is_big(n: int) -> bool:
        return n > 100

    tapp.add_template_test(lambda s: s == s[::-1], "palindrome")

    @tapp.template_global()
    def answer() -> int:
        return 42

    tapp.add_template_global("a global value", "gv")

    @tapp.route("/")
    async def index() -> str:
        return await render_template_string(
            "{{ 'abc'|reverse }} {{ 'hi'|shout }} {{ 4|double }} {{ 4 is even }}"
            " {{ 5 is even }} {{ 101 is big }} {{ 'aba' is palindrome }} {{ answer() }}"
            " {{ gv }}"
        )

    assert (await tclient.get("/")).text == "cba HI! 8 True False True True 42 a global value"
    assert tapp.jinja_env.filters["reverse"] is reverse
    assert tapp.jinja_env.tests["big"] is is_big
    assert tapp.jinja_env.globals["answer"] is answer


async def test_blueprint_app_template_filter_test_global(tapp: Flask, tclient: TestClient) -> None:
    bp = Blueprint("bp", __name__)

    @bp.app_template_filter()
    def exclaim(s: str) -> str:
        return s + "!"

    @bp.app_template_test()
    def short(s: str) -> bool:
        return len(s) < 3

    @bp.app_template_global()
    def site() -> str:
        return "bp-site"

    tapp.register_blueprint(bp)

    @tapp.route("/")
    async def index() -> str:
        return await render_template_string("{{ 'a'|exclaim }} {{ 'ab' is short }} {{ site() }}")

    assert (await tclient.get("/")).text == "a! True bp-site"


async def test_async_global_function_is_awaited(tapp: Flask, tclient: TestClient) -> None:
    @tapp.template_global()
    async def fetch(n: int) -> str:
        await asyncio.sleep(0)
        return f"fetched {n}"

    @tapp.route("/")
    async def index() -> str:
        return await render_template_string("{{ fetch(1) }}")

    assert (await tclient.get("/")).text == "fetched 1"


async def test_tojson_filter_uses_app_json(tapp: Flask, tclient: TestClient) -> None:
    @tapp.route("/")
    async def index() -> str:
        return await render_template_string(
            "<script>var x = {{ data|tojson }};</script>", data={"a": "</script>", "b": [1]}
        )

    text = (await tclient.get("/")).text
    assert text == '<script>var x = {"a": "\\u003c/script\\u003e", "b": [1]};</script>'


# -- autoescaping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("t.html", True),
        ("t.htm", True),
        ("t.xml", True),
        ("t.xhtml", True),
        ("t.svg", True),
        ("t.txt", False),
        ("t.md", False),
        ("t.j2", False),
    ],
)
async def test_autoescape_by_extension(
    tapp: Flask, tclient: TestClient, tmp_path: Path, name: str, escaped: bool
) -> None:
    _write(tmp_path / "templates", name, "{{ v }}")

    @tapp.route("/")
    async def index() -> str:
        return await render_template(name, v="<b>&'\"")

    fapp = _flask_app(tmp_path)

    @fapp.route("/")
    def findex() -> str:
        return flask.render_template(name, v="<b>&'\"")

    text = (await tclient.get("/")).text
    assert text == fapp.test_client().get("/").text
    assert text == ("&lt;b&gt;&amp;&#39;&#34;" if escaped else "<b>&'\"")


async def test_autoescape_safe_and_markup(tapp: Flask, tclient: TestClient, tmp_path: Path) -> None:
    from markupsafe import Markup

    _write(tmp_path / "templates", "safe.html", "{{ a|safe }} {{ b }} {{ c }}")

    @tapp.route("/")
    async def index() -> str:
        return await render_template("safe.html", a="<i>a</i>", b=Markup("<i>b</i>"), c="<i>c</i>")

    assert (await tclient.get("/")).text == "<i>a</i> <i>b</i> &lt;i&gt;c&lt;/i&gt;"


async def test_render_template_string_autoescapes(tapp: Flask, tclient: TestClient) -> None:
    @tapp.route("/")
    async def index() -> str:
        return await render_template_string(
            "{{ v }} {% autoescape false %}{{ v }}{% endautoescape %}", v="<x>"
        )

    assert (await tclient.get("/")).text == "&lt;x&gt; <x>"


# -- TEMPLATES_AUTO_RELOAD ----------------------------------------------------------------


def _bump(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, (stat.st_atime + 10, stat.st_mtime + 10))


@pytest.mark.parametrize(
    ("auto_reload", "debug", "reloads"),
    [(True, False, True), (False, False, False), (None, False, False), (None, True, True)],
)
async def test_templates_auto_reload(
    tmp_path: Path, auto_reload: bool | None, debug: bool, reloads: bool
) -> None:
    path = _write(tmp_path / "templates", "r.html", "version 1")
    app = Flask("reload", root_path=str(tmp_path))
    app.config["TEMPLATES_AUTO_RELOAD"] = auto_reload
    app.config["DEBUG"] = debug

    @app.route("/")
    async def index() -> str:
        return await render_template("r.html")

    async with app.test_client() as client:
        assert (await client.get("/")).text == "version 1"
        _bump(path, "version 2")
        expected = "version 2" if reloads else "version 1"
        assert (await client.get("/")).text == expected

    # the same as Flask
    path.write_text("version 1", encoding="utf-8")
    fapp = flask.Flask("reload", root_path=str(tmp_path))
    fapp.config["TEMPLATES_AUTO_RELOAD"] = auto_reload
    fapp.config["DEBUG"] = debug

    @fapp.route("/")
    def findex() -> str:
        return flask.render_template("r.html")

    fclient = fapp.test_client()
    assert fclient.get("/").text == "version 1"
    _bump(path, "version 2")
    assert fclient.get("/").text == expected


async def test_debug_setter_turns_auto_reload_on(tmp_path: Path) -> None:
    path = _write(tmp_path / "templates", "r.html", "one")
    app = Flask("reload", root_path=str(tmp_path))

    @app.route("/")
    async def index() -> str:
        return await render_template("r.html")

    async with app.test_client() as client:
        assert (await client.get("/")).text == "one"
        app.debug = True
        assert app.jinja_env.auto_reload is True
        _bump(path, "two")
        assert (await client.get("/")).text == "two"


async def test_jinja_env_is_async(tapp: Flask) -> None:
    assert tapp.jinja_env.is_async is True
    assert tapp.jinja_env.globals["config"] is tapp.config


# -- rendering from plain code ----------------------------------------------------------


PAGE = (
    "{% from '_macros.html' import hello %}{{ hello(name) }}|{{ request.path }}"
    "|{{ site }}|{{ v|shout }}|{{ 4 is even }}|{{ proc }}"
)


@pytest.fixture
def plain_app(tapp: Flask, tmp_path: Path) -> Flask:
    """An app with a macro file, a page importing it, a global, a filter, a
    test and a context processor, as an extension would set up."""
    _write(tmp_path / "templates", "_macros.html", "{% macro hello(n) %}Hi {{ n }}!{% endmacro %}")
    _write(tmp_path / "templates", "page.html", PAGE)
    tapp.jinja_env.globals["site"] = "S"
    tapp.jinja_env.filters["shout"] = lambda s: f"{s}!".upper()
    tapp.jinja_env.tests["even"] = lambda n: n % 2 == 0

    @tapp.context_processor
    def proc() -> dict[str, Any]:
        return {"proc": "P"}

    return tapp


async def test_plain_views_get_strings(plain_app: Flask, tmp_path: Path) -> None:
    seen: list[Any] = []

    @plain_app.route("/flask")
    def with_flask() -> str:
        rv = flask.render_template("page.html", name="flask", v="a")
        seen.append(rv)
        return rv

    @plain_app.route("/ours")
    def with_ours() -> str:
        rv = render_template("page.html", name="ours", v="b")
        seen.append(rv)
        return rv

    @plain_app.route("/strings")
    def strings() -> str:
        return flask.render_template_string("{{ 1 + 1 }}") + render_template_string("{{ x }}", x=3)

    async with plain_app.test_client() as client:
        assert (await client.get("/flask")).text == "Hi flask!|/flask|S|A!|True|P"
        assert (await client.get("/ours")).text == "Hi ours!|/ours|S|B!|True|P"
        assert (await client.get("/strings")).text == "23"
    assert all(isinstance(rv, str) for rv in seen)
    assert [str(rv) for rv in seen] == [
        "Hi flask!|/flask|S|A!|True|P",
        "Hi ours!|/ours|S|B!|True|P",
    ]

    # the same page in Flask
    fapp = _flask_app(tmp_path)
    fapp.jinja_env.globals["site"] = "S"
    fapp.jinja_env.filters["shout"] = lambda s: f"{s}!".upper()
    fapp.context_processor(lambda: {"proc": "P"})
    fapp.add_url_rule(
        "/flask", "f", lambda: flask.render_template("page.html", name="flask", v="a")
    )
    assert fapp.test_client().get("/flask").text == "Hi flask!|/flask|S|A!|True|P"


async def test_plain_code_on_the_event_loop(plain_app: Flask) -> None:
    """An extension's plain function called by an async view runs on the
    loop's thread: it gets a string too, and the view can still await."""

    def widget(name: str) -> str:
        rv = render_template("page.html", name=name, v="w")
        assert isinstance(rv, str)
        return rv

    def extension_page() -> str:
        template = plain_app.jinja_env.get_template("page.html")
        return flask.render_template(template, name="ext", v="e") + template.render(
            name="direct", v="d", proc="-"
        )

    @plain_app.route("/")
    async def index() -> str:
        awaited = await render_template("page.html", name="awaited", v="x")
        return "\n".join([widget("loop"), extension_page(), awaited])

    async with plain_app.test_client() as client:
        r = await client.get("/")
    assert r.status_code == 200
    assert r.text.split("\n") == [
        "Hi loop!|/|S|W!|True|P",
        "Hi ext!|/|S|E!|True|PHi direct!|/|S|D!|True|-",
        "Hi awaited!|/|S|X!|True|P",
    ]


async def test_the_caller_decides(plain_app: Flask) -> None:
    """A plain function gets the string; a coroutine gets an awaitable."""

    def plain() -> Any:
        return render_template_string("{{ config.K }} {{ g.x }}")

    async def awaiting() -> str:
        pending = render_template_string("{{ config.K }} {{ g.x }}")
        assert asyncio.iscoroutine(pending)
        rv: str = await pending
        return rv

    plain_app.config["K"] = "k"
    async with plain_app.app_context():
        g.x = "gx"
        assert plain() == "k gx"
        assert await awaiting() == "k gx"


async def test_get_template_attribute(plain_app: Flask) -> None:
    from asyncflask import get_template_attribute

    @plain_app.route("/")
    async def index() -> str:
        hello = get_template_attribute("_macros.html", "hello")
        return str(hello("macro")) + str(flask.get_template_attribute("_macros.html", "hello")("f"))

    @plain_app.route("/plain")
    def plain() -> str:
        return str(get_template_attribute("_macros.html", "hello")("plain"))

    async with plain_app.test_client() as client:
        assert (await client.get("/")).text == "Hi macro!Hi f!"
        assert (await client.get("/plain")).text == "Hi plain!"


async def test_flask_stream_template_from_plain_view(plain_app: Flask) -> None:
    @plain_app.route("/")
    def index() -> Any:
        return flask.stream_template_string("{% for i in range(3) %}{{ i }}{% endfor %}{{ proc }}")

    async with plain_app.test_client() as client:
        r = await client.get("/")
    assert r.status_code == 200
    assert r.text == "012P"
    assert "Content-Length" not in r.headers


async def test_globals_and_extensions_added_later_are_seen(plain_app: Flask) -> None:
    @plain_app.route("/")
    def index() -> str:
        return render_template_string("{% do items.append(2) %}{{ items }} {{ late }}", items=[1])

    plain_app.testing = True  # the app's errors reach the test
    async with plain_app.test_client() as client:
        with pytest.raises(TemplateSyntaxError, match="'do'"):
            await client.get("/")  # the extension is not there yet
        plain_app.jinja_env.add_extension("jinja2.ext.do")
        plain_app.jinja_env.globals["late"] = "L"
        assert (await client.get("/")).text == "[1, 2] L"


async def test_auto_reload_followed_by_plain_rendering(tmp_path: Path) -> None:
    path = _write(tmp_path / "templates", "r.html", "one")
    app = Flask("reload", root_path=str(tmp_path))

    @app.route("/")
    def index() -> str:
        return render_template("r.html")

    async with app.test_client() as client:
        assert (await client.get("/")).text == "one"
        _bump(path, "two")
        assert (await client.get("/")).text == "one"
        app.debug = True
        assert (await client.get("/")).text == "two"


async def test_async_context_processor_from_a_worker_thread(plain_app: Flask) -> None:
    @plain_app.context_processor
    async def slow() -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"slow": request.args["s"]}

    @plain_app.route("/")
    def index() -> str:
        return flask.render_template_string("{{ slow }}{{ proc }}")

    async with plain_app.test_client() as client:
        r = await client.get("/?s=waited")
    assert r.text == "waitedP"


async def test_async_context_processor_on_the_loop_is_a_clear_error(plain_app: Flask) -> None:
    """Plain code on the event loop gets the value of an async context
    processor that does not wait, and a clear error for one that does."""

    @plain_app.context_processor
    async def quick() -> dict[str, Any]:
        return {"quick": "Q"}

    def plain_quick() -> str:
        rv: str = render_template_string("{{ quick }}{{ proc }}")
        return rv

    async with plain_app.app_context():
        assert plain_quick() == "QP"

    @plain_app.context_processor
    async def slow() -> dict[str, Any]:
        await asyncio.sleep(0)
        return {}

    def plain() -> str:
        rv: str = render_template_string("x")
        return rv

    @plain_app.route("/")
    async def index() -> str:
        return plain()

    async with plain_app.app_context():
        with pytest.raises(TypeError, match=r"context processor .*slow.*await render_template"):
            plain()

    @plain_app.route("/awaited")
    async def awaited() -> str:
        rv: str = await render_template_string("{{ proc }}")
        return rv

    async with plain_app.test_client() as client:
        assert (await client.get("/")).status_code == 500
        # awaited, the same processor is fine
        r = await client.get("/awaited")
        assert (r.status_code, r.text) == (200, "P")


async def test_template_signals_from_plain_code(plain_app: Flask) -> None:
    from asyncflask import signals

    calls: list[str] = []

    def before(sender: Any, template: Any, context: dict[str, Any], **kw: Any) -> None:
        context["name"] = "changed"
        calls.append("before")

    async def after(sender: Any, template: Any, context: dict[str, Any], **kw: Any) -> None:
        await asyncio.sleep(0)
        calls.append("after")

    @plain_app.route("/")
    def index() -> str:
        rv: str = render_template("page.html", name="original", v="s")
        return rv

    def plain_render() -> Any:
        return render_template_string("{{ name }}", name="loop")

    with (
        signals.before_render_template.connected_to(before, plain_app),
        signals.template_rendered.connected_to(after, plain_app),
    ):
        async with plain_app.test_client() as client:
            assert (await client.get("/")).text.startswith("Hi changed!")
        async with plain_app.app_context():
            with pytest.raises(TypeError, match="signal receiver 'test_template_signals"):
                # on the loop's thread, the async receiver cannot run
                str(plain_render())
    assert calls == ["before", "after", "before"]


async def test_template_not_made_by_the_environment(tapp: Flask) -> None:
    env = tapp.jinja_env
    tpl = env.from_string(env.parse("{{ 1 }}"))
    assert await tpl.render_async() == "1"
    with pytest.raises(RuntimeError, match="render_async"):
        tpl.render()


async def test_sync_mode_environment(tmp_path: Path) -> None:
    _write(tmp_path / "templates", "m.html", "{% macro m() %}sync{% endmacro %}")
    app = Flask("syncmode", root_path=str(tmp_path))
    app.jinja_options = {"enable_async": False}

    @app.route("/")
    def index() -> str:
        macro = app.jinja_env.get_template("m.html").module.m
        return render_template_string("{{ m() }}", m=macro) + "".join(
            app.jinja_env.from_string("{{ 1 }}").generate()
        )

    assert app.jinja_env.is_async is False
    async with app.test_client() as client:
        assert (await client.get("/")).text == "sync1"


async def test_generate_and_make_module_from_plain_code(plain_app: Flask) -> None:
    async with plain_app.app_context():
        tpl = plain_app.jinja_env.get_template("_macros.html")
        assert str(tpl.make_module().hello("m")) == "Hi m!"
        chunks = list(plain_app.jinja_env.from_string("{{ a }}-{{ b }}").generate(a=1, b=2))
        assert "".join(chunks) == "1-2"


async def test_plain_thread_without_a_loop(plain_app: Flask) -> None:
    """A thread of the app's own (no event loop) renders too; an async
    context processor there is the same clear error."""
    import threading

    results: list[Any] = []

    def work() -> None:
        with plain_app.app_context():
            tpl = plain_app.jinja_env.from_string("{{ n }}")
            results.append(tpl.render(n=1) + tpl.render(n=2))  # compiled once for plain code
            results.append(render_template_string("{{ proc }}"))

            @plain_app.context_processor
            async def late() -> dict[str, Any]:
                await asyncio.sleep(0)
                return {"late": "L"}

            results.append(render_template_string("{{ late }}"))

    thread = threading.Thread(target=work)
    thread.start()
    await asyncio.to_thread(thread.join)
    # with no event loop in the thread, an async processor runs on a new one
    assert results == ["12", "P", "L"]


async def test_plain_error_handler_and_hook(plain_app: Flask, tmp_path: Path) -> None:
    """Flask's habit: a plain error handler that renders its page."""
    _write(tmp_path / "templates", "404.html", "no {{ request.path }} here")

    @plain_app.errorhandler(404)
    def not_found(e: Any) -> Any:
        return render_template("404.html"), 404

    @plain_app.before_request
    def gate() -> Any:
        if request.args.get("stop"):
            return flask.render_template_string("stopped by {{ proc }}"), 403
        return None

    async with plain_app.test_client() as client:
        r = await client.get("/nowhere")
        assert (r.status_code, r.text) == (404, "no /nowhere here")
        r = await client.get("/nowhere?stop=1")
        assert (r.status_code, r.text) == (403, "stopped by P")


async def test_a_plain_helper_hands_async_code_an_awaitable_string(
    tapp: Flask, tclient: TestClient
) -> None:
    """A generator expression is plain code, so it gets rendered strings;
    each may still be awaited, so gathering them works as it would with
    coroutines."""

    def helper(name: str) -> Any:
        return render_template_string("<b>{{ name }}</b>", name=name)

    @tapp.route("/")
    async def index() -> str:
        parts = await asyncio.gather(*(helper(n) for n in ("a", "b")))
        direct = await helper("c")
        assert isinstance(direct, str)
        return "".join(parts) + direct

    r = await tclient.get("/")
    assert r.text == "<b>a</b><b>b</b><b>c</b>"


async def test_subclass_jinja_environment_is_used(tmp_path: Path) -> None:
    class CustomEnvironment(flask.templating.Environment):
        pass

    class CustomFlask(Flask):
        jinja_environment = CustomEnvironment

    _write(tmp_path / "templates", "page.html", "{{ url_for('index') }} {{ '<b>' }}")
    app = CustomFlask("custom", root_path=str(tmp_path))

    @app.route("/page")
    async def index() -> str:
        return await render_template("page.html")

    @app.route("/plain")
    def plain() -> str:
        return flask.render_template("page.html")

    assert isinstance(app.jinja_env, CustomEnvironment)
    assert app.jinja_env.is_async is True
    async with app.test_client() as client:
        assert (await client.get("/page")).text == "/page &lt;b&gt;"
        assert (await client.get("/plain")).text == "/page &lt;b&gt;"
