"""Prevention on the real kernel, and the safety rules of every response.

The kernel tests deny a throwaway copy of /bin/true: it dies by SIGKILL at
exec (137 from a shell), /bin/true itself still runs, dry-run lets it run
and reports it, and once Kestrel stops the copy runs again. A sequence rule
with `kill` kills the process it matches.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from kestrel.alerts import Alert, RuleMeta
from kestrel.eql.parser import parse_query
from kestrel.respond import Responder, Safety, kill_process, literal_executables

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from test_ebpf import _kestrel_programs_attached, bpf_objects, needs_bpf  # noqa: E402,F401  (bpf_objects: a fixture)

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def copy_of_true(tmp_path: pathlib.Path) -> pathlib.Path:
    p = tmp_path / "bin" / "true"
    p.parent.mkdir()
    shutil.copy("/bin/true", p)
    return p


def sh(cmd: str) -> int:
    return subprocess.run(["sh", "-c", cmd]).returncode


# -- the kernel programs -------------------------------------------------------------

@needs_bpf
def test_denied_copy_is_killed_at_exec_and_nothing_else(bpf_objects: str, copy_of_true: pathlib.Path, tmp_path: pathlib.Path) -> None:
    from kestrel.enforce import Enforcer

    other = tmp_path / "other-true"
    shutil.copy("/bin/true", other)  # same bytes, another inode: not denied
    with Enforcer() as enf:
        assert enf.mode in ("exec-kill", "lsm+exec-kill")
        enf.deny(str(copy_of_true), "rule-a")
        assert sh(str(copy_of_true)) == 137
        assert sh("/bin/true") == 0 and sh(str(other)) == 0
        time.sleep(0.05)
        (b,) = enf.poll(200)
        st = copy_of_true.stat()
        assert b.ino == st.st_ino and b.outcome in ("killed at exec", "denied by LSM") and b.comm == "true"
        assert enf.rule_id(b.rule) == "rule-a" and enf.path_of(b.dev, b.ino) == str(copy_of_true)
        enf.allow(str(copy_of_true))
        assert sh(str(copy_of_true)) == 0
        enf.deny(str(copy_of_true), "rule-a")
    assert sh(str(copy_of_true)) == 0, "no deny entry outlives the enforcer"


@needs_bpf
def test_dry_run_lets_it_run_and_reports_it(bpf_objects: str, copy_of_true: pathlib.Path) -> None:
    from kestrel.enforce import Enforcer

    with Enforcer(dry_run=True) as enf:
        enf.deny(str(copy_of_true), "rule-a")
        assert sh(str(copy_of_true)) == 0
        time.sleep(0.05)
        assert [b.outcome for b in enf.poll(200)] == ["audited"]


RULES = '''
[[rule]]
id = "block-copy"
name = "Block a copy of true"
query = 'process where event.type == "start" and process.executable == "{exe}"'
actions = ["block"]

[[rule]]
id = "kill-marker"
name = "Kill what writes its own marker"
query = """sequence by process.entity_id with maxspan=30s
  [process where event.type == "start" and process.args == "kestrel-kill-marker"]
  [file where event.type == "creation" and file.name == "kestrel-kill-marker"]"""
actions = ["kill"]
'''


def _run_agent(rules: pathlib.Path, *extra: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-m", "kestrel", "run", "-r", str(rules), "--duration", "60", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    p.early = []  # type: ignore[attr-defined]  # stderr lines before the agent was ready
    try:
        while True:
            line = p.stderr.readline()
            assert line, "the agent exited before it started"
            p.early.append(line)  # type: ignore[attr-defined]
            if "block mode:" in line:
                break
        assert any("watching this host" in x for x in p.early)  # type: ignore[attr-defined]
    except BaseException:
        p.kill()
        p.wait()
        raise
    time.sleep(1.0)
    return p


def _stop(p: subprocess.Popen) -> tuple[list[dict], str]:
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    return [json.loads(x) for x in out.splitlines() if x.strip()], err


@needs_bpf
def test_agent_blocks_a_listed_binary_and_kills_a_sequence_match(bpf_objects: str, copy_of_true: pathlib.Path, tmp_path: pathlib.Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.replace("{exe}", str(copy_of_true)))
    p = _run_agent(rules)
    try:
        assert sh(str(copy_of_true)) == 137
        assert sh("/bin/true") == 0
        marker = tmp_path / "kestrel-kill-marker"
        victim = subprocess.run([sys.executable, "-c", f"import time; open({str(marker)!r}, 'w').close(); time.sleep(20)",
                                 "kestrel-kill-marker"], timeout=30)
        assert victim.returncode == -signal.SIGKILL
        time.sleep(0.5)
    finally:
        alerts, err = _stop(p)
    assert p.returncode == 0, err
    blocked = [a for a in alerts if a["rule"]["id"] == "block-copy" and a["events"][0]["event"]["action"] == "exec_blocked"]
    assert blocked and blocked[0]["response"][0]["outcome"] in ("killed at exec", "denied by LSM")
    kills = [a for a in alerts if a["rule"]["id"] == "kill-marker"]
    assert len(kills) == 1 and kills[0]["response"][0]["action"] == "kill" and kills[0]["response"][0]["outcome"].startswith("killed")
    assert not _kestrel_programs_attached()
    assert sh(str(copy_of_true)) == 0, "after Kestrel stops the copy runs again"


@needs_bpf
def test_agent_dry_run_blocks_nothing_and_says_what_it_would_do(bpf_objects: str, copy_of_true: pathlib.Path, tmp_path: pathlib.Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.replace("{exe}", str(copy_of_true)))
    p = _run_agent(rules, "--dry-run")
    try:
        assert sh(str(copy_of_true)) == 0
        time.sleep(1.0)
    finally:
        alerts, err = _stop(p)
    outcomes = [r["outcome"] for a in alerts if a["rule"]["id"] == "block-copy" for r in a.get("response", [])]
    assert "audited" in outcomes and any(o.startswith("dry-run: would deny exec") for o in outcomes), outcomes


@needs_bpf
def test_allowlisted_binary_is_never_blocked(bpf_objects: str, copy_of_true: pathlib.Path, tmp_path: pathlib.Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.replace("{exe}", str(copy_of_true)))
    p = _run_agent(rules, "--allow", str(copy_of_true))
    try:
        assert sh(str(copy_of_true)) == 0
    finally:
        _stop(p)
    early = "".join(p.early)  # type: ignore[attr-defined]
    assert "not blocking" in early and "allowlisted" in early


# -- safety, without the kernel programs ------------------------------------------------

def _event_for(pid: int, entity: str | None = None, exe: str | None = None) -> dict:
    proc: dict = {"pid": pid}
    if entity is not None:
        proc["entity_id"] = entity
    if exe is not None:
        proc["executable"] = exe
    return {"event": {"category": "process"}, "process": proc}


def test_never_pid_1_kestrel_or_its_parents() -> None:
    s = Safety()
    assert "pid 1" in kill_process(_event_for(1), s, dry_run=False)
    assert "never killed" in kill_process(_event_for(os.getpid()), s, dry_run=False)
    assert "never killed" in kill_process(_event_for(os.getppid()), s, dry_run=False)


def test_kill_checks_identity_allowlist_and_dry_run() -> None:
    from kestrel.proctable import boot_id, make_entity_id

    child = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.1)
        from kestrel.proctable import stat_field

        ticks = stat_field(child.pid, 19)
        assert ticks is not None
        right = make_entity_id(boot_id(), child.pid, ticks)
        assert "pid was reused" in kill_process(_event_for(child.pid, "not-this-process"), Safety(), False)
        assert "allowlisted" in kill_process(_event_for(child.pid, right), Safety([shutil.which("sleep") or "/bin/sleep"]), False)
        assert kill_process(_event_for(child.pid, right), Safety(), True).startswith("dry-run: would kill")
        assert child.poll() is None
        assert kill_process(_event_for(child.pid, right), Safety(), False) == f"killed {child.pid}"
        assert child.wait(5) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()


def test_kill_tree_kills_the_children_first() -> None:
    parent = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    try:
        time.sleep(0.3)
        out = kill_process(_event_for(parent.pid), Safety(), False, tree=True)
        assert out.startswith("killed") and out.count(",") == 2, out
        assert parent.wait(5) == -signal.SIGKILL
    finally:
        if parent.poll() is None:
            parent.kill()


def test_responder_runs_rule_and_plugin_requested_actions() -> None:
    from kestrel.builtin.actions import AlertAction, KillAction
    from kestrel.config import Config

    child = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.1)
        r = Responder({"alert": AlertAction(), "kill": KillAction(Config())}, dry_run=False)
        # A Wasm or Lua match that requested kill (its rule declares it).
        a = Alert(RuleMeta("lua-rule", "x", actions=("alert", "kill")), [_event_for(child.pid)], 0, {"actions": ["kill"]})
        r.handle(a)
        assert a.extra["response"] == [{"action": "kill", "outcome": f"killed {child.pid}"}]
        assert child.wait(5) == -signal.SIGKILL
        b = Alert(RuleMeta("r", "x", actions=("alert", "quarantine")), [_event_for(child.pid)], 0)
        r.handle(b)
        assert b.extra["response"] == [{"action": "quarantine", "outcome": "not done: no such action"}]
        c = Alert(RuleMeta("r", "x"), [_event_for(child.pid)], 0)
        r.handle(c)
        assert "response" not in c.extra  # alert only
    finally:
        if child.poll() is None:
            child.kill()


def test_block_rules_deny_their_literal_executables() -> None:
    q = parse_query('process where event.type == "start" and (process.executable == "/a/x" or process.executable in ("/b/y", "/c/z")) '
                    'and not process.name == "q"')
    assert literal_executables(q) == ["/a/x", "/b/y", "/c/z"]
    assert literal_executables(parse_query('process where process.executable : "/tmp/*"')) == []


@needs_bpf
def test_nothing_stays_blocked_after_the_agent_crashes(bpf_objects: str, copy_of_true: pathlib.Path, tmp_path: pathlib.Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.replace("{exe}", str(copy_of_true)))
    p = _run_agent(rules)
    try:
        assert sh(str(copy_of_true)) == 137
    finally:
        p.kill()  # SIGKILL: no clean-up code runs
        p.communicate(timeout=20)
    assert not _kestrel_programs_attached()
    assert sh(str(copy_of_true)) == 0
