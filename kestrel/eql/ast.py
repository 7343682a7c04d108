"""The EQL syntax tree shared by both dialects.

Every node keeps ``pos`` (start offset, end offset) into the query text so
that the compiler's errors point at the offending text just as the parser's
do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Union

Pos = tuple[int, int]


@dataclass(slots=True)
class Literal:
    value: Any
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Field:
    """A field reference: ``process.args[0]`` is ``("process", "args", 0)``."""

    path: tuple
    optional: bool = False
    pos: Pos = (0, 0)

    @property
    def name(self) -> str:
        out = ""
        for p in self.path:
            if isinstance(p, int):
                out += f"[{p}]"
            else:
                out = f"{out}.{p}" if out else str(p)
        return out


@dataclass(slots=True)
class Not:
    term: "Expr"
    pos: Pos = (0, 0)


@dataclass(slots=True)
class And:
    terms: list["Expr"]
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Or:
    terms: list["Expr"]
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Compare:
    op: str  # == != < <= > >=
    left: "Expr"
    right: "Expr"
    pos: Pos = (0, 0)


@dataclass(slots=True)
class InSet:
    expr: "Expr"
    items: list["Expr"]
    negate: bool = False
    insensitive: bool = False  # in~
    pos: Pos = (0, 0)


@dataclass(slots=True)
class StringPredicate:
    """``:``, ``like``, ``like~``, ``regex``, ``regex~`` against literals."""

    op: str  # ":" | "like" | "regex"
    insensitive: bool
    expr: "Expr"
    patterns: list["Expr"]
    pos: Pos = (0, 0)


@dataclass(slots=True)
class FunctionCall:
    name: str
    args: list["Expr"]
    insensitive: bool = False  # called as name~(...)
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Math:
    op: str  # + - * / %
    left: "Expr"
    right: "Expr"
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Negative:
    expr: "Expr"
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Lineage:
    """``child of [..]``, ``descendant of [..]``, ``event of [..]``."""

    relation: str  # child | descendant | event
    query: "EventQuery"
    pos: Pos = (0, 0)


Expr = Union[Literal, Field, Not, And, Or, Compare, InSet, StringPredicate, FunctionCall, Math, Negative, Lineage]


@dataclass(slots=True)
class EventQuery:
    """``<type> where <condition>``; ``event_type`` None means ``any``."""

    event_type: str | None
    condition: Expr
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Step:
    """One bracketed step of a sequence, join or sample."""

    query: EventQuery
    by: list[Expr] = field(default_factory=list)
    missing: bool = False  # ![ .. ]
    runs: int = 1  # with runs=N
    alias: str | None = None  # as event0
    fork: bool = False  # Endgame fork=true
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Sequence:
    by: list[Expr]
    maxspan_ns: int | None
    steps: list[Step]
    until: Step | None = None
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Join:
    by: list[Expr]
    steps: list[Step]
    until: Step | None = None
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Sample:
    by: list[Expr]
    steps: list[Step]
    pos: Pos = (0, 0)


@dataclass(slots=True)
class Pipe:
    name: str
    args: list[Expr]
    pos: Pos = (0, 0)


Base = Union[EventQuery, Sequence, Join, Sample]


@dataclass(slots=True)
class PipedQuery:
    base: Base | None
    pipes: list[Pipe]
    source: str = ""


def walk(node: object) -> Iterator[object]:
    """Every node of a tree (lists included), parents before children: the
    one traversal the engine, batching stages and responses search with."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, list):
            stack.extend(reversed(n))
            continue
        fields = getattr(n, "__dataclass_fields__", None)
        if fields is None:
            continue
        yield n
        stack.extend(getattr(n, k) for k in reversed(list(fields)))


def canonical(node: object) -> str:
    """A position-free rendering of a tree: equal for equal meaning, so
    identical steps of different rules can share one evaluation."""
    if isinstance(node, list):
        return "[" + ",".join(canonical(x) for x in node) + "]"
    fields = getattr(node, "__dataclass_fields__", None)
    if fields is None:
        return repr(node)
    inner = ",".join(f"{k}={canonical(getattr(node, k))}" for k in fields if k != "pos")
    return f"{type(node).__name__}({inner})"
