"""Ring-buffer records (bpf/kestrel.h) to ECS events (docs/events.md).

A :class:`Decoder` turns a batch of raw records into event dicts and keeps
the process table current from the process records it sees. The per-event
work is: one ``struct.unpack_from`` for the common header, one for the
kind's fixed part, a path assembled from its component list (cached by its
raw bytes), and one dict built around shared sub-dicts: the ``event`` object
of each action, ``host``, and the process table's cached ``process``,
``user`` and ``group`` objects. Every dict an event shares with others is
read-only by contract (docs/events.md).

``struct.unpack_from`` was measured against ``ctypes.Structure.from_buffer_copy``
for the 72-byte header (CPython 3.11, this machine): 0.49 µs for all 13
fields at once, against 0.48 µs for the copy plus 0.06 µs per field read
(about 1.1 µs for the fields an event needs), so structs it is.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import struct
import time
from typing import Any, Callable

from ..proctable import ProcessTable, decode_wait_status

log = logging.getLogger("kestrel.ebpf")

K_ABI = 1

# Record kinds (kestrel.h).
K_EXEC, K_FORK, K_EXIT = 1, 2, 3
K_OPEN, K_UNLINK, K_RENAME, K_CHMOD, K_MKDIR, K_LINK = 10, 11, 12, 13, 14, 15
K_CONNECT, K_ACCEPT, K_DNS = 20, 21, 22
K_SETID, K_PTRACE, K_MEMFD, K_MODULE, K_BPF = 30, 31, 32, 33, 34

KIND_NAMES = {
    K_EXEC: "exec", K_FORK: "fork", K_EXIT: "exit", K_OPEN: "open", K_UNLINK: "unlink",
    K_RENAME: "rename", K_CHMOD: "chmod", K_MKDIR: "mkdir", K_LINK: "link", K_CONNECT: "connect", K_ACCEPT: "accept", K_DNS: "dns",
    K_SETID: "setid", K_PTRACE: "ptrace", K_MEMFD: "memfd_create", K_MODULE: "module", K_BPF: "bpf",
}

# Families (one program object each) and the record kinds they produce.
FAMILIES = ("process", "file", "network", "kernel")
FAM_BITS = {name: 1 << i for i, name in enumerate(FAMILIES)}

# path flags
PF_TRUNC, PF_DELETED, PF_PSEUDO, PF_ERROR = 1, 2, 4, 8

HDR = struct.Struct("<QQQHHIIIIIII16s")
HDR_SIZE = HDR.size  # 72
# What every event needs from the header: ts, kind, pid (the rest is read
# only for process records and pids the table does not know).
LEAN = struct.Struct("<Q16xH2xI")
OPEN_RET = struct.Struct("<i16xH")  # k_open.ret (offset 76) .. .path_len (offset 96)
_OPEN_KEY = HDR_SIZE + 8            # k_open from .flags on: the cache key of a successful open
_OPEN_PATH = HDR_SIZE + 40          # sizeof(struct k_open)
LOC = "HHHBB"  # struct k_loc
S_EXEC = struct.Struct("<IIIIQHHHHHHBBBB")
S_FORK = struct.Struct("<QII")
S_EXIT = struct.Struct("<ii")
S_OPEN = struct.Struct("<IiQIIHHBB2x" + LOC)
S_UNLINK = struct.Struct("<IiII" + LOC)
S_RENAME = struct.Struct("<IiII" + LOC + LOC)
S_CHMOD = struct.Struct("<IiIIHHB3x" + LOC)
S_SOCK = struct.Struct("<IiHHHHHH4x16s16s")
S_SETID = struct.Struct("<IiIIII3Q")
S_PTRACE = struct.Struct("<qIi")
S_MEMFD = struct.Struct("<IiH6x")
S_MODULE = struct.Struct("<IiIHHB3xH2x")
S_BPF = struct.Struct("<IiII16s")
S_CONFIG = struct.Struct("<8I")

# The fixed size of each record kind, checked against the objects' BTF by tests.
RECORD_SIZES = {
    "k_hdr": HDR_SIZE, "k_exec": HDR_SIZE + S_EXEC.size, "k_fork": HDR_SIZE + S_FORK.size,
    "k_exit": HDR_SIZE + S_EXIT.size, "k_open": HDR_SIZE + S_OPEN.size, "k_unlink": HDR_SIZE + S_UNLINK.size,
    "k_rename": HDR_SIZE + S_RENAME.size, "k_chmod": HDR_SIZE + S_CHMOD.size, "k_sock": HDR_SIZE + S_SOCK.size,
    "k_setid": HDR_SIZE + S_SETID.size, "k_ptrace": HDR_SIZE + S_PTRACE.size, "k_memfd": HDR_SIZE + S_MEMFD.size,
    "k_module": HDR_SIZE + S_MODULE.size, "k_bpf": HDR_SIZE + S_BPF.size, "k_config": S_CONFIG.size,
    "k_loc": struct.calcsize("<" + LOC),
}

# x86_64 syscall numbers the records name.
NR_NAMES = {
    2: "open", 85: "creat", 257: "openat", 437: "openat2", 87: "unlink", 263: "unlinkat", 84: "rmdir",
    82: "rename", 264: "renameat", 316: "renameat2", 90: "chmod", 91: "fchmod", 268: "fchmodat",
    452: "fchmodat2", 83: "mkdir", 258: "mkdirat", 86: "link", 265: "linkat", 88: "symlink", 266: "symlinkat", 42: "connect", 43: "accept", 288: "accept4", 105: "setuid", 106: "setgid",
    113: "setreuid", 114: "setregid", 117: "setresuid", 119: "setresgid", 122: "setfsuid", 123: "setfsgid",
    175: "init_module", 313: "finit_module", 321: "bpf", 101: "ptrace", 319: "memfd_create",
}
_UID_CALLS = frozenset({105, 113, 117, 122})

_O_FLAGS = (
    (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"), (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"), (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"),
    (0o200000, "O_DIRECTORY"), (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"),
    (0o4000000, "O_SYNC"), (0o10000000, "O_PATH"), (0o20000000, "O_TMPFILE"),
)
_ACC = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")
_O_CREAT, _O_TRUNC, _O_DIRECTORY = 0o100, 0o1000, 0o200000

PTRACE_REQUESTS = {
    0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSER",
    4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSER", 7: "PTRACE_CONT", 8: "PTRACE_KILL",
    9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS", 16: "PTRACE_ATTACH",
    17: "PTRACE_DETACH", 24: "PTRACE_SYSCALL", 0x4200: "PTRACE_SETOPTIONS", 0x4206: "PTRACE_SEIZE",
    0x4207: "PTRACE_INTERRUPT",
}
_MFD_FLAGS = ((1, "MFD_CLOEXEC"), (2, "MFD_ALLOW_SEALING"), (4, "MFD_HUGETLB"), (8, "MFD_NOEXEC_SEAL"), (16, "MFD_EXEC"))
BPF_PROG_TYPES = {
    1: "socket_filter", 2: "kprobe", 3: "sched_cls", 4: "sched_act", 5: "tracepoint", 6: "xdp",
    7: "perf_event", 8: "cgroup_skb", 9: "cgroup_sock", 10: "lwt_in", 11: "lwt_out", 12: "lwt_xmit",
    13: "sock_ops", 14: "sk_skb", 15: "cgroup_device", 16: "sk_msg", 17: "raw_tracepoint",
    18: "cgroup_sock_addr", 19: "lwt_seg6local", 20: "lirc_mode2", 21: "sk_reuseport", 22: "flow_dissector",
    23: "cgroup_sysctl", 24: "raw_tracepoint_writable", 25: "cgroup_sockopt", 26: "tracing",
    27: "struct_ops", 28: "ext", 29: "lsm", 30: "sk_lookup", 31: "syscall", 32: "netfilter",
}

# Environment variables kept in process.env_vars (when the environment is captured).
DEFAULT_ENV_VARS = frozenset({
    "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG", "LD_BIND_NOW", "LD_ORIGIN_PATH",
    "PROMPT_COMMAND", "BASH_ENV", "ENV", "HISTFILE", "HISTFILESIZE", "HISTSIZE", "HISTCONTROL",
    "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PERL5LIB", "PERL5OPT", "RUBYOPT", "RUBYLIB",
    "NODE_OPTIONS", "GCONV_PATH", "SSH_CONNECTION", "SUDO_USER", "SUDO_COMMAND", "container",
})

_CACHE_MAX = 16384


def _ev(category: str, types: list[str], action: str, outcome: str | None = "success") -> dict[str, Any]:
    d: dict[str, Any] = {"category": category, "type": types, "action": action, "kind": "event", "module": "kestrel"}
    if outcome is not None:
        d["outcome"] = outcome
    return d


def _events(category: str, types: list[str], action: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The shared ``event`` objects of one action: (success, failure, unknown)."""
    return _ev(category, types, action, "success"), _ev(category, types, action, "failure"), _ev(category, types, action, "unknown")


EV_EXEC = _ev("process", ["start"], "exec")
EV_FORK = _ev("process", ["start"], "fork")
EV_EXIT = _ev("process", ["end"], "end")
EV_UID = _ev("process", ["change"], "uid_change")
EV_GID = _ev("process", ["change"], "gid_change")
EV_PTRACE = _events("process", ["change"], "ptrace")
EV_MEMFD = _events("process", ["change"], "memfd_create")
EV_MODULE = _events("driver", ["change"], "load_module")
EV_BPF = _events("driver", ["change"], "load_bpf_program")
EV_OPEN = _events("file", ["access"], "open")
EV_CREATE = _events("file", ["creation"], "creation")
EV_CHANGE = _events("file", ["change"], "change")
EV_DELETE = _events("file", ["deletion"], "deletion")
EV_RENAME = _events("file", ["change"], "rename")
EV_CONNECT = _events("network", ["connection", "start"], "connection_attempted")
EV_ACCEPT = _events("network", ["connection", "start"], "connection_accepted")
EV_DNS = _ev("network", ["protocol", "info"], "lookup_requested")

DNS_TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV",
             35: "NAPTR", 43: "DS", 48: "DNSKEY", 64: "SVCB", 65: "HTTPS", 255: "ANY"}


def parse_dns_query(b: bytes) -> tuple[int, str, str] | None:
    """(id, question name, question type) of a DNS query message; None for
    a response or anything that does not parse as a query."""
    if len(b) < 17 or b[2] & 0x80 or not (b[4] << 8 | b[5]):
        return None
    i, end = 12, len(b)
    labels = []
    while True:
        if i >= end:
            return None
        n = b[i]
        if n == 0:
            i += 1
            break
        if n & 0xC0 or i + 1 + n > end:
            return None  # no compression pointers in a question we send
        labels.append(b[i + 1:i + 1 + n].decode("ascii", "backslashreplace"))
        i += 1 + n
    qtype = b[i] << 8 | b[i + 1] if i + 2 <= end else 0
    return b[0] << 8 | b[1], ".".join(labels), DNS_TYPES.get(qtype, str(qtype))


def open_flag_names(flags: int) -> list[str]:
    out = [_ACC[flags & 3]]
    for bit, name in _O_FLAGS:
        if flags & bit:
            if bit == 0o200000 and flags & 0o20000000:
                continue  # O_TMPFILE includes O_DIRECTORY
            out.append(name)
    return out


def host_fields() -> dict[str, Any]:
    name = socket.gethostname()
    d: dict[str, Any] = {"name": name, "hostname": name}
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path, encoding="ascii") as f:
                mid = f.read().strip()
            if mid:
                d["id"] = mid
                break
        except OSError:
            continue
    u = os.uname()
    d["os"] = {"type": "linux", "kernel": u.release}
    d["architecture"] = u.machine
    return d


def boot_offset_ns() -> int:
    """CLOCK_REALTIME minus CLOCK_BOOTTIME: added to a BPF boot-time stamp
    (bpf_ktime_get_boot_ns) it gives ns since the Unix epoch. Read as the
    closest pair of three tries so a preemption between the reads does not
    skew it."""
    best = None
    for _ in range(3):
        a = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        r = time.clock_gettime_ns(time.CLOCK_REALTIME)
        b = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        if best is None or b - a < best[0]:
            best = (b - a, r - (a + b) // 2)
    assert best is not None
    return best[1]


def _components(raw: bytes, flags: int) -> str:
    """A component list (leaf first, NUL-terminated names) as a path."""
    if flags & PF_ERROR and not raw:
        return ""
    parts = raw[:-1].decode("utf-8", "backslashreplace").split("\0") if raw else []
    parts.reverse()
    path = "/" + "/".join(parts)
    if flags & PF_TRUNC:
        path = "/..." + path  # the root side did not fit
    if flags & PF_DELETED or (flags & PF_PSEUDO and path.startswith("/memfd:")):
        path += " (deleted)"  # as /proc/<pid>/exe shows it
    return path


def _open_events(flags: int, created: bool, failed: bool) -> tuple[dict, dict, dict]:
    """Which event an open is: a creation (the open created the file), a
    change (opened for writing or truncation), else an access."""
    if created or (failed and flags & _O_CREAT):
        return EV_CREATE
    if flags & 3 or flags & _O_TRUNC:
        return EV_CHANGE
    return EV_OPEN


def _normpath(path: str) -> str:
    # posixpath.normpath, minus the // special case
    return os.path.normpath(path).replace("//", "/") if ("/." in path or "//" in path) else path


def _file_object(path: str) -> dict[str, Any]:
    i = path.rfind("/")
    name = path[i + 1:]
    d: dict[str, Any] = {"path": path, "name": name, "directory": path[:i] or "/"}
    j = name.rfind(".")
    if j > 0:
        d["extension"] = name[j + 1:]
    return d


def _ip(raw: bytes, family: int) -> tuple[str, str]:
    if family == 2:
        return socket.inet_ntop(socket.AF_INET, raw[:4]), "ipv4"
    if raw[:12] == b"\0" * 10 + b"\xff\xff":
        return socket.inet_ntop(socket.AF_INET, raw[12:16]), "ipv4"  # v4-mapped
    return socket.inet_ntop(socket.AF_INET6, raw), "ipv6"


class DecodeError(ValueError):
    pass


class Decoder:
    """Records to events; keeps ``table`` (the process table) current."""

    def __init__(self, table: ProcessTable, host: dict[str, Any] | None = None,
                 env_vars: frozenset[str] | None = DEFAULT_ENV_VARS) -> None:
        self.table = table
        self.host = host if host is not None else host_fields()
        self.env_vars = env_vars
        # One pass in C over the environment block for the variables kept.
        # (a literal NUL first lets the engine skip from NUL to NUL)
        self._env_re = (re.compile(rb"\0((?:" + b"|".join(re.escape(n.encode()) for n in sorted(env_vars))
                                   + rb")=[^\0]*)") if env_vars else None)
        self.offset = boot_offset_ns()
        self._offset_at = time.monotonic()
        self.counts = [0] * 64          # records decoded, by kind
        self.errors = 0                 # records that could not be decoded
        self.error_samples: list[str] = []
        self._paths: dict[bytes, str] = {}
        self._files: dict[tuple, dict[str, Any]] = {}
        self._flag_names: dict[int, list[str]] = {}
        # Per pid: (process, user, group), the table's shared dicts; dropped
        # whenever a process record for the pid comes through.
        self._who: dict[int, tuple[dict, dict | None, dict | None]] = {}
        self._opens: dict[bytes, tuple[dict, tuple]] = {}
        self._fast: dict[int, Callable[[bytes, int, int, int], dict | None]] = {K_OPEN: self._open}
        self._handlers: dict[int, Callable[[bytes, int, tuple], dict | None]] = {
            K_EXEC: self._exec, K_FORK: self._fork, K_EXIT: self._exit,
            K_UNLINK: self._unlink, K_RENAME: self._rename, K_CHMOD: self._chmod, K_MKDIR: self._mkdir,
            K_LINK: self._link,
            K_CONNECT: self._sock, K_ACCEPT: self._sock, K_DNS: self._dns, K_SETID: self._setid, K_PTRACE: self._ptrace,
            K_MEMFD: self._memfd, K_MODULE: self._module, K_BPF: self._bpf,
        }

    # -- batches ---------------------------------------------------------------
    def refresh_clock(self) -> None:
        """Re-read the realtime/boottime offset (NTP steps the realtime clock)."""
        self.offset = boot_offset_ns()
        self._offset_at = time.monotonic()

    def decode(self, span: bytes, offsets: list[int], out: list[dict]) -> None:
        """Append the events of the records at ``offsets`` in ``span``."""
        lean = LEAN.unpack_from
        hdr = HDR.unpack_from
        fast = self._fast
        slow = self._handlers
        counts = self.counts
        append = out.append
        for off in offsets:
            try:
                ts, kind, pid = lean(span, off)
                counts[kind & 63] += 1
                f = fast.get(kind)
                ev = f(span, off, ts, pid) if f is not None else slow[kind](span, off, hdr(span, off))
            except Exception as exc:  # a malformed record must not stop the source
                self._error(span, off, exc)
                continue
            if ev is not None:
                append(ev)

    def decode_records(self, records: list[bytes], out: list[dict]) -> None:
        """The same for records as separate bytes (libbpf's callback consumer)."""
        for rec in records:
            self.decode(rec, [0], out)

    def _error(self, span: bytes, off: int, exc: Exception) -> None:
        self.errors += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"record at {off}: {type(exc).__name__}: {exc}")
        if self.errors <= 5:
            log.warning("could not decode a record: %s: %s", type(exc).__name__, exc)

    # -- shared pieces ------------------------------------------------------------
    def _path(self, raw: bytes, flags: int) -> str:
        key = raw + bytes((flags,))
        p = self._paths.get(key)
        if p is None:
            if len(self._paths) >= _CACHE_MAX:
                self._paths.clear()
            p = self._paths[key] = _components(raw, flags)
        return p

    def _loc(self, span: bytes, off: int, base_len: int, base_n: int, rel_len: int, base_flags: int) -> tuple[str, int]:
        """A located path (k_loc) at span[off:]: (path, bytes used)."""
        rel = span[off + base_len: off + base_len + rel_len]
        if rel.endswith(b"\0"):
            rel = rel[:-1]
        s = rel.decode("utf-8", "backslashreplace")
        if not s.startswith("/") and not (base_flags & PF_ERROR and not base_len):
            base = self._path(span[off:off + base_len], base_flags)
            s = base.rstrip("/") + "/" + s if s else base
        return _normpath(s), base_len + rel_len

    def _who_miss(self, pid: int, span: bytes, off: int) -> tuple[dict, dict | None, dict | None]:
        table = self.table
        pf = table.process_fields(pid)
        if len(pf) == 1:  # unknown to the table: its fork predates us or was lost
            h = HDR.unpack_from(span, off)
            table.on_fork(pid, h[7], h[1], h[12].split(b"\0", 1)[0].decode("utf-8", "replace"),
                          h[8], h[9], h[10], h[11])
            pf = table.process_fields(pid)
        uf = table.user_fields(pid)
        w = (pf, uf.get("user"), uf.get("group"))
        if len(self._who) >= _CACHE_MAX:
            self._who.clear()
        self._who[pid] = w
        return w

    def forget(self, pid: int | None = None) -> None:
        """Drop cached process dicts (of one pid, or all after a table sweep)."""
        if pid is None:
            self._who.clear()
        else:
            self._who.pop(pid, None)

    def _event(self, ts: int, ev: dict, w: tuple) -> dict:
        pf, u, g = w
        d = {"@timestamp": ts + self.offset, "event": ev, "host": self.host, "process": pf}
        if u is not None:
            d["user"] = u
        if g is not None:
            d["group"] = g
        return d

    def _base(self, h: tuple, ev: dict, span: bytes = b"", off: int = 0) -> dict:
        pid = h[5]
        w = self._who.get(pid)
        if w is None:
            if pid not in self.table:
                self.table.on_fork(pid, h[7], h[1], h[12].split(b"\0", 1)[0].decode("utf-8", "replace"),
                                   h[8], h[9], h[10], h[11])
            w = self._who_miss(pid, span, off)
        return self._event(h[0], ev, w)

    # -- process family -----------------------------------------------------------
    def _exec(self, span: bytes, off: int, h: tuple) -> dict:
        (old_pid, sid, pgid, tty, ppid_start, exe_len, exe_n, cwd_len, cwd_n, args_len, env_len,
         exe_flags, cwd_flags, args_trunc, env_trunc) = S_EXEC.unpack_from(span, off + HDR_SIZE)
        p = off + HDR_SIZE + S_EXEC.size
        exe = _components(span[p:p + exe_len], exe_flags) if exe_len else None
        p += exe_len
        cwd = _components(span[p:p + cwd_len], cwd_flags) if cwd_len or not cwd_flags & PF_ERROR else None
        p += cwd_len
        raw = span[p:p + args_len]
        p += args_len
        if raw.endswith(b"\0"):
            raw = raw[:-1]
        args = raw.decode("utf-8", "backslashreplace").split("\0") if raw else []
        comm = h[12].split(b"\0", 1)[0].decode("utf-8", "replace")
        pid = h[5]
        self._who.pop(pid, None)
        table = self.table
        table.on_exec(pid, h[1], exe, args, cwd, h[8], h[9], h[10], h[11], h[7], parent_start_ns=ppid_start,
                      comm=comm, sid=sid, pgid=pgid, interactive=bool(tty))
        pf = table.process_fields(pid)
        if env_len and self._env_re is not None:
            sel = self._env_re.findall(b"\0" + span[p:p + env_len])
            if sel:
                pf = {**pf, "env_vars": [kv.decode("utf-8", "backslashreplace") for kv in sel]}
        if args_trunc:
            pf = {**pf, "args_truncated": True}
        d = {"@timestamp": h[0] + self.offset, "event": EV_EXEC, "host": self.host, "process": pf}
        uf = table.user_fields(pid)
        if uf:
            d.update(uf)
        return d

    def _fork(self, span: bytes, off: int, h: tuple) -> dict:
        parent_start, parent_pid, _ = S_FORK.unpack_from(span, off + HDR_SIZE)
        comm = h[12].split(b"\0", 1)[0].decode("utf-8", "replace")
        pid = h[5]
        self._who.pop(pid, None)
        self.table.on_fork(pid, parent_pid, h[1], comm, h[8], h[9], h[10], h[11], parent_start_ns=parent_start)
        return self._base(h, EV_FORK, span, off)

    def _exit(self, span: bytes, off: int, h: tuple) -> dict:
        code, _ = S_EXIT.unpack_from(span, off + HDR_SIZE)
        pid = h[5]
        self._who.pop(pid, None)
        if pid not in self.table:
            self._who_miss(pid, span, off)
        self.table.on_exit(pid, decode_wait_status(code), h[1])
        self._who.pop(pid, None)
        return self._base(h, EV_EXIT, span, off)

    def _setid(self, span: bytes, off: int, h: tuple) -> dict:
        nr, ret, suid, sgid, fsuid, fsgid, a0, a1, a2 = S_SETID.unpack_from(span, off + HDR_SIZE)
        pid = h[5]
        self._who.pop(pid, None)
        if pid not in self.table:
            self._who_miss(pid, span, off)
        self.table.on_setuid(pid, uid=h[8], euid=h[10], gid=h[9], egid=h[11], start_ns=h[1])
        self._who.pop(pid, None)
        return self._base(h, EV_UID if nr in _UID_CALLS else EV_GID, span, off)

    # -- file family ----------------------------------------------------------------
    def _flags(self, flags: int) -> list[str]:
        names = self._flag_names.get(flags)
        if names is None:
            names = self._flag_names[flags] = open_flag_names(flags)
        return names

    def _open(self, span: bytes, off: int, ts: int, pid: int) -> dict:
        ret, path_len = OPEN_RET.unpack_from(span, off + HDR_SIZE + 4)
        w = self._who.get(pid) or self._who_miss(pid, span, off)
        if ret >= 0:
            # A successful open is cached whole, by its flags, modes and
            # path bytes: the file object and the event object to use.
            key = span[off + _OPEN_KEY: off + _OPEN_PATH + path_len]
            hit = self._opens.get(key)
            if hit is None:
                hit = self._open_miss(span, off, key)
            fobj, evs = hit
            pf, u, g = w
            d = {"@timestamp": ts + self.offset, "event": evs[0], "host": self.host, "process": pf, "file": fobj}
            if u is not None:
                d["user"] = u
            if g is not None:
                d["group"] = g
            return d
        (nr, ret, flags, mode, fmode, path_len, path_n, path_flags, created,
         base_len, base_n, rel_len, base_flags, rel_trunc) = S_OPEN.unpack_from(span, off + HDR_SIZE)
        path, _ = self._loc(span, off + _OPEN_PATH, base_len, base_n, rel_len, base_flags)
        fobj = _file_object(path)
        fobj["flags"] = self._flags(flags)
        d = self._event(ts, _open_events(flags, False, True)[1], w)
        d["file"] = fobj
        return d

    def _open_miss(self, span: bytes, off: int, key: bytes) -> tuple[dict, tuple]:
        (nr, ret, flags, mode, fmode, path_len, path_n, path_flags, created,
         base_len, base_n, rel_len, base_flags, rel_trunc) = S_OPEN.unpack_from(span, off + HDR_SIZE)
        p = off + _OPEN_PATH
        fobj = _file_object(self._path(span[p:p + path_len], path_flags))
        fobj["flags"] = self._flags(flags)
        hit = (fobj, _open_events(flags, bool(created), False))
        if len(self._opens) >= _CACHE_MAX:
            self._opens.clear()
        self._opens[key] = hit
        return hit

    def _unlink(self, span: bytes, off: int, h: tuple) -> dict:
        nr, ret, flags, _, base_len, base_n, rel_len, base_flags, rel_trunc = S_UNLINK.unpack_from(span, off + HDR_SIZE)
        path, _ = self._loc(span, off + HDR_SIZE + S_UNLINK.size, base_len, base_n, rel_len, base_flags)
        d = self._base(h, EV_DELETE[0 if ret >= 0 else 1])
        fobj = _file_object(path)
        if flags & 0x200:
            fobj["type"] = "dir"
        d["file"] = fobj
        return d

    def _mkdir(self, span: bytes, off: int, h: tuple) -> dict:
        nr, ret, mode, _, base_len, base_n, rel_len, base_flags, rel_trunc = S_UNLINK.unpack_from(span, off + HDR_SIZE)
        path, _ = self._loc(span, off + HDR_SIZE + S_UNLINK.size, base_len, base_n, rel_len, base_flags)
        d = self._base(h, EV_CREATE[0 if ret >= 0 else 1])
        fobj = _file_object(path)
        fobj["type"] = "dir"
        fobj["mode"] = f"{mode & 0o7777:04o}"
        d["file"] = fobj
        return d

    def _two_paths(self, span: bytes, off: int) -> tuple[int, int, str, str]:
        """Records with two locations (rename, link): ret, flags, first, second."""
        (nr, ret, flags, _, b1, n1, r1, f1, t1, b2, n2, r2, f2, t2) = S_RENAME.unpack_from(span, off + HDR_SIZE)
        p = off + HDR_SIZE + S_RENAME.size
        first, used = self._loc(span, p, b1, n1, r1, f1)
        second, _ = self._loc(span, p + used, b2, n2, r2, f2)
        return ret, flags, first, second

    def _link(self, span: bytes, off: int, h: tuple) -> dict:
        ret, flags, target, path = self._two_paths(span, off)
        d = self._base(h, EV_CREATE[0 if ret >= 0 else 1])
        fobj = _file_object(path)
        fobj["target_path"] = target
        if flags & 1:
            fobj["type"] = "symlink"
        d["file"] = fobj
        return d

    def _rename(self, span: bytes, off: int, h: tuple) -> dict:
        ret, _, src, dst = self._two_paths(span, off)
        d = self._base(h, EV_RENAME[0 if ret >= 0 else 1])
        fobj = _file_object(dst)
        i = src.rfind("/")
        fobj["Ext"] = {"original": {"path": src, "name": src[i + 1:]}}
        d["file"] = fobj
        return d

    def _chmod(self, span: bytes, off: int, h: tuple) -> dict:
        (nr, ret, mode, _, path_len, path_n, path_flags,
         base_len, base_n, rel_len, base_flags, rel_trunc) = S_CHMOD.unpack_from(span, off + HDR_SIZE)
        p = off + HDR_SIZE + S_CHMOD.size
        if path_len or path_flags:  # fchmod: walked from the fd
            path = self._path(span[p:p + path_len], path_flags)
        else:
            path, _ = self._loc(span, p + path_len, base_len, base_n, rel_len, base_flags)
        d = self._base(h, EV_CHANGE[0 if ret >= 0 else 1])
        fobj = _file_object(path)
        fobj["mode"] = f"{mode & 0o7777:04o}"
        d["file"] = fobj
        return d

    # -- network family -------------------------------------------------------------
    def _sock(self, span: bytes, off: int, h: tuple) -> dict | None:
        (nr, ret, family, stype, proto, lport, rport, _, laddr, raddr) = S_SOCK.unpack_from(span, off + HDR_SIZE)
        if family not in (2, 10):
            return None
        rip, ntype = _ip(raddr, family)
        lip, _ = _ip(laddr, family)
        transport = "tcp" if proto == 6 else "udp" if proto == 17 else ("tcp" if stype == 1 else "udp" if stype == 2 else str(proto))
        if h[3] == K_CONNECT:
            k = 0 if ret == 0 else 2 if ret == -115 else 1  # EINPROGRESS: outcome unknown yet
            d = self._base(h, EV_CONNECT[k])
            d["source"] = {"ip": lip, "port": lport}
            d["destination"] = {"ip": rip, "port": rport}
            d["network"] = {"transport": transport, "type": ntype, "direction": "egress"}
        else:
            d = self._base(h, EV_ACCEPT[0 if ret >= 0 else 1])
            d["source"] = {"ip": rip, "port": rport}
            d["destination"] = {"ip": lip, "port": lport}
            d["network"] = {"transport": transport, "type": ntype, "direction": "ingress"}
        return d

    def _dns(self, span: bytes, off: int, h: tuple) -> dict | None:
        (nr, ret, family, stype, proto, lport, rport, plen, laddr, raddr) = S_SOCK.unpack_from(span, off + HDR_SIZE)
        p = off + HDR_SIZE + S_SOCK.size
        q = parse_dns_query(span[p:p + plen])
        if q is None or family not in (2, 10):
            return None
        qid, name, qtype = q
        rip, ntype = _ip(raddr, family)
        lip, _ = _ip(laddr, family)
        d = self._base(h, EV_DNS)
        d["dns"] = {"type": "query", "id": qid, "question": {"name": name, "type": qtype}}
        d["source"] = {"ip": lip, "port": lport}
        d["destination"] = {"ip": rip, "port": rport}
        d["network"] = {"transport": "udp", "protocol": "dns", "type": ntype, "direction": "egress"}
        return d

    # -- kernel family ---------------------------------------------------------------
    def _ptrace(self, span: bytes, off: int, h: tuple) -> dict:
        request, target, ret = S_PTRACE.unpack_from(span, off + HDR_SIZE)
        d = self._base(h, EV_PTRACE[0 if ret >= 0 else 1])
        d["process"] = {**d["process"], "ptrace": {"request": PTRACE_REQUESTS.get(request, str(request)),
                                                    "request_code": request}}
        tgt: dict[str, Any] = {"pid": target}
        info = self.table.get(target)
        if info is not None:
            tgt["entity_id"] = info.entity_id
            if info.name:
                tgt["name"] = info.name
            if info.executable:
                tgt["executable"] = info.executable
        d["target"] = {"process": tgt}
        return d

    def _memfd(self, span: bytes, off: int, h: tuple) -> dict:
        flags, ret, name_len = S_MEMFD.unpack_from(span, off + HDR_SIZE)
        p = off + HDR_SIZE + S_MEMFD.size
        raw = span[p:p + name_len]
        name = raw.rstrip(b"\0").decode("utf-8", "backslashreplace")
        d = self._base(h, EV_MEMFD[0 if ret >= 0 else 1])
        d["process"] = {**d["process"], "memfd": {"name": name, "flags": [n for b, n in _MFD_FLAGS if flags & b]}}
        d["file"] = {"name": "memfd:" + name, "path": "/memfd:" + name}
        return d

    def _module(self, span: bytes, off: int, h: tuple) -> dict:
        nr, ret, flags, path_len, path_n, path_flags, args_len = S_MODULE.unpack_from(span, off + HDR_SIZE)
        p = off + HDR_SIZE + S_MODULE.size
        d = self._base(h, EV_MODULE[0 if ret >= 0 else 1])
        mod: dict[str, Any] = {}
        if path_len:
            path = self._path(span[p:p + path_len], path_flags)
            d["file"] = _file_object(path)
            name = d["file"]["name"]
            for ext in (".zst", ".xz", ".gz"):
                if name.endswith(ext):
                    name = name[: -len(ext)]
            if name.endswith(".ko"):
                name = name[:-3]
            mod["name"] = name.replace("-", "_")
        p += path_len
        if args_len:
            mod["parameters"] = span[p:p + args_len].rstrip(b"\0").decode("utf-8", "backslashreplace")
        mod["syscall"] = NR_NAMES.get(nr, str(nr))
        d["kernel"] = {"module": mod}
        if ret < 0:
            d["error"] = {"code": os.strerror(-ret) if -ret < 200 else str(ret)}
        return d

    def _bpf(self, span: bytes, off: int, h: tuple) -> dict:
        cmd, ret, prog_type, insn_cnt, name = S_BPF.unpack_from(span, off + HDR_SIZE)
        d = self._base(h, EV_BPF[0 if ret >= 0 else 1])
        d["bpf"] = {"program": {"type": BPF_PROG_TYPES.get(prog_type, str(prog_type)),
                                "name": name.split(b"\0", 1)[0].decode("utf-8", "replace"),
                                "instructions": insn_cnt}}
        return d


__all__ = ["Decoder", "DecodeError", "FAMILIES", "FAM_BITS", "HDR", "K_ABI", "KIND_NAMES", "RECORD_SIZES",
           "S_CONFIG", "boot_offset_ns", "host_fields", "open_flag_names"]
