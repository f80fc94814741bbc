"""Shared fixtures: an app and its async test client, and a fresh import of
the example app."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from types import ModuleType

import pytest

from asyncflask import Flask
from asyncflask.testing import TestClient
from tests.support import EXAMPLE


@pytest.fixture
def app() -> Flask:
    app = Flask("testapp")
    app.config["TESTING"] = False
    return app


@pytest.fixture
async def client(app: Flask) -> AsyncIterator[TestClient]:
    async with app.test_client() as client:
        # entered for the lifespan; like Flask's own `client` fixture (no
        # `with client:`), it does not keep the last request's context
        client.preserve_context = False
        yield client


@pytest.fixture
def example() -> Iterator[ModuleType]:
    """A fresh import of examples/app.py (so its in-memory users, chat rooms
    and broadcast channel start over)."""
    name = f"example_app_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]
