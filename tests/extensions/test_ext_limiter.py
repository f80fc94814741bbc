"""Flask-Limiter on asyncflask, set up as its quickstart shows (in-memory
storage, default limits, per-route limits, exemptions), on ``async def``
views."""

from __future__ import annotations

import asyncio
import typing as t

import pytest
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from asyncflask import Blueprint, Flask, request
from asyncflask.testing import ASGITransport


@pytest.fixture
def limited() -> tuple[Flask, Limiter]:
    app = Flask("limiterapp")
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter = Limiter(
        get_remote_address,
        app=app,
        default_limits=["3 per minute"],
        storage_uri="memory://",
        strategy="fixed-window",
    )

    @app.route("/slow")
    @limiter.limit("1 per day")
    async def slow() -> str:
        await asyncio.sleep(0)
        return "24"

    @app.route("/fast")
    async def fast() -> str:
        await asyncio.sleep(0)
        return "42"

    @app.route("/ping")
    @limiter.exempt
    async def ping() -> str:
        return "PONG"

    @app.route("/by-key", methods=["POST"])
    @limiter.limit("2 per minute", key_func=lambda: request.headers.get("X-Api-Key", ""))
    async def by_key() -> t.Any:
        return {"key": request.headers.get("X-Api-Key")}

    @app.route("/report")
    @limiter.limit("2 per hour")
    def report() -> str:  # a plain view: it and its limit check run in a worker thread
        return f"report {request.args['year']}"

    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/items")
    async def items() -> t.Any:
        return ["a", "b"]

    limiter.limit("1 per minute")(api)
    app.register_blueprint(api)
    return app, limiter


async def test_a_per_route_limit_is_429_with_retry_after(limited: tuple[Flask, Limiter]) -> None:
    app, _ = limited
    async with app.test_client() as client:
        r = await client.get("/slow")
        assert (r.status_code, r.text) == (200, "24")
        assert r.headers["X-RateLimit-Limit"] == "1"
        assert r.headers["X-RateLimit-Remaining"] == "0"
        r = await client.get("/slow")
        assert r.status_code == 429
        assert 0 < int(r.headers["Retry-After"]) <= 24 * 3600
        assert "1 per 1 day" in r.text
        assert (await client.get("/fast")).status_code == 200  # its own limit


async def test_the_default_limits_apply_per_route(limited: tuple[Flask, Limiter]) -> None:
    app, _ = limited
    async with app.test_client() as client:
        for _ in range(3):
            r = await client.get("/fast")
            assert (r.status_code, r.text) == (200, "42")
        r = await client.get("/fast")
        assert r.status_code == 429
        assert 0 < int(r.headers["Retry-After"]) <= 60
        assert r.headers["X-RateLimit-Remaining"] == "0"


async def test_an_exempt_route_is_never_limited(limited: tuple[Flask, Limiter]) -> None:
    app, _ = limited
    async with app.test_client() as client:
        for _ in range(10):
            r = await client.get("/ping")
            assert (r.status_code, r.text) == (200, "PONG")
            assert "X-RateLimit-Limit" not in r.headers


async def test_a_key_function_reads_the_request(limited: tuple[Flask, Limiter]) -> None:
    app, _ = limited
    async with app.test_client() as client:
        for _ in range(2):
            r = await client.post("/by-key", headers={"X-Api-Key": "one"})
            assert r.get_json() == {"key": "one"}
        assert (await client.post("/by-key", headers={"X-Api-Key": "one"})).status_code == 429
        r = await client.post("/by-key", headers={"X-Api-Key": "two"})
        assert (r.status_code, r.get_json()) == (200, {"key": "two"})


async def test_a_blueprint_limit(limited: tuple[Flask, Limiter]) -> None:
    app, _ = limited
    async with app.test_client() as client:
        r = await client.get("/api/items")
        assert (r.status_code, r.get_json()) == (200, ["a", "b"])
        assert (await client.get("/api/items")).status_code == 429


async def test_reset_and_the_client_address(limited: tuple[Flask, Limiter]) -> None:
    app, limiter = limited
    async with app.test_client() as client:
        assert (await client.get("/slow")).status_code == 200
        assert (await client.get("/slow")).status_code == 429
        limiter.reset()
        assert (await client.get("/slow")).status_code == 200
    # get_remote_address keys on request.remote_addr: another address has its
    # own count (given as in Flask, or by the transport)
    async with app.test_client() as client:
        client.environ_base["REMOTE_ADDR"] = "10.0.0.8"
        assert (await client.get("/slow")).status_code == 200
        assert (await client.get("/slow")).status_code == 429
    elsewhere = ASGITransport(app, client=("10.0.0.9", 4000))
    async with app.test_client(transport=elsewhere) as client:
        assert (await client.get("/slow")).status_code == 200
        assert (await client.get("/slow")).status_code == 429


async def test_a_custom_429_handler(limited: tuple[Flask, Limiter]) -> None:
    app, _ = limited

    @app.errorhandler(429)
    async def too_many(e: t.Any) -> t.Any:
        return {"error": "slow down", "limit": str(e.description)}, 429

    async with app.test_client() as client:
        await client.get("/slow")
        r = await client.get("/slow")
        assert r.status_code == 429
        assert r.get_json() == {"error": "slow down", "limit": "1 per 1 day"}
        assert "Retry-After" in r.headers


async def test_a_limit_on_a_plain_view(limited: tuple[Flask, Limiter]) -> None:
    app, _ = limited
    async with app.test_client() as client:
        for year in ("2023", "2024"):
            r = await client.get(f"/report?year={year}")
            assert (r.status_code, r.text) == (200, f"report {year}")
        r = await client.get("/report?year=2025")
        assert r.status_code == 429
        assert 0 < int(r.headers["Retry-After"]) <= 3600
