"""Rule indexing: an event meets only the rules that can match it.

Most detections pin a field to literals (``process.name in ("bash", "sh")``,
``event.action == "exec"``). Such a conjunct is a necessary condition, so
the rule is filed under those values in a hash table for that field, and at
run time one lookup per indexed field replaces a scan over every rule. The
rule's full predicate still runs on the candidates, so the index can only
skip work, never change a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .eql import ast
from .events import make_getter

# Fields that carry the most selective literals in real rules; an earlier
# entry wins when a rule pins several.
_PREFERRED = (
    "process.name", "process.executable", "file.name", "file.path", "event.action",
    "process.parent.name", "file.extension", "destination.port", "event.type",
)


@dataclass(frozen=True)
class Constraint:
    path: tuple
    fold: bool  # values compared case-insensitively
    values: frozenset


def _literal_values(node: ast.Expr, fold_default: bool, dialect: str) -> tuple[tuple, bool, list] | None:
    if isinstance(node, ast.Compare) and node.op == "==":
        if isinstance(node.left, ast.Field) and isinstance(node.right, ast.Literal):
            f, lit = node.left, node.right
        elif isinstance(node.right, ast.Field) and isinstance(node.left, ast.Literal):
            f, lit = node.right, node.left
        else:
            return None
        v = lit.value
        if v is None or isinstance(v, bool) or not isinstance(v, (str, int, float)):
            return None
        if isinstance(v, str) and dialect == "endgame" and "*" in v:
            return None
        return f.path, fold_default, [v]
    if isinstance(node, ast.InSet) and not node.negate and isinstance(node.expr, ast.Field):
        vals = []
        for item in node.items:
            if not isinstance(item, ast.Literal):
                return None
            v = item.value
            if v is None or isinstance(v, bool) or not isinstance(v, (str, int, float)):
                return None
            vals.append(v)
        return node.expr.path, node.insensitive or fold_default, vals
    if isinstance(node, ast.StringPredicate) and isinstance(node.expr, ast.Field) and node.op in (":", "like"):
        vals = []
        for p in node.patterns:
            if not isinstance(p, ast.Literal) or not isinstance(p.value, str):
                return None
            if "*" in p.value or "?" in p.value or "\\" in p.value:
                return None
            vals.append(p.value)
        return node.expr.path, node.insensitive, vals
    return None


def extract_constraint(cond: ast.Expr, fold_default: bool, dialect: str) -> Constraint | None:
    """The best literal constraint among the top-level conjuncts, if any."""
    terms = cond.terms if isinstance(cond, ast.And) else [cond]
    found: list[tuple[tuple, bool, list]] = []
    for t in terms:
        r = _literal_values(t, fold_default, dialect)
        if r is not None and all(isinstance(p, str) for p in r[0]):
            found.append(r)
    if not found:
        return None

    def rank(item: tuple) -> tuple:
        dotted = ".".join(item[0])
        pref = _PREFERRED.index(dotted) if dotted in _PREFERRED else len(_PREFERRED)
        return (pref, len(item[2]))

    path, fold, vals = min(found, key=rank)
    if dialect == "elasticsearch":
        # The predicate matches "0" for 0 and 443 for "443" (term-query
        # semantics); the index must hold both forms or it would skip them.
        from .eql.runtime import _coerced

        vals = list(vals) + [t for t in map(_coerced, vals) if t is not None]
    norm = frozenset((v.lower() if fold and isinstance(v, str) else v) for v in vals)
    return Constraint(path, fold, norm)


Handler = Callable[..., None]


@dataclass
class FieldIndex:
    path: tuple
    fold: bool
    getter: Callable[[dict], Any]
    table: dict[Any, list[Handler]] = field(default_factory=dict)

    def add(self, values: frozenset, handler: Handler) -> None:
        for v in values:
            self.table.setdefault(v, []).append(handler)

    def candidates(self, e: dict) -> list[Handler] | None:
        v = self.getter(e)
        if v is None:
            return None
        cls = v.__class__
        if cls is str:
            return self.table.get(v.lower() if self.fold else v)
        if cls is list:
            out: list[Handler] = []
            for x in v:
                if x.__class__ is str and self.fold:
                    x = x.lower()
                try:
                    hs = self.table.get(x)
                except TypeError:
                    continue
                if hs:
                    for h in hs:
                        if h not in out:
                            out.append(h)
            return out or None
        try:
            return self.table.get(v)
        except TypeError:
            return None


class TypeIndex:
    """All event rules for one event type: indexed ones and the rest."""

    def __init__(self) -> None:
        self.indexes: dict[tuple, FieldIndex] = {}
        self.scan: list[Handler] = []

    def add(self, constraint: Constraint | None, handler: Handler) -> None:
        if constraint is None:
            self.scan.append(handler)
            return
        key = (constraint.path, constraint.fold)
        idx = self.indexes.get(key)
        if idx is None:
            idx = self.indexes[key] = FieldIndex(constraint.path, constraint.fold, make_getter(constraint.path))
        idx.add(constraint.values, handler)

    def __len__(self) -> int:
        return len(self.scan) + sum(len(hs) for idx in self.indexes.values() for hs in idx.table.values())
