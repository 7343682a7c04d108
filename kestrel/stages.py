"""Batching stages: where per-event matching meets per-call-expensive plugins.

A call into a Wasm module costs microseconds whatever it does, so plugin
work is done in batches: events that pass a rule's native prefilter wait
in a stage until the batch is full, its oldest event has waited the
latency bound, or the input ends (see ``Engine.add_stage``).

This module holds the stage for EQL queries that call batched plugin
functions (``wasm.strings.entropy(process.command_line) > 4``): the
query's other top-level ``and`` terms run natively as the prefilter; at
flush the calls' arguments are computed per event, deduplicated and sent
to each function in one batch, and the full query is then evaluated with
the answers.
"""

from __future__ import annotations

from time import monotonic, perf_counter
import logging
from typing import Any, Callable

from .alerts import RuleMeta
from .eql import ast
from .eql.errors import EqlError
from .query import QueryCompiler

log = logging.getLogger("kestrel.stages")


# What a plugin function may answer an EQL query with.
ANSWER_TYPES = (bool, int, float, str)


class MatchExtras:
    """A plugin's per-match reason, data and action requests as an alert's
    extras. Only actions the rule declares are kept; a refused one is
    counted and logged once per name (``who`` names the rule in the log)."""

    def __init__(self, allowed: Any, who: str) -> None:
        self.allowed = set(allowed)
        self.who = who
        self.refused: dict[str, int] = {}

    def extra(self, reason: Any, data: Any, actions: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if isinstance(reason, str):
            out["reason"] = reason
        if isinstance(data, dict) and data:
            out["data"] = data
        if isinstance(actions, list):
            ok = []
            for a in actions:
                if isinstance(a, str) and a in self.allowed:
                    ok.append(a)
                    continue
                n = self.refused[str(a)] = self.refused.get(str(a), 0) + 1
                if n == 1:
                    log.warning("%s: requested action %r, which it does not declare (actions); refused", self.who, a)
            if ok:
                out["actions"] = ok
        return out


def fault_line(who: str, faults: dict[str, int], dropped: int, quarantined: bool) -> str | None:
    """A sandbox's faults as one summary line, or None when it had none."""
    if not faults and not dropped:
        return None
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(faults.items()))
    return f"{who}: faults {kinds or 'none'}; {dropped} events dropped; {'quarantined' if quarantined else 'running'}"


def hashable(value: Any) -> Any:
    """A dictionary key for an argument value (lists become tuples)."""
    if value.__class__ is list:
        return tuple(hashable(v) for v in value)
    if value.__class__ is dict:
        return ("{}", repr(sorted(value.items(), key=repr)))
    return value


def _contains(node: Any, targets: set[int]) -> bool:
    return any(id(n) in targets for n in ast.walk(node))


class BatchStage:
    """Buffers the events a rule's prefilter passes and hands them to
    ``run`` a batch at a time: when ``batch`` are waiting, when the oldest
    has waited ``latency_s`` (or the engine's ``batch_latency``), and at the
    end of input. Subclasses implement ``run(events)``."""

    def __init__(self, engine: Any, name: str, batch: int, latency_s: float) -> None:
        self.engine = engine
        self.name = name
        self.batch = batch
        self.latency_s = latency_s
        self.buf: list[dict] = []
        self.deadline = 0.0
        self._pending = engine.pending_stages
        # Events handed over and the time spent on them (what `kestrel
        # bench` reports per event delivered).
        self.delivered = 0
        self.seconds = 0.0

    def add(self, events: list, ts: Any, extra: Any) -> None:
        """The rule's sink: one event its prefilter passed."""
        buf = self.buf
        buf.append(events[0])
        if len(buf) == 1:
            lat = self.engine.batch_latency
            self.deadline = monotonic() + (self.latency_s if lat is None else lat)
            self._pending.append(self)
        if len(buf) >= self.batch:
            self.flush()

    def flush(self) -> None:
        events = self.buf
        if not events:
            return
        self.buf = []
        if self in self._pending:
            self._pending.remove(self)
        t0 = perf_counter()
        try:
            self.run(events)
        finally:
            self.seconds += perf_counter() - t0
            self.delivered += len(events)

    def run(self, events: list[dict]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class BatchedQuery(BatchStage):
    """The stage of one EQL rule that calls batched functions."""

    def __init__(self, engine: Any, name: str, sites: list[tuple[str, list[Callable]]], functions: dict[str, Any],
                 results: dict, batch: int, latency_s: float) -> None:
        super().__init__(engine, name, batch, latency_s)
        self.sites = sites  # (function name, argument value fns) per call site
        self.functions = functions
        self.results = results  # (name, args key) -> answer; read by the query's resolvers
        self.full_pred: Callable[..., bool] = lambda e, a=None: False
        self.emit: Callable = lambda events, ts, extra: None

    def run(self, events: list[dict]) -> None:
        wanted: dict[str, dict[Any, tuple]] = {}
        for e in events:
            for fname, argfns in self.sites:
                args = tuple(f(e) for f in argfns)
                wanted.setdefault(fname, {}).setdefault(hashable(args), args)
        results = self.results
        results.clear()
        for fname, calls in wanted.items():
            keys = list(calls)
            answers = self.functions[fname].call_batch([calls[k] for k in keys])
            for k, v in zip(keys, answers):
                results[(fname, k)] = v
        pred, emit = self.full_pred, self.emit
        for e in events:
            if pred(e):
                emit([e], None, None)
        results.clear()


def install_batched_query(engine: Any, meta: RuleMeta, query: str, parsed: ast.PipedQuery, calls: list[ast.FunctionCall],
                          origin: str | None, dialect: str | None, line_offset: int, col_offset: int) -> Any:
    """Compile a rule whose query calls batched functions; see the module doc."""
    base = parsed.base
    first = calls[0]
    if not isinstance(base, ast.EventQuery):
        raise EqlError(f"{first.name}() runs in batches and can only be called in a single-event query's where clause, "
                       "not in a sequence, join or sample", query, *first.pos)
    cond = base.condition
    targets = {id(c) for c in calls}
    outside = [c for c in calls if not _contains(cond, {id(c)})]
    if outside:
        raise EqlError(f"{outside[0].name}() runs in batches and can only be called in the where clause", query, *outside[0].pos)
    for c in calls:
        inner = targets - {id(c)}
        if _contains(c.args, inner):
            raise EqlError(f"the arguments of {c.name}() cannot call another batched function", query, *c.pos)
    terms = cond.terms if isinstance(cond, ast.And) else [cond]
    native = [t for t in terms if not _contains(t, targets)]
    if not native:
        prefilter: ast.Expr = ast.Literal(True)
    elif len(native) == 1:
        prefilter = native[0]
    else:
        prefilter = ast.And(native, cond.pos)

    functions = engine.functions
    names = sorted({c.name if c.name in functions else c.name.lower() for c in calls})
    impls = {n: functions[n] for n in names}
    results: dict = {}
    batch = min(int(getattr(f, "batch", 256)) for f in impls.values())
    latency = min(float(getattr(f, "latency_ms", 10.0)) for f in impls.values()) / 1000.0
    stage = BatchedQuery(engine, meta.id, [], impls, results, batch, latency)

    # The whole query, compiled as usual: validates it, and gives the
    # pipes and alert sink its matches go to.
    rule = engine._compile(meta, query, parsed, origin, dialect)
    stage.emit = rule._emit
    # The engine indexes and runs only the prefilter, which feeds the stage.
    pre = engine._compile(meta, query, ast.PipedQuery(ast.EventQuery(base.event_type, prefilter, base.pos), [], parsed.source),
                          origin, dialect, sink=stage.add)
    # At flush the stage evaluates the whole condition, each batched call
    # answered from the batch's results.
    resolvers: dict[str, Any] = dict(functions)
    for n, impl in impls.items():
        resolvers[n] = _resolver(n, results, getattr(impl, "arity", None))
    stage.full_pred, _ = QueryCompiler(rule.config, query, engine.lineage, resolvers).predicate(cond)
    argc = QueryCompiler(rule.config, query, engine.lineage, functions)
    stage.sites = [(c.name if c.name in functions else c.name.lower(), [argc.value(a) for a in c.args]) for c in calls]
    rule.compiled = pre.compiled
    rule.custom_sink = True
    rule._emit = stage.add
    engine._install(rule)
    rule._emit = stage.emit
    rule.stage = stage
    engine.add_stage(stage)
    return rule


def _resolver(name: str, results: dict, arity: int | None) -> Callable[..., Any]:
    get = results.get

    def answer(*args: Any) -> Any:
        return get((name, hashable(args)))

    answer.arity = arity  # type: ignore[attr-defined]
    return answer
