"""Compare the JSON libraries a provider can use: ``python -m bench.jsonlibs``.

Times, in one process, Flask's rules (sorted keys, compact separators, its
``default`` hook) as asyncflask's default provider applies them with the
standard library in ``response()`` (its C encoder made once), as orjson
and msgspec apply them, and as ``FastJSONProvider`` does (orjson, then
Flask's ``ensure_ascii`` escapes), on the bench payloads and on a few
typical API payloads; and parsing the same documents back. Each figure is
the best of several repeats, in µs of CPU time per call.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
import timeit
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask

from asyncflask.jsonprovider import JSONProvider
from asyncflask.jsonspeedups import FastJSONProvider

from .scenarios import JSON_DOC


def payloads() -> dict[str, Any]:
    """The documents timed: the bench's, and typical API answers."""
    users = [
        {
            "id": i,
            "name": f"User {i}",
            "email": f"user{i}@example.com",
            "active": i % 4 != 0,
            "score": i * 1.25,
            "roles": ["reader", "writer"][: 1 + i % 2],
            "address": {"city": "Lyon", "zip": f"{69000 + i}"},
        }
        for i in range(50)
    ]
    return {
        "json (hello)": {"message": "Hello, World!"},
        "json-post (1.1 kB)": JSON_DOC,
        "50 users (7 kB)": {"users": users, "page": 1, "total": 50},
        "1,000 users (140 kB)": [users[i % 50] | {"id": i} for i in range(1000)],
        "non-ASCII text (2 kB)": {"title": "Crème brûlée à la française", "body": "é€😀 " * 200},
    }


def typed_payload() -> dict[str, Any]:
    """Values that go through the ``default`` hook: dates and UUIDs."""
    return {
        "items": [
            {"id": uuid.UUID(int=i), "at": datetime.datetime(2024, 1, 1 + i % 28)}
            for i in range(20)
        ]
    }


def best(fn: Callable[[], object], number: int) -> float:
    """Best of 5 repeats, in µs of this thread's CPU time per call (time
    spent waiting for the CPU on a busy machine does not count)."""
    runs = timeit.repeat(fn, number=number, repeat=5, timer=time.thread_time)
    return min(runs) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.jsonlibs", description=__doc__.split("\n")[0])
    p.add_argument("--number", type=int, default=2000, help="calls per repeat (default 2,000)")
    args = p.parse_args(argv)
    import msgspec
    import orjson

    app = Flask(__name__)
    stdlib, fast = JSONProvider(app), FastJSONProvider(app)
    flask_default = stdlib.default
    opts = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    encoder = msgspec.json.Encoder(order="sorted", enc_hook=flask_default)
    decoder = msgspec.json.Decoder()
    # msgspec writes dates itself (ISO 8601), without Flask's hook
    docs = payloads() | {"20 dates + UUIDs (Flask's `default`)": typed_payload()}
    print("| payload | stdlib dumps | orjson dumps | msgspec dumps |", end="")
    print(" FastJSONProvider dumps | stdlib loads | orjson loads | msgspec loads |")
    print("|---|---|---|---|---|---|---|---|")
    for name, doc in docs.items():
        n = max(args.number // (100 if "1,000" in name else 1), 20)
        text = stdlib.dumps(doc, separators=(",", ":")).encode()
        cells = [
            best(lambda d=doc: stdlib._encode(d, (",", ":")), n),
            best(lambda d=doc: orjson.dumps(d, default=flask_default, option=opts), n),
            best(lambda d=doc: encoder.encode(d), n),
            best(lambda d=doc: fast.dumps(d, separators=(",", ":")), n),
            best(lambda t=text: json.loads(t), n),
            best(lambda t=text: orjson.loads(t), n),
            best(lambda t=text: decoder.decode(t), n),
        ]
        print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
