"""The engine: compiled rules behind generated, indexed dispatchers.

Per event the engine reads the event's type once and calls the dispatcher
generated for that type (:mod:`kestrel.dispatch`): it reads each field the
rules care about once, finds candidate rules and sequence steps through hash
indexes, one multi-pattern scan per field and CIDR tables, and calls only
those. Sequence steps that fire are applied to their NFAs afterwards, in
the order eql defines. Everything on this path is a plain closure built at
load time; nothing goes through pluggy, and an event that matches nothing
allocates nothing.
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
from .access import best_cond
from .dispatch import DispatchBuilder, Unit
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


class EngineStats:
    """Counters; slotted because ``events`` is bumped on every event."""

    __slots__ = ("events", "alerts", "skipped", "rule_errors")

    def __init__(self) -> None:
        self.events = 0
        self.alerts = 0
        self.skipped = 0  # events that were not objects
        self.rule_errors = 0

    def __repr__(self) -> str:
        return f"EngineStats(events={self.events}, alerts={self.alerts}, skipped={self.skipped}, rule_errors={self.rule_errors})"


class _NoAlerts(list):
    """The shared empty result: a list, so ``== []`` holds, that refuses
    to be filled, so sharing it across calls is safe."""

    def _refuse(self, *a: Any, **k: Any) -> None:
        raise TypeError("Engine.process() result for no alerts is read-only")

    append = extend = insert = __setitem__ = __iadd__ = _refuse  # type: ignore[assignment]


NO_ALERTS: list = _NoAlerts()
_UNTIL = -1
_FULL = None  # a matcher that evaluates every event of its types itself


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
        self._units: list[Unit] = []
        self._plans: dict[Any, Callable[[dict], None]] = {}
        # Alerts raised while processing the current event.
        self._out: list[Alert] = []
        # Sequence/join/sample steps the current event satisfied: (matcher id, steps).
        self._hits: list[tuple[int, Any]] = []
        self._matchers: list[tuple[Any, Callable, Rule]] = []
        self.stats = EngineStats()
        self.force_python_scan = False  # tests: exercise the fallback scanner
        self.use_index = True  # tests: False evaluates every rule on every event
        self.process = self._make_process()  # type: ignore[method-assign]
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
        cfg = rule.config  # type: ignore[attr-defined]
        units: list[Unit] = []
        if cq.kind == "event":
            pred = cq.predicate
            assert pred is not None and cq.condition is not None
            if not getattr(pred, "always_false", False):
                handler = self._event_handler(rule, pred, emit)
                (event_type,) = tuple(cq.event_types)
                cond = best_cond(cq.condition, cfg.fold_case_default, cfg.dialect) if self.use_index else None
                units.append(Unit(event_type, cond, handler, rule))
        else:
            matcher = cq.matcher
            mid = len(self._matchers)
            self._matchers.append((matcher, emit, rule))
            hit = self._hits.append
            if getattr(matcher, "has_missing", False):
                # Missing-event steps must see every event of their types.
                for t in ({None} if None in cq.event_types else cq.event_types):
                    units.append(Unit(t, None, _full_feed_handler(mid, hit), rule))
            else:
                groups: dict[int, tuple[Any, list[int]]] = {}
                for k, step in enumerate(matcher.steps):
                    groups.setdefault(id(step), (step, []))[1].append(k)
                until = getattr(matcher, "until", None)
                if until is not None:
                    groups[id(until)] = (until, [_UNTIL]) if id(until) not in groups else (until, groups[id(until)][1] + [_UNTIL])
                for step, ks in groups.values():
                    cond = best_cond(step.condition, cfg.fold_case_default, cfg.dialect) if step.condition is not None and self.use_index else None
                    units.append(Unit(step.event_type, cond, _step_handler(step, mid, tuple(ks), hit), rule))
        self._units.extend(units)
        self.rules.append(rule)
        self._by_id[rule.id] = rule
        self._plans.clear()

    def _event_handler(self, rule: Rule, pred: Callable[..., bool], emit: Callable) -> Callable[[dict], None]:
        if rule.pipeline is not None:

            def piped(e: dict, _p=pred, _emit=emit) -> None:
                if _p(e):
                    _emit([e], None, None)

            return piped
        meta, stats, out = rule.meta, rule.stats, self._out.append
        time_get, unit = self._time_get, self._time_unit

        def direct(e: dict, _p=pred) -> None:
            if _p(e):
                stats.alerts += 1
                out(Alert(meta, [e], to_ns(time_get(e), unit)))

        return direct

    def load_rules(self, *paths: str) -> "Any":
        """Load rule files or directories through the rule-host plugins."""
        from .plugins import get_plugin_manager
        from .rules.loader import load_paths

        return load_paths(self, paths, get_plugin_manager().rule_hosts(self.config))

    def rule(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    # -- the per-event path ------------------------------------------------
    def _plan(self, key: Any, types: tuple) -> Callable[[dict], None]:
        wanted = set(types)
        units = [u for u in self._units if u.event_type is None or u.event_type in wanted]
        builder = DispatchBuilder(units, self._handler_failed, self.force_python_scan)
        plan = builder.build()
        if len(self._plans) >= 4096:
            # Odd data can carry endless distinct type values; keep the
            # cache a cache.
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def process(self, event: dict) -> list[Alert]:
        """Run one event through every rule that can match it; return its alerts.

        (Replaced per instance by the closure from ``_make_process``; this
        body documents it and serves subclasses.)"""
        return self._make_process()(event)

    def _make_process(self) -> Callable[[dict], list[Alert]]:
        """The per-event entry point as a closure over everything it needs,
        so each event costs local-variable reads rather than attribute
        lookups. Tables it reads (plans, hits, alerts) are mutated in place
        when rules change, never replaced."""
        plans = self._plans
        make_plan = self._plan
        stats = self.stats
        type_get = self._type_get
        path = parse_field_path(self.config.type_field or "event.category")
        lineage_checks = self.lineage.checks
        observe = self._observe
        hits = self._hits
        apply_hits = self._apply_hits
        out = self._out
        k0 = path[0] if len(path) == 2 and all(isinstance(p, str) for p in path) else None
        k1 = path[1] if k0 is not None else None

        def type_key(event: dict) -> Any:
            tv = type_get(event)
            if tv.__class__ is str:
                return tv
            return tuple(t for t in tv if t.__class__ is str) if tv.__class__ is list else ()

        def process(event: dict) -> list[Alert]:
            if event.__class__ is not dict:
                stats.skipped += 1
                return NO_ALERTS
            stats.events += 1
            if k0 is not None:
                o = event.get(k0)
                tv = o.get(k1) if o.__class__ is dict else None
                if tv.__class__ is not str:
                    tv = type_key(event)
            else:
                tv = type_key(event)
            plan = plans.get(tv)
            if plan is None:
                plan = make_plan(tv, (tv,) if tv.__class__ is str else tv)
            if lineage_checks:
                observe(event, tv)
            plan(event)
            if hits:
                apply_hits(event, tv)
            if out:
                res = out[:]
                out.clear()
                stats.alerts += len(res)
                return res
            return NO_ALERTS

        process.__doc__ = Engine.process.__doc__
        return process

    def _observe(self, event: dict, tv: Any) -> None:
        try:
            self.lineage.observe(event, (tv,) if tv.__class__ is str else tv)
        except Exception as exc:  # odd data must not cost the other rules
            self.stats.rule_errors += 1
            log.warning("lineage tracking failed on an event: %s: %s", type(exc).__name__, exc)

    def _apply_hits(self, event: dict, tv: Any) -> None:
        """Feed the sequence/join/sample matchers whose steps the event hit,
        each once, in the order they were loaded."""
        # Handlers hold the bound append of this very list: copy, then clear.
        hits = self._hits[:]
        self._hits.clear()
        ts = self._time_get(event)
        if ts.__class__ is not int or self._time_unit != "auto":
            ts = to_ns(ts, self._time_unit)
        by_matcher: dict[int, set] = {}
        for mid, ks in hits:
            got = by_matcher.get(mid)
            if got is None:
                got = by_matcher[mid] = set()
            if ks is _FULL:
                got.add(_FULL)
            else:
                got.update(ks)
        for mid in sorted(by_matcher) if len(by_matcher) > 1 else by_matcher:
            matcher, emit, rule = self._matchers[mid]
            if rule.disabled:
                continue
            ks = by_matcher[mid]
            try:
                if _FULL in ks:
                    matcher.feed(event, ts, (tv,) if tv.__class__ is str else tv, emit)
                else:
                    until_hit = _UNTIL in ks
                    if until_hit:
                        ks.discard(_UNTIL)
                    matcher.advance(event, ts, ks, until_hit, emit)
            except Exception as exc:
                self._rule_failed(rule, exc)

    def _handler_failed(self, handler: Callable, exc: Exception) -> None:
        rule = getattr(handler, "rule", None)
        if rule is None:
            # Generated handlers carry their rule in the unit list.
            rule = next((u.owner for u in self._units if u.handler is handler), None)
            if rule is not None:
                try:
                    handler.rule = rule  # type: ignore[attr-defined]
                except AttributeError:
                    pass
        if rule is None:  # pragma: no cover - every handler belongs to a rule
            self.stats.rule_errors += 1
            log.warning("a handler failed: %s: %s", type(exc).__name__, exc)
            return
        self._rule_failed(rule, exc)

    def _rule_failed(self, rule: Rule, exc: Exception) -> None:
        rule.stats.errors += 1
        self.stats.rule_errors += 1
        log.warning("rule %s failed on an event: %s: %s", rule.id, type(exc).__name__, exc)
        if rule.stats.errors >= MAX_RULE_ERRORS and not rule.disabled:
            rule.disabled = True
            self._units = [u for u in self._units if u.owner is not rule]
            self._plans.clear()
            log.error("rule %s disabled after %d errors", rule.id, rule.stats.errors)

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
        out = self._out
        for rule in self.rules:
            m = rule.compiled.matcher
            if m is not None:
                m.flush(rule._emit)  # type: ignore[attr-defined]
            if rule.pipeline is not None:
                rule.pipeline.finish()
        res = out[:]
        out.clear()
        self.stats.alerts += len(res)
        return res


def _step_handler(step: Any, mid: int, ks: tuple, hit: Callable) -> Callable[[dict], None]:
    """Records that an event satisfies a step; alias steps are checked
    later, against each partial match's named events."""
    entry = (mid, ks)
    if step.uses_aliases:

        def aliased(e: dict) -> None:
            hit(entry)

        return aliased
    pred = step.pred

    def step_hit(e: dict, _p=pred) -> None:
        if _p(e):
            hit(entry)

    return step_hit


def _full_feed_handler(mid: int, hit: Callable) -> Callable[[dict], None]:
    entry = (mid, _FULL)

    def full(e: dict) -> None:
        hit(entry)

    return full
