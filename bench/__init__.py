"""Benchmark harness: asyncflask side by side with Starlette, Quart and a raw
ASGI app, each served by uvicorn. Run ``python -m bench.run --help``."""
