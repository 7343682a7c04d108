"""Sequences, joins, samples and lineage: each feature, and the memory bound."""

from __future__ import annotations

from kestrel import Config, Engine

from conftest import matches, proc


def P(n: int, t: float, eid: str | None = None, name: str = "x", parent: str | None = None, **kw) -> dict:
    return proc(n, t=t, process__entity_id=eid, process__name=name, process__parent__entity_id=parent, **kw)


def F(n: int, t: float, eid: str | None = None, path: str = "/tmp/a", **kw) -> dict:
    return proc(n, t=t, category="file", process__entity_id=eid, file__path=path, **kw)


def N(n: int, t: float, eid: str | None = None, parent: str | None = None, **kw) -> dict:
    return proc(n, t=t, category="network", process__entity_id=eid, process__parent__entity_id=parent, **kw)


def test_sequence_by_key() -> None:
    evs = [P(1, 1, "a"), P(2, 2, "b"), F(3, 3, "b"), F(4, 4, "a")]
    assert matches("sequence by process.entity_id [process where true] [file where true]", evs) == [[2, 3], [1, 4]]


def test_sequence_newer_partial_replaces_older() -> None:
    evs = [P(1, 1, "a"), P(2, 2, "a"), F(3, 3, "a")]
    assert matches("sequence by process.entity_id [process where true] [file where true]", evs) == [[2, 3]]


def test_maxspan_is_inclusive_and_by_event_time() -> None:
    evs = [P(1, 0, "a"), F(2, 5, "a"), P(3, 10, "b"), F(4, 15.000001, "b")]
    assert matches("sequence by process.entity_id with maxspan=5s [process where true] [file where true]", evs) == [[1, 2]]


def test_until_closes_open_partials_per_key() -> None:
    evs = [P(1, 1, "a"), P(2, 2, "b"), N(3, 3, "a"), F(4, 4, "a"), F(5, 5, "b")]
    q = "sequence by process.entity_id [process where true] [file where true] until [network where true]"
    assert matches(q, evs) == [[2, 5]]


def test_per_step_keys_link_parent_to_child() -> None:
    evs = [P(1, 1, "parent", name="nginx"), P(2, 2, "child", name="sh", parent="parent"), N(3, 3, "child", parent="parent")]
    q = 'sequence [process where process.name == "nginx"] by process.entity_id [network where true] by process.parent.entity_id'
    assert matches(q, evs) == [[1, 3]]


def test_composite_keys() -> None:
    evs = [
        P(1, 1, "a", host__id="h1"), P(2, 2, "a", host__id="h2"),
        F(3, 3, "a", host__id="h2"), F(4, 4, "a", host__id="h1"),
    ]
    assert matches("sequence by host.id, process.entity_id [process where true] [file where true]", evs) == [[2, 3], [1, 4]]


def test_null_join_key_does_not_join_in_elasticsearch() -> None:
    evs = [P(1, 1, None), F(2, 2, None)]
    assert matches("sequence by process.entity_id [process where true] [file where true]", evs) == []


def test_runs() -> None:
    fails = [proc(i, t=i, category="authentication", event__outcome="failure", user__name="root") for i in range(1, 4)]
    ok = proc(10, t=10, category="authentication", event__outcome="success", user__name="root")
    q = ('sequence by user.name with maxspan=1m [authentication where event.outcome == "failure"] with runs=3 '
         '[authentication where event.outcome == "success"]')
    assert matches(q, [*fails, ok]) == [[1, 2, 3, 10]]
    assert matches(q, [*fails[:2], ok]) == []


def test_missing_event_in_the_middle() -> None:
    q = "sequence by process.entity_id with maxspan=1m [process where true] ![network where true] [file where true]"
    assert matches(q, [P(1, 1, "a"), F(2, 2, "a")]) == [[1, 2]]
    assert matches(q, [P(1, 1, "a"), N(2, 2, "a"), F(3, 3, "a")]) == []
    assert matches(q, [P(1, 1, "a"), N(2, 2, "b"), F(3, 3, "a")]) == [[1, 3]]


def test_missing_event_at_the_end_waits_for_the_window() -> None:
    q = "sequence by process.entity_id with maxspan=10s [process where true] [file where true] ![network where true]"
    # No network event within 10 s of the start: alert when time moves past the window.
    assert matches(q, [P(1, 1, "a"), F(2, 2, "a"), P(3, 30, "z")]) == [[1, 2]]
    # A network event inside the window cancels it.
    assert matches(q, [P(1, 1, "a"), F(2, 2, "a"), N(3, 5, "a"), P(4, 30, "z")]) == []
    # End of input closes the window.
    assert matches(q, [P(1, 1, "a"), F(2, 2, "a")]) == [[1, 2]]


def test_missing_event_at_the_start() -> None:
    q = "sequence by process.entity_id with maxspan=10s ![network where true] [process where true] [file where true]"
    assert matches(q, [P(1, 1, "a"), F(2, 2, "a")]) == [[1, 2]]
    assert matches(q, [N(1, 0.5, "a"), P(2, 1, "a"), F(3, 2, "a")]) == []
    assert matches(q, [N(1, 0.5, "b"), P(2, 1, "a"), F(3, 2, "a")]) == [[2, 3]]


def test_step_alias_referenced_later() -> None:
    q = ('sequence with maxspan=1m [file where file.path : "/tmp/*"] as event0 '
         '[process where startswith~(process.executable, event0.file.path)]')
    evs = [F(1, 1, path="/tmp/dropper"), P(2, 2, "p", process__executable="/TMP/dropper"), P(3, 3, "q", process__executable="/usr/bin/ls")]
    assert matches(q, evs) == [[1, 2]]


def test_sequence_pipes() -> None:
    evs = [P(i, i, "a") for i in range(1, 6)]
    assert matches("sequence [process where true] [process where true] | head 2", evs) == [[1, 2], [2, 3]]
    assert matches("sequence [process where true] [process where true] | tail 1", evs) == [[4, 5]]
    assert matches("sequence [process where true] [process where true] | filter events[1].n == 3", evs) == [[2, 3]]


def test_join_is_unordered() -> None:
    evs = [F(1, 1, "a"), P(2, 2, "a"), P(3, 3, "b")]
    assert matches("join by process.entity_id [process where true] [file where true]", evs) == [[2, 1]]


def test_sample_rearms_per_key() -> None:
    evs = [F(1, 1, "a", host__id="h"), P(2, 2, "a", host__id="h"), P(3, 3, "b", host__id="h"), F(4, 4, "b", host__id="h")]
    assert matches("sample by host.id [process where true] [file where true]", evs) == [[2, 1], [3, 4]]


def test_flood_of_unmatched_first_steps_is_bounded_and_counted() -> None:
    engine = Engine(Config(max_partials=1000))
    rule = engine.add_query("sequence by process.entity_id [process where true] [file where true]", id="flood")
    for i in range(50_000):
        engine.process(P(i, i / 1000, f"e{i}"))
        assert rule.live_partials <= 1000
    assert rule.live_partials == 1000
    assert rule.evictions == 49_000
    # The newest partials survive and still complete.
    assert [a.rule.id for a in engine.process(F(0, 60, "e49999"))] == ["flood"]
    assert engine.process(F(0, 61, "e0")) == []


def test_maxspan_expiry_frees_memory_without_evictions() -> None:
    engine = Engine(Config(max_partials=100_000))
    rule = engine.add_query("sequence by process.entity_id with maxspan=1s [process where true] [file where true]", id="x")
    for i in range(10_000):
        engine.process(P(i, i * 0.01, f"e{i}"))  # 100 events per second of event time
    # Expiry runs every maxspan/8 of event time: at most 1.125 s of partials live.
    assert rule.live_partials <= 115
    assert rule.evictions == 0


def test_descendant_of_with_ecs_entity_ids() -> None:
    evs = [
        P(1, 1, "p1", name="sshd", event__type="start"),
        P(2, 2, "p2", name="bash", parent="p1", event__type="start"),
        P(3, 3, "p3", name="curl", parent="p2", event__type="start"),
        P(4, 4, "p4", name="curl", parent="p9", event__type="start"),
        N(5, 5, "p3"),
    ]
    assert matches('process where process.name == "curl" and descendant of [process where process.name == "sshd"]', evs) == [[3]]
    assert matches('process where child of [process where process.name == "bash"]', evs) == [[3]]
    assert matches('network where descendant of [process where process.name == "sshd"]', evs) == [[5]]
    assert matches('network where event of [process where process.name == "curl"]', evs) == [[5]]
