"""200 concurrent requests over a real server, each with its own value in
the body, the query string, a cookie, the session and ``g``, through
``async def`` and plain ``def`` views that yield in the middle: every
response sees only its own request's values (no cross-talk between the
context variables of concurrent requests, nor of the worker threads)."""

from __future__ import annotations

import asyncio
import random
import typing as t

import flask
import httpx
import pytest
from flask.sessions import SecureCookieSessionInterface

from tests.server import Server, server_fixture

REQUESTS = 200
SECRET = "concurrency-secret"

APP = f"""
import asyncio
import random
import time

import anyio.from_thread

from asyncflask import Flask, g, request, session

app = Flask(__name__)
app.secret_key = {SECRET!r}


@app.before_request
async def remember():
    g.ident = request.args["id"]


def values(body):
    return {{
        "body": body["id"],
        "query": request.args["id"],
        "cookie": request.cookies["ident"],
        "session": session.get("ident"),
        "g": g.ident,
    }}


@app.post("/async")
async def async_view():
    body = await request.get_json()
    await asyncio.sleep(random.random() * 0.02)
    first = values(body)
    await asyncio.sleep(random.random() * 0.02)
    return {{"first": first, "then": values(body)}}


@app.post("/sync")
def sync_view():
    # a worker thread: the body is awaited on the event loop
    body = anyio.from_thread.run(request._get_current_object().get_json)
    time.sleep(random.random() * 0.02)
    first = values(body)
    time.sleep(random.random() * 0.02)
    return {{"first": first, "then": values(body)}}


@app.after_request
async def stamp(response):
    response.headers["X-Ident"] = f"{{g.ident}}/{{request.args['id']}}"
    return response
"""


def _signer() -> t.Any:
    """Flask's session serializer, with the app's secret key."""
    ref = flask.Flask("ref")
    ref.secret_key = SECRET
    return SecureCookieSessionInterface().get_signing_serializer(ref)


server = server_fixture(APP)


@pytest.mark.timeout(60)
async def test_200_concurrent_requests_see_only_their_own_values(server: Server) -> None:
    signer = _signer()
    limits = httpx.Limits(max_connections=REQUESTS)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:

        async def one(n: int) -> None:
            ident = f"r{n}-{random.randrange(10**9)}"
            kind = "async" if n % 2 else "sync"
            r = await client.post(
                f"/{kind}",
                params={"id": ident},
                json={"id": ident},
                headers={"Cookie": f"ident={ident}; session={signer.dumps({'ident': ident})}"},
            )
            assert r.status_code == 200, r.text
            expected = dict.fromkeys(("body", "query", "cookie", "session", "g"), ident)
            assert r.json() == {"first": expected, "then": expected}
            assert r.headers["X-Ident"] == f"{ident}/{ident}"

        await asyncio.gather(*(one(n) for n in range(REQUESTS)))
    assert "Traceback" not in server.stderr
