"""The whole ``kestrel replay`` path on a msgpack file: read, decode,
match, write alerts (in-process; ``kestrel bench`` runs it as a subprocess
for an honest peak-memory figure)."""

from __future__ import annotations

import os
import pathlib

from kestrel.bench import workload
from kestrel.cli import main
from kestrel.io.readers import write_msgpack


def test_replay_msgpack(benchmark, events, tmp_path: pathlib.Path) -> None:
    benchmark.group = "replay"
    data = tmp_path / "events.msgpack"
    write_msgpack(events, data)
    rules = tmp_path / "rules"
    rules.mkdir()
    with open(rules / "bench.toml", "w") as f:
        for rid, q in workload.single_event_rules(100) + workload.sequence_rules(10):
            f.write(f"[[rule]]\nid = \"{rid}\"\nquery = '''\n{q}\n'''\n\n")
    out = tmp_path / "alerts.jsonl"

    def replay() -> int:
        return main(["replay", str(data), "-r", str(rules), "-o", str(out), "-q"])

    code = benchmark.pedantic(replay, rounds=3, iterations=1, warmup_rounds=1)
    assert code == 0
    assert os.path.getsize(out) > 0
    benchmark.extra_info["events"] = len(events)
