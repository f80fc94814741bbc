"""Flask-Babel on asyncflask, set up as its documentation shows
(``Babel(app, locale_selector=...)``, catalogs compiled with ``pybabel
compile``): ``gettext`` in ``async def`` views and in templates, the locale
chosen from ``Accept-Language`` or a query argument, dates and numbers."""

from __future__ import annotations

import typing as t
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from flask_babel import (
    Babel,
    force_locale,
    format_currency,
    format_datetime,
    get_locale,
    gettext,
    lazy_gettext,
    ngettext,
)

from asyncflask import Flask, render_template_string, request

CATALOGS = {
    "de": {
        "Hello": "Hallo",
        "Goodbye": "Auf Wiedersehen",
        "apples": ("%(num)s Apfel", "%(num)s Äpfel"),
    },
    "fr": {
        "Hello": "Bonjour",
        "Goodbye": "Au revoir",
        "apples": ("%(num)s pomme", "%(num)s pommes"),
    },
}


def write_po(path: Path, entries: dict[str, t.Any]) -> None:
    lines = [
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=utf-8\\n"',
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"',
        "",
    ]
    for msgid, msgstr in entries.items():
        if isinstance(msgstr, tuple):
            lines += [
                'msgid "%(num)s apple"',
                'msgid_plural "%(num)s apples"',
                f'msgstr[0] "{msgstr[0]}"',
                f'msgstr[1] "{msgstr[1]}"',
                "",
            ]
        else:
            lines += [f'msgid "{msgid}"', f'msgstr "{msgstr}"', ""]
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture
def translations(tmp_path: Path) -> Path:
    """messages.po for de and fr, compiled to .mo by ``pybabel compile``."""
    root = tmp_path / "translations"
    for locale, entries in CATALOGS.items():
        write_po(root / locale / "LC_MESSAGES" / "messages.po", entries)
    CommandLineInterface().run(["pybabel", "-q", "compile", "-d", str(root)])
    assert (root / "de" / "LC_MESSAGES" / "messages.mo").is_file()
    return root


@pytest.fixture
def babel_app(translations: Path) -> Flask:
    app = Flask("babelapp")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations)

    def select_locale() -> str | None:
        return request.args.get("lang") or request.accept_languages.best_match(["en", "de", "fr"])

    Babel(app, locale_selector=select_locale, timezone_selector=lambda: "Europe/Berlin")
    greeting = lazy_gettext("Goodbye")

    @app.get("/hello")
    async def hello() -> t.Any:
        count = int(request.args.get("n", "1"))
        return {
            "locale": str(get_locale()),
            "hello": gettext("Hello"),
            "apples": ngettext("%(num)s apple", "%(num)s apples", count),
            "bye": str(greeting),
        }

    @app.get("/page")
    async def page() -> str:
        return await render_template_string(
            "{{ _('Hello') }}, {{ ngettext('%(num)s apple', '%(num)s apples', 3) }}."
            " {{ gettext('Goodbye') }}. {% trans %}Hello{% endtrans %}"
            " {{ when|datetimeformat('short') }}",
            when=datetime(2024, 5, 17, 12, 30),
        )

    @app.get("/price")
    async def price() -> t.Any:
        with force_locale("de"):
            german = format_currency(1234.5, "EUR")
        return {"here": format_currency(1234.5, "EUR"), "de": german}

    @app.get("/when")
    def when() -> str:  # a plain view, in a worker thread
        return format_datetime(datetime(2024, 5, 17, 12, 30), "short")

    return app


async def test_the_locale_follows_accept_language(babel_app: Flask) -> None:
    async with babel_app.test_client() as client:
        r = await client.get("/hello", headers={"Accept-Language": "de-DE,de;q=0.9"})
        assert r.get_json() == {
            "locale": "de",
            "hello": "Hallo",
            "apples": "1 Apfel",
            "bye": "Auf Wiedersehen",
        }
        r = await client.get("/hello?n=3", headers={"Accept-Language": "fr"})
        assert r.get_json()["apples"] == "3 pommes"
        r = await client.get("/hello?n=2", headers={"Accept-Language": "ja"})
        assert r.get_json() == {
            "locale": "en",
            "hello": "Hello",
            "apples": "2 apples",
            "bye": "Goodbye",
        }


async def test_the_selector_reads_a_query_argument(babel_app: Flask) -> None:
    async with babel_app.test_client() as client:
        r = await client.get("/hello?lang=fr", headers={"Accept-Language": "de"})
        assert r.get_json()["hello"] == "Bonjour"


async def test_gettext_in_templates(babel_app: Flask) -> None:
    async with babel_app.test_client() as client:
        r = await client.get("/page", headers={"Accept-Language": "de"})
        assert r.text == "Hallo, 3 Äpfel. Auf Wiedersehen. Hallo 17.05.24, 14:30"
        r = await client.get("/page", headers={"Accept-Language": "fr"})
        assert r.text.startswith("Bonjour, 3 pommes. Au revoir. Bonjour 17/05/2024")


async def test_formats_and_force_locale(babel_app: Flask) -> None:
    async with babel_app.test_client() as client:
        r = await client.get("/price", headers={"Accept-Language": "fr"})
        assert r.get_json() == {"here": "1\u202f234,50\xa0€", "de": "1.234,50\xa0€"}
        r = await client.get("/when", headers={"Accept-Language": "de"})
        assert r.text == "17.05.24, 14:30"
