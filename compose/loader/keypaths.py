"""Key-path patterns and the tree walk that applies per-key rules (merge, canonical, defaults, paths).

WHY one place: each loader stage decides what to do with a value by where it sits in the
document (``services.*.ports``, ``networks.*.ipam.config``). A pattern is a tuple of keys in
which ``"*"`` matches any mapping key or list item; list items appear in paths as ``"[]"``.
"""
from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")
ANY = "*"
ITEM = "[]"   # the path component of a list item


class PathRules(Generic[T]):
    """A table ``pattern -> rule``; ``find(path)`` gives the rule of the first pattern matching ``path``."""

    def __init__(self, table: dict[tuple, T]):
        self.table = table
        # indexed by (length, last key): most paths of a document match no pattern, and are told so
        # by two dict lookups
        self._index: dict[tuple[int, Any], list[tuple[tuple, T]]] = {}
        for pattern, rule in table.items():
            self._index.setdefault((len(pattern), pattern[-1] if pattern else None), []).append((pattern, rule))

    @classmethod
    def grouped(cls, groups: dict[T, str]) -> "PathRules[T]":
        """From ``{rule: "services.*.dns services.*.dns_search"}``: each rule with its dotted patterns
        (patterns of one table never overlap, so their order does not matter)."""
        return cls({tuple(p.split(".")): rule for rule, patterns in groups.items() for p in patterns.split()})

    def find(self, path: tuple) -> T | None:
        if not path:
            return None
        n = len(path)
        for candidates in (self._index.get((n, path[-1])), self._index.get((n, ANY))):
            for pattern, rule in candidates or ():
                for key, want in zip(path, pattern):
                    if want != ANY and key != want:
                        break
                else:
                    return rule
        return None


Apply = Callable[[Any, Any, tuple], Any]   # (rule, value, path) -> new value


def rewrite(value: Any, rules: PathRules, apply: Apply, path: tuple = (), lists: bool = True) -> Any:
    """Depth first, in place: where a rule matches, the value becomes ``apply(rule, value, path)`` and
    the rule owns that subtree; elsewhere mappings (and, with ``lists``, lists) are walked into."""
    rule = rules.find(path)
    if rule is not None:
        return apply(rule, value, path)
    return rewrite_children(value, rules, apply, path, lists)


def rewrite_children(value: Any, rules: PathRules, apply: Apply, path: tuple, lists: bool = True) -> Any:
    """The children of a mapping or list rewritten (``rewrite``); other values as they are."""
    if isinstance(value, dict):
        for k in list(value):
            value[k] = rewrite(value[k], rules, apply, path + (k,), lists)
    elif lists and isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = rewrite(item, rules, apply, path + (ITEM,), lists)
    return value


def dotted(path: tuple) -> str:
    """``("services", "web", "ports")`` -> ``services.web.ports`` (for messages)."""
    return ".".join(map(str, path))
