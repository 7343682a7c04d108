"""pluggy wiring: built-ins are plugins, third parties load by entry point."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

from kestrel import Config
from kestrel.plugins import BUILTIN_PLUGINS, get_plugin_manager


def test_builtins_are_ordinary_plugins() -> None:
    pm = get_plugin_manager()
    names = pm.plugin_names()
    for b in BUILTIN_PLUGINS:
        assert b in names
    cfg = Config()
    assert sorted(h.name for h in pm.rule_hosts(cfg)) == ["eql", "lua", "wasm"]
    assert "file" in [s.name for s in pm.event_sources(cfg)]
    assert "alert" in pm.actions(cfg)
    sinks = pm.alert_sinks(cfg, {"outputs": ["-"]})
    assert len(sinks) == 1


def test_third_party_plugin_loads_by_entry_point(tmp_path: pathlib.Path) -> None:
    """A separately installed package adds a rule host and an alert sink."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "kestrel_demo_plugin.py").write_text(textwrap.dedent('''
        import json
        from kestrel.hookspecs import hookimpl

        class UpperHost:
            """Rule files *.upper: one query per file, rule id = file name."""
            name = "upper"
            def claims(self, path):
                return path.endswith(".upper")
            def load(self, path, engine, report):
                import os
                rid = os.path.basename(path)
                report.rules.append(engine.add_query(open(path).read(), id=rid))

        class CountingSink:
            name = "demo-count"
            def __init__(self, target):
                self.target, self.path, self.n = target, target[6:], 0
            def emit(self, alert):
                self.n += 1
            def close(self):
                with open(self.path, "w") as f:
                    json.dump({"alerts": self.n}, f)

        @hookimpl
        def kestrel_rule_hosts(config):
            return [UpperHost()]

        @hookimpl
        def kestrel_alert_sinks(config, options):
            target = next((o for o in options.get("outputs", []) if o.startswith("count:")), None)
            return [CountingSink(target)] if target else []
    '''))
    dist = site / "kestrel_demo_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kestrel-demo-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[kestrel]\ndemo = kestrel_demo_plugin\n")

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "nc.upper").write_text('process where process.name == "nc"')
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps({"event": {"category": "process"}, "process": {"name": "nc"}}) + "\n")
    counted = tmp_path / "count.json"
    env = dict(os.environ, PYTHONPATH=str(site))
    r = subprocess.run(
        [sys.executable, "-m", "kestrel", "replay", str(events), "-r", str(rules), "-o", f"count:{counted}", "-q"],
        capture_output=True, env=env, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(counted.read_text()) == {"alerts": 1}
