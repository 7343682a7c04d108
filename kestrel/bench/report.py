"""The ``kestrel bench`` table: one line per scenario, Kestrel then eql.

Plain text (a Markdown table, so it pastes into docs/performance.md as is)
because the numbers are read by people comparing commits, not parsed; the
``--json`` output is the machine-readable form.
"""

from __future__ import annotations

from typing import Any

_COLUMNS = ("scenario", "rules", "events", "kestrel ev/s", "mean µs", "p99 µs", "rss MB", "engine MB", "alerts",
            "eql events", "eql ev/s", "eql mean µs", "ratio", "same matches", "notes")


def _num(v: Any, digits: int = 0) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.{digits}f}"


def _notes(r: dict) -> str:
    bits = []
    if "max_live_partials" in r:
        bits.append(f"live partials ≤ {r['max_live_partials']:,}/{r['max_partials']:,}, evicted {r['evictions']:,}")
    if r.get("wasm_delivered") is not None:
        per = r.get("wasm_us_per_event")
        if per is None:
            bits.append("no events delivered")
        else:
            bits.append(f"{r['wasm_delivered']:,} events into modules in {r.get('wasm_calls', 0):,} calls, {per:.2f} µs/event delivered "
                        f"(host {r.get('wasm_host_us_per_event') or 0:.2f} + call {r.get('wasm_call_us_per_event') or 0:.2f})")
            if r.get("wasm_floor_us_per_event") is not None:
                bits.append(f"delivery floor (C echo module) {r['wasm_floor_us_per_event']:.2f} µs/event")
            mods = r.get("wasm_modules") or {}
            bits.append(", ".join(f"{k} {v['us_per_event']:.2f}" for k, v in mods.items() if v.get("us_per_event") is not None))
        bits.append(f"prefilters alone {r.get('prefilter_events_per_s', 0):,.0f} ev/s; faults {r.get('wasm_faults', 0)}")
    if r.get("lua_delivered") is not None:
        per = r.get("lua_us_per_event")
        bits.append(f"{r['lua_runtime']}: {r['lua_delivered']:,} events into Lua, "
                    + (f"{per:.2f} µs/event delivered" if per is not None else "none delivered")
                    + (f" (delivery floor {r['lua_floor_us_per_event']:.2f})" if r.get("lua_floor_us_per_event") is not None else "")
                    + f"; prefilters alone {r.get('prefilter_events_per_s', 0):,.0f} ev/s; faults {r.get('lua_faults', 0)}")
    if r.get("startup_s") is not None:
        bits.append(f"startup {r['startup_s']:.2f}s excluded")
    if r.get("error"):
        bits.append(f"error: {r['error']}")
    if r.get("peer_error"):
        bits.append(f"eql error: {r['peer_error']}")
    if r.get("same_matches") is False:
        bits.append(f"only kestrel {r.get('only_kestrel', [])[:3]}, only eql {r.get('only_eql', [])[:3]}")
    return "; ".join(bits)


def row_cells(r: dict) -> list[str]:
    has_peer = r.get("peer") and "peer_events_per_s" in r
    ratio = f"{r['ratio']:,.1f}×" if r.get("ratio") else "–"
    return [
        r["scenario"], _num(r.get("rules")), _num(r.get("events")), _num(r.get("events_per_s")),
        _num(r.get("mean_us"), 2), _num(r.get("p99_us"), 2), _num(r.get("rss_mb")),
        _num(r["rss_mb"] - r["rss_events_mb"]) if r.get("rss_events_mb") is not None and r.get("rss_mb") is not None else "–",
        _num(r.get("alerts")),
        _num(r.get("peer_events")) if has_peer else "–", _num(r.get("peer_events_per_s")) if has_peer else "–",
        _num(r.get("peer_mean_us"), 1) if has_peer else "–", ratio,
        _num(r.get("same_matches")) + (f" ({r['matches']:,})" if has_peer else "") if has_peer else "–",
        _notes(r),
    ]


def format_table(result: dict) -> str:
    """The scenarios as a Markdown table, with a line saying where and when."""
    rows = [list(_COLUMNS)] + [row_cells(r) for r in result["scenarios"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    right = set(range(1, 13))

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    m = result.get("meta", {})
    head = (f"measured on {m.get('date')}, commit {m.get('commit') or 'unknown'}, Python {m.get('python')}, "
            f"{m.get('cpus')} CPUs, seed {m.get('seed')}, {m.get('events'):,} events" + (" (quick)" if m.get("quick") else ""))
    return "\n".join([head, "", line(rows[0]), sep, *(line(r) for r in rows[1:])])
