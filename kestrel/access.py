"""Access paths: the cheapest necessary condition of a predicate.

A rule (or a sequence step) is only worth evaluating on an event that can
satisfy it. Most predicates pin some field with a top-level conjunct —
``process.name in ("nc", "ncat")``, ``process.command_line : "*curl*"``,
``cidrMatch(destination.ip, "10.0.0.0/8")`` — and that conjunct can be
answered for all rules at once: a hash lookup for literals, one
multi-pattern scan per field for wildcards, a prefix table for networks.
This module picks that conjunct; :mod:`kestrel.dispatch` builds the tables.

Conditions are prefilters: they may let through an event the predicate
rejects (the predicate still runs), but never hold back one it accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from .eql import ast

# Fields whose values are shared by most events of a type: an index on them
# hardly narrows anything, so a pattern or CIDR condition is preferred.
LOW_CARDINALITY = frozenset({
    "event.type", "event.action", "event.outcome", "event.kind", "event.module", "event.dataset",
    "event.category", "network.direction", "network.transport", "network.type", "network.protocol",
    "host.os.type", "host.os.family", "host.os.platform", "process.interactive", "agent.type",
    "user.id", "user.name", "user.effective.id", "group.id",
    "opcode", "subtype", "event_subtype_full", "event_type_full",
})


@dataclass(frozen=True)
class EqCond:
    path: tuple
    fold: bool
    values: frozenset


@dataclass(frozen=True)
class PatternCond:
    """Any of ``regexes`` (hyperscan/PCRE-compatible sources) matches the
    field; ``ci`` says the field is lower-cased before the scan (and the
    regexes are already lower-case)."""

    path: tuple
    ci: bool
    regexes: tuple[str, ...]


@dataclass(frozen=True)
class CidrCond:
    path: tuple
    cidrs: tuple[str, ...]


Cond = Union[EqCond, PatternCond, CidrCond]


def _escape(text: str) -> str:
    # re.escape escapes every non-alphanumeric ASCII char with a backslash,
    # which PCRE and hyperscan read as the literal char.
    return re.escape(text)


def wildcard_to_regex(pattern: str, question_mark: bool) -> str:
    """A whole-value wildcard as an anchored regex (DOTALL is set by the scanner)."""
    out = ["^"]
    buf = []
    for ch in pattern:
        if ch == "*":
            out.append(_escape("".join(buf)))
            buf = []
            out.append(".*")
        elif ch == "?" and question_mark:
            out.append(_escape("".join(buf)))
            buf = []
            out.append(".")
        else:
            buf.append(ch)
    out.append(_escape("".join(buf)))
    out.append("$")
    return "".join(out)


def _field_of(node: ast.Expr) -> tuple | None:
    if isinstance(node, ast.Field) and all(isinstance(p, str) for p in node.path):
        return tuple(p for part in node.path for p in str(part).split("."))
    return None


def _scalar_literal(v: object) -> bool:
    return v is not None and not isinstance(v, bool) and isinstance(v, (str, int, float))


def cond_of(node: ast.Expr, fold_default: bool, dialect: str) -> Cond | None:
    """The access condition one conjunct gives, if any."""
    coerce = dialect == "elasticsearch"
    if isinstance(node, ast.Compare) and node.op == "==":
        if isinstance(node.right, ast.Literal):
            f, lit = _field_of(node.left), node.right.value
        elif isinstance(node.left, ast.Literal):
            f, lit = _field_of(node.right), node.left.value
        else:
            return None
        if f is None or not _scalar_literal(lit):
            return None
        if isinstance(lit, str) and dialect == "endgame" and "*" in lit:
            pat = lit.lower() if fold_default else lit
            return PatternCond(f, fold_default, (wildcard_to_regex(pat, question_mark=False),))
        return EqCond(f, fold_default, _values([lit], fold_default, coerce))
    if isinstance(node, ast.InSet) and not node.negate:
        f = _field_of(node.expr)
        if f is None or not node.items or not all(isinstance(i, ast.Literal) and _scalar_literal(i.value) for i in node.items):
            return None
        fold = node.insensitive or fold_default
        return EqCond(f, fold, _values([i.value for i in node.items], fold, coerce))  # type: ignore[union-attr]
    if isinstance(node, ast.StringPredicate) and node.op in (":", "like"):
        f = _field_of(node.expr)
        if f is None or not node.patterns:
            return None
        pats = []
        for p in node.patterns:
            if not isinstance(p, ast.Literal) or not isinstance(p.value, str):
                return None
            pats.append(p.value.lower() if node.insensitive else p.value)
        return PatternCond(f, node.insensitive, tuple(wildcard_to_regex(p, question_mark=True) for p in pats))
    if isinstance(node, ast.FunctionCall) and len(node.args) == 2:
        name = node.name.lower()
        if name in ("startswith", "endswith", "stringcontains"):
            f = _field_of(node.args[0])
            lit = node.args[1]
            if f is None or not isinstance(lit, ast.Literal) or not isinstance(lit.value, str):
                return None
            ci = node.insensitive or fold_default
            text = lit.value.lower() if ci else lit.value
            body = _escape(text)
            rx = {"startswith": "^" + body, "endswith": body + "$", "stringcontains": body}[name]
            return PatternCond(f, ci, (rx,))
    if isinstance(node, ast.FunctionCall) and node.name.lower() == "cidrmatch" and len(node.args) >= 2:
        f = _field_of(node.args[0])
        if f is None or not all(isinstance(a, ast.Literal) and isinstance(a.value, str) for a in node.args[1:]):
            return None
        return CidrCond(f, tuple(a.value for a in node.args[1:]))  # type: ignore[union-attr]
    if isinstance(node, ast.Or):
        parts = [cond_of(t, fold_default, dialect) for t in node.terms]
        return _merge(parts)
    if isinstance(node, ast.And):
        return best_cond(node, fold_default, dialect)
    return None


def _values(vals: list, fold: bool, coerce: bool) -> frozenset:
    if coerce:
        from .eql.runtime import _coerced

        vals = vals + [t for t in map(_coerced, vals) if t is not None]
    return frozenset((v.lower() if fold and isinstance(v, str) else v) for v in vals)


def _merge(parts: list[Cond | None]) -> Cond | None:
    """A disjunction is indexable when every branch pins the same field the same way."""
    if not parts or any(p is None for p in parts):
        return None
    first = parts[0]
    if isinstance(first, EqCond) and all(isinstance(p, EqCond) and p.path == first.path and p.fold == first.fold for p in parts):
        return EqCond(first.path, first.fold, frozenset().union(*(p.values for p in parts)))  # type: ignore[union-attr]
    if isinstance(first, PatternCond) and all(isinstance(p, PatternCond) and p.path == first.path and p.ci == first.ci for p in parts):
        return PatternCond(first.path, first.ci, tuple(r for p in parts for r in p.regexes))  # type: ignore[union-attr]
    if isinstance(first, CidrCond) and all(isinstance(p, CidrCond) and p.path == first.path for p in parts):
        return CidrCond(first.path, tuple(c for p in parts for c in p.cidrs))  # type: ignore[union-attr]
    return None


_LITERAL = re.compile(r"\\.|[^.^$*\\]")


def _literal_chars(regex: str) -> int:
    """How many literal characters a pattern pins: a rough rarity score."""
    return len(_LITERAL.findall(regex))


def _is_prefix(regex: str) -> bool:
    """``/usr/bin/*``, ``bash*``: prefixes are shared by many values (a whole
    directory, a family of names), unlike suffixes and infixes."""
    anchored = regex.startswith("^") and not regex.startswith("^.*")
    return anchored and (regex.endswith(".*$") or not regex.endswith("$"))


def _rank(c: Cond) -> tuple:
    dotted = ".".join(c.path)
    if isinstance(c, EqCond):
        return (3 if dotted in LOW_CARDINALITY else 0, 0, len(c.values))
    if isinstance(c, PatternCond):
        # A pattern that is only wildcards lets everything through.
        broad = any(re.fullmatch(r"\^?(\.\*|\.)*\$?", r) for r in c.regexes)
        # A disjunction is as weak as its shortest literal, and a prefix is
        # weaker than a suffix or infix of the same length.
        weakest = min(_literal_chars(r) - (3 if _is_prefix(r) else 0) for r in c.regexes)
        return (4 if broad else 1, -weakest, len(c.regexes))
    broad = any(x.endswith("/0") for x in c.cidrs)
    return (4 if broad else 2, 0, len(c.cidrs))


def best_cond(cond: ast.Expr, fold_default: bool, dialect: str) -> Cond | None:
    """The best access condition among the top-level conjuncts of ``cond``."""
    terms = cond.terms if isinstance(cond, ast.And) else [cond]
    found = [c for c in (cond_of(t, fold_default, dialect) if not isinstance(t, ast.And) else best_cond(t, fold_default, dialect) for t in terms) if c is not None]
    if not found:
        return None
    best = min(found, key=_rank)
    return None if _rank(best)[0] >= 4 else best
