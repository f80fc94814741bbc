"""Some hostile-corpus cases sent, in-process, to the same small app written
with asyncflask, Starlette and Quart: ``python -m bench.hostile_compare``.

Prints the status each answers with and the time it took (the figures in
docs/reliability.md). Application-level cases only: the HTTP framing cases
are uvicorn's, the same for all three.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import typing as t
from pathlib import Path

import httpx

MiB = 1024 * 1024
B = "cmpboundary"
MP = f"multipart/form-data; boundary={B}"
FORM = "application/x-www-form-urlencoded"


def _part(body: bytes, name: str = "f") -> bytes:
    return (
        f'--{B}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + body + b"\r\n"
    )


END = f"--{B}--\r\n".encode()

CASES: list[tuple[str, str, str, dict[str, str], bytes]] = [
    (
        "JSON nested 100k deep",
        "POST",
        "/json",
        {"Content-Type": "application/json"},
        b"[" * 100_000,
    ),
    (
        "JSON 100k-digit integer",
        "POST",
        "/json",
        {"Content-Type": "application/json"},
        b"1" * 100_000,
    ),
    ("JSON invalid UTF-8", "POST", "/json", {"Content-Type": "application/json"}, b'"\xff"'),
    (
        "urlencoded 100k fields",
        "POST",
        "/form",
        {"Content-Type": FORM},
        b"&".join(b"f%d=1" % i for i in range(100_000)),
    ),
    ("urlencoded 1 MB value", "POST", "/form", {"Content-Type": FORM}, b"k=" + b"v" * MiB),
    ("multipart 10k parts", "POST", "/form", {"Content-Type": MP}, _part(b"v") * 10_000 + END),
    ("multipart 50 MB field", "POST", "/form", {"Content-Type": MP}, _part(b"x" * 50 * MiB) + END),
    ("multipart no final boundary", "POST", "/form", {"Content-Type": MP}, _part(b"v")),
    (
        "Range bytes=0-0 x10000",
        "GET",
        "/file",
        {"Range": "bytes=" + ",".join(["0-0"] * 10_000)},
        b"",
    ),
    ("Range reversed bytes=5-1", "GET", "/file", {"Range": "bytes=5-1"}, b""),
    ("symlink out of the folder", "GET", "/static/link_out", {}, b""),
    ("../ out of the folder", "GET", "/static/..%2fsecret.txt", {}, b""),
]


def make_asyncflask(root: Path) -> t.Any:
    from asyncflask import Flask, request, send_file, send_from_directory

    app = Flask(__name__)

    @app.post("/json")
    async def json_view() -> t.Any:
        return {"type": type(await request.get_json()).__name__}

    @app.post("/form")
    async def form_view() -> t.Any:
        return {"fields": len(await request.form)}

    @app.get("/file")
    async def file_view() -> t.Any:
        return send_file(root / "data.bin")

    @app.get("/static/<path:name>")
    async def static_view(name: str) -> t.Any:
        return send_from_directory(root / "public", name)

    return app


def make_starlette(root: Path) -> t.Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def json_view(request: Request) -> JSONResponse:
        return JSONResponse({"type": type(await request.json()).__name__})

    async def form_view(request: Request) -> JSONResponse:
        async with request.form() as form:
            return JSONResponse({"fields": len(form)})

    async def file_view(request: Request) -> FileResponse:
        return FileResponse(root / "data.bin")

    return Starlette(
        routes=[
            Route("/json", json_view, methods=["POST"]),
            Route("/form", form_view, methods=["POST"]),
            Route("/file", file_view),
            Mount("/static", StaticFiles(directory=root / "public")),
        ]
    )


def make_quart(root: Path) -> t.Any:
    from quart import Quart, request, send_file, send_from_directory

    app = Quart(__name__)

    @app.post("/json")
    async def json_view() -> t.Any:
        return {"type": type(await request.get_json()).__name__}

    @app.post("/form")
    async def form_view() -> t.Any:
        return {"fields": len(await request.form)}

    @app.get("/file")
    async def file_view() -> t.Any:
        return await send_file(root / "data.bin", conditional=True)

    @app.get("/static/<path:name>")
    async def static_view(name: str) -> t.Any:
        return await send_from_directory(root / "public", name)

    return app


async def run(name: str, app: t.Any) -> list[str]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    rows = []
    async with httpx.AsyncClient(transport=transport, base_url="http://x", timeout=60) as client:
        for label, method, path, headers, body in CASES:
            start = time.perf_counter()
            try:
                r = await asyncio.wait_for(
                    client.request(method, path, headers=headers, content=body or None), 30
                )
                answer = f"{r.status_code} ({len(r.content):,} bytes)"
            except Exception as e:
                answer = f"error: {type(e).__name__}"
            rows.append(f"{name:10} {label:30} {answer:24} {time.perf_counter() - start:6.2f} s")
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "public").mkdir()
        (root / "public" / "ok.txt").write_text("ok")
        (root / "secret.txt").write_text("secret")
        (root / "public" / "link_out").symlink_to(root / "secret.txt")
        (root / "data.bin").write_bytes(bytes(range(256)) * 40)
        for name, factory in (
            ("asyncflask", make_asyncflask),
            ("starlette", make_starlette),
            ("quart", make_quart),
        ):
            for row in asyncio.run(run(name, factory(root))):
                print(row, flush=True)
    print(json.dumps({"cases": len(CASES)}))


if __name__ == "__main__":
    main()
