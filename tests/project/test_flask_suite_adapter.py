"""The adapter that runs Flask's own test suite against asyncflask
(``make flask-suite``): it points Flask's names at asyncflask's objects, and
its list of the tests that cannot apply is well formed."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

COMPAT = Path(__file__).resolve().parents[2] / "compat"

CHECK = """
import flask, flask.globals, flask.testing, flask.views, flask.wrappers
import flask_suite.adapter as adapter
import asyncflask, asyncflask.testing, asyncflask.views

assert flask.Flask is flask.app.Flask is asyncflask.Flask
assert flask.request is flask.globals.request is asyncflask.request
assert flask.Response is flask.wrappers.Response is asyncflask.Response
assert flask.render_template is flask.templating.render_template is asyncflask.render_template
assert flask.views.MethodView is asyncflask.views.MethodView
assert flask.testing.FlaskClient is asyncflask.testing.TestClient
# asyncflask's own base classes are still Flask's
assert asyncflask.views.View.__mro__[1].__module__ == "flask.views"
app = flask.Flask("checked")

@app.get("/")
def index():
    return {"path": flask.request.path}

with app.test_request_context("/x"):
    assert flask.globals._cv_request.get(None) is not None
    assert flask.url_for("index") == "/"
print(sorted(adapter.load_not_applicable().values())[0].split(":")[0])
"""


def test_adapter_points_flask_names_at_asyncflask() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(COMPAT.parent), str(COMPAT)])}
    done = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in {"fails-on-flask-itself", "werkzeug-dev-server", "wsgi-environ"}


def test_every_not_applicable_group_has_a_reason_and_test_ids() -> None:
    with (COMPAT / "flask_suite" / "not_applicable.toml").open("rb") as f:
        groups = tomllib.load(f)
    assert set(groups) == {"fails-on-flask-itself", "werkzeug-dev-server", "wsgi-environ"}
    seen: set[str] = set()
    for group in groups.values():
        assert len(group["reason"]) > 40
        for test in group["tests"]:
            assert test.startswith("tests/test_") and ".py" in test
            assert test not in seen
            seen.add(test)
