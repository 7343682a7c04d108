"""The engine: compiled rules, indexed by event type and literal constraints.

Per event the engine reads the event's type and time once, lets lineage
tracking see it, then calls only the handlers that can match: event rules
found through the hash indexes of :mod:`kestrel.index` plus the ones that
pin no literal, and the sequence/join/sample matchers that listen to the
type. Handlers are plain closures built at load time; nothing on this path
goes through pluggy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator

from .alerts import Alert, RuleMeta
from .config import Config
from .eql import ast
from .eql.compiler import ExprCompiler
from .eql.errors import EqlError
from .eql.parser import parse_query
from .events import make_getter, parse_field_path, to_ns
from .index import TypeIndex, extract_constraint
from .lineage import LineageTracker
from .pipes import Pipeline, build_pipeline
from .query import CompiledQuery, QueryCompiler

log = logging.getLogger("kestrel.engine")

Handler = Callable[[dict, Any, tuple], None]


@dataclass
class RuleStats:
    alerts: int = 0
    errors: int = 0


@dataclass
class Rule:
    """A loaded rule: its metadata, query and compiled form."""

    meta: RuleMeta
    query: str
    parsed: ast.PipedQuery
    compiled: CompiledQuery
    pipeline: Pipeline | None
    origin: str | None = None
    stats: RuleStats = field(default_factory=RuleStats)
    disabled: bool = False

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def kind(self) -> str:
        return self.compiled.kind

    @property
    def live_partials(self) -> int:
        m = self.compiled.matcher
        return m.live_partials if m is not None else 0

    @property
    def evictions(self) -> int:
        m = self.compiled.matcher
        return m.stats.evictions if m is not None else 0


@dataclass
class EngineStats:
    events: int = 0
    alerts: int = 0
    skipped: int = 0  # events that were not objects
    rule_errors: int = 0


@dataclass
class _Plan:
    indexes: list
    scan: list
    stream: list


# A rule that raises this many times is disabled rather than slowing every event.
MAX_RULE_ERRORS = 100


class Engine:
    """Stream events in, get alerts out.

    >>> eng = Engine(Config(dialect="elasticsearch"))
    >>> _ = eng.add_query('process where process.name == "nc"', id="nc")
    >>> [a.rule.id for a in eng.process({"event": {"category": "process"}, "process": {"name": "nc"}})]
    ['nc']
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = (config or Config()).resolved()
        cfg = self.config
        self._type_get = make_getter(parse_field_path(cfg.type_field or "event.category"))
        self._time_get = make_getter(parse_field_path(cfg.time_field or "@timestamp"))
        self._time_unit = cfg.time_unit or "auto"
        self.lineage = LineageTracker(cfg)
        self.rules: list[Rule] = []
        self._by_id: dict[str, Rule] = {}
        self._event_index: dict[str | None, TypeIndex] = {}
        self._stream: dict[str | None, list[Handler]] = {}
        self._plans: dict[Any, _Plan] = {}
        self._out: list[Alert] = []
        self.stats = EngineStats()
        # EQL-callable functions contributed by rule plugins (lua.*, wasm.*).
        self.functions: dict[str, Callable[..., Any]] = {}

    # -- loading ---------------------------------------------------------
    def add_query(
        self,
        query: str,
        *,
        id: str | None = None,
        name: str | None = None,
        severity: str = "medium",
        tags: Iterable[str] = (),
        description: str = "",
        actions: Iterable[str] = ("alert",),
        origin: str | None = None,
        line_offset: int = 0,
        col_offset: int = 0,
        dialect: str | None = None,
    ) -> Rule:
        """Compile ``query`` and add it as a rule. Raises :class:`EqlError`
        (with file, line and column when ``origin``/offsets are given)."""
        rid = id or f"query-{len(self.rules) + 1}"
        meta = RuleMeta(rid, name or rid, severity, tuple(tags), description, tuple(actions))
        return self.add_rule(meta, query, origin=origin, line_offset=line_offset, col_offset=col_offset, dialect=dialect)

    def add_rule(
        self,
        meta: RuleMeta,
        query: str,
        *,
        origin: str | None = None,
        line_offset: int = 0,
        col_offset: int = 0,
        dialect: str | None = None,
    ) -> Rule:
        """Add a rule with full metadata; ``dialect`` overrides the engine's
        for this rule's query (schema fields stay the engine's)."""
        if meta.id in self._by_id:
            raise ValueError(f"duplicate rule id {meta.id!r}")
        try:
            parsed = parse_query(query)
            rule = self._compile(meta, query, parsed, origin, dialect)
        except EqlError as exc:
            raise exc.located(origin, line_offset, col_offset)
        self._install(rule)
        return rule

    def _compile(self, meta: RuleMeta, query: str, parsed: ast.PipedQuery, origin: str | None, dialect: str | None = None) -> Rule:
        if parsed.base is None:
            raise EqlError("a query must start with an event query, sequence, join or sample", query, 0, 1)
        config = self.config if dialect in (None, self.config.dialect) else replace(self.config, dialect=dialect)
        qc = QueryCompiler(config, query, self.lineage, self.functions)
        compiled = qc.compile(parsed.base)
        rule = Rule(meta, query, parsed, compiled, None, origin)
        rule.config = config  # type: ignore[attr-defined]
        final = self._final_sink(rule)
        if parsed.pipes:
            ctx = qc.ctx()

            def cv(expr: ast.Expr) -> Callable:
                fn = ExprCompiler(ctx).value(expr)
                return lambda scope: fn(scope)

            def cp(expr: ast.Expr) -> Callable:
                fn = ExprCompiler(ctx).predicate(expr)
                return lambda scope: fn(scope)

            rule.pipeline = build_pipeline(parsed.pipes, final, cv, cp, config.fold_case_default, config.max_partials, query)
        else:
            rule.pipeline = None
        rule._emit = rule.pipeline.push if rule.pipeline else final  # type: ignore[attr-defined]
        return rule

    def _final_sink(self, rule: Rule) -> Callable[[list, Any, dict | None], None]:
        meta = rule.meta
        stats = rule.stats
        time_get = self._time_get
        unit = self._time_unit

        def final(events: list, ts: Any, extra: dict | None) -> None:
            if ts is None and events:
                ts = to_ns(time_get(events[-1]), unit)
            stats.alerts += 1
            self._out.append(Alert(meta, events, ts, extra or {}))

        return final

    def _install(self, rule: Rule) -> None:
        cq = rule.compiled
        emit = rule._emit  # type: ignore[attr-defined]
        if cq.kind == "event":
            pred = cq.predicate
            assert pred is not None and cq.condition is not None
            if getattr(pred, "always_false", False):
                handler = None
            elif rule.pipeline is None:
                meta = rule.meta
                stats = rule.stats
                out_owner = self

                def handler(e: dict, ts: Any, types: tuple, _p=pred, _m=meta, _s=stats, _o=out_owner) -> None:
                    if _p(e):
                        _s.alerts += 1
                        _o._out.append(Alert(_m, [e], ts))
            else:

                def handler(e: dict, ts: Any, types: tuple, _p=pred, _emit=emit) -> None:
                    if _p(e):
                        _emit([e], ts, None)

            if handler is not None:
                handler.rule = rule  # type: ignore[attr-defined]
                (event_type,) = tuple(cq.event_types)
                cfg = rule.config  # type: ignore[attr-defined]
                constraint = extract_constraint(cq.condition, cfg.fold_case_default, cfg.dialect)
                self._event_index.setdefault(event_type, TypeIndex()).add(constraint, handler)
        else:
            matcher = cq.matcher

            def stream_handler(e: dict, ts: Any, types: tuple, _feed=matcher.feed, _emit=emit) -> None:
                _feed(e, ts, types, _emit)

            stream_handler.rule = rule  # type: ignore[attr-defined]
            for t in ({None} if None in cq.event_types else cq.event_types):
                self._stream.setdefault(t, []).append(stream_handler)
        self.rules.append(rule)
        self._by_id[rule.id] = rule
        self._plans.clear()

    def load_rules(self, *paths: str) -> "Any":
        """Load rule files or directories through the rule-host plugins."""
        from .plugins import get_plugin_manager
        from .rules.loader import load_paths

        return load_paths(self, paths, get_plugin_manager().rule_hosts(self.config))

    def rule(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    # -- the per-event path ------------------------------------------------
    def _plan(self, types: tuple) -> _Plan:
        indexes: list = []
        scan: list = []
        stream: list = []
        for t in (*types, None):
            ti = self._event_index.get(t)
            if ti is not None:
                indexes.extend(ti.indexes.values())
                scan.extend(ti.scan)
            for h in self._stream.get(t, ()):
                if h not in stream:
                    stream.append(h)
        plan = _Plan(indexes, scan, stream)
        if len(self._plans) >= 4096:
            # Odd data can carry endless distinct type values; keep the
            # cache a cache.
            self._plans.clear()
        self._plans[types] = plan
        return plan

    def process(self, event: dict) -> list[Alert]:
        """Run one event through every rule that can match it; return its alerts."""
        if event.__class__ is not dict:
            self.stats.skipped += 1
            return []
        self.stats.events += 1
        tv = self._type_get(event)
        if tv.__class__ is str:
            types: tuple = (tv,)
        elif tv.__class__ is list:
            types = tuple(t for t in tv if t.__class__ is str)
        else:
            types = ()
        plan = self._plans.get(types) or self._plan(types)
        ts = self._time_get(event)
        if ts is not None and ts.__class__ is not int or self._time_unit != "auto":
            ts = to_ns(ts, self._time_unit)
        out = self._out = []
        if self.lineage.checks:
            try:
                self.lineage.observe(event, types)
            except Exception as exc:  # odd data must not cost the other rules
                self.stats.rule_errors += 1
                log.warning("lineage tracking failed on an event: %s: %s", type(exc).__name__, exc)
        # try costs nothing in CPython 3.11 until something raises; a rule
        # that fails on odd data loses only its own match for this event.
        for idx in plan.indexes:
            hs = idx.candidates(event)
            if hs:
                for h in hs:
                    try:
                        h(event, ts, types)
                    except Exception as exc:
                        self._rule_failed(h, exc)
        for h in plan.scan:
            try:
                h(event, ts, types)
            except Exception as exc:
                self._rule_failed(h, exc)
        for h in plan.stream:
            try:
                h(event, ts, types)
            except Exception as exc:
                self._rule_failed(h, exc)
        self.stats.alerts += len(out)
        return out

    def _rule_failed(self, handler: Handler, exc: Exception) -> None:
        rule: Rule = handler.rule  # type: ignore[attr-defined]
        rule.stats.errors += 1
        self.stats.rule_errors += 1
        log.warning("rule %s failed on an event: %s: %s", rule.id, type(exc).__name__, exc)
        if rule.stats.errors >= MAX_RULE_ERRORS and not rule.disabled:
            rule.disabled = True
            self._remove_handlers(rule)
            log.error("rule %s disabled after %d errors", rule.id, rule.stats.errors)

    def _remove_handlers(self, rule: Rule) -> None:
        for ti in self._event_index.values():
            ti.scan = [h for h in ti.scan if h.rule is not rule]
            for idx in ti.indexes.values():
                for k, hs in list(idx.table.items()):
                    idx.table[k] = [h for h in hs if h.rule is not rule]
        for t, hs in self._stream.items():
            self._stream[t] = [h for h in hs if h.rule is not rule]
        self._plans.clear()

    def process_many(self, events: Iterable[dict]) -> Iterator[Alert]:
        """Stream many events; yields alerts as they happen, then the flush."""
        for e in events:
            out = self.process(e)
            if out:
                yield from out
        yield from self.flush()

    def flush(self) -> list[Alert]:
        """End of input: release what waits for it (tail, sort, counts,
        sequences ending in a missing event)."""
        out = self._out = []
        for rule in self.rules:
            m = rule.compiled.matcher
            if m is not None:
                m.flush(rule._emit)  # type: ignore[attr-defined]
            if rule.pipeline is not None:
                rule.pipeline.finish()
        self.stats.alerts += len(out)
        return out
