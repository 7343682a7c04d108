"""The live eBPF event source: this host's process, file, network and
kernel activity, normalized into the ECS events of docs/events.md.

Kernel side (``bpf/*.bpf.c``, CO-RE objects built by ``make -C bpf``): one
object per family, loaded through libbpf with ctypes. The first object
loaded creates the maps every object shares (the ring buffer, the config
map, the per-CPU counters and the per-CPU scratch buffer); every further
object is handed the same map fds with ``bpf_map__reuse_fd`` before it is
loaded. One object per family rather than one object for all: a family no
rule needs is not loaded at all (costing nothing, not even a disabled
check), and a family whose hooks a kernel refuses does not take the others
down with it.

User side: a :class:`Session` attaches the programs, seeds the process table
from ``/proc``, then hands out events a batch at a time. A thread of its own
keeps the kernel's ring buffer drained (reading it straight from its memory
mapping: :class:`~kestrel.sources.libbpf.RingReader`) into a queue, so a
burst the consumer (decoding, the rules) needs a while for waits in user
space instead of filling the ring, where the kernel would have to drop it.
It stops on request (:class:`Control`: signals, ``--duration``) and always
detaches, also when the consumer raises.
"""

from __future__ import annotations

import logging
import os
import platform
import queue
import struct
import sys
import threading
import time
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ..hookspecs import hookimpl
from . import decode as dec
from .decode import FAM_BITS, FAMILIES, K_ABI, KIND_NAMES, S_CONFIG, Decoder

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Config
    from ..engine import Engine
    from ..io.readstats import ReadStats

log = logging.getLogger("kestrel.ebpf")

OBJECT_FILES = {"process": "process.bpf.o", "file": "file.bpf.o", "network": "net.bpf.o", "kernel": "kernel.bpf.o"}
SHARED_MAPS = ("k_events", "k_config", "k_counters", "k_scratch")
BTF_PATH = "/sys/kernel/btf/vmlinux"
CFG_FILE_READS, CFG_FILE_FAILED, CFG_FILE_READ_NAMES, CFG_NET_FAILED, CFG_NET_DNS = 1, 2, 4, 1, 2
OPEN_NAME_MAX, OPEN_NAMES_MAX = 64, 1024
DEFAULT_RING_BYTES = 16 << 20
SWEEP_EVERY_S = 60.0
CLOCK_EVERY_S = 10.0


class EbpfUnavailable(RuntimeError):
    """This host or this process cannot run the eBPF source (and why)."""


def bpf_dir() -> str:
    """Where the built ``*.bpf.o`` live: ``$KESTREL_BPF_DIR``, else the
    package's ``data/bpf`` (where ``make -C bpf`` puts them)."""
    env = os.environ.get("KESTREL_BPF_DIR")
    if env:
        return env
    return str(resources.files("kestrel") / "data" / "bpf")


def check_host(families: Iterable[str] = FAMILIES, objects: str | None = None) -> None:
    """Raise EbpfUnavailable with a message a user can act on."""
    if sys.platform != "linux":
        raise EbpfUnavailable(f"the eBPF source needs Linux (this is {platform.system()})")
    if platform.machine() != "x86_64":
        raise EbpfUnavailable(f"the eBPF programs decode x86-64 system calls; this machine is {platform.machine()}")
    if os.geteuid() != 0:
        raise EbpfUnavailable("the eBPF source must run as root (loading BPF programs needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN): try sudo")
    if not os.path.exists(BTF_PATH):
        raise EbpfUnavailable(f"this kernel has no BTF ({BTF_PATH} is missing; it needs CONFIG_DEBUG_INFO_BTF=y)")
    if not os.path.exists("/sys/fs/bpf") and not os.path.exists("/proc/sys/kernel/bpf_stats_enabled"):
        raise EbpfUnavailable("this kernel has no BPF support (CONFIG_BPF_SYSCALL)")
    from .libbpf import BpfError, load_libbpf

    try:
        load_libbpf()
    except BpfError as exc:
        raise EbpfUnavailable(str(exc)) from None
    d = objects or bpf_dir()
    missing = [OBJECT_FILES[f] for f in families if not os.path.exists(os.path.join(d, OBJECT_FILES[f]))]
    if missing:
        raise EbpfUnavailable(f"the BPF programs are not built ({', '.join(missing)} missing in {d}): run `make setup` "
                              "(needs clang, bpftool and libbpf-dev) or `make -C bpf`")


@dataclass
class ProbeOptions:
    families: tuple[str, ...] = FAMILIES
    file_reads: bool = True      # read-only opens (event.action "open")
    # Read-only opens only of files with these names (filtered in the
    # kernel); None: of every file.
    open_names: tuple[str, ...] | None = None
    failed: bool = False         # failed file operations and refused connections
    dns: bool = True             # DNS queries (UDP to port 53): a check on every send*()
    env: bool = True             # capture the environment at exec (process.env_vars)
    args_max: int = 4096
    ring_bytes: int = DEFAULT_RING_BYTES
    self_filter: bool = True
    poll_ms: int = 100
    objects: str | None = None
    reader: str = "mmap"         # "mmap" (RingReader) or "libbpf" (ring_buffer__poll with a callback)
    reader_thread: bool = True   # drain the ring from a thread of its own (see Session._pumped)
    queue_bytes: int = 256 << 20 # bound on what that thread holds for the consumer

    def __post_init__(self) -> None:
        fams = tuple(f for f in FAMILIES if f in set(self.families) | {"process"})
        unknown = set(self.families) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown eBPF event famil{'ies' if len(unknown) > 1 else 'y'} {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(FAMILIES)})")
        self.families = fams
        if self.open_names is not None:
            names = tuple(sorted({n for n in self.open_names if n}))
            if len(names) > OPEN_NAMES_MAX or any(len(n.encode()) >= OPEN_NAME_MAX for n in names):
                names = None  # cannot be filtered exactly in the kernel: let all through
            self.open_names = names
        if self.reader not in ("mmap", "libbpf"):
            raise ValueError(f"unknown ring buffer reader {self.reader!r} (mmap, libbpf)")
        rb = self.ring_bytes
        if rb < 4096 or rb & (rb - 1):
            raise ValueError("ring buffer size must be a power of two of at least 4096 bytes")


class Probe:
    """The kernel side: program objects loaded with shared maps, attached.

    ``start`` either attaches everything asked for (a family other than
    ``process`` that the kernel refuses is logged and left out) or leaves
    nothing behind; ``close`` detaches every program and closes every
    object (the kernel frees the maps with the last fd)."""

    def __init__(self, options: ProbeOptions) -> None:
        self.options = options
        self.objects: dict[str, Any] = {}
        self.links: list[Any] = []
        self.failed: dict[str, str] = {}
        self.ncpus = 1
        self.reader: Any = None
        self._fds: dict[str, int] = {}

    @property
    def families(self) -> list[str]:
        return [f for f in FAMILIES if f in self.objects]

    def start(self) -> None:
        from .libbpf import (
            BpfError,
            BpfObject,
            LibbpfRing,
            RingReader,
            num_possible_cpus,
        )

        opts = self.options
        d = opts.objects or bpf_dir()
        try:
            self.ncpus = num_possible_cpus()
            for fam in opts.families:
                path = os.path.join(d, OBJECT_FILES[fam])
                try:
                    obj = BpfObject(path)
                    try:
                        if not self._fds:
                            obj.map("k_events").set_max_entries(opts.ring_bytes)
                        else:
                            for name in SHARED_MAPS:
                                obj.map(name).reuse_fd(self._fds[name])
                        obj.load()
                    except BaseException:
                        obj.close()
                        raise
                except BpfError as exc:
                    if fam == "process":
                        raise
                    log.warning("the %s event family is not available on this kernel: %s", fam, exc)
                    self.failed[fam] = str(exc)
                    continue
                self.objects[fam] = obj
                if fam == "file" and opts.open_names is not None:
                    self._fill_open_names(obj)
                if not self._fds:
                    self._fds = {name: obj.map(name).fd for name in SHARED_MAPS}
                    self.ring_size = obj.map("k_events").max_entries
                    self.write_config()
            for fam, obj in self.objects.items():
                for prog in obj.programs():
                    try:
                        self.links.append(prog.attach())
                    except BpfError as exc:
                        if fam == "process":
                            raise
                        log.warning("could not attach %s (%s events): %s", prog.name, fam, exc)
                        self.failed.setdefault(fam, str(exc))
            self.write_config()
            if opts.reader == "libbpf":
                self.reader = LibbpfRing(self._fds["k_events"])
            else:
                self.reader = RingReader(self._fds["k_events"], self.ring_size)
        except BaseException:
            self.close()
            raise

    def _fill_open_names(self, obj: Any) -> None:
        from .libbpf import map_update

        fd = obj.map("k_open_names").fd
        for name in self.options.open_names or ():
            map_update(fd, name.encode().ljust(OPEN_NAME_MAX, b"\0"), b"\1")

    def config_bytes(self) -> bytes:
        o = self.options
        fams = 0
        for f in self.objects:
            fams |= FAM_BITS[f]
        return S_CONFIG.pack(
            os.getpid() if o.self_filter else 0,
            fams,
            (CFG_FILE_READS if o.file_reads else 0) | (CFG_FILE_FAILED if o.failed else 0)
            | (CFG_FILE_READ_NAMES if o.open_names is not None else 0),
            (CFG_NET_FAILED if o.failed else 0) | (CFG_NET_DNS if o.dns else 0),
            max(0, min(o.args_max, 4096)),
            4096 if o.env else 0,
            K_ABI,
            0,
        )

    def write_config(self) -> None:
        from .libbpf import map_update

        map_update(self._fds["k_config"], struct.pack("<I", 0), self.config_bytes())

    def counters(self) -> dict[str, dict[str, int]]:
        """Records the kernel emitted and dropped (ring buffer full), per family."""
        from .libbpf import percpu_sum

        fd = self._fds.get("k_counters")
        out: dict[str, dict[str, int]] = {}
        if fd is None:
            return out
        for i, fam in enumerate(FAMILIES):
            out[fam] = {"emitted": percpu_sum(fd, 2 * i, self.ncpus), "dropped": percpu_sum(fd, 2 * i + 1, self.ncpus)}
        return out

    def detach(self) -> None:
        links, self.links = self.links, []
        for link in links:
            try:
                link.destroy()
            except Exception as exc:  # pragma: no cover - keep detaching the rest
                log.warning("could not detach %s: %s", link.name, exc)

    def close(self) -> None:
        self.detach()
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        objs, self.objects = self.objects, {}
        for obj in objs.values():
            obj.close()
        self._fds = {}


class Control:
    """How a caller steers a running session: ``stop()`` (from a signal
    handler or another thread), a deadline, and the session itself for its
    counters."""

    def __init__(self, duration: float | None = None) -> None:
        self.stopping = False
        self.deadline = time.monotonic() + duration if duration else None
        self.session: Session | None = None

    def stop(self) -> None:
        self.stopping = True


class Session:
    """One run of the source: attach, seed, poll, decode, detach."""

    def __init__(self, options: ProbeOptions, control: Control | None = None, table: Any = None) -> None:
        self.options = options
        self.control = control or Control()
        self.control.session = self
        self.table = table
        self.probe = Probe(options)
        self.decoder: Decoder | None = None
        self.started = 0.0
        self.stopped = 0.0
        self.cpu0 = 0.0
        self.cpu = 0.0
        self.events = 0
        self.polls = 0
        self.pump_cpu = 0.0
        self.pump_error: BaseException | None = None
        self._pump: tuple[threading.Thread, threading.Event] | None = None
        # Set once the programs are attached and the process table seeded:
        # everything that happens from then on is seen.
        self.ready = threading.Event()

    # -- the generator ---------------------------------------------------------
    def batches(self) -> Iterator[list[dict]]:
        """Lists of events, as they arrive, until stopped."""
        from ..proctable import ProcessTable

        self.probe.start()
        try:
            if self.table is None:
                self.table = ProcessTable()
            self.table.seed_from_proc()  # after attaching: nothing born in between is missed
            decoder = self.decoder = Decoder(self.table, env_vars=dec.DEFAULT_ENV_VARS if self.options.env else None)
            decode = decoder.decode
            self.started = time.monotonic()
            self.cpu0 = cpu0 = time.thread_time()
            thread_time = time.thread_time
            next_sweep = self.started + SWEEP_EVERY_S
            next_clock = self.started + CLOCK_EVERY_S
            log.info("eBPF source attached: %s", ", ".join(self.probe.families))
            self.ready.set()
            spans = self._pumped() if self.options.reader_thread else self._polled()
            for span, offs in spans:
                self.cpu = thread_time() - cpu0
                if offs:
                    out: list[dict] = []
                    decode(span, offs, out)
                    if out:
                        self.events += len(out)
                        yield out
                else:
                    # A quiet poll: an empty list, so the consumer can flush
                    # batches waiting on a latency bound (Wasm rules).
                    yield []
                now = time.monotonic()
                if now >= next_clock:
                    decoder.refresh_clock()
                    next_clock = now + CLOCK_EVERY_S
                if now >= next_sweep:
                    if self.table.sweep():
                        decoder.forget()
                    next_sweep = now + SWEEP_EVERY_S
        finally:
            self.stopped = time.monotonic()
            self.cpu = time.thread_time() - self.cpu0
            if self.probe.reader is not None:
                self.final_high_water = self.probe.reader.high_water
            try:
                self.final_counters = self.probe.counters()
            except Exception:  # pragma: no cover
                self.final_counters = {}
            self.probe.close()

    def _stop_due(self) -> bool:
        ctl = self.control
        return ctl.stopping or (ctl.deadline is not None and time.monotonic() >= ctl.deadline)

    def _polled(self) -> Iterator[tuple[bytes, list[int]]]:
        """Spans read by the consuming thread itself, between its batches."""
        poll = self.probe.reader.poll
        timeout = self.options.poll_ms
        while True:
            yield poll(timeout)
            self.polls += 1
            if self._stop_due():
                break
        # Detach first, then take what is still in the ring: nothing emitted
        # before the stop is left behind.
        self.probe.detach()
        yield poll(0)

    def _pumped(self) -> Iterator[tuple[bytes, list[int]]]:
        """Spans read by a thread of their own that keeps the kernel's ring
        drained into memory while the consumer (decoding, rules) is busy: a
        burst the consumer takes a while to work through then waits in user
        space (up to ``queue_bytes``) instead of filling the ring, where the
        kernel would have to drop it."""
        reader = self.probe.reader
        timeout = self.options.poll_ms
        limit = self.options.queue_bytes
        q: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()
        produced = [0]  # bytes queued: written by the reader thread only
        consumed = 0

        def pump() -> None:
            t0 = time.thread_time()
            try:
                while not stop.is_set():
                    if produced[0] - consumed > limit:
                        time.sleep(0.005)  # the ring fills meanwhile; past it the kernel drops (and counts)
                        continue
                    span, offs = reader.poll(timeout)
                    self.polls += 1
                    if offs:
                        produced[0] += len(span)
                        q.put((span, offs))
                    self.pump_cpu = time.thread_time() - t0
                span, offs = reader.poll(0)  # the programs are detached: the rest
                if offs:
                    q.put((span, offs))
            except BaseException as exc:  # handed to the consumer
                self.pump_error = exc
            finally:
                self.pump_cpu = time.thread_time() - t0
                q.put(None)

        th = threading.Thread(target=pump, name="kestrel-ebpf-ring", daemon=True)
        self._pump = (th, stop)
        th.start()
        idle: tuple[bytes, list[int]] = (b"", [])
        stopping = False
        try:
            while True:
                try:
                    item = q.get(timeout=timeout / 1000)
                except queue.Empty:
                    item = idle
                if item is None:
                    break
                consumed += len(item[0])
                yield item
                if not stopping and self._stop_due():
                    stopping = True
                    self.probe.detach()
                    stop.set()
        finally:
            stop.set()
            th.join(10)
        if self.pump_error is not None:
            raise self.pump_error

    def close(self) -> None:
        """Detach and free everything now (idempotent). The generator does
        this itself when it ends or is closed; this is for a caller that
        cannot wait for a suspended generator to be collected."""
        self.control.stop()
        pump = self._pump
        if pump is not None:  # the reader thread must be gone before the ring is unmapped
            pump[1].set()
            pump[0].join(10)
        self.probe.close()

    def events_iter(self, stats: "ReadStats | None" = None) -> Iterator[dict]:
        for batch in self.batches():
            if stats is not None:
                stats.events += len(batch)
            yield from batch

    # -- counters ------------------------------------------------------------------
    def counters(self) -> dict[str, Any]:
        """Events by kind, kernel counters, decode errors, process table."""
        d = self.decoder
        kinds = {}
        if d is not None:
            kinds = {KIND_NAMES.get(k, str(k)): n for k, n in enumerate(d.counts) if n}
        kernel = self.probe.counters() if self.probe.objects else getattr(self, "final_counters", {})
        end = self.stopped or time.monotonic()
        return {
            "events": self.events,
            "records": kinds,
            "emitted": sum(v["emitted"] for v in kernel.values()),
            "dropped": sum(v["dropped"] for v in kernel.values()),
            "kernel": kernel,
            "decode_errors": d.errors if d is not None else 0,
            "ring_high_water": self.probe.reader.high_water if self.probe.reader is not None else getattr(self, "final_high_water", 0),
            "ring_bytes": getattr(self.probe, "ring_size", self.options.ring_bytes),
            "seconds": (end - self.started) if self.started else 0.0,
            # CPU time of the ring-reading thread and of the thread consuming
            # the source (decode, and whatever the consumer does with the
            # events, e.g. the engine); updated once per batch, per thread,
            # so exact also when the source runs in a thread of a busier process.
            "cpu_seconds": self.cpu + self.pump_cpu,
            "families": self.probe.families or list(self.options.families),
            "unavailable": dict(self.probe.failed),
            "processes": self.table.stats if self.table is not None else {},
        }


def format_counters(c: dict[str, Any]) -> str:
    recs = ", ".join(f"{k} {v}" for k, v in sorted(c["records"].items(), key=lambda kv: -kv[1])) or "none"
    line = (f"events {c['events']} in {c['seconds']:.1f}s ({recs}); kernel emitted {c['emitted']}, "
            f"dropped {c['dropped']}; decode errors {c['decode_errors']}")
    if c["events"]:
        line += f"; agent CPU {1000 * c['cpu_seconds'] / c['events'] * 1000:.1f} ms per 1000 events"
    return line


# -- which families and filters the loaded rules need ---------------------------------
_READ_VALUES = ("access", "open")


def _type_fields(f: Any) -> str | None:
    from ..eql import ast

    if isinstance(f, ast.Field) and f.path in (("event", "type"), ("event", "action"), ("event", "category")):
        return f.path[1]
    return None


def _may_match_read(e: Any) -> bool:
    """Whether a condition can hold for a read-only open (event.category
    "file", event.type "access", event.action "open"). Conservative: True
    unless the condition plainly pins the type or action to other values."""
    import fnmatch

    from ..eql import ast

    want = {"type": ("access",), "action": ("open",), "category": ("file",)}
    if isinstance(e, ast.And):
        return all(_may_match_read(t) for t in e.terms)
    if isinstance(e, ast.Or):
        return any(_may_match_read(t) for t in e.terms)
    if isinstance(e, ast.Compare) and e.op == "==":
        for a, b in ((e.left, e.right), (e.right, e.left)):
            key = _type_fields(a)
            if key and isinstance(b, ast.Literal) and isinstance(b.value, str):
                return b.value.lower() in want[key]
        return True
    if isinstance(e, ast.InSet) and not e.negate:
        key = _type_fields(e.expr)
        if key and all(isinstance(i, ast.Literal) for i in e.items):
            return any(isinstance(i.value, str) and i.value.lower() in want[key] for i in e.items)
        return True
    if isinstance(e, ast.StringPredicate) and e.op in (":", "like"):
        key = _type_fields(e.expr)
        if key and all(isinstance(p, ast.Literal) and isinstance(p.value, str) for p in e.patterns):
            return any(fnmatch.fnmatchcase(v, p.value.lower()) for p in e.patterns for v in want[key])
        return True
    return True


_PATH_FIELDS = {("file", "path"): "path", ("file", "name"): "name"}


def _basename_of(kind: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if kind == "name":
        return value if "/" not in value else None
    name = value.rsplit("/", 1)[-1]
    return name or None


def _read_names(e: Any) -> set[str] | None:
    """The file names a condition limits read-only opens to, when it plainly
    does (``file.path == "/etc/shadow"``, ``file.name in (...)``, a case-
    sensitive comparison of literals); None when it does not."""
    from ..eql import ast

    if isinstance(e, ast.And):
        found = [n for n in (_read_names(t) for t in e.terms) if n is not None]
        if not found:
            return None
        out = found[0]
        for n in found[1:]:
            out = out & n
        return out
    if isinstance(e, ast.Or):
        out: set[str] = set()
        for t in e.terms:
            n = _read_names(t)
            if n is None:
                return None
            out |= n
        return out
    items: list[Any] = []
    field = None
    if isinstance(e, ast.Compare) and e.op == "==":
        for a, b in ((e.left, e.right), (e.right, e.left)):
            if isinstance(a, ast.Field) and a.path in _PATH_FIELDS and isinstance(b, ast.Literal):
                field, items = a, [b]
    elif isinstance(e, ast.InSet) and not e.negate and not e.insensitive:
        if isinstance(e.expr, ast.Field) and e.expr.path in _PATH_FIELDS:
            field, items = e.expr, list(e.items)
    elif isinstance(e, ast.StringPredicate) and e.op == "like" and not e.insensitive:
        # Case-sensitive wildcards whose last path component is literal
        # ("/home/*/.ssh/id_rsa"): the kernel can still match that name.
        if isinstance(e.expr, ast.Field) and e.expr.path in _PATH_FIELDS and all(isinstance(p, ast.Literal) for p in e.patterns):
            tails = [p.value.rsplit("/", 1)[-1] if isinstance(p.value, str) else "*" for p in e.patterns]
            if all(t and "*" not in t and "?" not in t for t in tails):
                field, items = e.expr, [ast.Literal(t) if _PATH_FIELDS[e.expr.path] == "path" else p
                                        for t, p in zip(tails, e.patterns)]
    if field is None or not items or not all(isinstance(i, ast.Literal) for i in items):
        return None
    names = {_basename_of(_PATH_FIELDS[field.path], i.value) for i in items}
    if None in names:
        return None
    return names  # type: ignore[return-value]


def _event_queries(base: Any) -> Iterator[Any]:
    from ..eql import ast

    if isinstance(base, ast.EventQuery):
        yield base
    elif base is not None:
        for s in list(getattr(base, "steps", [])) + ([base.until] if getattr(base, "until", None) else []):
            yield s.query


def options_for_rules(engine: "Engine", **overrides: Any) -> ProbeOptions:
    """The families and kernel-side filters the engine's rules need: no
    family whose events no rule reads, no read-only opens unless a rule can
    match one, no environment capture unless a rule reads process.env_vars."""
    types: set[str | None] = set()
    reads = False
    env = False
    dns = False
    # Names of the files whose read-only opens some rule can match; None
    # once one rule can match a read-only open of any file.
    names: set[str] | None = set()
    # Case-insensitive everywhere (endgame, or --case-insensitive): the
    # kernel's exact name match would be narrower than the rules.
    exact = engine.config.case_sensitive is not False and engine.config.dialect == "elasticsearch"
    for rule in engine.rules:
        if rule.disabled:
            continue
        base = rule.parsed.base
        for q in _event_queries(base):
            t = q.event_type.lower() if isinstance(q.event_type, str) else None
            if t == "any":
                t = None
            types.add(t)
            if t in (None, "file") and _may_match_read(q.condition):
                reads = True
                if names is not None:
                    n = _read_names(q.condition) if exact else None
                    names = None if n is None else names | n
        if "env_vars" in rule.query:
            env = True
        if "dns." in rule.query or "lookup_requested" in rule.query:
            dns = True
    fams = {"process"}
    if None in types or "file" in types:
        fams.add("file")
    if None in types or "network" in types:
        fams.add("network")
    if None in types or types & {"process", "driver"}:
        fams.add("kernel")
    opts: dict[str, Any] = {"families": tuple(f for f in FAMILIES if f in fams), "file_reads": reads, "env": env, "dns": dns,
                            "open_names": tuple(sorted(names)) if reads and names is not None else None}
    opts.update(overrides)
    return ProbeOptions(**opts)


# -- the plugin ------------------------------------------------------------------------------
def parse_spec(spec: str) -> dict[str, Any]:
    """``ebpf`` or ``ebpf:FAMILY,FAMILY`` (``ebpf:all``): families to watch."""
    rest = spec.split(":", 1)[1] if ":" in spec else ""
    out: dict[str, Any] = {}
    names = [n.strip().lower() for n in rest.split(",") if n.strip()]
    if names and names != ["all"]:
        alias = {"net": "network", "proc": "process", "files": "file"}
        out["families"] = tuple(alias.get(n, n) for n in names)
    return out


class EbpfSource:
    """``ebpf`` / ``ebpf:process,file``: live events from this host.

    Options come from ``config.extra["ebpf"]`` (a dict of ProbeOptions
    fields; the CLI fills it from the loaded rules) and the spec; a
    :class:`Control` in ``config.extra["ebpf_control"]`` lets the caller stop
    the run and read its counters."""

    name = "ebpf"

    def __init__(self, config: "Config | None" = None) -> None:
        self.config = config

    def accepts(self, spec: str) -> bool:
        return spec == "ebpf" or spec.startswith("ebpf:")

    def session(self, spec: str = "ebpf") -> Session:
        extra = getattr(self.config, "extra", None) or {}
        opts: dict[str, Any] = dict(extra.get("ebpf") or {})
        opts.update(parse_spec(spec))
        options = ProbeOptions(**opts)
        check_host(options.families, options.objects)
        return Session(options, extra.get("ebpf_control"))

    def open(self, spec: str, stats: "ReadStats") -> Iterator[dict]:
        try:
            session = self.session(spec)
        except EbpfUnavailable as exc:
            from ..io.readstats import EventReadError

            raise EventReadError(str(exc)) from None
        return session.events_iter(stats)


@hookimpl
def kestrel_event_sources(config: "Config") -> list[EbpfSource]:
    return [EbpfSource(config)]


__all__ = ["Control", "EbpfSource", "EbpfUnavailable", "Probe", "ProbeOptions", "Session", "bpf_dir", "check_host",
           "format_counters", "options_for_rules", "parse_spec"]
