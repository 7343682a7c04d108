"""Pipes after a query: head, tail, filter, unique, unique_count, count, sort.

A pipe chain is a list of stages; each result (the matched events plus any
values a pipe attached, such as ``count``) goes through them in order.
Streaming stages (head, filter, unique) pass results on at once; the ones
that need the whole input (tail, sort, unique_count, count) hold results
until ``finish()`` is called at end of input.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from .eql import ast
from .eql.errors import EqlSemanticError

Result = tuple  # (events: list[dict], ts: int | None, extra: dict | None)
Sink = Callable[[list, Any, dict | None], None]


def pipe_scope(events: list, extra: dict | None) -> dict:
    """What a pipe expression sees: the first event's fields, ``events[i]``
    for sequences, and values earlier pipes attached (``count``, ``percent``)."""
    scope = dict(events[0]) if events else {}
    scope["events"] = events
    if extra:
        scope.update(extra)
    return scope


def _fold_key(value: Any, fold: bool) -> Any:
    if value.__class__ is str:
        return value.lower() if fold else value
    if value.__class__ is list or value.__class__ is tuple:
        return tuple(_fold_key(v, fold) for v in value)
    if value.__class__ is dict:
        return tuple(sorted((k, _fold_key(v, fold)) for k, v in value.items()))
    return value


class _Stage:
    def __init__(self, nxt: Sink) -> None:
        self.nxt = nxt

    def push(self, events: list, ts: Any, extra: dict | None) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        return None


class Head(_Stage):
    def __init__(self, nxt: Sink, n: int) -> None:
        super().__init__(nxt)
        self.left = n

    def push(self, events: list, ts: Any, extra: dict | None) -> None:
        if self.left > 0:
            self.left -= 1
            self.nxt(events, ts, extra)


class Tail(_Stage):
    def __init__(self, nxt: Sink, n: int) -> None:
        super().__init__(nxt)
        self.buf: deque = deque(maxlen=n)

    def push(self, events: list, ts: Any, extra: dict | None) -> None:
        self.buf.append((events, ts, extra))

    def finish(self) -> None:
        for item in self.buf:
            self.nxt(*item)
        self.buf.clear()


class Filter(_Stage):
    def __init__(self, nxt: Sink, pred: Callable[[dict], bool]) -> None:
        super().__init__(nxt)
        self.pred = pred

    def push(self, events: list, ts: Any, extra: dict | None) -> None:
        if self.pred(pipe_scope(events, extra)):
            self.nxt(events, ts, extra)


class Unique(_Stage):
    def __init__(self, nxt: Sink, keys: list[Callable], fold: bool, bound: int) -> None:
        super().__init__(nxt)
        self.keys = keys
        self.fold = fold
        self.seen: dict[Any, None] = {}
        self.bound = bound

    def push(self, events: list, ts: Any, extra: dict | None) -> None:
        scope = pipe_scope(events, extra)
        key = tuple(_fold_key(k(scope), self.fold) for k in self.keys)
        if key in self.seen:
            return
        self.seen[key] = None
        if len(self.seen) > self.bound:
            del self.seen[next(iter(self.seen))]
        self.nxt(events, ts, extra)


class UniqueCount(_Stage):
    """Keeps the first result per key and attaches ``count`` and ``percent``."""

    def __init__(self, nxt: Sink, keys: list[Callable], fold: bool) -> None:
        super().__init__(nxt)
        self.keys = keys
        self.fold = fold
        self.table: dict[Any, list] = {}

    def push(self, events: list, ts: Any, extra: dict | None) -> None:
        scope = pipe_scope(events, extra)
        key = tuple(_fold_key(k(scope), self.fold) for k in self.keys)
        add = (extra or {}).get("count", 1)
        row = self.table.get(key)
        if row is None:
            self.table[key] = [events, ts, dict(extra or {}), add]
        else:
            row[3] += add

    def finish(self) -> None:
        total = sum(row[3] for row in self.table.values()) or 1
        for events, ts, extra, count in self.table.values():
            extra["count"] = count
            extra["percent"] = count / total
            self.nxt(events, ts, extra)
        self.table.clear()


class Count(_Stage):
    """Replaces the results with counts: a total, or one row per key."""

    def __init__(self, nxt: Sink, keys: list[Callable], fold: bool) -> None:
        super().__init__(nxt)
        self.keys = keys
        self.fold = fold
        self.total = 0
        self.table: dict[Any, list] = {}

    def push(self, events: list, ts: Any, extra: dict | None) -> None:
        self.total += 1
        if self.keys:
            scope = pipe_scope(events, extra)
            values = [k(scope) for k in self.keys]
            key = tuple(_fold_key(v, self.fold) for v in values)
            row = self.table.get(key)
            if row is None:
                self.table[key] = [values, 1, ts]
            else:
                row[1] += 1
                row[2] = ts

    def finish(self) -> None:
        if not self.keys:
            self.nxt([], None, {"key": "totals", "count": self.total})
            return
        total = self.total or 1
        rows = sorted(self.table.values(), key=lambda r: (r[1], _sort_safe(r[0])))
        for values, count, ts in rows:
            key = values[0] if len(values) == 1 else values
            self.nxt([], ts, {"key": key, "count": count, "percent": count / total})
        self.table.clear()


def _sort_safe(values: list) -> tuple:
    return tuple((v is None, str(type(v)), v if v is not None else 0) for v in values)


class Sort(_Stage):
    def __init__(self, nxt: Sink, keys: list[Callable], fold: bool) -> None:
        super().__init__(nxt)
        self.keys = keys
        self.fold = fold
        self.buf: list = []

    def push(self, events: list, ts: Any, extra: dict | None) -> None:
        scope = pipe_scope(events, extra)
        key = tuple(k(scope) for k in self.keys)
        if self.fold:
            key = tuple(v.lower() if v.__class__ is str else v for v in key)
        self.buf.append((key, (events, ts, extra)))

    def finish(self) -> None:
        if not self.buf:
            return
        # Nulls sort as the empty value of the type seen in that position
        # (eql's rule), so mixed null/non-null keys still order.
        width = len(self.keys)
        empties: list[Any] = []
        for i in range(width):
            empty: Any = None
            for key, _ in self.buf:
                if key[i] is not None:
                    try:
                        empty = type(key[i])()
                    except Exception:
                        empty = None
                    break
            empties.append(empty)

        def sort_key(item: tuple) -> tuple:
            key = item[0]
            return tuple((empties[i] if key[i] is None else key[i]) for i in range(width))

        try:
            self.buf.sort(key=sort_key)
        except TypeError:
            self.buf.sort(key=lambda item: tuple(str(v) for v in sort_key(item)))
        for _, item in self.buf:
            self.nxt(*item)
        self.buf.clear()


class Pipeline:
    """The chain of stages of one rule, ending in the rule's alert sink."""

    def __init__(self, stages: list[_Stage], entry: Sink) -> None:
        self.stages = stages
        self.push = entry

    def finish(self) -> None:
        for stage in self.stages:
            stage.finish()


PIPE_NAMES = ("head", "tail", "filter", "unique", "unique_count", "count", "sort")


def build_pipeline(
    pipes: list[ast.Pipe],
    final: Sink,
    compile_value: Callable[[ast.Expr], Callable[[dict], Any]],
    compile_pred: Callable[[ast.Expr], Callable[[dict], bool]],
    fold: bool,
    bound: int,
    source: str = "",
) -> Pipeline:
    """Wire ``pipes`` (in query order) in front of ``final``."""
    stages: list[_Stage] = []
    nxt: Sink = final
    for pipe in reversed(pipes):
        stage = _make_stage(pipe, nxt, compile_value, compile_pred, fold, bound, source)
        stages.append(stage)
        nxt = stage.push
    stages.reverse()
    return Pipeline(stages, nxt)


def _count_arg(pipe: ast.Pipe, source: str) -> int:
    if not pipe.args:
        return 1 if pipe.name == "head" else 1
    if len(pipe.args) != 1 or not isinstance(pipe.args[0], ast.Literal) or not isinstance(pipe.args[0].value, int) or pipe.args[0].value < 0:
        raise EqlSemanticError(f"'{pipe.name}' takes one whole number", source, pipe.pos[0], pipe.pos[1])
    return pipe.args[0].value


def _make_stage(pipe, nxt, compile_value, compile_pred, fold, bound, source) -> _Stage:  # type: ignore[no-untyped-def]
    name = pipe.name
    if name == "head":
        return Head(nxt, _count_arg(pipe, source))
    if name == "tail":
        return Tail(nxt, _count_arg(pipe, source))
    if name == "filter":
        if len(pipe.args) != 1:
            raise EqlSemanticError("'filter' takes one condition", source, pipe.pos[0], pipe.pos[1])
        return Filter(nxt, compile_pred(pipe.args[0]))
    if name in ("unique", "unique_count", "sort"):
        if not pipe.args:
            raise EqlSemanticError(f"'{name}' needs at least one field or expression", source, pipe.pos[0], pipe.pos[1])
        keys = [compile_value(a) for a in pipe.args]
        if name == "unique":
            return Unique(nxt, keys, fold, bound)
        if name == "unique_count":
            return UniqueCount(nxt, keys, fold)
        return Sort(nxt, keys, fold)
    if name == "count":
        return Count(nxt, [compile_value(a) for a in pipe.args], fold)
    raise EqlSemanticError(
        f"unknown pipe {name!r}; known pipes: {', '.join(PIPE_NAMES)}", source, pipe.pos[0], pipe.pos[1]
    )
