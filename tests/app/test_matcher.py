"""The URL matcher gives exactly Werkzeug's answers: the same rule and
values, or the same routing error, for every path, method and socket kind."""

from __future__ import annotations

import contextlib
import itertools
import typing as t

import pytest
from werkzeug.routing import BaseConverter, IntegerConverter, Map, Rule
from werkzeug.routing.matcher import StateMachineMatcher

from asyncflask.matcher import Matcher
from asyncflask.routing import URLMap


class EverythingConverter(BaseConverter):
    """Matches slashes too, like a path, but is not part-isolating."""

    regex = ".*"
    part_isolating = False


class EvenConverter(BaseConverter):
    """Rejects odd numbers in ``to_python``."""

    regex = r"\d+"

    def to_python(self, value: str) -> int:
        from werkzeug.routing import ValidationError

        number = int(value)
        if number % 2:
            raise ValidationError()
        return number


class ShiftedConverter(IntegerConverter):
    """An integer converter of the user's, with a to_python of its own."""

    def to_python(self, value: str) -> int:
        return int(value) + 1000


def make_rules() -> list[Rule]:
    """A fresh copy of the rules (``Rule.empty()`` loses ``merge_slashes``)."""
    return [
        Rule("/", endpoint="index"),
        Rule("/plain", endpoint="plain", methods=["GET"]),
        Rule("/plain", endpoint="plain_post", methods=["POST"]),
        Rule("/users/", endpoint="users"),
        Rule("/users/<int:user_id>", endpoint="user"),
        Rule("/users/<int(signed=True):user_id>/signed", endpoint="signed"),
        Rule("/users/new", endpoint="new_user"),
        Rule("/users/<name>", endpoint="user_by_name"),
        Rule("/users/<name>/posts/<int:post>", endpoint="post"),
        Rule("/files/<path:rest>", endpoint="files"),
        Rule("/files/<path:rest>/raw", endpoint="raw"),
        Rule("/f/<float:x>", endpoint="float"),
        Rule("/u/<uuid:u>", endpoint="uuid"),
        Rule("/any/<any(a, b, 'c d'):choice>", endpoint="any"),
        Rule("/fixed/<int(fixed_digits=3):n>", endpoint="fixed"),
        Rule("/range/<int(min=5, max=9):n>", endpoint="range"),
        Rule("/even/<even:n>", endpoint="even"),
        Rule("/everything/<everything:x>", endpoint="everything"),
        Rule("/everything/<everything:x>/", endpoint="everything_slash"),
        Rule("/loose", endpoint="loose", strict_slashes=False),
        Rule("/loose/<int:n>/", endpoint="loose_n", strict_slashes=False),
        Rule("/strict/", endpoint="strict"),
        Rule("/ws", endpoint="ws", websocket=True),
        Rule("/ws-or-http", endpoint="ws_http"),
        Rule("/defaults/", endpoint="page", defaults={"page": 1}),
        Rule("/defaults/<int:page>", endpoint="page"),
        Rule("/nomerge//x", endpoint="nomerge", merge_slashes=False),
        Rule("/unmerged/x", endpoint="unmerged", merge_slashes=False),
        Rule("/every/<everything:x>/", endpoint="every_slash"),
        Rule("/many/" + "-".join(f"<int:v{i}>" for i in range(12)), endpoint="many"),
        Rule("/prefix-<int:n>-suffix", endpoint="mixed"),
        Rule("/<section>/<int:n>/<path:tail>", endpoint="catchall"),
        Rule("/shifted/<shifted:n>", endpoint="shifted"),
        Rule("/short/<string(maxlength=3):s>", endpoint="short"),
    ]


PATHS = [
    "/",
    "//",
    "/plain",
    "/plain/",
    "/users",
    "/users/",
    "/users/42",
    "/users/-4/signed",
    "/users/4/signed",
    "/users/new",
    "/users/new/",
    "/users/bob",
    "/users/bob/",
    "/users/bob/posts/3",
    "/users/bob/posts/x",
    "/users//42",
    "/files/a",
    "/files/a/b/c",
    "/files/a/b/raw",
    "/files/",
    "/f/1.5",
    "/f/1",
    "/u/a8098c1a-f86e-11da-bd1a-00112444be1e",
    "/u/nope",
    "/any/a",
    "/any/c d",
    "/any/e",
    "/fixed/007",
    "/fixed/7",
    "/range/7",
    "/range/10",
    "/even/4",
    "/even/5",
    "/everything/x/y",
    "/everything/x/y/",
    "/everything/",
    "/loose",
    "/loose/",
    "/loose/3",
    "/loose/3/",
    "/strict",
    "/strict/",
    "/ws",
    "/ws-or-http",
    "/defaults/",
    "/defaults/1",
    "/defaults/2",
    "/nomerge//x",
    "/nomerge/x",
    "/unmerged//x",
    "/every/x/y/",
    "/every/x/y",
    "/every/",
    "/many/" + "-".join(map(str, range(12))),
    "/prefix-5-suffix",
    "/prefix-x-suffix",
    "/sec/3/a/b",
    "/sec/x/a",
    "///users///42",
    "/missing",
    "/users/42/",
    "/plain//",
    "/caf\u00e9",
    # the int and string parts are tested without their regexes: the same
    # answers for digits of other scripts, signs, spaces and line breaks
    "/users/\u0664\u0662",
    "/users/\u00b2",
    "/users/+4",
    "/users/ 4",
    "/users/4\n",
    "/users/bob\n",
    "/users/\n",
    "/shifted/5",
    "/short/abc",
    "/short/abcd",
    "users/42",
    "",
]


def outcome(
    matcher: StateMachineMatcher, path: str, method: str, websocket: bool, domain: str = ""
) -> t.Any:
    try:
        rule, values = matcher.match(domain, path, method, websocket)
    except Exception as e:  # the routing errors are part of the answer
        fields = ("args", "path_info", "have_match_for", "websocket_mismatch", "endpoint")
        return type(e).__name__, [repr(getattr(e, name, None)) for name in fields]
    return rule.endpoint, {name: (type(value), value) for name, value in values.items()}


@pytest.mark.parametrize("merge_slashes", [True, False])
@pytest.mark.parametrize("redirect_defaults", [True, False])
def test_same_answers_as_werkzeug(merge_slashes: bool, redirect_defaults: bool) -> None:
    url_map = URLMap(
        make_rules(),
        merge_slashes=merge_slashes,
        redirect_defaults=redirect_defaults,
        converters={
            "everything": EverythingConverter,
            "even": EvenConverter,
            "shifted": ShiftedConverter,
        },
    )
    url_map.update()
    reference = StateMachineMatcher(merge_slashes)
    for rule in url_map.iter_rules():
        reference.add(rule)
    reference.update()
    assert isinstance(url_map._matcher, Matcher)
    checked = 0
    for path, method, websocket in itertools.product(PATHS, ["GET", "POST"], [False, True]):
        assert outcome(url_map._matcher, path, method, websocket) == outcome(
            reference, path, method, websocket
        ), (path, method, websocket)
        checked += 1
    assert checked == len(PATHS) * 4


def test_rules_added_after_a_match_are_found() -> None:
    url_map = URLMap([Rule("/a/<int:n>", endpoint="a")])
    assert url_map.bind("localhost").match("/a/1") == ("a", {"n": 1})
    url_map.add(Rule("/b/<int:n>", endpoint="b"))
    assert url_map.bind("localhost").match("/b/2") == ("b", {"n": 2})


def test_plain_map_rules_match_the_same() -> None:
    plain = Map([Rule("/x/<int:n>", endpoint="x")])
    ours = URLMap([Rule("/x/<int:n>", endpoint="x")])
    assert plain.bind("h").match("/x/3") == ours.bind("h").match("/x/3")


def test_same_answers_as_werkzeug_with_hosts() -> None:
    def make() -> list[Rule]:
        return [
            Rule("/", endpoint="root", host="example.com"),
            Rule("/", endpoint="sub_root", host="<sub>.example.com"),
            Rule("/items/<int:n>", endpoint="items", host="<sub>.example.com"),
            Rule("/items/<int:n>", endpoint="api_items", host="api.example.com"),
        ]

    url_map = URLMap(make(), host_matching=True)
    url_map.update()
    reference = StateMachineMatcher(url_map.merge_slashes)
    for rule in url_map.iter_rules():
        reference.add(rule)
    reference.update()
    hosts = ["example.com", "a.example.com", "api.example.com", "other.org", ""]
    for host, path in itertools.product(hosts, ["/", "/items/3", "/items/x", "/items/3/"]):
        for method in ("GET", "POST"):
            assert outcome(url_map._matcher, path, method, False, host) == outcome(
                reference, path, method, False, host
            ), (host, path, method)


@pytest.mark.parametrize("redirect_defaults", [True, False])
def test_find_gives_the_adapters_answer_or_leaves_it_to_the_adapter(
    redirect_defaults: bool,
) -> None:
    converters = {"everything": EverythingConverter, "even": EvenConverter}
    converters["shifted"] = ShiftedConverter
    ours = URLMap(make_rules(), redirect_defaults=redirect_defaults, converters=converters)
    plain = Map(make_rules(), redirect_defaults=redirect_defaults, converters=converters)
    matcher = ours._matcher
    assert isinstance(matcher, Matcher)
    ours.update()
    assert all(matcher.find("", path, "GET") is None for path in PATHS)  # nothing seen yet
    for path, method in itertools.product(PATHS, ["GET", "POST"]):
        with contextlib.suppress(Exception):  # routing errors are answers too
            ours.bind("h").match(path, method)  # what the adapter sees, it plans
    found = 0
    for path, method in itertools.product(PATHS, ["GET", "POST"]):
        part = f"/{path.lstrip('/')}" if path else ""  # what the adapter (and a request) has
        try:
            rule, values = plain.bind("h").match(path, method, return_rule=True)
        except Exception:
            assert matcher.find("", part, method) is None, (path, method)
            continue
        result = matcher.find("", part, method)
        first = plain._rules_by_endpoint[rule.endpoint][0] is rule
        if first and rule.redirect_to is None and not rule.alias and part:
            assert result is not None, (path, method)
        if result is not None:
            assert (result[0].rule, result[1]) == (rule.rule, values), (path, method)
            found += 1
    assert found > 30
