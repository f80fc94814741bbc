"""Werkzeug's state-machine URL matcher, with its per-match setup done once."""

from __future__ import annotations

import re
import typing as t

from werkzeug.routing.converters import BaseConverter, IntegerConverter, ValidationError
from werkzeug.routing.exceptions import NoMatch, RequestAliasRedirect, RequestPath
from werkzeug.routing.matcher import SlashRequired, State, StateMachineMatcher

if t.TYPE_CHECKING:
    from werkzeug.routing.rules import Rule

__all__ = ["Matcher"]

_MERGE = re.compile("/{2,}")


class _Node:
    """A compiled state: its rules and its static and dynamic transitions."""

    __slots__ = ("dynamic", "rules", "static")

    def __init__(self, state: State) -> None:
        self.rules = state.rules
        self.static = {part: _Node(child) for part, child in state.static.items()}
        self.dynamic = [
            _Transition(part.content, part.final, part.suffixed, _Node(child))
            for part, child in state.dynamic
        ]


class _Transition:
    """A dynamic transition: the part's regex, compiled, and the numbers of
    its converter groups in order."""

    __slots__ = ("final", "groups", "node", "regex", "single", "suffixed", "test")

    def __init__(self, pattern: str, final: bool, suffixed: bool, node: _Node) -> None:
        self.regex = re.compile(pattern)
        names = sorted(
            (name for name in self.regex.groupindex if name.startswith("__werkzeug_")),
            key=lambda name: int(name[11:]),
        )
        self.groups = tuple(self.regex.groupindex[name] for name in names)
        self.single = self.groups[0] if len(self.groups) == 1 else None
        self.final = final
        self.suffixed = suffixed
        self.node = node
        # a test that says what the regex would of a whole part, faster
        self.test = None if final or suffixed else _WHOLE_PART_TESTS.get(pattern)


#: Tests equal to the most common part regexes (``int`` and the default
#: ``string`` converter) when matched against a whole part, which never
#: contains a slash: ``\d`` is what ``str.isdecimal`` checks, and
#: ``[^/]{1,}`` holds for any part that is not empty. The part is the value.
_WHOLE_PART_TESTS: dict[str, t.Callable[[str], t.Any]] = {
    r"(?P<__werkzeug_0>\d+)\Z": str.isdecimal,
    r"(?P<__werkzeug_0>[^/]{1,})\Z": len,
}


#: How a rule's matched strings become its values: (name, converter), where
#: the converter is ``None`` when it keeps the string as it is.
_Steps = tuple[tuple[str, t.Callable[[str], t.Any] | None], ...]

#: A rule, its steps, and whether a match of it is final: no redirect (to
#: another URL, from an alias, or to the rule that provides its defaults).
_Plan = tuple["Rule", _Steps, bool]


def _plan(rule: Rule) -> _Plan:
    """Plan a rule of an updated map (its rules by endpoint are sorted)."""
    first = rule.map._rules_by_endpoint[rule.endpoint][0] is rule
    return rule, _steps(rule), rule.redirect_to is None and not rule.alias and first


def _steps(rule: Rule) -> _Steps:
    steps = []
    for name, converter in rule._converters.items():
        convert: t.Callable[[str], t.Any] | None = converter.to_python
        kind = type(converter)
        if kind.to_python is BaseConverter.to_python:
            convert = None
        elif (
            isinstance(converter, IntegerConverter)
            and kind is IntegerConverter
            and not (
                converter.fixed_digits or converter.min is not None or converter.max is not None
            )
        ):
            convert = int  # what its to_python comes to with these settings
        steps.append((str(name), convert))
    return tuple(steps)


class Matcher(StateMachineMatcher):
    """Matches exactly as Werkzeug's ``StateMachineMatcher`` (same states,
    same order, same errors), but does its per-match setup once, when the
    map is updated: it compiles each transition's regex, orders its
    converter groups, and plans each rule's conversions. The path is walked
    by index instead of being copied."""

    _compiled: _Node | None = None

    def __init__(self, merge_slashes: bool) -> None:
        super().__init__(merge_slashes)
        self._forget()

    def _forget(self) -> None:
        """Drop what was learnt from matching (the rules may have changed)."""
        self._plans: dict[int, _Plan] = {}
        self._searches: dict[str | tuple[str, bool], _Search] = {}
        self._starts: dict[str, _Node | t.Literal[False]] = {}

    def update(self) -> None:
        """Sort the transitions and compile the states."""
        super().update()
        compiled = _Node(self._root)
        self._forget()
        self._compiled = compiled

    @staticmethod
    def _start(root: _Node, domain: str) -> _Node | t.Literal[False]:
        """The state after ``domain`` and a path's leading slash, when the
        walk there has no choice to make (no dynamic transition), else
        ``False``."""
        host = root.static.get(domain)
        if root.dynamic or host is None or host.dynamic:
            return False
        return host.static.get("", False)

    def match(
        self, domain: str, path: str, method: str, websocket: bool
    ) -> tuple[Rule, t.MutableMapping[str, t.Any]]:
        """The rule for ``path`` and its converted values, or a routing
        error (``NoMatch``, ``RequestPath``, ``RequestAliasRedirect``)."""
        root = self._compiled
        if root is None:
            self.update()
            root = t.cast(_Node, self._compiled)
        # what does not match is walked again, recording why, for the error
        key = (method, True) if websocket else method
        search = self._searches.get(key)
        if search is None:
            search = self._searches[key] = _Search(method, websocket, False)
        start = self._starts.get(domain)
        if start is None:
            start = self._starts[domain] = self._start(root, domain)
        try:
            if start and path[:1] == "/":
                found = search.walk(start, path.split("/"), 1, [])
            else:
                found = search.walk(root, [domain, *path.split("/")], 0, [])
            if found is None:
                search = _Search(method, websocket, True)
                found = search.walk(root, [domain, *path.split("/")], 0, [])
        except SlashRequired:
            raise RequestPath(f"{path}/") from None
        if found is None:
            if self.merge_slashes:
                path = _MERGE.sub("/", path)
                try:
                    found = search.walk(root, [domain, *path.split("/")], 0, [])
                except SlashRequired:
                    raise RequestPath(f"{path}/") from None
                if found is not None and found[0].merge_slashes is not False:
                    raise RequestPath(path)
            raise NoMatch(search.allowed, search.mismatch)
        rule, values = found
        planned = self._plans.get(id(rule))
        if planned is None or planned[0] is not rule:
            planned = self._plans[id(rule)] = _plan(rule)
        try:
            result = _convert(planned[1], values)
        except ValidationError as e:
            raise NoMatch(search.allowed, search.mismatch) from e
        if rule.defaults:
            result.update(rule.defaults)
        if rule.alias and rule.map.redirect_defaults:
            raise RequestAliasRedirect(result, rule.endpoint)
        return rule, result

    def find(self, domain: str, path: str, method: str) -> tuple[Rule, dict[str, t.Any]] | None:
        """The rule and values for an HTTP request's ``path`` when it matches
        a rule seen before that answers without a redirect; otherwise
        ``None``, and :meth:`match` tells what happens (a match it plans, a
        redirect, or a routing error)."""
        search = self._searches.get(method)
        start = self._starts.get(domain)
        if not (search and start) or path[:1] != "/":
            return None
        try:
            found = search.walk(start, path.split("/"), 1, [])
        except SlashRequired:
            return None
        if found is None:
            return None
        rule, values = found
        planned = self._plans.get(id(rule))
        if planned is None or planned[0] is not rule or not planned[2]:
            return None
        steps = planned[1]
        try:
            result = _convert(steps, values) if steps else {}
        except ValidationError:
            return None
        if rule.defaults:
            result.update(rule.defaults)
        return rule, result


def _convert(steps: _Steps, values: list[str]) -> dict[str, t.Any]:
    """The values of a rule's matched strings (a converter's
    ``ValidationError`` propagates)."""
    result: dict[str, t.Any] = {}
    for k, (name, convert) in enumerate(steps):
        value = values[k]
        result[name] = value if convert is None else convert(value)
    return result


class _Search:
    """One way of walking the states, for a method and socket kind; when
    ``record`` is on, it also keeps what was seen on the way for the error
    when nothing matches (methods allowed, a websocket mismatch). Werkzeug
    does this with nested recursive functions, which are reference cycles
    left for the garbage collector on every match."""

    __slots__ = ("allowed", "method", "mismatch", "record", "websocket")

    def __init__(self, method: str, websocket: bool, record: bool) -> None:
        self.method = method
        self.websocket = websocket
        self.record = record
        self.allowed: set[str] = set()
        self.mismatch = False

    def accept(self, rules: list[Rule], strict_only: bool) -> Rule | None:
        """The first rule for this method and socket kind."""
        for rule in rules:
            if strict_only and rule.strict_slashes:
                continue
            if rule.methods is not None and self.method not in rule.methods:
                if self.record:
                    self.allowed.update(rule.methods)
            elif rule.websocket != self.websocket:
                if self.record:
                    self.mismatch = True
            else:
                return rule
        return None

    def walk(
        self, node: _Node, parts: list[str], i: int, values: list[str]
    ) -> tuple[Rule, list[str]] | None:
        """Match ``parts[i:]`` from ``node``: static transitions first, then
        the dynamic ones in order of weight."""
        # follow static-only states in a loop: they have nothing to fall back on
        last = len(parts) - 1
        while i <= last and not node.dynamic and (parts[i] or i != last):
            next_node = node.static.get(parts[i])
            if next_node is None:
                return None
            node = next_node
            i += 1
        if i > last:
            if self.record:
                rule = self.accept(node.rules, False)
                if rule is not None:
                    return rule, values
            else:
                for rule in node.rules:
                    if (
                        rule.methods is None or self.method in rule.methods
                    ) and rule.websocket == self.websocket:
                        return rule, values
            slash = node.static.get("")
            if slash is not None:
                for rule in slash.rules:
                    if self.websocket == rule.websocket and (
                        rule.methods is None or self.method in rule.methods
                    ):
                        if rule.strict_slashes:
                            raise SlashRequired()
                        return rule, values
            return None
        part = parts[i]
        child = node.static.get(part)
        if child is not None:
            found = self.walk(child, parts, i + 1, values)
            if found is not None:
                return found
        for move in node.dynamic:
            if move.test is not None:
                if move.test(part):
                    found = self.walk(move.node, parts, i + 1, [*values, part])
                    if found is not None:
                        return found
                continue
            if move.final:
                match = move.regex.match("/".join(parts[i:]))
                rest, j = parts, len(parts)
            else:
                match = move.regex.match(part)
                rest, j = parts, i + 1
            if match is None:
                continue
            if move.suffixed and match.groups()[-1] == "/":
                rest, j = [""], 0
            single = move.single
            found = self.walk(
                move.node,
                rest,
                j,
                [*values, match[single]]
                if single is not None
                else [*values, *match.group(*move.groups)],
            )
            if found is not None:
                return found
        if i == last and part == "":
            rule = self.accept(node.rules, True)
            if rule is not None:
                return rule, values
        return None
