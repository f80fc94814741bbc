"""Request hooks, error handlers and unhandled errors, compared with Flask 3.1."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from werkzeug.exceptions import (
    Forbidden,
    HTTPException,
    InternalServerError,
    NotFound,
)

from asyncflask import (
    Blueprint,
    Flask,
    Response,
    abort,
    after_this_request,
    g,
    request,
)
from asyncflask.testing import TestClient

# -- before_request -----------------------------------------------------------------


async def test_before_request_runs_before_view(app: Flask, client: TestClient) -> None:
    @app.before_request
    async def load_user() -> None:
        g.user = request.headers.get("X-User", "anon")

    @app.route("/")
    async def index() -> str:
        return f"hello {g.user}"

    assert (await client.get("/", headers={"X-User": "ann"})).text == "hello ann"
    assert (await client.get("/")).text == "hello anon"


async def test_before_request_short_circuits(app: Flask, client: TestClient) -> None:
    events: list[str] = []

    @app.before_request
    async def first() -> Any:
        events.append("first")
        if request.args.get("stop"):
            return "stopped", 403, {"X-Stopped": "yes"}
        return None

    @app.before_request
    def second() -> None:
        events.append("second")

    @app.after_request
    async def after(response: Response) -> Response:
        events.append(f"after {response.status_code}")
        response.headers["X-After"] = "ran"
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    @app.route("/")
    async def index() -> str:
        events.append("view")
        return "view"

    r = await client.get("/?stop=1")
    assert r.status_code == 403
    assert r.text == "stopped"
    assert r.headers["X-Stopped"] == "yes"
    assert r.headers["X-After"] == "ran"
    assert events == ["first", "after 403", "teardown"]

    events.clear()
    r = await client.get("/")
    assert r.text == "view"
    assert events == ["first", "second", "view", "after 200", "teardown"]


async def test_before_request_short_circuit_response_object(app: Flask, client: TestClient) -> None:
    @app.before_request
    def gate() -> Response:
        return Response("maintenance", status=503, headers={"Retry-After": "30"})

    @app.route("/")
    async def index() -> str:
        raise AssertionError("view must not run")

    r = await client.get("/")
    assert r.status_code == 503
    assert r.text == "maintenance"
    assert r.headers["Retry-After"] == "30"


async def test_before_request_order_app_then_blueprints(app: Flask, client: TestClient) -> None:
    events: list[str] = []
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")

    app.before_request(lambda: events.append("app1"))
    app.before_request(lambda: events.append("app2"))
    parent.before_request(lambda: events.append("parent"))
    child.before_request(lambda: events.append("child"))

    @child.route("/v")
    async def v() -> str:
        events.append("view")
        return "v"

    parent.register_blueprint(child)
    app.register_blueprint(parent)

    assert (await client.get("/p/c/v")).text == "v"
    assert events == ["app1", "app2", "parent", "child", "view"]


# -- after_request --------------------------------------------------------------------


async def test_after_request_order(app: Flask, client: TestClient) -> None:
    events: list[str] = []
    bp = Blueprint("bp", __name__)

    def recorder(name: str) -> Any:
        async def hook(response: Response) -> Response:
            events.append(name)
            response.headers.add("X-Order", name)
            return response

        return hook

    app.after_request(recorder("app1"))
    app.after_request(recorder("app2"))
    bp.after_request(recorder("bp1"))
    bp.after_request(recorder("bp2"))

    @bp.route("/v")
    async def v() -> str:
        @after_this_request
        def atr_sync(response: Response) -> Response:
            events.append("atr-sync")
            return response

        @after_this_request
        async def atr_async(response: Response) -> Response:
            events.append("atr-async")
            response.headers["X-ATR"] = "async"
            return response

        events.append("view")
        return "v"

    app.register_blueprint(bp)

    r = await client.get("/v")
    assert r.status_code == 200
    assert r.headers["X-ATR"] == "async"
    expected = ["view", "atr-sync", "atr-async", "bp2", "bp1", "app2", "app1"]
    assert events == expected
    assert r.headers.get_list("X-Order") == ["bp2", "bp1", "app2", "app1"]


async def test_after_request_can_replace_response(app: Flask, client: TestClient) -> None:
    @app.after_request
    def replace(response: Response) -> Response:
        return Response(f"replaced {response.status_code}", status=202)

    @app.route("/")
    async def index() -> str:
        return "original"

    r = await client.get("/")
    assert r.status_code == 202
    assert r.text == "replaced 200"


async def test_after_request_runs_for_errors(app: Flask, client: TestClient) -> None:
    @app.after_request
    async def mark(response: Response) -> Response:
        response.headers["X-Seen"] = str(response.status_code)
        return response

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("x")

    r = await client.get("/nope")
    assert (r.status_code, r.headers["X-Seen"]) == (404, "404")
    r = await client.get("/boom")
    assert (r.status_code, r.headers["X-Seen"]) == (500, "500")


async def test_after_this_request_outside_request() -> None:
    with pytest.raises(RuntimeError, match="request context"):
        after_this_request(lambda r: r)


async def test_after_this_request_only_for_its_request(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        if request.args.get("mark"):

            @after_this_request
            def add_header(response: Response) -> Response:
                response.headers["X-Marked"] = "1"
                return response

        return "ok"

    assert (await client.get("/?mark=1")).headers["X-Marked"] == "1"
    assert "X-Marked" not in (await client.get("/")).headers


async def test_after_this_request_in_before_request(app: Flask, client: TestClient) -> None:
    @app.before_request
    def before() -> None:
        @after_this_request
        async def set_cookie(response: Response) -> Response:
            response.set_cookie("from_hook", "1")
            return response

    @app.route("/")
    async def index() -> str:
        return "ok"

    r = await client.get("/")
    assert "from_hook=1" in r.headers["Set-Cookie"]


# -- teardown ---------------------------------------------------------------------------


async def test_teardown_request_gets_exception(app: Flask, client: TestClient) -> None:
    seen: list[tuple[str, BaseException | None]] = []

    @app.teardown_request
    async def td_async(exc: BaseException | None) -> None:
        seen.append(("async", exc))

    @app.teardown_request
    def td_sync(exc: BaseException | None) -> None:
        seen.append(("sync", exc))

    @app.route("/ok")
    async def ok() -> str:
        return "ok"

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("boom")

    @app.route("/handled")
    async def handled() -> str:
        raise KeyError("k")

    @app.route("/abort")
    async def abort_view() -> str:
        abort(404)

    @app.errorhandler(KeyError)
    async def key_error(e: KeyError) -> tuple[str, int]:
        return "handled", 400

    await client.get("/ok")
    assert seen == [("sync", None), ("async", None)]

    seen.clear()
    r = await client.get("/boom")
    assert r.status_code == 500
    assert [name for name, _ in seen] == ["sync", "async"]
    assert all(isinstance(exc, ValueError) and str(exc) == "boom" for _, exc in seen)

    seen.clear()
    r = await client.get("/handled")
    assert (r.status_code, r.text) == (400, "handled")
    assert seen == [("sync", None), ("async", None)]

    seen.clear()
    assert (await client.get("/abort")).status_code == 404
    assert seen == [("sync", None), ("async", None)]


async def test_teardown_appcontext(app: Flask, client: TestClient) -> None:
    seen: list[Any] = []

    @app.teardown_appcontext
    async def close_db(exc: BaseException | None) -> None:
        seen.append(("appctx", exc, g.get("db")))

    @app.teardown_request
    def td(exc: BaseException | None) -> None:
        seen.append(("request", exc, g.get("db")))

    @app.route("/")
    async def index() -> str:
        g.db = "conn"
        return "ok"

    @app.route("/boom")
    async def boom() -> str:
        g.db = "conn2"
        raise RuntimeError("bad")

    await client.get("/")
    assert seen == [("request", None, "conn"), ("appctx", None, "conn")]

    seen.clear()
    assert (await client.get("/boom")).status_code == 500
    assert [(kind, db) for kind, _, db in seen] == [("request", "conn2"), ("appctx", "conn2")]
    assert all(isinstance(exc, RuntimeError) for _, exc, _ in seen)


async def test_teardown_request_blueprint_then_app(app: Flask, client: TestClient) -> None:
    # Sync and async teardown functions on the app and a blueprint all run.
    seen: list[str] = []
    bp = Blueprint("bp", __name__)
    bp.teardown_request(lambda exc: seen.append("bp"))
    app.teardown_request(lambda exc: seen.append("app"))

    @bp.route("/v")
    async def v() -> str:
        return "v"

    app.register_blueprint(bp)
    assert (await client.get("/v")).text == "v"
    assert seen == ["bp", "app"]


async def test_sync_and_async_hooks(app: Flask, client: TestClient) -> None:
    @app.before_request
    def sync_before() -> None:
        g.trail = ["sync-before"]

    @app.before_request
    async def async_before() -> None:
        g.trail.append("async-before")

    @app.after_request
    def sync_after(response: Response) -> Response:
        response.headers["X-Sync"] = ",".join(g.trail)
        return response

    @app.after_request
    async def async_after(response: Response) -> Response:
        response.headers["X-Async"] = "yes"
        return response

    @app.route("/")
    def sync_view() -> str:
        g.trail.append("sync-view")
        return "ok"

    r = await client.get("/")
    assert r.text == "ok"
    assert r.headers["X-Sync"] == "sync-before,async-before,sync-view"
    assert r.headers["X-Async"] == "yes"


# -- abort and HTTP exceptions ------------------------------------------------------------


async def test_abort_404(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        abort(404)

    r = await client.get("/")
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    assert "<title>404 Not Found</title>" in r.text


async def test_abort_418(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        abort(418)

    r = await client.get("/")
    assert r.status_code == 418
    assert r.status == "418 I'M A TEAPOT"
    assert "This server is a teapot, not a coffee machine" in r.text


async def test_abort_with_description(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        abort(403, description="no entry here")

    r = await client.get("/")
    assert r.status_code == 403
    assert "<p>no entry here</p>" in r.text


async def test_abort_with_response(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        abort(Response("custom body", status=401, headers={"WWW-Authenticate": "Basic"}))

    r = await client.get("/")
    assert r.status_code == 401
    assert r.text == "custom body"
    assert r.headers["WWW-Authenticate"] == "Basic"


async def test_abort_unknown_code_is_lookup_error(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        abort(299)

    r = await client.get("/")
    assert r.status_code == 500


async def test_werkzeug_exception_subclasses(app: Flask, client: TestClient) -> None:
    class PaymentRequired(HTTPException):
        code = 402
        description = "Pay first."

    @app.route("/forbidden")
    async def forbidden() -> str:
        raise Forbidden()

    @app.route("/pay")
    async def pay() -> str:
        raise PaymentRequired()

    r = await client.get("/forbidden")
    assert r.status_code == 403
    assert "<title>403 Forbidden</title>" in r.text
    r = await client.get("/pay")
    assert r.status_code == 402
    assert "Pay first." in r.text


async def test_errorhandler_by_code(app: Flask, client: TestClient) -> None:
    @app.errorhandler(404)
    async def not_found(e: NotFound) -> tuple[dict[str, Any], int]:
        return {"error": e.name, "code": e.code, "path": request.path}, 404

    @app.route("/gone")
    async def gone() -> str:
        abort(404)

    r = await client.get("/gone")
    assert r.status_code == 404
    assert r.get_json() == {"error": "Not Found", "code": 404, "path": "/gone"}
    # a routing 404 goes to the same handler
    r = await client.get("/nowhere")
    assert r.status_code == 404
    assert r.get_json() == {"error": "Not Found", "code": 404, "path": "/nowhere"}


async def test_errorhandler_by_exception_class(app: Flask, client: TestClient) -> None:
    class AppError(Exception):
        pass

    class SpecificError(AppError):
        pass

    @app.errorhandler(AppError)
    def app_error(e: AppError) -> tuple[str, int]:
        return f"app error: {type(e).__name__} {e}", 409

    @app.route("/")
    async def index() -> str:
        raise SpecificError("details")

    r = await client.get("/")
    assert r.status_code == 409
    assert r.text == "app error: SpecificError details"


async def test_errorhandler_most_specific_class_wins(app: Flask, client: TestClient) -> None:
    @app.errorhandler(LookupError)
    async def lookup(e: Exception) -> tuple[str, int]:
        return "lookup", 400

    @app.errorhandler(KeyError)
    async def key(e: Exception) -> tuple[str, int]:
        return "key", 400

    @app.route("/key")
    async def key_view() -> str:
        raise KeyError("x")

    @app.route("/index")
    async def index_view() -> str:
        raise IndexError("x")

    assert (await client.get("/key")).text == "key"
    assert (await client.get("/index")).text == "lookup"


async def test_httpexception_handler_catches_404_and_405(app: Flask, client: TestClient) -> None:
    @app.errorhandler(HTTPException)
    async def any_http(e: HTTPException) -> tuple[str, int]:
        assert e.code is not None
        return f"http {e.code} {type(e).__name__}", e.code

    @app.route("/x")
    async def x() -> str:
        abort(404)

    r = await client.get("/x")
    assert (r.status_code, r.text) == (404, "http 404 NotFound")
    r = await client.get("/missing")
    assert (r.status_code, r.text) == (404, "http 404 NotFound")
    r = await client.post("/x")
    assert (r.status_code, r.text) == (405, "http 405 MethodNotAllowed")


async def test_exception_handler_catches_http_exceptions(app: Flask, client: TestClient) -> None:
    @app.errorhandler(Exception)
    async def anything(e: Exception) -> tuple[str, int]:
        code = e.code if isinstance(e, HTTPException) and e.code else 599
        return f"exc {type(e).__name__}", code

    @app.route("/f")
    async def f() -> str:
        abort(403)

    @app.route("/v")
    async def v() -> str:
        raise ValueError("x")

    r = await client.get("/f")
    assert (r.status_code, r.text) == (403, "exc Forbidden")
    r = await client.get("/v")
    assert (r.status_code, r.text) == (599, "exc ValueError")


async def test_strict_slash_redirect_not_sent_to_handler(app: Flask, client: TestClient) -> None:
    @app.errorhandler(HTTPException)
    async def any_http(e: HTTPException) -> tuple[str, int]:
        return "handled", 400

    @app.route("/dir/")
    async def d() -> str:
        return "dir"

    r = await client.get("/dir")
    assert r.status_code == 308
    assert r.headers["Location"] == "http://localhost/dir/"


async def test_blueprint_handler_wins_for_blueprint_routes(app: Flask, client: TestClient) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @app.errorhandler(ValueError)
    async def app_value(e: ValueError) -> tuple[str, int]:
        return "app handler", 400

    @bp.errorhandler(ValueError)
    async def bp_value(e: ValueError) -> tuple[str, int]:
        return "bp handler", 422

    @bp.route("/v")
    async def bp_view() -> str:
        raise ValueError("x")

    @app.route("/v")
    async def app_view() -> str:
        raise ValueError("x")

    app.register_blueprint(bp)

    r = await client.get("/bp/v")
    assert (r.status_code, r.text) == (422, "bp handler")
    r = await client.get("/v")
    assert (r.status_code, r.text) == (400, "app handler")


async def test_handler_exception_is_500(app: Flask, client: TestClient) -> None:
    @app.errorhandler(KeyError)
    async def broken(e: KeyError) -> str:
        raise RuntimeError("handler broke")

    @app.route("/")
    async def index() -> str:
        raise KeyError("x")

    r = await client.get("/")
    assert r.status_code == 500
    assert "handler broke" not in r.text


# -- unhandled exceptions ----------------------------------------------------------------


async def test_unhandled_exception_is_500_and_logged(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/explode")
    async def explode() -> str:
        raise ValueError("very secret message")

    with caplog.at_level(logging.ERROR):
        r = await client.get("/explode")

    assert r.status_code == 500
    assert r.status == "500 INTERNAL SERVER ERROR"
    assert "<title>500 Internal Server Error</title>" in r.text
    assert "very secret message" not in r.text
    assert "Traceback" not in r.text
    assert "ValueError" not in r.text

    records = [rec for rec in caplog.records if "Exception on /explode [GET]" in rec.getMessage()]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError
    assert "very secret message" in caplog.text
    assert "Traceback (most recent call last)" in caplog.text


async def test_unhandled_exception_in_sync_view_is_500(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/sync", methods=["POST"])
    def sync_view() -> str:
        raise ZeroDivisionError("div")

    with caplog.at_level(logging.ERROR):
        r = await client.post("/sync")
    assert r.status_code == 500
    assert "Exception on /sync [POST]" in caplog.text
    assert "ZeroDivisionError" in caplog.text


async def test_500_handler_receives_original_exception(app: Flask, client: TestClient) -> None:
    seen: list[Any] = []

    @app.errorhandler(500)
    async def server_error(e: InternalServerError) -> tuple[str, int]:
        seen.append(e)
        original = e.original_exception
        return f"oops {type(original).__name__} {original}", 500

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("inner")

    @app.route("/abort500")
    async def abort500() -> str:
        abort(500)

    r = await client.get("/boom")
    assert r.status_code == 500
    assert r.text == "oops ValueError inner"
    assert isinstance(seen[0], InternalServerError)

    r = await client.get("/abort500")
    assert r.status_code == 500
    assert r.text == "oops NoneType None"


async def test_internal_server_error_class_handler(app: Flask, client: TestClient) -> None:
    @app.errorhandler(InternalServerError)
    def server_error(e: InternalServerError) -> Response:
        return Response(f"custom 500: {type(e.original_exception).__name__}", status=500)

    @app.route("/boom")
    async def boom() -> str:
        raise LookupError("x")

    r = await client.get("/boom")
    assert r.status_code == 500
    assert r.text == "custom 500: LookupError"


async def test_blueprint_500_handler(app: Flask, client: TestClient) -> None:
    bp = Blueprint("bp", __name__)

    @bp.errorhandler(500)
    async def bp_500(e: InternalServerError) -> tuple[str, int]:
        return "bp 500", 500

    @bp.route("/boom")
    async def boom() -> str:
        raise ValueError("x")

    @app.route("/app-boom")
    async def app_boom() -> str:
        raise ValueError("x")

    app.register_blueprint(bp)
    assert (await client.get("/boom")).text == "bp 500"
    r = await client.get("/app-boom")
    assert r.status_code == 500
    assert "bp 500" not in r.text


async def test_propagate_exceptions(app: Flask, client: TestClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = True
    torn_down: list[BaseException | None] = []
    app.teardown_request(torn_down.append)

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("propagated")

    with pytest.raises(ValueError, match="propagated"):
        await client.get("/boom")
    assert len(torn_down) == 1
    assert isinstance(torn_down[0], ValueError)


async def test_testing_propagates_exceptions(app: Flask, client: TestClient) -> None:
    app.config["TESTING"] = True

    @app.route("/boom")
    def boom() -> str:
        raise KeyError("in testing")

    with pytest.raises(KeyError, match="in testing"):
        await client.get("/boom")


async def test_propagate_false_overrides_testing(app: Flask, client: TestClient) -> None:
    app.config["TESTING"] = True
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("x")

    assert (await client.get("/boom")).status_code == 500


async def test_http_exceptions_do_not_propagate_in_testing(app: Flask, client: TestClient) -> None:
    app.config["TESTING"] = True

    @app.route("/")
    async def index() -> str:
        abort(404)

    assert (await client.get("/")).status_code == 404


async def test_view_returning_none_is_500(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/none")
    async def none() -> None:
        pass

    with caplog.at_level(logging.ERROR):
        r = await client.get("/none")
    assert r.status_code == 500
    assert "did not return a valid response" not in r.text
    assert "Exception on /none [GET]" in caplog.text
    assert "did not return a valid response" in caplog.text
    assert "'none'" in caplog.text


async def test_invalid_tuple_is_500(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/four")
    async def four() -> Any:
        return "a", 200, {}, "extra"

    @app.route("/one")
    async def one() -> Any:
        return ("a",)

    with caplog.at_level(logging.ERROR):
        r = await client.get("/four")
        assert r.status_code == 500
        assert (await client.get("/one")).status_code == 500
    assert "did not return a valid response tuple" in caplog.text


async def test_invalid_return_type_is_500(
    app: Flask, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/int")
    async def integer() -> Any:
        return 123

    with caplog.at_level(logging.ERROR):
        r = await client.get("/int")
    assert r.status_code == 500
    assert "did not return a valid response" in caplog.text
    assert "int" in caplog.text


async def test_startup_freezes_the_gc_unless_testing(app: Flask) -> None:
    import gc

    gc.unfreeze()
    try:
        app.testing = True
        async with app.test_client():
            assert gc.get_freeze_count() == 0
        app.testing = False
        async with app.test_client():
            assert gc.get_freeze_count() > 0
        gc.unfreeze()
        app.freeze_gc_on_startup = False
        async with app.test_client():
            assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


async def test_hooks_put_straight_into_the_registries_run(app: Flask, client: TestClient) -> None:
    @app.route("/")
    async def index() -> str:
        return "ok"

    assert "X-After" not in (await client.get("/")).headers

    def after(response: Response) -> Response:
        response.headers["X-After"] = "yes"
        return response

    app.after_request_funcs.setdefault(None, []).append(after)
    assert (await client.get("/")).headers["X-After"] == "yes"
