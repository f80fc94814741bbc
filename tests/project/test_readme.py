"""The README's quickstart runs as written."""

from __future__ import annotations

import re
import types
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _quickstart_source() -> str:
    text = README.read_text()
    section = text.split("## Quickstart", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


async def test_quickstart_runs_as_written() -> None:
    module = types.ModuleType("hello")
    exec(compile(_quickstart_source(), "hello.py", "exec"), module.__dict__)
    app = module.app
    async with app.test_client() as client:
        r = await client.get("/hello/world", query_string={"page": "3"})
        assert r.status_code == 200
        assert r.get_json() == {"hello": "world", "page": 3}
        r = await client.post("/echo", json={"a": [1, 2]})
        assert r.status_code == 201
        assert r.get_json() == {"a": [1, 2]}


def test_readme_gives_the_two_commands() -> None:
    text = README.read_text()
    assert "make run" in text
    assert "make test" in text
