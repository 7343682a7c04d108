"""State machines for multi-event queries: sequence, join and sample.

A sequence of n steps is an NFA with n-1 waiting states. Each state holds
the partial matches waiting for the next step in a dict keyed by the join
value, so an event finds the one partial it can extend with a hash lookup.
As in eql and Elasticsearch, one partial is kept per (state, key): a newer
event for the same step and key replaces the older one. Steps are tried from
last to first so one event never extends a partial it just created.

Memory is bounded: each matcher holds at most ``max_partials`` partial
matches; past that the oldest is evicted and counted. ``maxspan`` expiry is
by event time and needs no timers: dict insertion order is the age order, so
expired partials are popped from the front as new ones arrive.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable

Emit = Callable[[list, int | None, dict | None], None]


@dataclass(slots=True)
class CompiledStep:
    """One step, compiled: its event type, predicate and join key."""

    event_type: str | None
    pred: Callable[..., bool]
    key: Callable[..., Any]
    uses_aliases: bool = False
    alias: str | None = None
    missing: bool = False
    fork: bool = False
    condition: Any = None  # the step's AST condition, for access-path indexing
    # Position-free signatures of the condition (with its dialect) and of
    # the join key: steps of different rules that agree on both are one
    # evaluation per event.
    signature: str = ""

    def accepts(self, types: tuple) -> bool:
        return self.event_type is None or self.event_type in types


# A partial match is a plain tuple (events, start time, aliases): it is
# created for every started or advanced match, and a tuple is the cheapest
# object Python builds.
Partial = tuple
_EVENTS, _START, _ALIASES = 0, 1, 2


_NO_KEY = object()


@dataclass
class MatcherStats:
    partials: int = 0
    evictions: int = 0
    expired: int = 0
    completed: int = 0


class SequenceMatcher:
    """``sequence [by k] [with maxspan=T] [..] [..] [until [..]]``."""

    def __init__(
        self,
        steps: list[CompiledStep],
        until: CompiledStep | None,
        maxspan_ns: int | None,
        max_partials: int,
        *,
        missing_before: list[list[CompiledStep]] | None = None,
        missing_after: list[CompiledStep] | None = None,
    ) -> None:
        self.steps = steps
        self.until = until
        self.maxspan = maxspan_ns
        self.max_partials = max_partials
        n = len(steps)
        # slots[k] holds partials that matched steps 0..k and wait for step k+1.
        # OrderedDict, not dict: expiry and eviction take from the front, and
        # a plain dict that is emptied from the front makes every
        # next(iter(d)) walk past the deleted entries.
        self.slots: list[OrderedDict[Any, Partial]] = [OrderedDict() for _ in range(max(n - 1, 1))]
        self.stats = MatcherStats()
        self._count = 0
        # missing_before[k]: ![..] steps between real step k-1 and k (k=0: leading).
        self.missing_before = missing_before or [[] for _ in range(n)]
        self.missing_after = missing_after or []
        self._leading_seen: dict[Any, deque] = {}
        self._pending: dict[Any, list[tuple[int, tuple]]] = {}
        self.has_missing = any(self.missing_before) or bool(self.missing_after)
        # Told watch(slot, key, present) whenever a key enters or leaves a slot.
        self.watch: Callable[[int, Any, bool], None] | None = None

    # -- bookkeeping ---------------------------------------------------
    # Every change to a slot goes through _store/_drop, so that the engine's
    # "who waits for which key" index (``watch``) stays exact.

    def _drop(self, k: int, key: Any) -> Partial | None:
        p = self.slots[k].pop(key, None)
        if p is not None:
            self._count -= 1
            if self.watch is not None:
                self.watch(k, key, False)
        return p

    def _store(self, k: int, key: Any, partial: Partial, now: int | None) -> None:
        # Hot: every started or advanced partial lands here, so the slot
        # bookkeeping (expiry, bound, watch) is written out inline.
        slot = self.slots[k]
        if key in slot:
            # The newer partial replaces the older and moves to the back, so
            # slot order stays age order.
            slot[key] = partial
            slot.move_to_end(key)
            return
        maxspan = self.maxspan
        if maxspan is not None and now is not None and slot:
            # Retire up to two expired partials from the front: that
            # outpaces the one being added, and no event pays for a backlog.
            limit = now - maxspan
            for _ in (0, 1):
                first = next(iter(slot))
                if slot[first][_START] >= limit:
                    break
                self._drop(k, first)
                self.stats.expired += 1
                if not slot:
                    break
        if self._count >= self.max_partials:
            self._evict_oldest()
        slot[key] = partial
        self._count += 1
        watch = self.watch
        if watch is not None:
            watch(k, key, True)

    def _evict_oldest(self) -> None:
        oldest_k = -1
        oldest_start = None
        for k, slot in enumerate(self.slots):
            if slot:
                p = slot[next(iter(slot))]
                if oldest_start is None or p[_START] < oldest_start:
                    oldest_k, oldest_start = k, p[_START]
        if oldest_k >= 0:
            self._drop(oldest_k, next(iter(self.slots[oldest_k])))
            self.stats.evictions += 1

    def _pop_key(self, key: Any) -> None:
        for k in range(len(self.slots)):
            self._drop(k, key)

    def holds(self, key: Any) -> bool:
        return any(key in slot for slot in self.slots)

    @property
    def live_partials(self) -> int:
        return self._count

    # -- the per-event path -------------------------------------------
    def feed(self, e: dict, ts: int | None, types: tuple, emit: Emit) -> None:
        """Evaluate every step on ``e`` (the path for matchers that must see
        all events of their types, such as those with missing-event steps)."""
        if self.has_missing:
            self._missing_events(e, ts, types, emit)
        until = self.until
        if until is not None and until.accepts(types) and until.pred(e):
            self.close(until.key(e))
        for k in range(len(self.steps) - 1, -1, -1):
            step = self.steps[k]
            if step.accepts(types) and (step.uses_aliases or step.pred(e)):
                self.step(k, e, ts, step.key(e), emit)

    def close(self, key: Any) -> None:
        """An ``until`` event: discard the key's partial matches."""
        if key is not _NO_KEY:
            self._pop_key(key)
            self._pending.pop(key, None)

    def step(self, k: int, e: dict, ts: int | None, key: Any, emit: Emit) -> None:
        """Apply one event that satisfies step ``k`` (alias steps: may
        satisfy; checked here against the partial). Callers apply an
        event's steps from the last to the first, after any ``until``."""
        if key is _NO_KEY:
            return
        step = self.steps[k]
        last = len(self.steps) - 1
        if k == 0:
            if step.uses_aliases and not step.pred(e):
                return
            aliases = {step.alias: e} if step.alias else None
            partial = ((e,), ts if ts is not None else 0, aliases)
            if last == 0:
                self._complete(key, partial, ts, emit)
            else:
                self._store(0, key, partial, ts)
            return
        p = self.slots[k - 1].get(key)
        if p is None or (step.uses_aliases and not step.pred(e, p[_ALIASES])):
            return
        maxspan = self.maxspan
        if maxspan is not None and ts is not None and ts - p[_START] > maxspan:
            self._drop(k - 1, key)
            self.stats.expired += 1
            return
        if not step.fork:
            self._drop(k - 1, key)
        aliases = p[_ALIASES]
        if step.alias:
            aliases = dict(aliases or {})
            aliases[step.alias] = e
        new = (p[_EVENTS] + (e,), p[_START], aliases)
        if k == last:
            self._complete(key, new, ts, emit)
        else:
            self._store(k, key, new, ts)

    def _complete(self, key: Any, partial: Partial, ts: int | None, emit: Emit) -> None:
        if self.missing_before and self.missing_before[0] and not self._leading_ok(key, partial, ts):
            return
        if self.missing_after:
            self._pending.setdefault(key, []).append((partial[_START], partial[_EVENTS]))
            return
        self.stats.completed += 1
        emit(list(partial[_EVENTS]), ts, None)

    # -- missing-event steps ![..] ---------------------------------------
    def _missing_events(self, e: dict, ts: int | None, types: tuple, emit: Emit) -> None:
        # Trailing ![..]: release completed sequences whose window has closed.
        if self._pending and ts is not None and self.maxspan is not None:
            self._release_pending(ts, emit)
        for k, group in enumerate(self.missing_before):
            for step in group:
                if step.accepts(types) and step.pred(e):
                    key = step.key(e)
                    if key is _NO_KEY:
                        continue
                    if k == 0:
                        seen = self._leading_seen.get(key)
                        if seen is None:
                            if len(self._leading_seen) >= self.max_partials:
                                del self._leading_seen[next(iter(self._leading_seen))]
                                self.stats.evictions += 1
                            seen = self._leading_seen[key] = deque(maxlen=64)
                        seen.append(ts if ts is not None else 0)
                    else:
                        # Kills partials waiting between step k-1 and k.
                        self._drop(k - 1, key)
        for step in self.missing_after:
            if step.accepts(types) and step.pred(e):
                key = step.key(e)
                pending = self._pending.get(key)
                if pending:
                    # A trailing missing event inside the window cancels the match.
                    limit = (ts or 0) - (self.maxspan or 0)
                    kept = [p for p in pending if p[0] < limit]
                    if kept:
                        self._pending[key] = kept
                    else:
                        del self._pending[key]

    def _leading_ok(self, key: Any, partial: Partial, ts: int | None) -> bool:
        seen = self._leading_seen.get(key)
        if not seen:
            return True
        end = ts if ts is not None else partial[_START]
        lo = end - (self.maxspan or 0)
        return not any(lo <= t <= partial[_START] for t in seen)

    def _release_pending(self, now: int, emit: Emit) -> None:
        limit = now - self.maxspan  # type: ignore[operator]
        for key in list(self._pending):
            items = self._pending[key]
            ready = [p for p in items if p[0] < limit]
            if ready:
                rest = [p for p in items if p[0] >= limit]
                if rest:
                    self._pending[key] = rest
                else:
                    del self._pending[key]
                for start, events in ready:
                    self.stats.completed += 1
                    emit(list(events), now, None)

    def flush(self, emit: Emit) -> None:
        """End of input: trailing-missing sequences whose window never saw the event."""
        for key, items in list(self._pending.items()):
            for start, events in items:
                self.stats.completed += 1
                emit(list(events), None, None)
        self._pending.clear()


class JoinMatcher:
    """``join [by k] [..] [..] [until [..]]``: one event per step, any order.

    The first event seen for each step and key is kept; when every step has
    one, the match is emitted in step order and the key starts afresh.
    """

    def __init__(self, steps: list[CompiledStep], until: CompiledStep | None, max_partials: int) -> None:
        self.steps = steps
        self.until = until
        self.max_partials = max_partials
        self.table: OrderedDict[Any, list] = OrderedDict()
        self.stats = MatcherStats()

    @property
    def live_partials(self) -> int:
        return len(self.table)

    def feed(self, e: dict, ts: int | None, types: tuple, emit: Emit) -> None:
        for pos, step in enumerate(self.steps):
            if step.accepts(types) and step.pred(e):
                self.step(pos, e, ts, step.key(e), emit)
        until = self.until
        if until is not None and until.accepts(types) and until.pred(e):
            self.close(until.key(e))

    def close(self, key: Any) -> None:
        self.table.pop(key, None)

    def step(self, pos: int, e: dict, ts: int | None, key: Any, emit: Emit) -> None:
        """Steps are applied in order, and ``until`` after them, as in eql."""
        n = len(self.steps)
        if key is not _NO_KEY:
            row = self.table.get(key)
            if row is None:
                if len(self.table) >= self.max_partials:
                    self.table.popitem(last=False)
                    self.stats.evictions += 1
                row = self.table[key] = [None] * n
            if row[pos] is None:
                row[pos] = e
                if all(x is not None for x in row):
                    del self.table[key]
                    self.stats.completed += 1
                    emit(list(row), ts, None)

    def flush(self, emit: Emit) -> None:
        return None


class SampleMatcher(JoinMatcher):
    """``sample by k [..] [..]``: like join, unordered and without ``until``.

    Elasticsearch returns one sample per key from stored data; a live engine
    re-arms the key after each sample so a repeat of the behaviour alerts
    again.
    """

    def __init__(self, steps: list[CompiledStep], max_partials: int) -> None:
        super().__init__(steps, None, max_partials)


NO_KEY = _NO_KEY
