"""The ``wasm-10`` scenario: ten Wasm rules behind EQL prefilters.

The rules are the example modules (Rust: command-line entropy, base64
payloads; AssemblyScript: credential-file sweep), each loaded several
times under its own id and prefilter, so that ten sandboxes with ten
batching stages run side by side on the generated stream. Reported: the
stream's events/s with the ten rules, the same with only their prefilters
as plain EQL rules (what the native path costs), how many events crossed
into modules, and the host's cost per event delivered (encode, call,
decode, alerts), which the issue's target is stated in.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from typing import Any, Sequence

EXAMPLES = ("cmdline_entropy", "base64_payload", "credential_sweep")

# (example, prefilter) for the ten rules.
RULES: tuple[tuple[str, str], ...] = (
    ("cmdline_entropy", 'process where event.type == "start"'),
    ("cmdline_entropy", 'process where event.type == "start" and process.name : ("bash", "sh", "dash", "python*", "perl")'),
    ("cmdline_entropy", 'process where event.type == "start" and length(process.command_line) > 40'),
    ("cmdline_entropy", 'process where event.type == "start" and process.parent.name : ("bash", "sh", "zsh", "sshd", "cron")'),
    ("base64_payload", 'process where event.type == "start" and length(process.command_line) > 24'),
    ("base64_payload", 'process where event.type == "start"'),
    ("base64_payload", 'process where event.type == "start" and process.command_line : "*=*"'),
    ("credential_sweep", "file where true"),
    ("credential_sweep", 'file where file.path : ("/home/*", "/root/*")'),
    ("credential_sweep", 'file where file.path : ("/etc/*", "/var/*", "/tmp/*")'),
)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _manifest(doc: dict) -> str:
    out = []
    for table in ("module", "rule", "functions", "limits", "config"):
        if table in doc:
            out.append(f"[{table}]")
            out.extend(f'"{k}" = {_toml_value(v)}' for k, v in doc[table].items())
            out.append("")
    return "\n".join(out)


def build_rule_set(examples_dir: str, workdir: str) -> tuple[str, list[tuple[str, str]]]:
    """Ten rule directories under ``workdir/rules`` (built examples, each
    with its own module name, id and prefilter); returns the directory and
    the (id, prefilter) pairs for the EQL-only baseline."""
    from ..hosts.wasm_build import build_rule

    for name in EXAMPLES:
        build_rule(os.path.join(examples_dir, name))
    root = os.path.join(workdir, "rules")
    os.makedirs(root, exist_ok=True)
    pairs = []
    for i, (example, prefilter) in enumerate(RULES):
        src = os.path.join(examples_dir, example)
        dst = os.path.join(root, f"{i:02d}_{example}")
        os.makedirs(os.path.join(dst, "build"))
        shutil.copy(os.path.join(src, "build", "rule.wasm"), os.path.join(dst, "build", "rule.wasm"))
        with open(os.path.join(src, "wasm-rule.toml"), "rb") as f:
            doc = tomllib.load(f)
        rid = f"bench-wasm-{i:02d}-{example}"
        doc["module"]["name"] = f"{doc['module']['name']}_{i:02d}"
        doc["rule"]["id"] = rid
        doc["rule"]["prefilter"] = prefilter
        with open(os.path.join(dst, "wasm-rule.toml"), "w") as f:
            f.write(_manifest(doc))
        pairs.append((rid, prefilter))
    return root, pairs


def measure(events: Sequence[dict], examples_dir: str, workdir: str, warmup: int = 2_000) -> dict:
    """One timed pass with the ten Wasm rules, one with their prefilters only."""
    from ..config import Config
    from ..engine import Engine
    from .measure import prefilter_rate, stream_pass

    rules_dir, pairs = build_rule_set(examples_dir, workdir)
    warmup = min(warmup, len(events) // 10)
    timed = events[warmup:]

    engine = Engine(Config())
    engine.batch_latency = float("inf")  # as `kestrel replay` runs files: batches flush full
    report = engine.load_rules(rules_dir)
    if report.errors or len(report.rules) != len(RULES):
        raise RuntimeError("the bench's Wasm rules did not load: " + "; ".join(str(e) for e in report.errors))
    engine.prepare()
    stages = [r.stage for r in engine.rules]

    def zero() -> None:
        for s in stages:
            s.delivered, s.seconds, s.call_seconds = 0, 0.0, 0.0

    seconds, alerts = stream_pass(engine, events, warmup, zero)
    delivered = sum(s.delivered for s in stages)
    in_host = sum(s.seconds for s in stages)
    in_calls = sum(s.call_seconds for s in stages)
    per_module: dict[str, list[float]] = {}
    for s in stages:
        example = s.name.split("-", 3)[-1]
        acc = per_module.setdefault(example, [0, 0.0, 0.0])
        acc[0] += s.delivered
        acc[1] += s.seconds
        acc[2] += s.call_seconds
    modules = engine.wasm_modules  # type: ignore[attr-defined]

    base_rate = prefilter_rate(pairs, events, warmup)
    n = len(timed)
    floor = _delivery_floor(timed, workdir)
    return {
        "wasm_floor_us_per_event": floor,
        "events": n,
        "events_per_s": n / seconds if seconds else 0.0,
        "alerts": alerts,
        "wasm_delivered": delivered,
        "wasm_us_per_event": in_host / delivered * 1e6 if delivered else None,
        # Kestrel's side of it (projecting, encoding, decoding, alerts) and
        # the call itself (copy in, the module's own work, copy out).
        "wasm_host_us_per_event": (in_host - in_calls) / delivered * 1e6 if delivered else None,
        "wasm_call_us_per_event": in_calls / delivered * 1e6 if delivered else None,
        "wasm_modules": {k: {"delivered": v[0], "us_per_event": v[1] / v[0] * 1e6 if v[0] else None,
                             "call_us_per_event": v[2] / v[0] * 1e6 if v[0] else None} for k, v in per_module.items()},
        "wasm_calls": sum(m.calls for m in modules),
        "wasm_faults": sum(m.fault_count for m in modules),
        "prefilter_events_per_s": base_rate,
        "wasm_memory_mb": sum(m.stats()["memory_bytes"] for m in modules) / 2**20,
    }


def _delivery_floor(events: Sequence[dict], workdir: str) -> float | None:
    """µs per event for the C echo module of the test suite (three fields,
    a real msgpack reader, next to no work): what delivery itself costs,
    apart from what a rule computes. None outside a source checkout."""
    from ..config import Config
    from ..engine import Engine
    from ..hosts.wasm_build import BuildError, build_rule

    src = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tests", "wasm", "echo")
    if not os.path.isdir(src):
        return None
    try:
        build_rule(src)
    except BuildError:
        return None
    dst = os.path.join(workdir, "floor", "echo")
    os.makedirs(os.path.join(dst, "build"))
    shutil.copy(os.path.join(src, "build", "rule.wasm"), os.path.join(dst, "build", "rule.wasm"))
    with open(os.path.join(src, "wasm-rule.toml"), "rb") as f:
        doc = tomllib.load(f)
    doc["rule"]["prefilter"] = 'process where true'
    doc.pop("functions", None)
    with open(os.path.join(dst, "wasm-rule.toml"), "w") as f:
        f.write(_manifest(doc))
    engine = Engine(Config())
    engine.batch_latency = float("inf")
    if engine.load_rules(dst).errors:
        return None
    (rule,) = engine.rules
    process = engine.process
    for e in events:
        process(e)
    engine.flush()
    st = rule.stage
    return st.seconds / st.delivered * 1e6 if st.delivered else None
