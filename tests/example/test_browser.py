"""The example app (examples/app.py) in a real browser: headless Chromium
(Debian's ``chromium``, installed when missing) driven by Playwright, against
the app served by a real server on 127.0.0.1.

The live clock's ``EventSource``, an upload through the HTML form, the login
form with its session and flashed message, the chat between two pages, and
every page the index links: styled, without a console error or a failed
request, and photographed into build/screenshots/ (to look at).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from tests.debian import ensure_program
from tests.server import REPO_ROOT, Server, run_server
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
#: Where the screenshots of the example's pages go (``make clean`` removes it).
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"


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


# -- every page of the index --------------------------------------------------------

#: The index links that answer 404 on purpose.
EXPECTED_404 = {"/no-such-page", "/api/no-such-thing"}
#: What a live page shows once its script has done its first work.
READY = {
    "/clock": "document.querySelectorAll('#log li').length >= 1",
    "/chat": "document.body.dataset.chat === 'open'",
    "/rooms/lobby": "document.querySelectorAll('#log li').length >= 1",
}
#: A message typed into the chat pages, so their screenshots show one.
SAY = {
    "/chat": ("input[name=text]", "#messages li", "Hello from the screenshot"),
    "/rooms/lobby": ("#text", "#log li", "Hello from the screenshot"),
}


def _shot_name(url: str) -> str:
    """``/rooms/lobby`` -> ``rooms-lobby``; ``/`` -> ``index``."""
    path = url.split("?")[0].strip("/")
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "index"


class PageWatch:
    """The console errors, failed requests and error responses of a page."""

    def __init__(self, page: Any, url: str) -> None:
        self.problems: list[str] = []
        self.downloads: list[Any] = []
        self._url = url
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.on("download", lambda download: self.downloads.append(download))

    def _expected_404(self, url: str) -> bool:
        return self._url in EXPECTED_404 and url.endswith(self._url)

    def _console(self, message: Any) -> None:
        if message.type == "error" and not self._expected_404(message.location.get("url", "")):
            self.problems.append(f"console: {message.text} ({message.location.get('url')})")

    def _failed(self, request: Any) -> None:
        # a download ends its navigation with ERR_ABORTED
        if not (request.url.endswith(self._url) and request.failure == "net::ERR_ABORTED"):
            self.problems.append(f"request failed: {request.url} {request.failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and not self._expected_404(response.url):
            self.problems.append(f"{response.status} for {response.url}")


def _visit(context: Any, url: str) -> list[str]:
    """Open ``url`` as a user would and photograph it; what went wrong."""
    page = context.new_page()
    watch = PageWatch(page, url)
    try:
        response = page.goto(url)
    except PlaywrightError as e:
        if "Download is starting" not in str(e):
            raise
        # an attachment: the browser saves it instead of showing a page
        for _ in range(50):  # its event comes after the error
            if watch.downloads:
                break
            page.wait_for_timeout(100)
        names = [download.suggested_filename for download in watch.downloads]
        page.close()
        return [f"{url}: {p}" for p in watch.problems] + ([] if names else [f"{url}: no file"])
    assert response is not None
    seen = []
    if url in READY:
        page.wait_for_function(READY[url])
    if url in SAY:
        field, items, text = SAY[url]
        page.fill(field, text)
        page.press(field, "Enter")
        page.wait_for_function(
            "([items, text]) => [...document.querySelectorAll(items)]"
            ".some((item) => item.textContent.includes(text))",
            arg=[items, text],
        )
    # the pages; not the bare bodies of the response-shape demos ("OK", JSON)
    if page.evaluate("document.doctype !== null"):
        font = page.evaluate("getComputedStyle(document.body).fontFamily")
        if "Times" in font or "sans-serif" not in font:
            seen.append(f"the body's font is {font!r}: no stylesheet")
        if page.locator("nav.site-nav").count() != 1:
            seen.append("no navigation bar")
        if page.locator("link[rel=icon]").count() != 1:
            seen.append("no icon link")
    shot = SCREENSHOTS / f"{_shot_name(url)}.png"
    page.screenshot(path=str(shot), full_page=True)
    if shot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n" or shot.stat().st_size < 1000:
        seen.append(f"the screenshot {shot} is not a PNG of a page")
    problems = watch.problems + seen  # read before closing, which aborts live requests
    page.close()
    return [f"{url}: {problem}" for problem in problems]


def test_every_page_of_the_index_is_styled_error_free_and_photographed(context: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    index = context.new_page()
    index.goto("/")
    urls = ["/"]
    for href in index.locator(".links a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    ):
        if href not in urls:
            urls.append(href)
    index.close()
    # the sections of the example: every kind of page is there
    for url in ("/login", "/upload", "/clock", "/chat", "/rooms/lobby", "/report", "/favicon.ico"):
        assert url in urls
    problems = [problem for url in urls for problem in _visit(context, url)]
    assert problems == []
    shots = {path.stem for path in SCREENSHOTS.glob("*.png")}
    assert {"index", "login", "upload", "clock", "chat", "rooms-lobby", "no-such-page"} <= shots


def test_the_icons_and_the_stylesheet_load(context: Any) -> None:
    page = context.new_page()
    page.goto("/")
    found = page.evaluate(
        """async () => {
            const urls = [document.querySelector("link[rel=icon]").href, "/favicon.ico",
                          document.querySelector("link[rel=stylesheet]").href];
            const answers = await Promise.all(urls.map((url) => fetch(url)));
            return answers.map((r) => [r.status, r.headers.get("content-type")]);
        }"""
    )
    assert found == [
        [200, "image/svg+xml; charset=utf-8"],
        [200, "image/vnd.microsoft.icon"],
        [200, "text/css; charset=utf-8"],
    ]
    # the stylesheet's rules are the page's
    assert page.evaluate("document.styleSheets[0].cssRules.length") > 10
