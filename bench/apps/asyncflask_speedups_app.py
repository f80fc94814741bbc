"""The asyncflask benchmark app with the ``speedups`` extra's JSON provider.

The endpoints are asyncflask_app's; each server (and each in-process count)
runs in a process of its own, so setting the provider here changes no other
framework's figures.
"""

from __future__ import annotations

from asyncflask import Flask
from asyncflask.jsonspeedups import FastJSONProvider

from . import asyncflask_app

app = asyncflask_app.app
app.json = FastJSONProvider(app)


def routes_app() -> Flask:
    """asyncflask_app's route table, with the fast provider."""
    table = asyncflask_app.routes_app()
    table.json = FastJSONProvider(table)
    return table
