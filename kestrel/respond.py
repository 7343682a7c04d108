"""Responses: running the actions rules ask for, safely.

A rule names actions (``actions = ["alert", "kill"]``); Wasm and Lua rules
may also request them per match (only those they declare). The responder
runs each requested action plugin on the live agent's alerts and writes
what happened into the alert itself (``response``: action, outcome), so
every enforcement is an alert. Replays never act: recorded events describe
processes that are long gone, or worse, whose pids were reused.

Safety, whatever a rule says: never PID 1, never Kestrel or one of its
ancestors, never an allowlisted executable, never a process whose identity
no longer matches the event (a reused pid); ``--dry-run`` reports what
would be done and does nothing.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from .alerts import Alert, RuleMeta
from .eql import ast
from .proctable import stat_field

log = logging.getLogger("kestrel.respond")


def ancestors(pid: int) -> set[int]:
    out: set[int] = set()
    while pid > 1 and pid not in out:
        out.add(pid)
        pid = _ppid(pid)
    return out


def _ppid(pid: int) -> int:
    return stat_field(pid, 1) or 0


def _start_ticks(pid: int) -> int | None:
    return stat_field(pid, 19)


def children(pid: int) -> list[int]:
    """Descendants of ``pid``, deepest first (so a tree dies leaves first)."""
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            parents.setdefault(_ppid(int(name)), []).append(int(name))
    out: list[int] = []

    def walk(p: int) -> None:
        for c in parents.get(p, ()):
            walk(c)
            out.append(c)

    walk(pid)
    return out


class Safety:
    """What may never be touched."""

    def __init__(self, allow: list[str] | tuple[str, ...] = ()) -> None:
        self.allow = {os.path.realpath(p) for p in allow}
        self.protected = ancestors(os.getpid()) | {1}

    def refuse(self, pid: int, executable: str | None = None) -> str | None:
        """Why ``pid`` must not be killed, or None."""
        if pid <= 1:
            return "pid 1 is never killed"
        if pid in self.protected:
            return "Kestrel and its parents are never killed"
        exe = executable
        if exe is None:
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                exe = None
        if exe is not None and os.path.realpath(exe) in self.allow:
            return f"{exe} is allowlisted"
        return None

    def refuse_path(self, path: str) -> str | None:
        if os.path.realpath(path) in self.allow:
            return f"{path} is allowlisted"
        return None


def same_process(event: dict, pid: int) -> bool:
    """Whether the live ``pid`` is still the process of ``event`` (not a
    reused pid): its entity id, computed now, must be the event's."""
    from .proctable import boot_id, make_entity_id

    proc = event.get("process") if isinstance(event.get("process"), dict) else {}
    want = proc.get("entity_id")
    ticks = _start_ticks(pid)
    if ticks is None:
        return False  # gone
    if not want:
        return True  # nothing to check against: the pid is alive
    try:
        return make_entity_id(boot_id(), pid, ticks) == want
    except OSError:
        return True


def kill_process(event: dict, safety: Safety, dry_run: bool, tree: bool = False) -> str:
    proc = event.get("process") if isinstance(event.get("process"), dict) else {}
    pid = proc.get("pid")
    if not isinstance(pid, int):
        return "refused: the event names no process id"
    why = safety.refuse(pid, proc.get("executable"))
    if why:
        return f"refused: {why}"
    if not same_process(event, pid):
        return f"not done: process {pid} has already exited (or its pid was reused)"
    targets = ([c for c in children(pid) if safety.refuse(c) is None] if tree else []) + [pid]
    if dry_run:
        return f"dry-run: would kill {'process tree ' if tree else 'process '}{pid}" + (f" ({len(targets)} processes)" if tree else "")
    killed = []
    for t in targets:
        try:
            os.kill(t, signal.SIGKILL)
            killed.append(t)
        except ProcessLookupError:
            pass
        except PermissionError as exc:
            return f"failed: {exc}"
    return f"killed {', '.join(map(str, killed))}" if killed else f"not done: process {pid} had exited"


class Responder:
    """Runs the actions of the live agent's alerts (see the module doc)."""

    def __init__(self, actions: dict[str, Any], dry_run: bool) -> None:
        self.actions = actions
        self.dry_run = dry_run
        self.done: dict[str, int] = {}
        self.unknown: set[str] = set()
        self.enforcing: list[str] = []  # actions the loaded rules ask for, besides alert
        self.block_mode = "off"

    def handle(self, alert: Alert) -> None:
        wanted = [a for a in alert.rule.actions if a != "alert"]
        for a in alert.extra.get("actions", ()) or ():
            if a != "alert" and a not in wanted:
                wanted.append(a)
        if not wanted:
            return
        results = []
        for name in wanted:
            action = self.actions.get(name)
            if action is None:
                if name not in self.unknown:
                    self.unknown.add(name)
                    log.warning("rule %s asks for action %r, which no action plugin provides", alert.rule.id, name)
                results.append({"action": name, "outcome": "not done: no such action"})
                continue
            try:
                outcome = action.execute(alert, self.dry_run)
            except Exception as exc:  # an action plugin's bug must not stop the agent
                outcome = f"failed: {type(exc).__name__}: {exc}"
            self.done[name] = self.done.get(name, 0) + 1
            results.append({"action": name, "outcome": outcome})
            log.warning("rule %s: %s -> %s", alert.rule.id, name, outcome)
        alert.extra["response"] = results

    def poll(self) -> list[Alert]:
        """Alerts for what the kernel blocked since the last call."""
        out: list[Alert] = []
        for action in self.actions.values():
            poll = getattr(action, "poll", None)
            if poll is not None:
                out.extend(poll())
        return out

    def close(self) -> None:
        for action in self.actions.values():
            close = getattr(action, "close", None)
            if close is not None:
                close()


def literal_executables(query: ast.PipedQuery) -> list[str]:
    """Executable paths a query names literally (``process.executable ==
    "/x"`` or ``in (...)``): a block rule denies them from the start."""
    out: list[str] = []
    for node in ast.walk(query):
        if isinstance(node, ast.Compare) and node.op in ("==", "="):
            for a, b in ((node.left, node.right), (node.right, node.left)):
                if _is_exe(a) and isinstance(b, ast.Literal) and isinstance(b.value, str):
                    out.append(b.value)
        elif isinstance(node, ast.InSet) and not node.negate and _is_exe(node.expr):
            out.extend(i.value for i in node.items if isinstance(i, ast.Literal) and isinstance(i.value, str))
    return out


def _is_exe(node: Any) -> bool:
    return isinstance(node, ast.Field) and tuple(node.path) == ("process", "executable")


def block_event(meta: RuleMeta, block: Any, path: str | None) -> Alert:
    """The alert for one exec the kernel blocked (or audited)."""
    import time

    event = {
        "@timestamp": time.time_ns(),
        "event": {"category": "process", "type": "start", "action": "exec_blocked" if block.outcome != "audited" else "exec",
                  "kind": "alert"},
        "process": {"pid": block.tgid, "name": block.comm, "executable": path, "parent": {"pid": block.ppid}},
        "user": {"id": str(block.uid)},
        "file": {"inode": str(block.ino), "device": str(block.dev)},
    }
    return Alert(meta, [event], event["@timestamp"], {"response": [{"action": "block", "outcome": block.outcome}]})
