"""Prevention in the kernel: block execution of denied binaries.

Two mechanisms, chosen at start-up by what this kernel permits:

- **lsm**: a BPF LSM program on ``bprm_check_security`` refuses the exec
  with -EPERM (the caller's ``execve`` fails; nothing runs);
- **exec-kill**: a ``tp_btf/sched_process_exec`` program sends SIGKILL to
  the task at exec, before its first instruction (the exit status is that
  of SIGKILL, 137 from a shell). Measured here: trampoline-based programs
  (lsm/, fentry/) are refused with EPERM on these VMs, tp_btf loads.

The exec-kill program always loads (it also reports every hit, in audit
mode too); the LSM one is tried on top. Binaries are denied by (device,
inode), so a copy or a hard link elsewhere is its own entry and renaming
the file does not escape. The maps live only as long as Kestrel's file
descriptors: when Kestrel exits or crashes the kernel frees them, and no
stale deny entry survives it.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger("kestrel.enforce")

ENFORCE_AUDIT, ENFORCE_BLOCK = 1, 2
OUTCOMES = {0: "audited", 1: "killed at exec", 2: "denied by LSM", 3: "spared (pid 1 or Kestrel)"}
_KEY = struct.Struct("<QQ")
_CFG = struct.Struct("<II")
_BLOCK = struct.Struct("<QQQIIIIII16s")


def kernel_dev(st_dev: int) -> int:
    """The kernel's internal dev_t (major << 20 | minor) for a stat() st_dev."""
    return (os.major(st_dev) << 20) | os.minor(st_dev)


@dataclass
class Block:
    """One hit of the deny map, as the kernel reported it."""

    ts_boot_ns: int
    dev: int
    ino: int
    pid: int
    tgid: int
    ppid: int
    uid: int
    rule: int
    outcome: str
    comm: str


class Enforcer:
    """Owns the enforcement programs and the deny map."""

    def __init__(self, dry_run: bool = False, objects: str | None = None) -> None:
        self.dry_run = dry_run
        self.objects = objects
        self.mode = "off"  # "lsm+exec-kill" | "exec-kill" once started
        self.lsm_error: str | None = None
        self._obj: Any = None
        self._lsm: Any = None
        self._links: list[Any] = []
        self._deny_fd = -1
        self._ring: Any = None
        self.denied: dict[tuple[int, int], tuple[int, str]] = {}  # (dev, ino) -> (rule number, path)
        self._rules: list[str] = []
        self._lock = threading.Lock()

    # -- life cycle --------------------------------------------------------------
    def start(self) -> None:
        from .sources.ebpf import bpf_dir
        from .sources.libbpf import BpfError, BpfObject, LibbpfRing, map_update

        d = self.objects or bpf_dir()
        obj = BpfObject(os.path.join(d, "enforce.bpf.o"))
        try:
            obj.load()
            self._obj = obj
            cfg_fd = obj.map("k_enforce_cfg").fd
            map_update(cfg_fd, _KEY.pack(0, 0)[:4], _CFG.pack(ENFORCE_AUDIT if self.dry_run else ENFORCE_BLOCK, os.getpid()))
            self._deny_fd = obj.map("k_deny").fd
            for prog in obj.programs():
                self._links.append(prog.attach())
            self._ring = LibbpfRing(obj.map("k_blocks").fd, linger_s=0)
        except BaseException:
            self.close()
            raise
        self.mode = "exec-kill"
        # Probing BPF LSM fails on kernels that refuse trampolines: expected,
        # so libbpf's complaints about it stay out of the log.
        libbpf_log = logging.getLogger("kestrel.ebpf.libbpf")
        level = libbpf_log.level
        libbpf_log.setLevel(logging.CRITICAL)
        try:
            lsm = BpfObject(os.path.join(d, "enforce_lsm.bpf.o"))
            try:
                lsm.map("k_deny").reuse_fd(self._deny_fd)
                lsm.map("k_enforce_cfg").reuse_fd(cfg_fd)
                lsm.load()
                for prog in lsm.programs():
                    self._links.append(prog.attach())
            except BaseException:
                lsm.close()
                raise
            self._lsm = lsm
            self.mode = "lsm+exec-kill"
        except (BpfError, OSError) as exc:
            self.lsm_error = str(exc)
            log.info("BPF LSM not available (%s): blocking by SIGKILL at exec", exc)
        finally:
            libbpf_log.setLevel(level)
        log.info("enforcement %s, mode %s", "in audit (dry-run)" if self.dry_run else "on", self.mode)

    def close(self) -> None:
        for link in self._links:
            link.destroy()
        self._links.clear()
        if self._ring is not None:
            self._ring.close()
            self._ring = None
        for o in (self._lsm, self._obj):
            if o is not None:
                o.close()
        self._lsm = self._obj = None
        self._deny_fd = -1

    def __enter__(self) -> "Enforcer":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the deny map ----------------------------------------------------------------
    def rule_number(self, rule_id: str) -> int:
        if rule_id not in self._rules:
            self._rules.append(rule_id)
        return self._rules.index(rule_id) + 1

    def rule_id(self, number: int) -> str | None:
        return self._rules[number - 1] if 0 < number <= len(self._rules) else None

    def deny(self, path: str, rule_id: str) -> tuple[int, int]:
        """Deny exec of the file at ``path`` (as it is now: its inode)."""
        from .sources.libbpf import map_update

        st = os.stat(path)
        key = (kernel_dev(st.st_dev), st.st_ino)
        n = self.rule_number(rule_id)
        with self._lock:
            map_update(self._deny_fd, _KEY.pack(*key), struct.pack("<I", n))
            self.denied[key] = (n, path)
        return key

    def allow(self, path: str) -> None:
        from .sources.libbpf import map_delete

        st = os.stat(path)
        key = (kernel_dev(st.st_dev), st.st_ino)
        with self._lock:
            map_delete(self._deny_fd, _KEY.pack(*key))
            self.denied.pop(key, None)

    # -- what the kernel did -----------------------------------------------------------
    def poll(self, timeout_ms: int = 0) -> list[Block]:
        if self._ring is None:
            return []
        span, offs = self._ring.poll(timeout_ms)
        out = []
        for off in offs:
            ts, dev, ino, pid, tgid, ppid, uid, rule, outcome, comm = _BLOCK.unpack_from(span, off)
            out.append(Block(ts, dev, ino, pid, tgid, ppid, uid, rule, OUTCOMES.get(outcome, str(outcome)),
                             comm.split(b"\0", 1)[0].decode("utf-8", "replace")))
        return out

    def path_of(self, dev: int, ino: int) -> str | None:
        entry = self.denied.get((dev, ino))
        return entry[1] if entry else None


Callback = Callable[[Block], None]
