"""The example Linux detection rules and the bundled replay sample.

- every rule in examples/rules loads, with enough rules and sequences;
- every rule carries at least one alerting and one non-alerting case, and
  every embedded case passes (one pytest item per case);
- replaying kestrel/data/sample_events.jsonl fires exactly the rules its
  attack stories are meant to fire, and the benign part fires nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from kestrel import Config, Engine
from kestrel.rules.testing import collect_specs, run_case

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "examples" / "rules"
SAMPLE = ROOT / "kestrel" / "data" / "sample_events.jsonl"

# What the sample's three attack stories are meant to trigger (and nothing else).
EXPECTED_SAMPLE_RULES = {
    # story "ssh-bruteforce-persistence"
    "kestrel-linux-seq-auth-brute-force-then-success",
    "kestrel-linux-ssh-authorized-keys-modified",
    "kestrel-linux-user-account-created",
    "kestrel-linux-sudoers-modified",
    "kestrel-linux-seq-new-user-granted-sudo",
    "kestrel-linux-shadow-file-read",
    # story "webshell-dropper"
    "kestrel-linux-web-server-spawns-shell",
    "kestrel-linux-download-pipe-to-shell",
    "kestrel-linux-seq-web-shell-child-connects-out",
    "kestrel-linux-exec-from-temp-dir",
    "kestrel-linux-seq-tmp-file-created-then-executed",
    "kestrel-linux-seq-download-chmod-exec",
    "kestrel-linux-seq-new-tmp-binary-connects-out",
    # story "webshell-reverse-shell"
    "kestrel-linux-reverse-shell-dev-tcp",
    "kestrel-linux-seq-noninteractive-shell-recon",
}


# The EQL rules; the Wasm ones under examples/rules/wasm need a build and
# have their own tests (tests/test_wasm_examples.py).
EQL_RULES = sorted(str(p) for p in RULES_DIR.glob("*.toml"))


def _load():
    engine = Engine(Config())
    report = engine.load_rules(*EQL_RULES)
    return engine, report


def _sample_events() -> tuple[list[dict], int]:
    """Parsed sample events; malformed lines (bad JSON, non-objects) are skipped."""
    events: list[dict] = []
    skipped = 0
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            skipped += 1
            continue
        if not isinstance(obj, dict):
            skipped += 1
            continue
        events.append(obj)
    return events, skipped


def _specs():
    specs, errors = collect_specs(EQL_RULES, Config())
    assert not errors, errors
    return specs


def _cases():
    return [pytest.param(spec, case, id=f"{spec.id}::{case.name}") for spec in _specs() for case in spec.tests]


# -- (a) the rules load ------------------------------------------------------

def test_rules_load_without_errors():
    _, report = _load()
    assert not report.errors, "\n".join(str(e) for e in report.errors)
    kinds = Counter(r.kind for r in report.rules)
    assert len(report.rules) >= 25, kinds
    assert kinds["sequence"] >= 8, kinds


def test_one_rule_per_file_with_unique_kestrel_ids():
    _, report = _load()
    ids = [r.id for r in report.rules]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("kestrel-linux-") for i in ids)
    files = Counter(r.spec.origin for r in report.rules)
    assert all(n == 1 for n in files.values()), files
    assert len(files) == len(list(RULES_DIR.glob("*.toml")))


def test_rules_have_metadata():
    _, report = _load()
    for rule in report.rules:
        spec = rule.spec
        assert spec.description.strip(), spec.id
        assert spec.severity in ("informational", "low", "medium", "high", "critical"), spec.id
        assert any(t.startswith("attack.t") for t in spec.tags), spec.id
        assert any(not t.startswith("attack.t") for t in spec.tags), spec.id


# -- (b) every rule has both kinds of case ------------------------------------

def test_every_rule_has_alerting_and_quiet_cases():
    _, report = _load()
    for rule in report.rules:
        expects = [c.expect for c in rule.spec.tests]
        assert any(e >= 1 for e in expects), f"{rule.id}: no case that alerts"
        assert any(e == 0 for e in expects), f"{rule.id}: no near-miss case (expect = 0)"


def test_sequence_rules_test_ordering_key_or_maxspan():
    """Sequence rules need more than one quiet case: the near-miss plus one
    showing that order, the join key or maxspan matters."""
    _, report = _load()
    for rule in report.rules:
        if rule.kind == "sequence":
            quiet = [c for c in rule.spec.tests if c.expect == 0]
            assert len(quiet) >= 2, rule.id


# -- (c) every embedded case passes --------------------------------------------

@pytest.mark.parametrize(("spec", "case"), _cases())
def test_embedded_case(spec, case):
    result = run_case(spec, case, Config())
    assert not result.error, result.error
    assert result.passed, f"expected {result.expected} alert(s), got {result.got}"


# -- (d) the bundled sample ------------------------------------------------------

def test_sample_has_expected_shape():
    events, skipped = _sample_events()
    assert skipped == 2
    assert 300 <= len(events) <= 700
    assert {e["host"]["name"] for e in events} == {"demo-host"}
    stamps = [e["@timestamp"] for e in events]
    assert stamps == sorted(stamps)


def test_sample_fires_exactly_the_intended_rules():
    engine, report = _load()
    assert not report.errors
    events, _ = _sample_events()
    fired = Counter()
    for event in events:
        for alert in engine.process(event):
            fired[alert.rule.id] += 1
    for alert in engine.flush():
        fired[alert.rule.id] += 1
    assert len(fired) >= 10
    assert set(fired) == EXPECTED_SAMPLE_RULES, (
        f"unexpected: {sorted(set(fired) - EXPECTED_SAMPLE_RULES)}; "
        f"missing: {sorted(EXPECTED_SAMPLE_RULES - set(fired))}"
    )


def test_sample_benign_activity_raises_no_alerts():
    """The events outside the labelled attack stories are ordinary activity
    (sessions, cron, apt, logrotate, web traffic) and must stay quiet."""
    engine, _ = _load()
    events, _ = _sample_events()
    benign = [e for e in events if not (e.get("labels") or {}).get("demo_story")]
    assert len(benign) > 300
    alerts = [a for e in benign for a in engine.process(e)] + engine.flush()
    assert not alerts, sorted({a.rule.id for a in alerts})
