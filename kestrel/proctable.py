"""The user-space process table behind Kestrel's live event source.

The eBPF programs report only what the kernel knows at the instant of a
fork, exec, exit or credential change.  Rules, however, read a process
*together with its relatives* (``process.parent.name``,
``process.entry_leader.executable``, ``descendant of``), and most events
(file, network) carry nothing but a pid.  This module keeps, per process,
what those rules read, so that every event can be enriched with one dict
lookup.

Design points, each with its reason:

* **Entity ids** hash (boot id, pid, start time in clock ticks).  Clock
  ticks are what ``/proc/<pid>/stat`` exposes, so a process seeded from
  ``/proc`` at start-up and the same process seen later by BPF (which
  reads ``task->start_boottime`` in ns) get the same id.  The boot id
  separates reboots, where pid and start time repeat.
* **Snapshots of relatives** (:class:`Ref`) are taken when a process forks
  or execs, not live pointers: a child whose parent has exited and been
  removed still reports its parent's name, and no chain of dead ancestors
  is kept alive by one live descendant (memory stays bounded by
  ``max_entries``).
* **Cached ECS dicts**: :meth:`ProcessTable.process_fields` runs for every
  event, so the built dict is kept on the entry and dropped whenever the
  entry changes (exec, setuid, setsid, exit).  Returned dicts are shared
  between events and must be treated as read-only.
* **Exited entries linger** for ``grace_s`` seconds so that late events of a
  dying process, and its own exit event, are still enriched.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CLK_TCK",
    "DEFAULT_ENTRY_PARENTS",
    "ProcInfo",
    "ProcessTable",
    "Ref",
    "boot_id",
    "decode_wait_status",
    "make_entity_id",
    "start_ticks_from_ns",
]

CLK_TCK: int = os.sysconf("SC_CLK_TCK")
# The kernel's nsec_to_clock_t() divides by NSEC_PER_SEC / USER_HZ (USER_HZ
# divides 1e9 on every architecture Linux supports), truncating.
_NS_PER_TICK: int = 1_000_000_000 // CLK_TCK

# Parents whose session-leading children start a new "entry" into the host:
# remote logins, console logins, and their modern variants.  See
# ``ProcessTable._is_entry_leader`` for the full rule.
DEFAULT_ENTRY_PARENTS: frozenset[str] = frozenset({
    "sshd", "sshd-session", "dropbear", "login", "telnetd", "in.telnetd",
    "rlogind", "in.rlogind", "mosh-server", "teleport", "ssm-session-worker",
})


def boot_id(proc_root: str = "/proc") -> str:
    """This boot's random id; mixed into entity ids so pid/start-time pairs
    that repeat after a reboot still get distinct ids."""
    with open(os.path.join(proc_root, "sys/kernel/random/boot_id"), encoding="ascii") as f:
        return f.read().strip()


def start_ticks_from_ns(start_boottime_ns: int) -> int:
    """Convert a start time in ns since boot (``task->start_boottime``, what
    BPF reads) to clock ticks since boot (``/proc/<pid>/stat`` field 22),
    truncating exactly as the kernel does, so both sources hash to one id."""
    return start_boottime_ns // _NS_PER_TICK


def stat_field(pid: int, index: int, proc_root: str = "/proc") -> int | None:
    """A numeric field of /proc/<pid>/stat, counted after the command name
    (0: state, 1: ppid, 19: start time in ticks); None if the process is gone."""
    try:
        with open(f"{proc_root}/{pid}/stat", "rb") as f:
            raw = f.read()
        return int(raw[raw.rfind(b")") + 2:].split()[index])
    except (OSError, IndexError, ValueError):
        return None


def make_entity_id(host_or_boot: str, pid: int, start_ticks: int) -> str:
    """A short, deterministic id for one process over its whole life.

    pid alone is reused; pid plus start time is unique within a boot (a pid
    cannot be recycled within one 10 ms tick in practice); the boot id (or
    host id) makes it unique across boots and hosts.  12 bytes of blake2b
    in unpadded base64url is 16 characters.
    """
    digest = hashlib.blake2b(f"{host_or_boot}|{pid}|{start_ticks}".encode(), digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def decode_wait_status(status: int) -> int:
    """Turn a raw wait status (``task->exit_code``) into ECS ``exit_code``:
    the exit status for a normal exit, minus the signal number for a death
    by signal (Python's ``subprocess`` convention)."""
    sig = status & 0x7F
    if sig:
        return -sig
    return (status >> 8) & 0xFF


class Ref:
    """A snapshot of a relative (parent or leader) as it was when the
    referring process forked or exec'd.

    Kept instead of a pointer so relatives stay describable after they are
    removed, without keeping their own relatives alive.  Built once per
    version of the relative and shared by all processes that refer to it;
    the ECS sub-dicts are built once and shared too.
    """

    __slots__ = ("_ldict", "_pdict", "args", "command_line", "entity_id", "executable", "name", "pid")

    def __init__(self, pid: int, entity_id: str | None = None, name: str | None = None,
                 executable: str | None = None, args: list[str] | None = None,
                 command_line: str | None = None) -> None:
        self.pid = pid
        self.entity_id = entity_id
        self.name = name
        self.executable = executable
        self.args = args
        self.command_line = command_line
        self._pdict: dict[str, Any] | None = None
        self._ldict: dict[str, Any] | None = None

    def parent_dict(self) -> dict[str, Any]:
        """``process.parent``: pid, entity_id, name, executable, args, args_count, command_line."""
        d = self._pdict
        if d is None:
            d = self.leader_dict().copy()
            if self.args is not None:
                d["args"] = self.args
                d["args_count"] = len(self.args)
            if self.command_line is not None:
                d["command_line"] = self.command_line
            self._pdict = d
        return d

    def leader_dict(self) -> dict[str, Any]:
        """``process.{session,group,entry}_leader``: pid, entity_id, name, executable."""
        d = self._ldict
        if d is None:
            d = {"pid": self.pid}
            if self.entity_id is not None:
                d["entity_id"] = self.entity_id
            if self.name:
                d["name"] = self.name
            if self.executable is not None:
                d["executable"] = self.executable
            self._ldict = d
        return d

    def __repr__(self) -> str:
        return f"Ref(pid={self.pid}, entity_id={self.entity_id!r}, name={self.name!r})"


@dataclass(slots=True, eq=False)
class ProcInfo:
    """What Kestrel knows about one process (a thread group, keyed by tgid).

    ``*_pid`` leader fields are the kernel's facts (sid, pgid); the matching
    :class:`Ref` fields are what those pids resolved to in the table, used
    to fill ``process.*_leader`` with names and entity ids.
    """

    pid: int
    ppid: int
    start_ticks: int
    entity_id: str
    parent_entity_id: str | None = None
    name: str = ""
    executable: str | None = None
    args: list[str] | None = None
    command_line: str | None = None
    working_directory: str | None = None
    uid: int | None = None
    gid: int | None = None
    euid: int | None = None
    egid: int | None = None
    interactive: bool | None = None
    session_leader_pid: int | None = None
    group_leader_pid: int | None = None
    entry_leader_pid: int | None = None
    exited: bool = False
    exit_code: int | None = None
    exit_time: float | None = None   # table clock when the exit was seen
    ns_pid: int | None = None        # pid inside its own pid namespace (1 = container init)
    pidns: int | None = None         # pid namespace inode
    origin: str = "exec"             # "proc" (seeded), "fork" (not yet exec'd) or "exec"
    generation: int = 0              # bumped on every change; caches are per generation
    parent: Ref | None = field(default=None, repr=False)
    session_leader: Ref | None = field(default=None, repr=False)
    group_leader: Ref | None = field(default=None, repr=False)
    entry_leader: Ref | None = field(default=None, repr=False)
    pf_cache: dict[str, Any] | None = field(default=None, repr=False)
    uf_cache: dict[str, Any] | None = field(default=None, repr=False)
    ref_cache: Ref | None = field(default=None, repr=False)


def _join(args: list[str] | None) -> str | None:
    return None if args is None else " ".join(args)


def _basename(path: str | None) -> str:
    if not path:
        return ""
    base = path.rsplit("/", 1)[-1]
    # /proc/<pid>/exe of a deleted binary reads "<path> (deleted)"; the name
    # is still the file's name.
    return base.removesuffix(" (deleted)")


class ProcessTable:
    """Process lineage for a live host: seeded from ``/proc``, then kept
    current by the eBPF source's fork/exec/exit/setuid callbacks.

    Not thread-safe by design: one consumer thread applies events in order.
    """

    def __init__(self, boot: str | None = None, proc_root: str = "/proc", max_entries: int = 65_536, *,
                 grace_s: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 entry_parents: Iterable[str] = DEFAULT_ENTRY_PARENTS, sweep_interval_s: float = 60.0) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.proc_root = proc_root
        if boot is None:
            try:
                boot = boot_id(proc_root)
            except OSError:   # a test tree without sys/: the real host's boot
                boot = boot_id()
        self.boot = boot
        self.max_entries = max_entries
        self.grace_s = grace_s
        self.entry_parents = frozenset(entry_parents)
        self._clock = clock
        self._sweep_interval = sweep_interval_s
        self._last_sweep: float | None = None
        # Current process per pid, and every retained entry by entity id
        # (insertion order = least recently forked/exec'd first, for eviction).
        self._by_pid: dict[int, ProcInfo] = {}
        self._by_eid: dict[str, ProcInfo] = {}
        # Exited entries awaiting removal, in exit order.
        self._exited: dict[str, ProcInfo] = {}
        self._users: dict[int, str | None] = {}
        self._creds: dict[tuple[int | None, int | None, int | None, int | None], dict[str, Any]] = {}
        self.evictions = 0
        self.seeded = 0
        self.removed = 0        # exited entries removed after their grace period
        self.missed_exits = 0   # entries found dead by pid reuse or a sweep

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._by_eid)

    def __contains__(self, pid: object) -> bool:
        return pid in self._by_pid

    @property
    def live(self) -> int:
        """Entries whose process has not been seen to exit."""
        return len(self._by_eid) - len(self._exited)

    @property
    def stats(self) -> dict[str, int]:
        """Counters for the source's periodic status line."""
        return {"live": self.live, "exited": len(self._exited), "entries": len(self._by_eid),
                "seeded": self.seeded, "evictions": self.evictions, "removed": self.removed,
                "missed_exits": self.missed_exits}

    def get(self, pid: int) -> ProcInfo | None:
        """The current process with this pid (possibly exited, within grace)."""
        return self._by_pid.get(pid)

    def by_entity_id(self, entity_id: str) -> ProcInfo | None:
        """Any retained entry, including one whose pid has been reused."""
        return self._by_eid.get(entity_id)

    def ancestors(self, pid: int, limit: int = 64) -> list[ProcInfo]:
        """Parent, grandparent, … as far as the table still holds them
        (nearest first).  Follows entity ids, so pid reuse cannot splice in
        an unrelated process; ``limit`` and a seen-set guard against cycles
        that missed events could create."""
        out: list[ProcInfo] = []
        p = self._by_pid.get(pid)
        seen: set[str] = set()
        while p is not None and len(out) < limit:
            seen.add(p.entity_id)
            peid = p.parent_entity_id
            if peid is None or peid in seen:
                break
            p = self._by_eid.get(peid)
            if p is not None:
                out.append(p)
        return out

    def process_fields(self, pid: int) -> dict[str, Any]:
        """The ECS ``process`` object for an event caused by ``pid``.

        Cached per entry generation: the common case is one dict lookup and
        one attribute read.  The result is shared; do not mutate it (copy
        with ``{**fields, ...}`` to add per-event keys such as ``env_vars``).
        An unknown pid yields ``{"pid": pid}``.
        """
        p = self._by_pid.get(pid)
        if p is None:
            return {"pid": pid}
        d = p.pf_cache
        if d is None:
            d = p.pf_cache = self._build_process(p)
        return d

    def user_fields(self, pid: int) -> dict[str, Any]:
        """ECS ``user`` and ``group`` objects (ids as strings, names from a
        cached passwd lookup) to merge into an event's top level.  Shared and
        cached like :meth:`process_fields`."""
        p = self._by_pid.get(pid)
        if p is None:
            return {}
        d = p.uf_cache
        if d is None:
            # Few credential combinations exist on a host; share one dict
            # per combination instead of building five small dicts per process.
            key = (p.uid, p.euid, p.gid, p.egid)
            d = self._creds.get(key)
            if d is None:
                if len(self._creds) >= 4096:
                    self._creds.clear()
                d = self._creds[key] = self._build_user(p)
            p.uf_cache = d
        return d

    # ---------------------------------------------------------------- updates

    def on_fork(self, pid: int, ppid: int, start_ns: int, comm: str | None = None, uid: int | None = None,
                gid: int | None = None, euid: int | None = None, egid: int | None = None, *,
                parent_start_ns: int | None = None, sid: int | None = None, pgid: int | None = None,
                interactive: bool | None = None, ns_pid: int | None = None, pidns: int | None = None) -> ProcInfo:
        """A new thread group.  Until it execs the child runs its parent's
        image, so it inherits executable, args, cwd, credentials, tty and
        leaders; anything passed explicitly overrides the inheritance."""
        self._reap()
        ticks = start_ticks_from_ns(start_ns)
        cur = self._by_pid.get(pid)
        if cur is not None and cur.start_ticks == ticks:
            return cur   # already known (seeded, or a duplicate report)
        parent = self._parent_of(ppid, ticks, parent_start_ns)
        p = ProcInfo(pid=pid, ppid=ppid, start_ticks=ticks, entity_id=make_entity_id(self.boot, pid, ticks),
                     origin="fork", ns_pid=ns_pid, pidns=pidns)
        if parent is not None:
            p.parent_entity_id = parent.entity_id
            p.name = parent.name
            p.executable = parent.executable
            p.args = parent.args
            p.command_line = parent.command_line
            p.working_directory = parent.working_directory
            p.uid, p.gid, p.euid, p.egid = parent.uid, parent.gid, parent.euid, parent.egid
            p.interactive = parent.interactive
            p.session_leader_pid = parent.session_leader_pid
            p.group_leader_pid = parent.group_leader_pid
            if pidns is None:
                p.pidns = parent.pidns
        elif parent_start_ns is not None and ppid > 0:
            p.parent_entity_id = make_entity_id(self.boot, ppid, start_ticks_from_ns(parent_start_ns))
        if comm and (parent is None or not p.name):
            p.name = comm
        self._apply_ids(p, uid, gid, euid, egid)
        _apply_session(p, sid, pgid, interactive)
        self._resolve_relatives(p, parent)
        self._insert(p)
        return p

    def on_exec(self, pid: int, start_ns: int, executable: str | None, args: list[str] | None,
                cwd: str | None = None, uid: int | None = None, gid: int | None = None, euid: int | None = None,
                egid: int | None = None, ppid: int | None = None, *, parent_start_ns: int | None = None,
                comm: str | None = None, sid: int | None = None, pgid: int | None = None,
                interactive: bool | None = None, ns_pid: int | None = None, pidns: int | None = None) -> ProcInfo:
        """A successful execve.  Same pid and start time, so the entity id
        does not change.  An exec of a pid the table has not seen (its fork
        was missed or predates a failed seed) creates the entry, using
        ``ppid`` to find the parent."""
        self._reap()
        ticks = start_ticks_from_ns(start_ns)
        p = self._by_pid.get(pid)
        if p is None or p.start_ticks != ticks:
            p = self.on_fork(pid, ppid if ppid is not None else 0, start_ns, comm, uid, gid, euid, egid,
                             parent_start_ns=parent_start_ns, sid=sid, pgid=pgid, interactive=interactive,
                             ns_pid=ns_pid, pidns=pidns)
        parent = self._by_eid.get(p.parent_entity_id) if p.parent_entity_id else None
        if ppid is not None and ppid != p.ppid and ppid > 0:
            # Reparented before exec (the original parent died): keep the
            # original parent_entity_id, as lineage is about who created it,
            # but record the current ppid.
            p.ppid = ppid
        p.origin = "exec"
        p.executable = executable
        p.args = args
        p.command_line = _join(args)
        p.name = _basename(executable) or comm or p.name
        if cwd is not None:
            p.working_directory = cwd
        self._apply_ids(p, uid, gid, euid, egid)
        _apply_session(p, sid, pgid, interactive)
        if ns_pid is not None:
            p.ns_pid = ns_pid
        if pidns is not None:
            p.pidns = pidns
        self._changed(p)
        self._resolve_relatives(p, parent)
        # Recently exec'd processes are the least likely to be stale.
        self._by_eid.pop(p.entity_id, None)
        self._by_eid[p.entity_id] = p
        return p

    def on_exit(self, pid: int, exit_code: int | None, start_ns: int | None = None) -> ProcInfo | None:
        """The whole thread group exited.  The entry stays readable for
        ``grace_s`` (late events and the exit event itself are enriched),
        then is removed; children keep their ``parent_entity_id`` and their
        snapshot of this process.  ``start_ns``, when given, guards against
        an exit delivered after the pid was already reused."""
        self._reap()
        p = self._lookup(pid, start_ns)
        if p is None:
            return None
        if not p.exited:
            self._mark_exited(p, exit_code)
        elif exit_code is not None and p.exit_code is None:
            p.exit_code = exit_code
            self._changed(p)
        return p

    def on_setuid(self, pid: int, uid: int | None = None, euid: int | None = None, gid: int | None = None,
                  egid: int | None = None, start_ns: int | None = None) -> ProcInfo | None:
        """A credential change (setuid/setgid family, commit_creds)."""
        p = self._lookup(pid, start_ns)
        if p is None:
            return None
        self._apply_ids(p, uid, gid, euid, egid)
        self._changed(p)
        return p

    def on_setsid(self, pid: int, sid: int | None = None, pgid: int | None = None,
                  interactive: bool | None = None, start_ns: int | None = None) -> ProcInfo | None:
        """A session or process-group change seen without an exec (daemons
        that fork, setsid and keep running).  Execs carry sid/pgid anyway."""
        p = self._lookup(pid, start_ns)
        if p is None:
            return None
        _apply_session(p, sid, pgid, interactive)
        self._changed(p)
        self._resolve_relatives(p, self._by_eid.get(p.parent_entity_id) if p.parent_entity_id else None)
        return p

    def expire(self) -> int:
        """Remove exited entries whose grace period is over; returns how many.
        Called from every process event, and available for a periodic timer
        on hosts where process events are rare."""
        return self._reap()

    def sweep(self) -> int:
        """Mark entries whose process no longer exists in ``/proc`` as exited
        (their exit event was lost, e.g. a full ring buffer).  Returns how
        many were found dead.  Costs one small read per live entry."""
        self._last_sweep = self._clock()
        dead = 0
        for p in list(self._by_eid.values()):
            if p.exited:
                continue
            ticks = self._read_start_ticks(p.pid)
            if ticks is not None and ticks == p.start_ticks:
                continue
            if ticks is None and not os.path.isdir(self.proc_root):
                return dead   # no /proc to check against
            self._mark_exited(p, None)
            self.missed_exits += 1
            dead += 1
        return dead

    def seed_from_proc(self) -> int:
        """Add every process in ``/proc`` so that processes that predate
        Kestrel have lineage.  Tolerates processes that exit mid-read and
        fields we may not read (``exe``/``cwd`` of other users, hidepid).
        Processes already in the table (from events that raced the seed)
        are kept as they are.  Returns how many entries were added."""
        try:
            names = os.listdir(self.proc_root)
        except OSError:
            return 0
        found: dict[int, ProcInfo] = {}
        for n in names:
            if n.isdigit():
                p = self._read_proc(int(n))
                if p is not None:
                    found[p.pid] = p
        added = 0
        for p in self._parent_first(found):
            cur = self._by_pid.get(p.pid)
            if cur is not None and cur.start_ticks == p.start_ticks:
                continue
            parent = self._by_pid.get(p.ppid) if p.ppid > 0 else None
            if parent is not None and parent.start_ticks <= p.start_ticks:
                p.parent_entity_id = parent.entity_id
            else:
                parent = None
            self._resolve_relatives(p, parent)
            self._insert(p)
            if p.exited:   # zombie: already exited, not yet reaped
                p.exit_time = self._clock()
                self._exited[p.entity_id] = p
            added += 1
        # A leader that is not an ancestor (its member was reparented) may
        # have been seeded after the member: resolve those again.
        for p in self._by_eid.values():
            if p.origin == "proc" and any(r is not None and r.entity_id is None and r.pid in self._by_pid
                                          for r in (p.session_leader, p.group_leader)):
                self._resolve_relatives(p, self._by_eid.get(p.parent_entity_id) if p.parent_entity_id else None)
        self.seeded += added
        return added

    # -------------------------------------------------------------- internals

    def _lookup(self, pid: int, start_ns: int | None) -> ProcInfo | None:
        p = self._by_pid.get(pid)
        if start_ns is None:
            return p
        ticks = start_ticks_from_ns(start_ns)
        if p is not None and p.start_ticks == ticks:
            return p
        return self._by_eid.get(make_entity_id(self.boot, pid, ticks))

    def _parent_of(self, ppid: int, child_ticks: int, parent_start_ns: int | None) -> ProcInfo | None:
        """The parent entry, refusing a pid-reused impostor: a parent cannot
        have started after its child."""
        if ppid <= 0:
            return None
        if parent_start_ns is not None:
            par = self._by_eid.get(make_entity_id(self.boot, ppid, start_ticks_from_ns(parent_start_ns)))
            if par is not None:
                return par
        par = self._by_pid.get(ppid)
        if par is not None and par.start_ticks <= child_ticks:
            return par
        return None

    @staticmethod
    def _apply_ids(p: ProcInfo, uid: int | None, gid: int | None, euid: int | None, egid: int | None) -> None:
        _set_known(p, uid=uid, gid=gid, euid=euid, egid=egid)

    @staticmethod
    def _changed(p: ProcInfo) -> None:
        """Invalidate everything derived from this entry."""
        p.generation += 1
        p.pf_cache = None
        p.uf_cache = None
        p.ref_cache = None

    def _ref_of(self, p: ProcInfo) -> Ref:
        r = p.ref_cache
        if r is None:
            r = p.ref_cache = Ref(p.pid, p.entity_id, p.name, p.executable, p.args, p.command_line)
        return r

    def _fresh(self, r: Ref | None) -> Ref | None:
        """A snapshot refreshed from the table if its process is still held."""
        if r is not None and r.entity_id is not None:
            live = self._by_eid.get(r.entity_id)
            if live is not None:
                return self._ref_of(live)
        return r

    def _leader_ref(self, lpid: int | None, attr: str, p: ProcInfo, parent: ProcInfo | None) -> Ref | None:
        """Resolve a session/group leader pid to a snapshot.

        The kernel does not hand out a pid while it still names a session or
        process group, so while ``p`` is in session/group ``lpid`` the table's
        current entry for ``lpid`` (if any) is that leader.  Otherwise the
        parent's or our own earlier snapshot is kept, and failing that a
        pid-only reference.
        """
        if not lpid:
            return None
        if lpid == p.pid:
            return self._ref_of(p)
        leader = self._by_pid.get(lpid)
        if leader is not None:
            return self._ref_of(leader)
        if parent is not None:
            pr: Ref | None = getattr(parent, attr)
            if pr is not None and pr.pid == lpid:
                return self._fresh(pr)
        mine: Ref | None = getattr(p, attr)
        if mine is not None and mine.pid == lpid:
            return mine
        return Ref(lpid)

    def _is_entry_leader(self, p: ProcInfo, parent: ProcInfo | None) -> bool:
        """Kestrel's entry-leader rule (documented in docs/events.md).

        A process is an entry leader — the start of a chain of processes that
        entered the host one way — when it is:

        1. init (pid 1), or the init of a pid namespace (its pid there is 1:
           a container's first process);
        2. in a different pid namespace from its parent (``docker exec``,
           ``kubectl exec``, ``nsenter -p``: entering a container);
        3. a session leader (it called setsid) whose parent is init (a
           service or reparented daemon) or a login service in
           ``entry_parents`` (sshd's session shell, login's shell after
           getty).

        Everything else inherits its parent's entry leader at fork.
        """
        if p.pid == 1 or p.ns_pid == 1:
            return True
        if parent is not None and p.pidns is not None and parent.pidns is not None and p.pidns != parent.pidns:
            return True
        if p.session_leader_pid == p.pid:
            if p.ppid == 1:
                return True
            if parent is not None and parent.name in self.entry_parents:
                return True
        return False

    def _resolve_relatives(self, p: ProcInfo, parent: ProcInfo | None) -> None:
        """Refresh the parent and leader snapshots from the table."""
        if parent is not None:
            p.parent = self._ref_of(parent)
        elif p.parent is None and p.ppid > 0:
            p.parent = Ref(p.ppid, p.parent_entity_id)
        else:
            p.parent = self._fresh(p.parent)
        p.session_leader = self._leader_ref(p.session_leader_pid, "session_leader", p, parent)
        p.group_leader = self._leader_ref(p.group_leader_pid, "group_leader", p, parent)
        if self._is_entry_leader(p, parent):
            p.entry_leader = self._ref_of(p)
        elif parent is not None and parent.entry_leader is not None:
            p.entry_leader = self._fresh(parent.entry_leader)
        else:
            p.entry_leader = self._fresh(p.entry_leader)
        p.entry_leader_pid = p.entry_leader.pid if p.entry_leader is not None else None
        p.pf_cache = None

    def _insert(self, p: ProcInfo) -> None:
        old = self._by_pid.get(p.pid)
        if old is not None and old is not p and not old.exited:
            # The pid was reused: its previous holder exited unseen.
            self._mark_exited(old, None)
            self.missed_exits += 1
        while len(self._by_eid) >= self.max_entries:
            self._evict_one()
        self._by_pid[p.pid] = p
        self._by_eid[p.entity_id] = p

    def _evict_one(self) -> None:
        """Make room: exited entries first (oldest exit first); if none, look
        for processes whose exit we missed (rate-limited /proc sweep); only
        then the least recently forked/exec'd live entry."""
        if not self._exited and (self._last_sweep is None
                                 or self._clock() - self._last_sweep >= self._sweep_interval):
            self.sweep()
        if self._exited:
            victim = next(iter(self._exited.values()))
        else:
            victim = next(iter(self._by_eid.values()))
        self._remove(victim)
        self.evictions += 1

    def _mark_exited(self, p: ProcInfo, exit_code: int | None) -> None:
        p.exited = True
        p.exit_code = exit_code
        p.exit_time = self._clock()
        self._changed(p)
        self._exited[p.entity_id] = p

    def _remove(self, p: ProcInfo) -> None:
        self._by_eid.pop(p.entity_id, None)
        self._exited.pop(p.entity_id, None)
        if self._by_pid.get(p.pid) is p:
            del self._by_pid[p.pid]

    def _reap(self) -> int:
        ex = self._exited
        if not ex:
            return 0
        deadline = self._clock() - self.grace_s
        n = 0
        while ex:
            p = next(iter(ex.values()))
            if p.exit_time is not None and p.exit_time > deadline:
                break
            self._remove(p)
            n += 1
        self.removed += n
        return n

    # ------------------------------------------------------------- ECS output

    def _build_process(self, p: ProcInfo) -> dict[str, Any]:
        d: dict[str, Any] = {"pid": p.pid, "entity_id": p.entity_id}
        if p.name:
            d["name"] = p.name
        if p.executable is not None:
            d["executable"] = p.executable
        if p.args is not None:
            d["args"] = p.args
            d["args_count"] = len(p.args)
        if p.command_line is not None:
            d["command_line"] = p.command_line
        if p.working_directory is not None:
            d["working_directory"] = p.working_directory
        if p.interactive is not None:
            d["interactive"] = p.interactive
        if p.exited and p.exit_code is not None:
            d["exit_code"] = p.exit_code
        if p.parent is not None:
            d["parent"] = p.parent.parent_dict()
        for key, ref in (("session_leader", p.session_leader), ("group_leader", p.group_leader),
                         ("entry_leader", p.entry_leader)):
            if ref is None:
                continue
            if ref.entity_id == p.entity_id:
                ref = self._ref_of(p)   # itself, as it is now
            d[key] = ref.leader_dict()
        return d

    def _user_name(self, uid: int) -> str | None:
        try:
            return self._users[uid]
        except KeyError:
            pass
        try:
            name: str | None = pwd.getpwuid(uid).pw_name
        except (KeyError, OverflowError):
            name = None
        if len(self._users) >= 4096:
            self._users.clear()
        self._users[uid] = name
        return name

    def _build_user(self, p: ProcInfo) -> dict[str, Any]:
        out: dict[str, Any] = {}
        user: dict[str, Any] = {}
        if p.uid is not None:
            user["id"] = str(p.uid)
            n = self._user_name(p.uid)
            if n is not None:
                user["name"] = n
        if p.euid is not None:
            eff: dict[str, Any] = {"id": str(p.euid)}
            n = self._user_name(p.euid)
            if n is not None:
                eff["name"] = n
            user["effective"] = eff
        if user:
            out["user"] = user
        group: dict[str, Any] = {}
        if p.gid is not None:
            group["id"] = str(p.gid)
        if p.egid is not None:
            group["effective"] = {"id": str(p.egid)}
        if group:
            out["group"] = group
        return out

    # --------------------------------------------------------------- /proc I/O

    def _read_start_ticks(self, pid: int) -> int | None:
        return stat_field(pid, 19, self.proc_root)

    def _read_proc(self, pid: int) -> ProcInfo | None:
        """One /proc/<pid>, or None if it vanished or is unreadable.

        Every file is opened relative to a directory fd of /proc/<pid>: such
        an fd stays bound to the process it was opened for, so if that
        process exits and its pid is reused mid-read, reads fail instead of
        silently mixing two processes.
        """
        try:
            dfd = os.open(f"{self.proc_root}/{pid}", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            stat = _read_at(dfd, "stat")
            if stat is None:
                return None
            close = stat.rfind(b")")
            comm = stat[stat.find(b"(") + 1:close].decode("utf-8", "replace")
            rest = stat[close + 2:].split()
            try:
                state = rest[0]
                ppid, pgrp, session, tty_nr = int(rest[1]), int(rest[2]), int(rest[3]), int(rest[4])
                ticks = int(rest[19])
            except (IndexError, ValueError):
                return None
            p = ProcInfo(pid=pid, ppid=ppid, start_ticks=ticks, entity_id=make_entity_id(self.boot, pid, ticks),
                         origin="proc", interactive=tty_nr != 0,
                         session_leader_pid=session or None, group_leader_pid=pgrp or None)
            if state == b"Z" or state == b"X":
                p.exited = True
            status = _read_at(dfd, "status")
            if status is not None:
                _parse_status(p, status)
            cmdline = _read_at(dfd, "cmdline")
            if cmdline:
                p.args = [a.decode("utf-8", "surrogateescape") for a in cmdline.rstrip(b"\0").split(b"\0")]
                p.command_line = _join(p.args)
            p.executable = _readlink_at(dfd, "exe")
            p.working_directory = _readlink_at(dfd, "cwd")
            ns = _readlink_at(dfd, "ns/pid")
            if ns is not None and ns.startswith("pid:["):
                try:
                    p.pidns = int(ns[5:-1])
                except ValueError:
                    pass
            p.name = _basename(p.executable) or comm
            # A process that vanished while we read it must not be seeded
            # with partial data.
            if _read_at(dfd, "stat") is None:
                return None
            return p
        finally:
            os.close(dfd)

    @staticmethod
    def _parent_first(found: dict[int, ProcInfo]) -> list[ProcInfo]:
        """Order seeded processes so every parent precedes its children, since
        children inherit leader snapshots from their parent."""
        children: dict[int, list[ProcInfo]] = {}
        roots: list[ProcInfo] = []
        for p in found.values():
            if p.ppid in found and p.ppid != p.pid:
                children.setdefault(p.ppid, []).append(p)
            else:
                roots.append(p)
        out: list[ProcInfo] = []
        seen: set[int] = set()
        stack = sorted(roots, key=lambda q: (q.start_ticks, q.pid), reverse=True)
        while stack:
            p = stack.pop()
            if p.pid in seen:
                continue
            seen.add(p.pid)
            out.append(p)
            stack.extend(sorted(children.get(p.pid, ()), key=lambda q: (q.start_ticks, q.pid), reverse=True))
        # Anything left is in a ppid cycle (impossible unless /proc changed
        # under us); add it anyway.
        out.extend(p for p in found.values() if p.pid not in seen)
        return out


def _read_at(dfd: int, name: str) -> bytes | None:
    try:
        fd = os.open(name, os.O_RDONLY, dir_fd=dfd)
    except OSError:
        return None
    try:
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    except OSError:
        # ESRCH: the process is gone; EACCES/EPERM: not ours to read.
        return None
    finally:
        os.close(fd)


def _readlink_at(dfd: int, name: str) -> str | None:
    try:
        return os.readlink(name, dir_fd=dfd)
    except OSError:
        return None


def _parse_status(p: ProcInfo, status: bytes) -> None:
    for line in status.split(b"\n"):
        if line.startswith(b"Uid:"):
            f = line.split()
            if len(f) >= 3:
                p.uid, p.euid = int(f[1]), int(f[2])
        elif line.startswith(b"Gid:"):
            f = line.split()
            if len(f) >= 3:
                p.gid, p.egid = int(f[1]), int(f[2])
        elif line.startswith(b"NSpid:"):
            f = line.split()
            if len(f) >= 2:
                p.ns_pid = int(f[-1])


def _apply_session(p: ProcInfo, sid: int | None, pgid: int | None, interactive: bool | None) -> None:
    """Session, process group and terminal as the kernel reported them."""
    _set_known(p, session_leader_pid=sid, group_leader_pid=pgid, interactive=interactive)


def _set_known(p: ProcInfo, **values: object) -> None:
    """Update only what the kernel reported: None means unknown, keep the old value."""
    for name, value in values.items():
        if value is not None:
            setattr(p, name, value)
