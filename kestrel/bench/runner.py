"""``kestrel bench``: the scenarios, each run in a fresh subprocess.

Why subprocesses: peak RSS (``ru_maxrss``) only ever grows, so a number per
scenario needs a process per scenario; and the eql peer runs in its own
process too, so neither engine's memory or heap state colours the other's.

The event stream is generated once from the seed, by a child, into a
temporary msgpack file; scenario children decode it (a pre-decoded list,
as the targets are stated) and regenerate the rules from the same seed. A
child prints one JSON object on stdout; the parent merges the Kestrel and
eql halves of each scenario, prints the table and optionally writes JSON.

The parent itself stays small on purpose: Linux carries a process's peak
RSS across ``execve`` and Python starts children with ``vfork``, so a child
reports at least its parent's peak. A parent that had held the generated
events would have inflated every child's figure to its own.

``python -m kestrel.bench.runner child SPEC`` is the child entry point;
people use ``kestrel bench``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from . import workload

Rules = list[tuple[str, str]]


@dataclass(frozen=True)
class Scenario:
    """One line of the table."""

    name: str
    description: str
    rules: Callable[[int], Rules]
    # Events eql sees by default: sized so one eql run takes <= ~20 s here.
    peer_events: int
    max_partials: int | None = None
    replay: bool = False
    wasm: bool = False
    lua: bool = False


def _replay_rules(seed: int) -> Rules:
    return workload.single_event_rules(100, seed) + workload.sequence_rules(10, seed)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("single-1", "1 single-event rule (curl piped to a shell)", lambda s: workload.single_event_rules(1, s), 100_000),
    Scenario("single-100", "100 single-event rules", lambda s: workload.single_event_rules(100, s), 50_000),
    Scenario("single-1000", "1,000 single-event rules", lambda s: workload.single_event_rules(1000, s), 4_000),
    Scenario("seq-10", "10 sequence rules", lambda s: workload.sequence_rules(10, s), 40_000),
    Scenario("seq-100", "100 sequence rules", lambda s: workload.sequence_rules(100, s), 10_000),
    Scenario("replay-msgpack", "kestrel replay of a msgpack file, 100 single + 10 sequence rules, alerts to a file",
             _replay_rules, 0, replay=True),
    Scenario("flood", "2 sequence rules flooded with unmatched first steps under new keys", lambda s: workload.flood_rules(), 20_000),
    Scenario("wasm-10", "10 Wasm rules (Rust, AssemblyScript) behind EQL prefilters", lambda s: [("", "")] * 10, 0, wasm=True),
    Scenario("lua-10", "10 Lua rules behind EQL prefilters (+1 that measures delivery)", lambda s: [("", "")] * 11, 0, lua=True),
)}

DEFAULT_EVENTS = 200_000
QUICK_EVENTS = 20_000
QUICK_PEER_DIVISOR = 20


# -- the children ------------------------------------------------------------
def _load_events(path: str, limit: int | None) -> list[dict]:
    """Decode the stream (the collector off: it would rescan the growing
    list on every pass and double the load time)."""
    import gc

    import msgpack

    out: list[dict] = []
    gc.disable()
    try:
        with open(path, "rb") as f:
            for e in msgpack.Unpacker(f, raw=False):
                if limit is not None and len(out) >= limit:
                    break
                out.append(e)
    finally:
        gc.enable()
    return out


def _child_kestrel(spec: dict) -> dict:
    """Throughput, latency and peak memory of Kestrel on the full stream."""
    from . import measure

    sc = SCENARIOS[spec["scenario"]]
    if sc.wasm:
        return _child_wasm(spec)
    if sc.lua:
        return _child_lua(spec)
    rules = sc.rules(spec["seed"])
    events = _load_events(spec["events_file"], spec["events"])
    measure.freeze_heap()
    base = measure.current_rss_mb()
    tp = measure.throughput(rules, events, warmup=spec["warmup"], repeat=spec["repeat"], min_time=spec["min_time"],
                            max_partials=sc.max_partials)
    lat = measure.latency(rules, events, warmup=spec["warmup"], max_partials=sc.max_partials)
    out = {
        "events": len(events), "events_per_s": tp.events_per_s, "mean_us": lat.mean_us, "p99_us": lat.p99_us,
        "rss_mb": measure.peak_rss_mb(), "rss_events_mb": base, "alerts": lat.alerts,
    }
    if any(r[1].lstrip().startswith("sequence") for r in rules):
        from ..config import Config

        out.update(max_live_partials=lat.max_live_partials, evictions=lat.evictions,
                   max_partials=sc.max_partials or Config().max_partials)
    return out


def _child_wasm(spec: dict) -> dict:
    """The Wasm scenario (see kestrel/bench/wasm.py)."""
    from . import measure
    from .wasm import measure as measure_wasm

    events = _load_events(spec["events_file"], spec["events"])
    measure.freeze_heap()
    base = measure.current_rss_mb()
    examples = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples", "rules", "wasm")
    with tempfile.TemporaryDirectory(prefix="kestrel-bench-wasm-") as workdir:
        out = measure_wasm(events, examples, workdir, warmup=spec["warmup"])
    out.update(rss_mb=measure.peak_rss_mb(), rss_events_mb=base)
    return out


def _child_lua(spec: dict) -> dict:
    """The Lua scenario (see kestrel/bench/lua.py)."""
    from . import measure
    from .lua import measure as measure_lua

    events = _load_events(spec["events_file"], spec["events"])
    measure.freeze_heap()
    base = measure.current_rss_mb()
    with tempfile.TemporaryDirectory(prefix="kestrel-bench-lua-") as workdir:
        out = measure_lua(events, workdir, warmup=spec["warmup"])
    out.update(rss_mb=measure.peak_rss_mb(), rss_events_mb=base)
    return out


def _child_peer(spec: dict) -> dict:
    """eql on a prefix, then Kestrel's matches on the same prefix."""
    from . import measure, peer_eql

    sc = SCENARIOS[spec["scenario"]]
    rules = sc.rules(spec["seed"])
    events = _load_events(spec["events_file"], spec["peer_events"])
    measure.freeze_heap()
    res = peer_eql.run(rules, events)
    rss = measure.peak_rss_mb()
    ours = measure.matches(rules, events, sc.max_partials)
    cmp = measure.compare(ours, res.matches)
    return {
        "peer_events": res.events, "peer_events_per_s": res.events_per_s, "peer_mean_us": res.mean_us,
        "peer_p99_us": res.p99_us, "peer_rss_mb": rss, "peer_seconds": res.seconds,
        "same_matches": cmp.same, "matches": cmp.theirs, "kestrel_matches": cmp.ours,
        "only_kestrel": [list(m) for m in cmp.only_ours], "only_eql": [list(m) for m in cmp.only_theirs],
    }


def _child_generate(spec: dict) -> dict:
    from ..io.readers import write_msgpack

    t0 = time.perf_counter()
    n = write_msgpack(workload.generate_events(spec["events"], spec["seed"]), spec["events_file"])
    return {"events": n, "seconds": time.perf_counter() - t0}


def child_main(argv: Sequence[str]) -> int:
    spec = json.loads(argv[0])
    fn = {"peer": _child_peer, "generate": _child_generate, "kestrel": _child_kestrel}[spec["role"]]
    print(json.dumps(fn(spec)))
    return 0


# -- the parent --------------------------------------------------------------
def _run_child(spec: dict, timeout: float) -> dict:
    cmd = [sys.executable, "-m", "kestrel.bench.runner", "child", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s"}
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return {"error": tail[0]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _run_replay(sc: Scenario, spec: dict, workdir: str) -> dict:
    """Time ``kestrel replay FILE -r RULES -o OUT -q`` in a subprocess
    (its own ``ru_maxrss`` from ``wait4``), minus the fixed cost
    (interpreter start, rule compilation) measured by replaying an empty
    file. Alerts go to a file, then are counted."""
    from ..io.readers import write_msgpack

    rules_dir = os.path.join(workdir, "replay-rules")
    os.makedirs(rules_dir, exist_ok=True)
    with open(os.path.join(rules_dir, "bench.toml"), "w") as f:
        for rid, query in sc.rules(spec["seed"]):
            f.write(f"[[rule]]\nid = \"{rid}\"\nquery = '''\n{query}\n'''\n\n")
    empty = os.path.join(workdir, "empty.msgpack")
    write_msgpack([], empty)

    def replay(path: str, out: str) -> tuple[float, float, int]:
        cmd = [sys.executable, "-m", "kestrel", "replay", path, "-r", rules_dir, "-o", out, "-q"]
        # stderr to a file, not a pipe: nobody reads a pipe until wait4 returns.
        with open(os.path.join(workdir, "replay.stderr"), "w+b") as err:
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            p.returncode = code = os.waitstatus_to_exitcode(status)
            if code not in (0, 1):
                err.seek(0)
                raise RuntimeError(f"kestrel replay exited {code}: {err.read().decode(errors='replace').strip()[-300:]}")
        return wall, usage.ru_maxrss / 1024.0, code

    startup, _, _ = replay(empty, os.devnull)
    out = os.path.join(workdir, "alerts.jsonl")
    wall, rss, _ = replay(spec["events_file"], out)
    with open(out, "rb") as f:
        alerts = sum(1 for _ in f)
    n = spec["events"]
    # On a tiny stream the fixed cost is most of the wall time and too noisy
    # to subtract; then the figure is end to end.
    steady = wall - startup if wall - startup > 0.25 * wall else wall
    return {"events": n, "events_per_s": n / steady, "mean_us": None, "p99_us": None, "rss_mb": rss,
            "alerts": alerts, "wall_s": wall, "startup_s": startup}


def _git_commit() -> str | None:
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True, timeout=5)
            return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def run_bench(*, scenarios: Sequence[str], events: int, seed: int, peer: bool, quick: bool,
              peer_events: int | None = None, repeat: int | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Run the scenarios; return ``{"meta": ..., "scenarios": [...]}``."""
    from . import peer_eql

    say = log or (lambda s: print(s, file=sys.stderr, flush=True))
    why_no_peer = None if not peer else peer_eql.available()
    if why_no_peer:
        say(f"kestrel bench: no eql peer: {why_no_peer}")
    repeat = repeat if repeat is not None else (1 if quick else 3)
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="kestrel-bench-") as workdir:
        t0 = time.perf_counter()
        events_file = os.path.join(workdir, "events.msgpack")
        gen = _run_child({"role": "generate", "events": events, "seed": seed, "events_file": events_file}, timeout=900)
        if "error" in gen:
            raise RuntimeError(f"generating the events failed: {gen['error']}")
        say(f"kestrel bench: {events:,} events generated (seed {seed}) in {time.perf_counter() - t0:.1f}s")
        for name in scenarios:
            sc = SCENARIOS[name]
            spec = {"scenario": name, "seed": seed, "events_file": events_file, "events": events,
                    "warmup": min(2_000, events // 10), "repeat": repeat, "min_time": 0.0 if quick else 2.0}
            t1 = time.perf_counter()
            row: dict[str, Any] = {"scenario": name, "engine": "kestrel", "rules": len(sc.rules(seed))}
            if sc.replay:
                try:
                    row.update(_run_replay(sc, spec, workdir))
                except (RuntimeError, OSError) as exc:
                    row["error"] = str(exc)
            else:
                row.update(_run_child(dict(spec, role="kestrel"), timeout=900))
            if peer and not why_no_peer and sc.peer_events:
                n_peer = peer_events or (sc.peer_events // QUICK_PEER_DIVISOR if quick else sc.peer_events)
                got = _run_child(dict(spec, role="peer", peer_events=min(n_peer, events)), timeout=900)
                if "error" in got:
                    got = {"peer_error": got["error"]}
                row["peer"] = "eql"
                row.update(got)
                if row.get("events_per_s") and row.get("peer_events_per_s"):
                    row["ratio"] = row["events_per_s"] / row["peer_events_per_s"]
            else:
                row["peer"] = None
            say(f"kestrel bench: {name} done in {time.perf_counter() - t1:.1f}s")
            results.append(row)
    meta = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"), "commit": _git_commit(), "seed": seed,
        "events": events, "quick": quick, "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "peer": None if (not peer or why_no_peer) else "eql",
    }
    return {"meta": meta, "scenarios": results}


def run_from_args(args: argparse.Namespace) -> int:
    """The body of ``kestrel bench`` (see kestrel/cli.py for the options)."""
    from .report import format_table

    names = args.scenario or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"kestrel: error: unknown scenario {unknown[0]!r} (choose from {', '.join(SCENARIOS)})", file=sys.stderr)
        return 2
    events = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
    if events < 100:
        print("kestrel: error: --events must be at least 100", file=sys.stderr)
        return 2
    result = run_bench(scenarios=names, events=events, seed=args.seed, peer=not args.no_peer, quick=args.quick,
                       peer_events=args.peer_events, repeat=args.repeat)
    print(format_table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    failed = [r for r in result["scenarios"] if "error" in r or r.get("same_matches") is False]
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover - the child entry point
    if len(sys.argv) >= 3 and sys.argv[1] == "child":
        sys.exit(child_main(sys.argv[2:]))
    print("usage: kestrel bench [options]  (this module's own entry point is for child processes)", file=sys.stderr)
    sys.exit(2)
