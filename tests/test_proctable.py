"""Tests for the live process table (kestrel/proctable.py).

Real /proc checks prove that ids computed at seeding agree with ids computed
from BPF's nanosecond start times; synthetic fork/exec/exit sequences pin
the lineage rules; a fake /proc tree pins the leader rules on a known shape.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kestrel.proctable import (
    CLK_TCK,
    ProcessTable,
    boot_id,
    decode_wait_status,
    make_entity_id,
    start_ticks_from_ns,
)

ROOT = Path(__file__).resolve().parents[1]
NS_PER_TICK = 1_000_000_000 // CLK_TCK
BOOT = "00000000-1111-2222-3333-444444444444"
NOWHERE = "/nonexistent-proc"   # synthetic tables: no /proc to sweep against


class Clock:
    """A settable clock so grace periods are tested without sleeping."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def ns(ticks: int, extra: int = 0) -> int:
    """A BPF-style start time (ns since boot) inside the given tick."""
    return ticks * NS_PER_TICK + extra


def stat_ticks(pid: int) -> int:
    raw = Path(f"/proc/{pid}/stat").read_bytes()
    return int(raw[raw.rfind(b")") + 2:].split()[19])


def table(**kw: Any) -> ProcessTable:
    kw.setdefault("boot", BOOT)
    kw.setdefault("proc_root", NOWHERE)
    return ProcessTable(**kw)


# ----------------------------------------------------------------- ids

def test_entity_id_short_deterministic_and_distinct() -> None:
    a = make_entity_id(BOOT, 100, 5000)
    assert a == make_entity_id(BOOT, 100, 5000)
    assert len(a) == 16 and re.fullmatch(r"[A-Za-z0-9_-]+", a)
    assert a != make_entity_id(BOOT, 100, 5001)          # pid reuse
    assert a != make_entity_id(BOOT, 101, 5000)
    assert a != make_entity_id("other-boot", 100, 5000)  # reboot


def test_start_ticks_truncate_like_the_kernel() -> None:
    assert start_ticks_from_ns(0) == 0
    assert start_ticks_from_ns(ns(7)) == 7
    assert start_ticks_from_ns(ns(7, NS_PER_TICK - 1)) == 7
    assert start_ticks_from_ns(ns(8)) == 8


def test_boot_id_is_a_uuid() -> None:
    assert re.fullmatch(r"[0-9a-f-]{36}", boot_id())


def test_decode_wait_status() -> None:
    assert decode_wait_status(0) == 0
    assert decode_wait_status(3 << 8) == 3
    assert decode_wait_status(9) == -9


# ---------------------------------------------------------- real /proc

def test_seed_finds_this_process_and_its_parent() -> None:
    t = ProcessTable()
    assert t.seed_from_proc() > 1
    me = t.get(os.getpid())
    assert me is not None and not me.exited
    assert me.ppid == os.getppid()
    assert me.executable == os.path.realpath(sys.executable)
    assert me.args == Path("/proc/self/cmdline").read_bytes().rstrip(b"\0").decode().split("\0")
    assert any("pytest" in a for a in me.args)
    assert me.command_line == " ".join(me.args)
    assert me.working_directory == os.getcwd()
    assert me.uid == os.getuid() and me.euid == os.geteuid() and me.gid == os.getgid()
    assert me.entity_id == make_entity_id(boot_id(), os.getpid(), stat_ticks(os.getpid()))
    # sid/pgid 0: the leader lives outside this pid namespace (CI containers); the table says "unknown".
    assert me.session_leader_pid == (os.getsid(0) or None)
    assert me.group_leader_pid == (os.getpgid(0) or None)
    parent = t.get(os.getppid())
    assert parent is not None and me.parent_entity_id == parent.entity_id
    assert t.ancestors(os.getpid())[0] is parent
    fields = t.process_fields(os.getpid())
    assert fields["parent"]["entity_id"] == parent.entity_id and fields["parent"]["pid"] == os.getppid()
    assert t.user_fields(os.getpid())["user"]["id"] == str(os.getuid())
    assert t.stats["seeded"] == t.stats["live"] == len(t)


def test_ids_from_proc_agree_with_ids_from_bpf_nanoseconds() -> None:
    before = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    child = subprocess.Popen(["sleep", "5"])
    after = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    try:
        ticks = stat_ticks(child.pid)
        # The kernel's start_boottime lies between our two readings, and
        # converts to exactly the tick count /proc reports.
        assert start_ticks_from_ns(before) <= ticks <= start_ticks_from_ns(after)
        for extra in (0, 1, NS_PER_TICK // 2, NS_PER_TICK - 1):
            assert start_ticks_from_ns(ns(ticks, extra)) == ticks

        t = ProcessTable()
        t.seed_from_proc()
        seeded = t.get(child.pid)
        assert seeded is not None
        assert seeded.entity_id == make_entity_id(t.boot, child.pid, start_ticks_from_ns(ns(ticks, 123)))
        assert seeded.parent_entity_id == t.get(os.getpid()).entity_id
        exe = os.readlink(f"/proc/{child.pid}/exe")
        assert seeded.executable == exe and seeded.name == os.path.basename(exe)
        assert seeded.args == ["sleep", "5"]
        # The same process reported live by BPF keeps its seeded id.
        again = t.on_exec(child.pid, ns(ticks, 4567), exe, ["sleep", "5"], ppid=os.getpid())
        assert again is seeded and again.entity_id == seeded.entity_id
        assert t.stats["live"] == len(t)
    finally:
        child.kill()
        child.wait()


def test_seed_skips_processes_already_known_from_events() -> None:
    t = ProcessTable()
    me = t.on_exec(os.getpid(), ns(stat_ticks(os.getpid())), "/live/exe", ["live"], ppid=os.getppid())
    t.seed_from_proc()
    assert t.get(os.getpid()) is me and me.executable == "/live/exe"


def test_sweep_marks_missed_exits() -> None:
    t = ProcessTable(grace_s=0.0)
    t.seed_from_proc()
    ghost = t.on_fork(4_000_000 - 7, os.getpid(), ns(1), comm="ghost")   # no such pid
    assert t.sweep() >= 1
    assert ghost.exited and t.get(os.getpid()).exited is False
    assert t.stats["missed_exits"] >= 1


# ------------------------------------------------------- fake /proc tree

def _fake_proc(root: Path, pid: int, *, comm: str, ppid: int, pgrp: int, sid: int, tty: int = 0,
               ticks: int = 100, state: str = "S", exe: str | None = None, cwd: str = "/",
               cmdline: list[str] | None = None, uid: int = 0, nspid: list[int] | None = None,
               pidns: int = 4026531836) -> None:
    d = root / str(pid)
    d.mkdir()
    rest = [state, ppid, pgrp, sid, tty] + [0] * 14 + [ticks] + [0] * 30
    (d / "stat").write_text(f"{pid} ({comm}) " + " ".join(map(str, rest)) + "\n")
    ns_line = "\t".join(map(str, nspid or [pid]))
    (d / "status").write_text(f"Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
                              f"Gid:\t{uid}\t{uid}\t{uid}\t{uid}\nNSpid:\t{ns_line}\n")
    (d / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in (cmdline or [])))
    if exe is not None:
        os.symlink(exe, d / "exe")
    os.symlink(cwd, d / "cwd")
    (d / "ns").mkdir()
    os.symlink(f"pid:[{pidns}]", d / "ns" / "pid")


@pytest.fixture
def fake_host(tmp_path: Path) -> ProcessTable:
    """systemd; sshd -> sshd-session -> bash (tty) -> vim | grep; a container;
    a zombie; a process whose files vanished; a comm with ') ' in it."""
    (tmp_path / "sys/kernel/random").mkdir(parents=True)
    (tmp_path / "sys/kernel/random/boot_id").write_text(BOOT + "\n")
    P = _fake_proc
    P(tmp_path, 1, comm="systemd", ppid=0, pgrp=1, sid=1, ticks=1, exe="/usr/lib/systemd/systemd",
      cmdline=["/sbin/init"], nspid=[1])
    P(tmp_path, 500, comm="sshd", ppid=1, pgrp=500, sid=500, ticks=50, exe="/usr/sbin/sshd",
      cmdline=["sshd: /usr/sbin/sshd -D [listener]"])
    P(tmp_path, 600, comm="sshd-session", ppid=500, pgrp=600, sid=600, ticks=900,
      exe="/usr/lib/openssh/sshd-session", cmdline=["sshd-session: alice [priv]"])
    P(tmp_path, 610, comm="bash", ppid=600, pgrp=610, sid=610, tty=34816, ticks=905, exe="/usr/bin/bash",
      cmdline=["-bash"], uid=1000, cwd="/home/alice")
    P(tmp_path, 620, comm="vim", ppid=610, pgrp=620, sid=610, tty=34816, ticks=950, exe="/usr/bin/vim",
      cmdline=["vim", "notes.txt"], uid=1000, cwd="/home/alice")
    P(tmp_path, 621, comm="grep", ppid=610, pgrp=620, sid=610, tty=34816, ticks=951, exe="/usr/bin/grep",
      cmdline=["grep", "x"], uid=1000)
    P(tmp_path, 700, comm="containerd-shim", ppid=1, pgrp=700, sid=700, ticks=60,
      exe="/usr/bin/containerd-shim-runc-v2")
    P(tmp_path, 710, comm="nginx", ppid=700, pgrp=710, sid=710, ticks=61, exe="/usr/sbin/nginx",
      cmdline=["nginx: master process"], nspid=[710, 1], pidns=4026532000)
    P(tmp_path, 720, comm="nginx", ppid=710, pgrp=710, sid=710, ticks=62, exe="/usr/sbin/nginx",
      cmdline=["nginx: worker process"], nspid=[720, 7], pidns=4026532000)
    P(tmp_path, 730, comm="sh", ppid=700, pgrp=730, sid=730, ticks=800, exe="/bin/sh",
      cmdline=["sh"], nspid=[730, 30], pidns=4026532000)            # docker exec
    P(tmp_path, 800, comm="defunct", ppid=1, pgrp=800, sid=800, ticks=70, state="Z")
    P(tmp_path, 810, comm="we (ird) name", ppid=1, pgrp=1, sid=1, ticks=71)   # exe unreadable
    # setpgid() into an existing, younger group: the leader is seeded after
    # the member and must still be resolved.
    P(tmp_path, 661, comm="worker", ppid=1, pgrp=820, sid=1, ticks=10, exe="/usr/bin/worker")
    P(tmp_path, 820, comm="jobctl", ppid=1, pgrp=820, sid=1, ticks=80, exe="/usr/bin/jobctl")
    (tmp_path / "900").mkdir()                                       # vanished: no stat
    (tmp_path / "self").mkdir()                                      # not a pid
    return ProcessTable(proc_root=str(tmp_path), clock=Clock(), grace_s=5.0)


def test_fake_seed_lineage_and_leaders(fake_host: ProcessTable) -> None:
    t = fake_host
    assert t.seed_from_proc() == 14
    assert t.boot == BOOT
    vim = t.process_fields(620)
    assert vim["name"] == "vim" and vim["args"] == ["vim", "notes.txt"] and vim["interactive"] is True
    assert vim["parent"]["name"] == "bash" and vim["parent"]["args"] == ["-bash"]
    assert vim["session_leader"] == {"pid": 610, "entity_id": t.get(610).entity_id, "name": "bash",
                                     "executable": "/usr/bin/bash"}
    assert vim["group_leader"]["pid"] == 620 and vim["group_leader"]["name"] == "vim"
    assert t.process_fields(621)["group_leader"]["entity_id"] == t.get(620).entity_id
    # Entry leaders: the login shell (session leader under sshd-session),
    # services under init, the container's init, a docker exec'd shell.
    assert vim["entry_leader"]["pid"] == 610
    assert t.get(610).entry_leader_pid == 610
    assert t.get(600).entry_leader_pid == 600
    assert t.get(500).entry_leader_pid == 500
    assert t.get(1).entry_leader_pid == 1
    assert t.get(720).entry_leader_pid == 710
    assert t.get(730).entry_leader_pid == 730
    assert [a.pid for a in t.ancestors(620)] == [610, 600, 500, 1]
    u = t.user_fields(620)
    assert u["user"]["id"] == u["user"]["effective"]["id"] == "1000"
    assert u["group"] == {"id": "1000", "effective": {"id": "1000"}}
    assert t.user_fields(1)["user"]["name"] == "root"
    assert t.process_fields(661)["group_leader"] == {"pid": 820, "entity_id": t.get(820).entity_id,
                                                     "name": "jobctl", "executable": "/usr/bin/jobctl"}
    weird = t.get(810)
    assert weird.name == "we (ird) name" and weird.executable is None and "executable" not in t.process_fields(810)
    assert t.get(800).exited and t.stats["exited"] == 1
    assert t.get(900) is None


def test_fake_seed_then_live_events(fake_host: ProcessTable) -> None:
    t = fake_host
    t.seed_from_proc()
    # bash forks a child; it execs curl with a new process group.
    c = t.on_fork(640, 610, ns(1000, 5))
    assert c.entry_leader_pid == 610 and c.session_leader_pid == 610 and c.group_leader_pid == 610
    t.on_exec(640, ns(1000, 5), "/usr/bin/curl", ["curl", "http://x"], pgid=640)
    f = t.process_fields(640)
    assert f["group_leader"]["name"] == "curl" and f["session_leader"]["name"] == "bash"
    assert f["entry_leader"]["entity_id"] == t.get(610).entity_id
    assert f["parent"]["command_line"] == "-bash"


# ------------------------------------------------------ synthetic events

def build_chain(t: ProcessTable) -> None:
    """init(1) -> sshd(10) -> sshd-session(20) -> bash(30, own session)."""
    t.on_exec(1, ns(1), "/sbin/init", ["/sbin/init"], ppid=0, uid=0, gid=0, euid=0, egid=0, sid=1, pgid=1)
    t.on_fork(10, 1, ns(5))
    t.on_exec(10, ns(5), "/usr/sbin/sshd", ["/usr/sbin/sshd", "-D"], sid=10, pgid=10)
    t.on_fork(20, 10, ns(50))
    t.on_exec(20, ns(50), "/usr/sbin/sshd-session", ["sshd-session"], sid=20, pgid=20)
    t.on_fork(30, 20, ns(60))
    t.on_exec(30, ns(60), "/bin/bash", ["-bash"], cwd="/home/bob", uid=1000, gid=1000, euid=1000, egid=1000,
              sid=30, pgid=30, interactive=True)


def test_fork_inherits_until_exec_and_exec_keeps_entity_id() -> None:
    t = table()
    build_chain(t)
    child = t.on_fork(31, 30, ns(70, 3))
    assert (child.executable, child.args, child.working_directory) == ("/bin/bash", ["-bash"], "/home/bob")
    assert (child.uid, child.euid, child.interactive, child.session_leader_pid) == (1000, 1000, True, 30)
    eid = child.entity_id
    before = t.process_fields(31)
    assert before["name"] == "bash" and before["parent"]["pid"] == 30
    after_exec = t.on_exec(31, ns(70, 999), "/usr/bin/python3.11", ["python3", "x.py"], cwd="/tmp")
    assert after_exec is child and after_exec.entity_id == eid
    f = t.process_fields(31)
    assert f is not before                                  # cache invalidated
    assert f["name"] == "python3.11" and f["args_count"] == 2 and f["command_line"] == "python3 x.py"
    assert f["working_directory"] == "/tmp"
    assert f["parent"]["entity_id"] == t.get(30).entity_id and f["parent"]["name"] == "bash"
    assert f["entry_leader"]["pid"] == 30 and f["session_leader"]["pid"] == 30
    assert [a.pid for a in t.ancestors(31)] == [30, 20, 10, 1]
    assert [a.pid for a in t.ancestors(31, limit=2)] == [30, 20]


def test_exec_of_unseen_pid_creates_entry_from_ppid() -> None:
    t = table()
    build_chain(t)
    p = t.on_exec(77, ns(80), "/usr/bin/id", ["id"], ppid=30, uid=0, euid=0)
    assert p.parent_entity_id == t.get(30).entity_id
    assert p.entity_id == make_entity_id(BOOT, 77, 80)
    assert p.entry_leader_pid == 30 and p.session_leader_pid == 30
    assert (p.uid, p.gid) == (0, 1000)   # given ids override, the rest inherited
    # A missed fork whose parent is unknown too, but BPF gave its start time.
    q = t.on_exec(88, ns(90), "/x", ["x"], ppid=5555, parent_start_ns=ns(40))
    assert q.parent_entity_id == make_entity_id(BOOT, 5555, 40)
    assert t.process_fields(88)["parent"] == {"pid": 5555, "entity_id": q.parent_entity_id}


def test_pid_reuse_gets_new_entity_id_and_old_exit_is_ignored() -> None:
    clock = Clock()
    t = table(clock=clock)
    build_chain(t)
    a = t.on_fork(40, 30, ns(100))
    t.on_exit(40, 0)
    b = t.on_fork(40, 30, ns(200))              # pid reused within the grace period
    assert b is not a and b.entity_id != a.entity_id and t.get(40) is b
    assert t.by_entity_id(a.entity_id) is a     # old one still held until grace ends
    # A reordered, late exit for the *old* holder leaves the new one alone.
    t.on_exit(40, 1, start_ns=ns(100))
    assert not b.exited
    # Reuse without ever seeing an exit: the old holder is marked exited.
    c = t.on_fork(40, 30, ns(300))
    assert b.exited and t.get(40) is c and t.stats["missed_exits"] == 1


def test_exit_grace_period_then_removal_children_keep_parent() -> None:
    clock = Clock()
    t = table(clock=clock, grace_s=5.0)
    build_chain(t)
    t.on_fork(50, 30, ns(100))
    t.on_exec(50, ns(100), "/usr/bin/make", ["make"])
    t.on_fork(51, 50, ns(101))
    t.on_exec(51, ns(101), "/usr/bin/cc", ["cc", "-c", "a.c"])
    parent_eid = t.get(50).entity_id
    cached = t.process_fields(50)
    assert t.on_exit(50, 2) is t.get(50)
    f = t.process_fields(50)
    assert f is not cached and f["exit_code"] == 2              # exit event enriched
    clock.t += 4.0
    t.expire()
    assert t.get(50) is not None                                 # still in grace
    clock.t += 2.0
    assert t.expire() == 1
    assert t.get(50) is None and t.process_fields(50) == {"pid": 50}
    child = t.get(51)
    assert child.parent_entity_id == parent_eid
    assert t.process_fields(51)["parent"]["name"] == "make"     # snapshot outlives the parent
    assert t.ancestors(51) == []                                 # but the chain ends there
    assert t.stats["removed"] == 1
    assert t.on_exit(9999, 0) is None


def test_setuid_invalidates_user_and_process_cache() -> None:
    t = table()
    build_chain(t)
    t.on_fork(60, 30, ns(100))
    t.on_exec(60, ns(100), "/usr/bin/sudo", ["sudo", "-i"], euid=0)
    u = t.user_fields(60)
    assert u["user"]["id"] == "1000" and u["user"]["effective"]["id"] == "0"
    assert t.user_fields(60) is u                                # cached
    gen = t.get(60).generation
    t.on_setuid(60, uid=0, euid=0, gid=0, egid=0)
    assert t.get(60).generation > gen
    u2 = t.user_fields(60)
    assert u2["user"]["id"] == "0" and u2["group"] == {"id": "0", "effective": {"id": "0"}}
    assert u2["user"].get("name") in (None, "root")
    assert t.on_setuid(12345, uid=0) is None
    assert t.user_fields(12345) == {}


def test_setsid_daemon_becomes_its_own_session_leader() -> None:
    t = table()
    build_chain(t)
    t.on_fork(70, 30, ns(100))
    t.on_setsid(70, sid=70, pgid=70, interactive=False)
    f = t.process_fields(70)
    assert f["session_leader"]["pid"] == 70 and f["interactive"] is False
    assert f["entry_leader"]["pid"] == 30          # parent bash is not a login service


def test_container_init_and_exec_are_entry_leaders() -> None:
    t = table()
    build_chain(t)
    t.on_fork(90, 1, ns(10), pidns=111)
    shim = t.on_exec(90, ns(10), "/usr/bin/containerd-shim-runc-v2", ["shim"], sid=90, pgid=90)
    assert shim.entry_leader_pid == 90                           # service under init
    init = t.on_fork(91, 90, ns(11), ns_pid=1, pidns=222)
    assert init.entry_leader_pid == 91
    worker = t.on_fork(92, 91, ns(12), ns_pid=2)                 # inherits pidns 222
    assert worker.entry_leader_pid == 91
    exec_sh = t.on_fork(93, 90, ns(13), ns_pid=7, pidns=222)     # docker exec: enters the pid ns
    assert exec_sh.entry_leader_pid == 93


def test_leader_refresh_after_leader_execs() -> None:
    t = table()
    build_chain(t)
    t.on_fork(35, 30, ns(100))
    t.on_exec(30, ns(60), "/usr/bin/zsh", ["zsh"])               # the login shell execs zsh
    t.on_exec(35, ns(100), "/bin/ls", ["ls"])                    # child's exec re-resolves
    f = t.process_fields(35)
    assert f["session_leader"]["name"] == "zsh" and f["entry_leader"]["executable"] == "/usr/bin/zsh"
    assert t.process_fields(30)["session_leader"]["name"] == "zsh"   # itself, current


def test_eviction_bound_exited_first_then_oldest() -> None:
    t = table(max_entries=8)
    build_chain(t)                                                # 4 entries
    for pid in range(100, 104):
        t.on_fork(pid, 30, ns(pid))
    assert len(t) == 8
    t.on_exit(101, 0)
    t.on_fork(200, 30, ns(200))                                   # evicts the exited one
    assert t.get(101) is None and t.get(100) is not None and t.evictions == 1
    t.on_exec(1, ns(1), "/sbin/init", ["/sbin/init"])             # exec refreshes recency
    t.on_fork(201, 30, ns(201))                                   # evicts the oldest live: sshd
    assert t.get(10) is None and t.get(1) is not None and t.evictions == 2
    for pid in range(300, 400):
        t.on_fork(pid, 30, ns(pid))
    assert len(t) == 8 and t.live == 8 and t.stats["evictions"] == 102


def test_unknown_pid_and_no_none_values() -> None:
    t = table()
    assert t.process_fields(4242) == {"pid": 4242}
    p = t.on_fork(5, 0, ns(1))                                    # nothing known but the kernel facts
    f = t.process_fields(5)
    assert f == {"pid": 5, "entity_id": p.entity_id}
    assert t.user_fields(5) == {}


def _documented_process_fields() -> tuple[set[str], set[str], set[str]]:
    """Read the allowed keys from docs/events.md so the two cannot drift."""
    text = (ROOT / "docs/events.md").read_text()
    top: set[str] = set()
    parent: set[str] = set()
    leader: set[str] = set()
    for line in text.splitlines():
        m = re.match(r"\| `process\.([a-z_]+)` \|", line)
        if m:
            top.add(m.group(1))
        elif line.startswith("| `process.parent.*`"):
            parent = set(re.findall(r"`([a-z_]+)`", line.split("|")[3]))
        elif line.startswith("| `process.session_leader.*`"):
            leader = set(re.findall(r"`([a-z_]+)`", line.split("|")[3]))
    assert top and parent and leader
    return top, parent, leader


def _no_none(d: Any) -> None:
    assert d is not None
    if isinstance(d, dict):
        for v in d.values():
            _no_none(v)


def test_process_fields_shape_matches_docs() -> None:
    top, parent, leader = _documented_process_fields()
    t = table()
    build_chain(t)
    t.on_fork(31, 30, ns(70))
    t.on_exec(31, ns(70), "/usr/bin/curl", ["curl", "-s", "http://x"], cwd="/tmp", pgid=31)
    t.on_exit(31, 0)
    f = t.process_fields(31)
    _no_none(f)
    assert set(f) - {"parent", "session_leader", "group_leader", "entry_leader"} <= top
    assert {"pid", "entity_id", "name", "executable", "args", "args_count", "command_line",
            "working_directory", "interactive", "exit_code"} <= set(f)
    # Parent: "the same fields", listed in the docs (args_count goes with args).
    assert set(f["parent"]) <= parent | {"args_count"} and parent <= set(f["parent"])
    for key in ("session_leader", "group_leader", "entry_leader"):
        assert set(f[key]) == leader
    assert isinstance(f["pid"], int) and isinstance(f["entity_id"], str)
    assert f["args_count"] == len(f["args"]) and f["command_line"] == " ".join(f["args"])
    u = t.user_fields(31)
    assert set(u) == {"user", "group"} and all(isinstance(v, str) for v in (u["user"]["id"], u["group"]["id"]))


def test_process_fields_is_cached_until_a_change() -> None:
    t = table()
    build_chain(t)
    f = t.process_fields(30)
    assert t.process_fields(30) is f
    t.on_fork(31, 30, ns(70))            # a child appearing does not change the parent's view
    assert t.process_fields(30) is f
    t.on_setuid(30, euid=0)
    assert t.process_fields(30) is not f
