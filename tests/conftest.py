"""Shared fixtures: an app and its async test client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from asyncflask import Flask
from asyncflask.testing import TestClient


@pytest.fixture
def app() -> Flask:
    app = Flask("testapp")
    app.config["TESTING"] = False
    return app


@pytest.fixture
async def client(app: Flask) -> AsyncIterator[TestClient]:
    async with app.test_client() as client:
        yield client
