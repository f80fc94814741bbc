"""Werkzeug's state-machine URL matcher, with its per-match setup done once."""

from __future__ import annotations

import re
import typing as t

from werkzeug.routing.converters import ValidationError
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
    """A dynamic transition: the part's regex, compiled, and the names of its
    converter groups in order."""

    __slots__ = ("final", "names", "node", "regex", "single", "suffixed")

    def __init__(self, pattern: str, final: bool, suffixed: bool, node: _Node) -> None:
        self.regex = re.compile(pattern)
        self.names = sorted(
            (name for name in self.regex.groupindex if name.startswith("__werkzeug_")),
            key=lambda name: int(name[11:]),
        )
        self.single = len(self.names) == 1
        self.final = final
        self.suffixed = suffixed
        self.node = node


class Matcher(StateMachineMatcher):
    """Matches exactly as Werkzeug's ``StateMachineMatcher`` (same states,
    same order, same errors), but compiles each transition's regex and its
    converter-group order when the map is updated rather than on every
    match, and walks the path by index instead of copying it."""

    _compiled: _Node | None = None

    def update(self) -> None:
        """Sort the transitions and compile the states."""
        super().update()
        self._compiled = _Node(self._root)

    def match(
        self, domain: str, path: str, method: str, websocket: bool
    ) -> tuple[Rule, t.MutableMapping[str, t.Any]]:
        """The rule for ``path`` and its converted values, or a routing
        error (``NoMatch``, ``RequestPath``, ``RequestAliasRedirect``)."""
        if self._compiled is None:
            self.update()
            assert self._compiled is not None
        search = _Search(method, websocket)
        try:
            found = search.walk(self._compiled, [domain, *path.split("/")], 0, [])
        except SlashRequired:
            raise RequestPath(f"{path}/") from None
        if found is None:
            if self.merge_slashes:
                path = _MERGE.sub("/", path)
                try:
                    found = search.walk(self._compiled, [domain, *path.split("/")], 0, [])
                except SlashRequired:
                    raise RequestPath(f"{path}/") from None
                if found is not None and found[0].merge_slashes is not False:
                    raise RequestPath(path)
            raise NoMatch(search.allowed, search.mismatch)
        rule, values = found
        result: dict[str, t.Any] = {}
        converters = rule._converters
        for name, value in zip(converters, values, strict=False):
            try:
                result[str(name)] = converters[name].to_python(value)
            except ValidationError as e:
                raise NoMatch(search.allowed, search.mismatch) from e
        if rule.defaults:
            result.update(rule.defaults)
        if rule.alias and rule.map.redirect_defaults:
            raise RequestAliasRedirect(result, rule.endpoint)
        return rule, result


class _Search:
    """One match: the walk through the states, and what was seen on the way
    for the error when nothing matches (methods allowed, a websocket
    mismatch). Werkzeug does this with nested recursive functions, which
    are reference cycles left for the garbage collector on every match."""

    __slots__ = ("allowed", "method", "mismatch", "websocket")

    def __init__(self, method: str, websocket: bool) -> None:
        self.method = method
        self.websocket = websocket
        self.allowed: set[str] = set()
        self.mismatch = False

    def accept(self, rules: list[Rule], strict_only: bool) -> Rule | None:
        """The first rule for this method and socket kind."""
        for rule in rules:
            if strict_only and rule.strict_slashes:
                continue
            if rule.methods is not None and self.method not in rule.methods:
                self.allowed.update(rule.methods)
            elif rule.websocket != self.websocket:
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
            rule = self.accept(node.rules, False)
            if rule is not None:
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
            groups: t.Any = match.group(*move.names)
            found = self.walk(
                move.node, rest, j, values + ([groups] if move.single else list(groups))
            )
            if found is not None:
                return found
        if i == last and part == "":
            rule = self.accept(node.rules, True)
            if rule is not None:
                return rule, values
        return None
