"""From a parsed query to a runnable matcher: the rule's per-event handler.

This is where the query's shape is decided once: an event query becomes a
single compiled predicate; a sequence, join or sample becomes an NFA from
:mod:`kestrel.nfa` with a compiled predicate and join-key function per step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .config import Config
from .eql import ast
from .eql.ast import canonical
from .eql.compiler import CompileContext, ExprCompiler
from .eql.errors import EqlSemanticError
from .nfa import NO_KEY, CompiledStep, JoinMatcher, SampleMatcher, SequenceMatcher

Emit = Callable[[list, Any], None]


@dataclass
class CompiledQuery:
    kind: str  # event | sequence | join | sample
    event_types: set  # event types it must see; contains None for "any"
    # Event queries: a predicate; multi-event queries: a matcher with feed().
    predicate: Callable[..., bool] | None = None
    matcher: Any = None
    condition: ast.Expr | None = None  # for indexing event queries
    fields: set[str] = field(default_factory=set)


def _fold(v: Any) -> Any:
    if v.__class__ is str:
        return v.lower()
    if v.__class__ is list:
        return tuple(_fold(x) for x in v)
    return v


def _hashable(v: Any) -> Any:
    if v.__class__ is list:
        return tuple(_hashable(x) for x in v)
    if v.__class__ is dict:
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v


def make_key(fns: list[Callable[..., Any]], fold: bool, skip_null: bool) -> Callable[..., Any]:
    """Join key of an event: a tuple of the ``by`` values (case-folded when
    the dialect folds case). ``skip_null``: an event with a null key value
    takes no part in the join, as in Elasticsearch."""
    norm = _fold if fold else _hashable
    if not fns:
        return lambda e, a=None: None
    if len(fns) == 1:
        (f,) = fns

        def key1(e: dict, a: Any = None) -> Any:
            v = f(e, a)
            if v is None and skip_null:
                return NO_KEY
            return (norm(v),)

        return key1

    def keyn(e: dict, a: Any = None) -> Any:
        out = []
        for f in fns:
            v = f(e, a)
            if v is None and skip_null:
                return NO_KEY
            out.append(norm(v))
        return tuple(out)

    return keyn


class QueryCompiler:
    def __init__(self, config: Config, source: str, lineage: Any, extra_functions: dict | None = None) -> None:
        self.config = config.resolved()
        self.source = source
        self.lineage = lineage
        self.extra_functions = extra_functions or {}
        self.fields: set[str] = set()

    def ctx(self, aliases: frozenset = frozenset()) -> CompileContext:
        return CompileContext(self.config, self.source, aliases, self.lineage, self.extra_functions)

    def predicate(self, cond: ast.Expr, aliases: frozenset = frozenset()) -> tuple[Callable[..., bool], bool]:
        c = ExprCompiler(self.ctx(aliases))
        fn = c.predicate(cond)
        self.fields |= c.fields
        return fn, c.alias_used

    def value(self, expr: ast.Expr, aliases: frozenset = frozenset()) -> Callable[..., Any]:
        c = ExprCompiler(self.ctx(aliases))
        fn = c.value(expr)
        self.fields |= c.fields
        return fn

    def error(self, message: str, pos: tuple[int, int]) -> EqlSemanticError:
        return EqlSemanticError(message, self.source, pos[0], pos[1])

    def compile(self, base: ast.Base) -> CompiledQuery:
        if isinstance(base, ast.EventQuery):
            pred, _ = self.predicate(base.condition)
            return CompiledQuery("event", {base.event_type}, predicate=pred, condition=base.condition, fields=self.fields)
        if isinstance(base, ast.Sequence):
            return self._sequence(base)
        if isinstance(base, ast.Join):
            steps, until = self._steps(base.by, base.steps, base.until, allow_aliases=False)
            m = JoinMatcher(steps, until, self.config.max_partials)
            return CompiledQuery("join", self._types(base.steps, base.until), matcher=m, fields=self.fields)
        if isinstance(base, ast.Sample):
            steps, _ = self._steps(base.by, base.steps, None, allow_aliases=False)
            m = SampleMatcher(steps, self.config.max_partials)
            return CompiledQuery("sample", self._types(base.steps, None), matcher=m, fields=self.fields)
        raise AssertionError(base)

    @staticmethod
    def _types(steps: list[ast.Step], until: ast.Step | None) -> set:
        types = {s.query.event_type for s in steps}
        if until is not None:
            types.add(until.query.event_type)
        return types

    def _check_key_widths(self, shared: list, steps: list[ast.Step], until: ast.Step | None) -> None:
        widths = {len(shared) + len(s.by) for s in steps}
        if until is not None:
            widths.add(len(shared) + len(until.by))
        if len(widths) > 1:
            bad = next(s for s in [*steps, *([until] if until else [])] if len(shared) + len(s.by) != len(shared) + len(steps[0].by))
            raise self.error(
                "every step must join on the same number of 'by' values "
                f"(the first step has {len(shared) + len(steps[0].by)})",
                bad.pos,
            )

    def _compile_step(self, shared: list, step: ast.Step, aliases: frozenset) -> CompiledStep:
        skip_null = self.config.dialect == "elasticsearch"
        fold = self.config.fold_case_default
        pred, uses_aliases = self.predicate(step.query.condition, aliases)
        key_exprs = [*shared, *step.by]
        key_fns = [self.value(x) for x in key_exprs]
        signature = "|".join((
            str(step.query.event_type), self.config.dialect, str(fold), str(self.config.case_sensitive),
            canonical(step.query.condition), canonical(key_exprs),
        ))
        return CompiledStep(
            event_type=step.query.event_type,
            pred=pred,
            key=make_key(key_fns, fold, skip_null),
            uses_aliases=uses_aliases,
            alias=step.alias,
            missing=step.missing,
            fork=step.fork,
            condition=step.query.condition,
            signature=signature,
        )

    def _steps(self, shared: list, steps: list[ast.Step], until: ast.Step | None, allow_aliases: bool) -> tuple[list[CompiledStep], CompiledStep | None]:
        self._check_key_widths(shared, steps, until)
        out = []
        aliases: frozenset = frozenset()
        for step in steps:
            if step.alias and not allow_aliases:
                raise self.error("step aliases ('as name') are only allowed in a sequence", step.pos)
            if step.runs != 1 and not allow_aliases:
                raise self.error("'with runs' is only allowed in a sequence", step.pos)
            out.append(self._compile_step(shared, step, aliases))
        u = self._compile_step(shared, until, frozenset()) if until is not None else None
        return out, u

    def _sequence(self, seq: ast.Sequence) -> CompiledQuery:
        self._check_key_widths(seq.by, seq.steps, seq.until)
        real: list[CompiledStep] = []
        missing_before: list[list[CompiledStep]] = []
        pending_missing: list[CompiledStep] = []
        aliases: frozenset = frozenset()
        seen_aliases: set[str] = set()
        for step in seq.steps:
            if step.alias:
                if step.alias in seen_aliases:
                    raise self.error(f"alias {step.alias!r} is defined twice", step.pos)
                seen_aliases.add(step.alias)
            compiled = self._compile_step(seq.by, step, aliases)
            if step.missing:
                if step.runs != 1:
                    raise self.error("a missing-event step (![..]) cannot repeat with 'runs'", step.pos)
                pending_missing.append(compiled)
                continue
            for i in range(step.runs):
                real.append(compiled)
                missing_before.append(pending_missing)
                pending_missing = []
            if step.alias:
                aliases = aliases | {step.alias}
        until = self._compile_step(seq.by, seq.until, frozenset()) if seq.until is not None else None
        if len(real) < 1:
            raise self.error("a sequence needs at least one step that is not a missing event", seq.pos)
        if len(real) == 1 and not (pending_missing or any(missing_before)):
            raise self.error("a sequence needs at least two steps", seq.pos)  # pragma: no cover (parser checks)
        m = SequenceMatcher(
            real,
            until,
            seq.maxspan_ns,
            self.config.max_partials,
            missing_before=missing_before,
            missing_after=pending_missing,
        )
        return CompiledQuery("sequence", self._types(seq.steps, seq.until), matcher=m, fields=self.fields)
