"""The example app (examples/app.py) in a real browser: headless Chromium
(Debian's ``chromium``, installed when missing) driven by Playwright, against
the app served by a real server on 127.0.0.1.

The live clock's ``EventSource``, an upload through the HTML form, the login
form with its session and flashed message, and the chat between two pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.debian import ensure_program
from tests.server import Server, run_server
from tests.support import EXAMPLE

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Milliseconds Playwright waits for a page or an element.
WAIT_MS = 15_000


@pytest.fixture(scope="session")
def chromium() -> str:
    return ensure_program("chromium", "chromium")


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    with sync_playwright() as p:
        # launch() gives the browser a fresh profile directory of its own
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def server(uploads: Path) -> Iterator[Server]:
    env = {"UPLOAD_FOLDER": str(uploads), "SECRET_KEY": "browser-test", "BROADCAST_URL": None}
    with run_server(app_path=EXAMPLE, env=env) as server:
        yield server
    assert "Traceback" not in server.stderr


@pytest.fixture
def context(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(WAIT_MS)
    try:
        yield context
    finally:
        context.close()


def test_the_clock_page_shows_three_events_and_a_screenshot(context: Any, tmp_path: Path) -> None:
    page = context.new_page()
    page.goto("/clock")
    page.wait_for_function("document.querySelectorAll('#log li').length >= 3")
    items = page.locator("#log li").all_inner_texts()
    # the newest first; ids count up from 0, each with the time
    assert [item.split(":")[0] for item in items[-3:]] == ["#2", "#1", "#0"]
    assert all(re.fullmatch(r"#\d+: \d\d:\d\d:\d\d", item) for item in items)
    assert re.fullmatch(r"\d\d:\d\d:\d\d", page.inner_text("#clock"))
    shot = tmp_path / "clock.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 1000


def test_an_upload_through_the_form_lands_on_disk(
    context: Any, uploads: Path, tmp_path: Path
) -> None:
    content = b"uploaded by the browser\n" + bytes(range(256)) * 64
    source = tmp_path / "from the browser.bin"
    source.write_bytes(content)
    page = context.new_page()
    page.goto("/upload")
    page.set_input_files("input[name=file]", str(source))
    with page.expect_navigation():
        page.click("button[type=submit]")
    # a 303 back to the form, which flashes the name and lists the file
    assert page.url.endswith("/upload")
    assert page.inner_text(".flash.success") == "Uploaded from_the_browser.bin."
    assert page.locator("a[href='/uploads/from_the_browser.bin']").count() == 1
    assert (uploads / "from_the_browser.bin").read_bytes() == content


def test_the_upload_form_without_a_file_is_a_400(context: Any) -> None:
    page = context.new_page()
    page.goto("/upload")
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    assert navigation.value.status == 400
    assert "No selected file." in page.content()


def test_logging_in_sets_the_session_and_flashes_once(context: Any, server: Server) -> None:
    page = context.new_page()
    page.goto("/login")
    assert "Not logged in." in page.content()
    page.fill("input[name=username]", "Ada")
    page.fill("input[name=password]", "asyncflask")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == server.url + "/"
    assert page.inner_text(".flash.success") == "Welcome, Ada!"
    assert "Logged in as Ada." in page.content()
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["session"]["httpOnly"] is True
    page.reload()
    assert page.locator(".flash").count() == 0
    assert "Logged in as Ada." in page.content()


def test_a_wrong_password_shows_the_form_again(context: Any) -> None:
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "Ada")
    page.fill("input[name=password]", "wrong")
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    assert navigation.value.status == 401
    assert "Wrong user name or password." in page.content()
    assert "session" not in {c["name"] for c in context.cookies()}


def test_a_chat_message_sent_in_one_page_shows_in_the_other(
    browser: Any, server: Server, context: Any
) -> None:
    other = browser.new_context(base_url=server.url)
    other.set_default_timeout(WAIT_MS)
    try:
        alice, bob = context.new_page(), other.new_page()
        for page in (alice, bob):
            page.goto("/chat")
            page.wait_for_function("document.body.dataset.chat === 'open'")
        alice.fill("input[name=name]", "Alice")
        alice.fill("input[name=text]", "Hello, <b>Bob</b>!")
        alice.click("button[type=submit]")
        for page in (bob, alice):
            page.wait_for_function("document.querySelectorAll('#messages li').length >= 1")
            assert page.locator("#messages li").all_inner_texts() == ["Alice: Hello, <b>Bob</b>!"]
            # the text is text, not markup
            assert page.locator("#messages b").count() == 0
        assert alice.input_value("input[name=text]") == ""
        bob.fill("input[name=text]", "Hi Alice")
        bob.press("input[name=text]", "Enter")
        alice.wait_for_function("document.querySelectorAll('#messages li').length >= 2")
        assert alice.locator("#messages li").all_inner_texts()[1] == "anonymous: Hi Alice"
    finally:
        other.close()
