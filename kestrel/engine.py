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
from time import monotonic
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
from .nfa import NO_KEY as _NO_KEY_, SequenceMatcher
from .query import CompiledQuery, QueryCompiler

log = logging.getLogger("kestrel.engine")

Handler = Callable[[dict, Any, tuple], None]


def batched_calls(parsed: ast.PipedQuery, functions: dict[str, Any]) -> list[ast.FunctionCall]:
    """Calls in ``parsed`` of plugin functions that run in batches."""
    if not functions:
        return []
    found: list[ast.FunctionCall] = []
    for node in ast.walk(parsed):
        if isinstance(node, ast.FunctionCall):
            impl = functions.get(node.name) or functions.get(node.name.lower())
            if impl is not None and getattr(impl, "batched", False):
                found.append(node)
    return found


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
        self._groups: dict[str, _StepGroup] = {}
        self.stats = EngineStats()
        self.force_python_scan = False  # tests: exercise the fallback scanner
        self.use_index = True  # tests: False evaluates every rule on every event
        # Batching stages (Wasm rules, queries calling batched functions):
        # all of them, and those holding events, which the per-event path
        # checks against their deadline.
        self.stages: list[Any] = []
        self._pending: list[Any] = []
        # Seconds a batch may wait for more events; None: each rule's own
        # bound (limits.latency_ms). Replays of files set it to infinity:
        # nobody waits on their alerts, and full batches cost least.
        self.batch_latency: float | None = None
        # Rule plugins' sandboxes (Wasm modules, Lua rules): objects with
        # health() -> a line for the run summary when something went wrong.
        self.plugin_health: list[Any] = []
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
        sink: Callable[[list, Any, dict | None], None] | None = None,
    ) -> Rule:
        """Add a rule with full metadata; ``dialect`` overrides the engine's
        for this rule's query (schema fields stay the engine's).

        ``sink`` receives the rule's matches (events, timestamp, extra)
        instead of the alert list: rule plugins use it to make an EQL query
        the prefilter of their own check. A query that calls batched
        plugin functions (``wasm.*``) is run through a batching stage."""
        if meta.id in self._by_id:
            raise ValueError(f"duplicate rule id {meta.id!r}")
        try:
            parsed = parse_query(query)
            calls = batched_calls(parsed, self.functions)
            if calls:
                from .stages import install_batched_query

                return install_batched_query(self, meta, query, parsed, calls, origin, dialect, line_offset, col_offset)
            rule = self._compile(meta, query, parsed, origin, dialect, sink)
        except EqlError as exc:
            raise exc.located(origin, line_offset, col_offset)
        self._install(rule)
        return rule

    def _compile(self, meta: RuleMeta, query: str, parsed: ast.PipedQuery, origin: str | None, dialect: str | None = None,
                 sink: Callable[[list, Any, dict | None], None] | None = None) -> Rule:
        if parsed.base is None:
            raise EqlError("a query must start with an event query, sequence, join or sample", query, 0, 1)
        config = self.config if dialect in (None, self.config.dialect) else replace(self.config, dialect=dialect)
        qc = QueryCompiler(config, query, self.lineage, self.functions)
        compiled = qc.compile(parsed.base)
        rule = Rule(meta, query, parsed, compiled, None, origin)
        rule.config = config  # type: ignore[attr-defined]
        rule.custom_sink = sink is not None  # type: ignore[attr-defined]
        final = sink if sink is not None else self._final_sink(rule)
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
            units.extend(self._install_matcher(rule, cq.matcher, emit, cfg))
        self._units.extend(units)
        self.rules.append(rule)
        self._by_id[rule.id] = rule
        self._plans.clear()

    def _install_matcher(self, rule: Rule, matcher: Any, emit: Callable, cfg: Config) -> list[Unit]:
        """Wire a sequence/join/sample NFA to shared step groups.

        Steps are grouped across all rules by signature (event type,
        condition, join key), so a step shared by fifty rules is evaluated
        and keyed once per event. A group knows which of its steps start a
        match (always applied), and, through each matcher's ``watch``,
        which matchers hold a partial waiting for a given key: an event
        that satisfies a broad later step touches only those."""
        mid = len(self._matchers)
        self._matchers.append((matcher, emit, rule))
        units: list[Unit] = []
        if getattr(matcher, "has_missing", False):
            # Missing-event steps must see every event of their types.
            for t in ({None} if None in rule.compiled.event_types else rule.compiled.event_types):
                units.append(Unit(t, None, _full_feed_handler(mid, self._hits.append), rule))
            return units
        is_seq = isinstance(matcher, SequenceMatcher)
        step_group: dict[int, _StepGroup] = {}
        for k, step in enumerate(matcher.steps):
            group, unit = self._group_for(step, rule, cfg)
            if unit is not None:
                units.append(unit)
            step_group[k] = group
            if is_seq and k > 0:
                group.waits = True  # entries appear through watch()
            else:
                group.starts.append((mid, -k if is_seq else k, k))
        until = getattr(matcher, "until", None)
        until_group = None
        if until is not None:
            until_group, unit = self._group_for(until, rule, cfg)
            if unit is not None:
                units.append(unit)
            if is_seq:
                until_group.closes = True
            else:
                until_group.starts.append((mid, _UNTIL_LAST, _UNTIL))
        if is_seq:
            matcher.watch = _make_watch(mid, step_group, until_group)
        return units

    def _group_for(self, step: Any, rule: Rule, cfg: Config) -> tuple["_StepGroup", Unit | None]:
        sig = step.signature if not step.uses_aliases else f"alias:{id(step)}"
        group = self._groups.get(sig)
        if group is not None:
            return group, None
        group = self._groups[sig] = _StepGroup(None if step.uses_aliases else step.pred, step.key)
        cond = None
        if self.use_index and step.condition is not None and not step.uses_aliases:
            cond = best_cond(step.condition, cfg.fold_case_default, cfg.dialect)
        return group, Unit(step.event_type, cond, group.make_handler(self._hits.append), rule)

    def _event_handler(self, rule: Rule, pred: Callable[..., bool], emit: Callable) -> Callable[[dict], None]:
        if rule.pipeline is not None or getattr(rule, "custom_sink", False):

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

    def prepare(self) -> None:
        """Build the dispatchers (and compile their pattern databases) for
        every event type the rules name, so that start-up, not the first
        events, pays for it."""
        for t in sorted({u.event_type for u in self._units if u.event_type is not None}):
            if t not in self._plans:
                self._plan(t, (t,))

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
        pending = self._pending
        flush_due = self._flush_due
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
            if pending:
                flush_due()
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
        """Apply the step groups the event satisfied to their matchers: each
        group's key is computed once; work is ordered per matcher as eql
        orders it (sequences: ``until`` first, then steps last to first;
        joins: steps in order, then ``until``)."""
        # Handlers hold the bound append of this very list: copy, then clear.
        groups = self._hits[:]
        self._hits.clear()
        work: list = []
        full = None
        for g in groups:
            if g.__class__ is tuple:  # (_FULL_FEED, matcher id)
                if full is None:
                    full = []
                full.append(g)
                continue
            key = g.key(event)
            if key is _NO_KEY_:
                continue
            if g.starts:
                for mid, order, k in g.starts:
                    work.append((mid, order, k, key))
            if g.waits:
                w = g.waiting.get(key)
                if w:
                    for mid, order, k in w:
                        work.append((mid, order, k, key))
            if g.closes:
                c = g.closing.get(key)
                if c:
                    for mid in c:
                        work.append((mid, _UNTIL_FIRST, _UNTIL, key))
        if not work and full is None:
            return
        ts = self._time_get(event)
        if ts.__class__ is not int or self._time_unit != "auto":
            ts = to_ns(ts, self._time_unit)
        matchers = self._matchers
        for _, mid in full or ():
            matcher, emit, rule = matchers[mid]
            if not rule.disabled:
                try:
                    matcher.feed(event, ts, (tv,) if tv.__class__ is str else tv, emit)
                except Exception as exc:
                    self._rule_failed(rule, exc)
        if len(work) > 1 and len({w[0] for w in work}) < len(work):
            # Order matters only among one matcher's steps.
            work.sort(key=_work_order)
        for mid, _, k, key in work:
            matcher, emit, rule = matchers[mid]
            if rule.disabled:
                continue
            try:
                if k == _UNTIL:
                    matcher.close(key)
                else:
                    matcher.step(k, event, ts, key, emit)
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

    # -- batching stages ---------------------------------------------------
    def add_stage(self, stage: Any) -> None:
        """Register a batching stage: an object with ``deadline`` (monotonic
        seconds by which its oldest buffered item must go) and ``flush()``
        (run what it holds; its alerts go to ``engine.emit_alert`` or a
        rule's sink). A stage puts itself in ``engine.pending_stages`` when
        it starts holding items and takes itself out when it flushes."""
        self.stages.append(stage)

    @property
    def pending_stages(self) -> list[Any]:
        return self._pending

    def emit_alert(self, alert: Alert) -> None:
        """Hand over an alert raised outside the per-event path (stages)."""
        self._out.append(alert)

    def _flush_due(self) -> None:
        # Runs on every event while a batch waits: the common answer,
        # "nothing is due", costs a clock read and no allocation.
        now = monotonic()
        for stage in self._pending:
            if now >= stage.deadline:
                break
        else:
            return
        for stage in [s for s in self._pending if now >= s.deadline]:
            self._flush_stage(stage)

    def _flush_stage(self, stage: Any) -> None:
        try:
            stage.flush()
        except Exception as exc:  # a stage bug must cost only its own rule
            self.stats.rule_errors += 1
            log.error("batching stage %s failed: %s: %s", getattr(stage, "name", stage), type(exc).__name__, exc)
            if stage in self._pending:
                self._pending.remove(stage)

    def poll(self) -> list[Alert]:
        """Flush batches whose latency bound has passed; for live streams
        between reads, when no event arrives to do it."""
        if self._pending:
            self._flush_due()
        res = self._out[:]
        self._out.clear()
        self.stats.alerts += len(res)
        return res

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
        for stage in self._pending[:]:
            self._flush_stage(stage)
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


_UNTIL_FIRST = -(10**9)  # sequences: until before any step
_UNTIL_LAST = 10**9  # joins: until after every step
_FULL_FEED = object()


def _work_order(item: tuple) -> tuple:
    return (item[0], item[1])


class _StepGroup:
    """One step condition + join key, shared by every rule that has it."""

    __slots__ = ("pred", "key", "starts", "waits", "waiting", "closes", "closing")

    def __init__(self, pred: Callable[..., bool] | None, key: Callable[..., Any]) -> None:
        self.pred = pred  # None: an alias step, checked against each partial
        self.key = key
        self.starts: list[tuple[int, int, int]] = []  # (matcher, order, step): always applied
        self.waits = False
        self.waiting: dict[Any, dict[tuple[int, int, int], None]] = {}  # key -> matchers waiting for this step
        self.closes = False
        self.closing: dict[Any, dict[int, int]] = {}  # key -> matcher -> slots holding the key

    def make_handler(self, hit: Callable[[Any], None]) -> Callable[[dict], None]:
        group = self
        pred = self.pred
        if pred is None:

            def always(e: dict) -> None:
                hit(group)

            return always

        def group_hit(e: dict, _p=pred) -> None:
            if _p(e):
                hit(group)

        return group_hit


def _make_watch(mid: int, step_group: dict[int, _StepGroup], until_group: _StepGroup | None) -> Callable[[int, Any, bool], None]:
    """Keeps the groups' "who waits for which key" tables in step with one
    matcher's slots: slot k holds partials waiting for step k+1."""
    waits = [(step_group[k].waiting, (mid, -k, k)) for k in sorted(step_group) if k > 0]
    closing = until_group.closing if until_group is not None else None

    def watch(slot: int, key: Any, present: bool) -> None:
        waiting, entry = waits[slot]
        w = waiting.get(key)
        if present:
            if w is None:
                waiting[key] = {entry: None}
            else:
                w[entry] = None
        elif w is not None:
            w.pop(entry, None)
            if not w:
                del waiting[key]
        if closing is not None:
            c = closing.get(key)
            if present:
                if c is None:
                    closing[key] = {mid: 1}
                else:
                    c[mid] = c.get(mid, 0) + 1
            elif c is not None:
                n = c.get(mid, 0) - 1
                if n > 0:
                    c[mid] = n
                else:
                    c.pop(mid, None)
                    if not c:
                        del closing[key]

    return watch


def _full_feed_handler(mid: int, hit: Callable) -> Callable[[dict], None]:
    entry = (_FULL_FEED, mid)

    def full(e: dict) -> None:
        hit(entry)

    return full
