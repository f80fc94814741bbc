"""The example app's chat (examples/app.py, on a broadcast channel), in
process: posting, the event stream, replay and bad posts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import ModuleType

import pytest

from asyncflask.testing import TestClient
from tests.response.test_sse import EventReader
from tests.support import guarded


@pytest.fixture
async def client(example: ModuleType) -> AsyncIterator[TestClient]:
    """The client of a fresh import of examples/app.py, whose channel starts
    empty."""
    async with example.app.test_client() as client:
        yield client


JSON = {"Accept": "application/json"}


async def test_the_chat_page_opens_an_event_source(client: TestClient) -> None:
    r = await client.get("/chat")
    assert r.status_code == 200
    assert 'new EventSource("/chat/events")' in r.text
    assert "<form id=chat method=post action=/chat>" in r.text


@guarded()
async def test_a_posted_message_reaches_every_open_stream(client: TestClient) -> None:
    first = await client.post("/chat", data={"name": "Ada", "text": "hello"}, headers=JSON)
    assert first.get_json() == {"id": "1"}
    headers = {"Last-Event-ID": "1"}
    async with (
        client.stream("GET", "/chat/events", headers=headers) as r1,
        client.stream("GET", "/chat/events", headers=headers) as r2,
    ):
        assert r1.headers["content-type"].startswith("text/event-stream")
        r = await client.post("/chat", data={"text": "<b>hi</b>"}, headers=JSON)
        assert r.get_json() == {"id": "2"}
        for stream in (r1, r2):
            event = await asyncio.wait_for(EventReader(stream).next_event(), 2)
            assert (event.event, event.id) == ("chat", "2")
            assert json.loads(event.data) == {"name": "anonymous", "text": "<b>hi</b>"}


@guarded()
async def test_a_reconnect_gets_the_missed_messages_first(client: TestClient) -> None:
    for text in ("one", "two", "three"):
        await client.post("/chat", data={"name": "Bo", "text": text}, headers=JSON)
    async with client.stream("GET", "/chat/events", headers={"Last-Event-ID": "1"}) as r:
        reader = EventReader(r)
        got = [await asyncio.wait_for(reader.next_event(), 2) for _ in range(2)]
    assert [json.loads(e.data)["text"] for e in got] == ["two", "three"]


async def test_a_plain_form_post_redirects_back(client: TestClient) -> None:
    r = await client.post("/chat", data={"text": "no script"})
    assert r.status_code == 303
    assert r.headers["Location"] == "/chat"


async def test_the_logged_in_user_is_the_default_name(client: TestClient) -> None:
    await client.post("/login", data={"username": "Cy", "password": "asyncflask"})
    await client.post("/chat", data={"text": "first"}, headers=JSON)
    async with client.stream("GET", "/chat/events", headers={"Last-Event-ID": "0"}) as r:
        event = await asyncio.wait_for(EventReader(r).next_event(), 2)
    assert json.loads(event.data) == {"name": "Cy", "text": "first"}


@pytest.mark.parametrize(
    "form",
    [{}, {"text": "   "}, {"text": "x" * 501}, {"text": "ok", "name": "n" * 41}],
)
async def test_bad_posts_are_400(client: TestClient, form: dict[str, str]) -> None:
    r = await client.post("/chat", data=form, headers=JSON)
    assert r.status_code == 400
    assert "error" in r.get_json()
