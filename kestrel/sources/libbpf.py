"""A small ctypes binding to libbpf (``libbpf.so.1``, 1.x API).

Only what the eBPF source needs: open and load CO-RE objects, share maps
between them, attach and detach programs, read and write maps, and consume
a BPF ring buffer. libbpf 1.x reports errors by returning NULL or a negative
errno (and setting ``errno``); every call here turns that into ``BpfError``.

Nothing here runs per event except :class:`RingReader` (the mmap consumer);
the ctypes calls are start-up and shutdown work.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import logging
import mmap
import os
import select
import struct
import time

log = logging.getLogger("kestrel.ebpf.libbpf")

LIBBPF_NAMES = ("libbpf.so.1", "libbpf.so")


class BpfError(OSError):
    """A libbpf call failed."""


_c_p = ctypes.c_void_p
SAMPLE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
PRINT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "bpf_object__open_file": (_c_p, [ctypes.c_char_p, _c_p]),
    "bpf_object__load": (ctypes.c_int, [_c_p]),
    "bpf_object__close": (None, [_c_p]),
    "bpf_object__find_map_by_name": (_c_p, [_c_p, ctypes.c_char_p]),
    "bpf_object__next_program": (_c_p, [_c_p, _c_p]),
    "bpf_object__next_map": (_c_p, [_c_p, _c_p]),
    "bpf_map__fd": (ctypes.c_int, [_c_p]),
    "bpf_map__name": (ctypes.c_char_p, [_c_p]),
    "bpf_map__reuse_fd": (ctypes.c_int, [_c_p, ctypes.c_int]),
    "bpf_map__set_max_entries": (ctypes.c_int, [_c_p, ctypes.c_uint32]),
    "bpf_map__max_entries": (ctypes.c_uint32, [_c_p]),
    "bpf_map__value_size": (ctypes.c_uint32, [_c_p]),
    "bpf_program__name": (ctypes.c_char_p, [_c_p]),
    "bpf_program__section_name": (ctypes.c_char_p, [_c_p]),
    "bpf_program__set_autoload": (ctypes.c_int, [_c_p, ctypes.c_bool]),
    "bpf_program__attach": (_c_p, [_c_p]),
    "bpf_link__destroy": (ctypes.c_int, [_c_p]),
    "ring_buffer__new": (_c_p, [ctypes.c_int, SAMPLE_FN, _c_p, _c_p]),
    "ring_buffer__poll": (ctypes.c_int, [_c_p, ctypes.c_int]),
    "ring_buffer__consume": (ctypes.c_int, [_c_p]),
    "ring_buffer__free": (None, [_c_p]),
    "bpf_map_update_elem": (ctypes.c_int, [ctypes.c_int, _c_p, _c_p, ctypes.c_uint64]),
    "bpf_map_lookup_elem": (ctypes.c_int, [ctypes.c_int, _c_p, _c_p]),
    "bpf_map_delete_elem": (ctypes.c_int, [ctypes.c_int, _c_p]),
    "libbpf_num_possible_cpus": (ctypes.c_int, []),
    "libbpf_set_print": (_c_p, [_c_p]),
}

_lib: ctypes.CDLL | None = None
_print_cb = None  # kept alive for as long as libbpf may call it


def load_libbpf() -> ctypes.CDLL:
    """libbpf, bound once; raises BpfError when it is not installed."""
    global _lib
    if _lib is not None:
        return _lib
    last: Exception | None = None
    for name in LIBBPF_NAMES:
        try:
            lib = ctypes.CDLL(name, use_errno=True)
            break
        except OSError as exc:
            last = exc
    else:
        raise BpfError(_errno.ENOENT, f"libbpf is not installed (Debian: apt-get install libbpf1): {last}")
    for fname, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, fname)
        fn.restype = restype
        fn.argtypes = argtypes
    _install_printer(lib)
    _lib = lib
    return lib


def _install_printer(lib: ctypes.CDLL) -> None:
    """Route libbpf's messages (verifier logs included) to logging: warnings
    as warnings, the rest at debug level. The va_list is formatted with the
    C library's vsnprintf (on x86_64 and arm64 a va_list argument is passed
    as a pointer, which ctypes can hand straight through)."""
    global _print_cb
    try:
        libc = ctypes.CDLL(None)
        vsnprintf = libc.vsnprintf
        vsnprintf.restype = ctypes.c_int
        vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
    except (OSError, AttributeError):  # pragma: no cover - no libc symbols
        return
    buf = ctypes.create_string_buffer(1 << 20)  # verifier logs run long

    def printer(level: int, fmt: bytes, va: int) -> int:
        try:
            n = vsnprintf(buf, len(buf), fmt, va)
            text = buf.value.decode("utf-8", "replace").rstrip()
            if text:
                log.log(logging.WARNING if level == 0 else logging.DEBUG, "%s", text)
            return n
        except Exception:  # pragma: no cover - never raise into C
            return 0

    _print_cb = PRINT_FN(printer)
    lib.libbpf_set_print(ctypes.cast(_print_cb, ctypes.c_void_p))


def _err(what: str, ret: int | None = None) -> BpfError:
    code = -ret if ret is not None and ret < 0 else ctypes.get_errno() or _errno.EINVAL
    return BpfError(code, f"{what}: {os.strerror(code)}")


class BpfMap:
    def __init__(self, ptr: int, lib: ctypes.CDLL) -> None:
        self.ptr = ptr
        self._lib = lib

    @property
    def name(self) -> str:
        return self._lib.bpf_map__name(self.ptr).decode()

    @property
    def fd(self) -> int:
        return self._lib.bpf_map__fd(self.ptr)

    @property
    def value_size(self) -> int:
        return self._lib.bpf_map__value_size(self.ptr)

    @property
    def max_entries(self) -> int:
        return self._lib.bpf_map__max_entries(self.ptr)

    def set_max_entries(self, n: int) -> None:
        ret = self._lib.bpf_map__set_max_entries(self.ptr, n)
        if ret < 0:
            raise _err(f"resizing map {self.name}", ret)

    def reuse_fd(self, fd: int) -> None:
        ret = self._lib.bpf_map__reuse_fd(self.ptr, fd)
        if ret < 0:
            raise _err(f"sharing map {self.name}", ret)


class BpfLink:
    def __init__(self, ptr: int, name: str, lib: ctypes.CDLL) -> None:
        self.ptr = ptr
        self.name = name
        self._lib = lib

    def destroy(self) -> None:
        if self.ptr:
            self._lib.bpf_link__destroy(self.ptr)
            self.ptr = 0


class BpfProgram:
    def __init__(self, ptr: int, lib: ctypes.CDLL) -> None:
        self.ptr = ptr
        self._lib = lib
        self.name = lib.bpf_program__name(ptr).decode()
        self.section = (lib.bpf_program__section_name(ptr) or b"").decode()

    def set_autoload(self, on: bool) -> None:
        ret = self._lib.bpf_program__set_autoload(self.ptr, on)
        if ret < 0:
            raise _err(f"program {self.name}", ret)

    def attach(self) -> BpfLink:
        ptr = self._lib.bpf_program__attach(self.ptr)
        if not ptr:
            raise _err(f"attaching {self.name} ({self.section})")
        return BpfLink(ptr, self.name, self._lib)


class BpfObject:
    """One ``.bpf.o``: open, (share maps,) load, attach, close."""

    def __init__(self, path: str) -> None:
        self._lib = lib = load_libbpf()
        self.path = path
        ctypes.set_errno(0)
        self.ptr = lib.bpf_object__open_file(os.fsencode(path), None)
        if not self.ptr:
            raise _err(f"opening {path}")
        self.loaded = False

    def map(self, name: str) -> BpfMap:
        ptr = self._lib.bpf_object__find_map_by_name(self.ptr, name.encode())
        if not ptr:
            raise BpfError(_errno.ENOENT, f"{os.path.basename(self.path)} has no map {name!r}")
        return BpfMap(ptr, self._lib)

    def programs(self) -> list[BpfProgram]:
        out = []
        p = self._lib.bpf_object__next_program(self.ptr, None)
        while p:
            out.append(BpfProgram(p, self._lib))
            p = self._lib.bpf_object__next_program(self.ptr, p)
        return out

    def load(self) -> None:
        ret = self._lib.bpf_object__load(self.ptr)
        if ret < 0:
            raise _err(f"loading {os.path.basename(self.path)} (run with -vv for the verifier log)", ret)
        self.loaded = True

    def close(self) -> None:
        if self.ptr:
            self._lib.bpf_object__close(self.ptr)
            self.ptr = 0


def num_possible_cpus() -> int:
    n = load_libbpf().libbpf_num_possible_cpus()
    if n < 0:
        raise _err("counting CPUs", n)
    return n


def map_update(fd: int, key: bytes, value: bytes, flags: int = 0) -> None:
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(value, len(value))
    ret = load_libbpf().bpf_map_update_elem(fd, k, v, flags)
    if ret < 0:
        raise _err("updating a map", ret)


def map_delete(fd: int, key: bytes) -> None:
    k = ctypes.create_string_buffer(key, len(key))
    ret = load_libbpf().bpf_map_delete_elem(fd, k)
    if ret < 0 and ret != -_errno.ENOENT:
        raise _err("deleting from a map", ret)


def map_lookup(fd: int, key: bytes, value_size: int) -> bytes:
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(value_size)
    ret = load_libbpf().bpf_map_lookup_elem(fd, k, v)
    if ret < 0:
        raise _err("reading a map", ret)
    return v.raw


def percpu_sum(fd: int, key: int, ncpus: int) -> int:
    """Sum of one u64 slot of a per-CPU array across CPUs."""
    raw = map_lookup(fd, struct.pack("<I", key), 8 * ncpus)
    return sum(struct.unpack(f"<{ncpus}Q", raw))


# -- ring buffer consumers --------------------------------------------------------
class LibbpfRing:
    """libbpf's own consumer: ``ring_buffer__poll`` calling back into Python
    once per record. The callback appends the record to one buffer; the
    batch is handed out, like RingReader's, as (bytes, offsets) when the
    poll returns. Portable (libbpf does the memory ordering), but every
    record costs a ctypes callback: see docs/deployment.md for the figures."""

    def __init__(self, map_fd: int, linger_s: float = 0.002, batch_records: int = 256) -> None:
        self._lib = lib = load_libbpf()
        self.linger_s = linger_s
        self.batch_records = batch_records
        self._buf = bytearray()
        self._offs: list[int] = []
        buf = self._buf
        offs = self._offs
        string_at = ctypes.string_at
        self.high_water = 0

        def on_sample(ctx: int, data: int, size: int) -> int:
            offs.append(len(buf))
            buf.extend(string_at(data, size))
            return 0

        self._cb = SAMPLE_FN(on_sample)
        ctypes.set_errno(0)
        self.ptr = lib.ring_buffer__new(map_fd, self._cb, None, None)
        if not self.ptr:
            raise _err("creating the ring buffer consumer")

    def poll(self, timeout_ms: int) -> tuple[bytes, list[int]]:
        """Records available now, waiting up to ``timeout_ms`` for the first."""
        ret = self._lib.ring_buffer__poll(self.ptr, timeout_ms)
        if ret < 0 and ret != -_errno.EINTR:
            raise _err("polling the ring buffer", ret)
        if 0 < len(self._offs) < self.batch_records and self.linger_s and timeout_ms:
            time.sleep(self.linger_s)  # as RingReader: let a batch build up
            self._lib.ring_buffer__consume(self.ptr)
        if not self._offs:
            return b"", []
        span = bytes(self._buf)
        offs = self._offs[:]
        self._buf.clear()
        self._offs.clear()
        return span, offs

    def close(self) -> None:
        if self.ptr:
            self._lib.ring_buffer__free(self.ptr)
            self.ptr = 0


_BUSY = 1 << 31
_DISCARD = 1 << 30


class RingReader:
    """A BPF ring buffer consumed straight from its memory mapping.

    The kernel maps the ring as: one writable page holding the consumer
    position, one read-only page holding the producer position, then the data
    area mapped twice in a row, so a record that wraps is still contiguous.
    A poll walks the record headers in place up to the first record still
    being written, then copies that committed span with one slice and
    returns (bytes, offsets of the record bodies in it): the records are
    parsed from one bytes object, with no ctypes call and no allocation per
    record.

    Positions and headers are read and written as whole native words
    (memoryview casts: one 8- or 4-byte load or store each); ``struct`` with
    an explicit byte order would move them a byte at a time, and the kernel
    would see a torn consumer position and refuse records (EAGAIN) with the
    ring nearly empty. Headers are read before the bodies they cover are
    copied, and x86-64 does not reorder loads, so a committed header implies
    a complete body (on weaker memory models this reader would need an
    acquire load, which Python cannot issue: elsewhere use LibbpfRing).
    """

    def __init__(self, map_fd: int, size: int, linger_s: float = 0.002, batch_bytes: int = 65536) -> None:
        page = mmap.PAGESIZE
        # Taking records the moment one is there would mean one poll per
        # record whenever the consumer keeps up: when less than batch_bytes
        # are waiting, let them build up for linger_s first.
        self.linger_s = linger_s
        self.batch_bytes = min(batch_bytes, size // 4)
        self.size = size
        self.mask = size - 1
        self._fd = map_fd
        self._cons = mmap.mmap(map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self._data = mmap.mmap(map_fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        cv, dv = memoryview(self._cons), memoryview(self._data)
        dv8 = dv[:8]
        self._cons_q = cv.cast("Q")
        self._prod_q = dv8.cast("Q")
        self._words = dv.cast("I")
        self._views = [self._cons_q, self._prod_q, self._words, dv8, cv, dv]
        self._page = page
        self._poller = select.poll()
        self._poller.register(map_fd, select.POLLIN)
        self.pos = self._cons_q[0]
        self.high_water = 0  # the most bytes ever found waiting

    def pending(self) -> int:
        return self._prod_q[0] - self.pos

    def poll(self, timeout_ms: int) -> tuple[bytes, list[int]]:
        """Wait up to ``timeout_ms`` for data, then take every committed
        record: returns the copied span and the offsets of record bodies in
        it (each body is preceded by its 8-byte header: length, page offset)."""
        prod_q = self._prod_q
        prod = prod_q[0]
        cons = self.pos
        if prod - cons < self.batch_bytes and timeout_ms:
            if prod == cons:
                try:
                    self._poller.poll(timeout_ms)
                except InterruptedError:  # pragma: no cover - PEP 475 retries
                    pass
                prod = prod_q[0]
            if prod != cons and self.linger_s:
                time.sleep(self.linger_s)
                prod = prod_q[0]
        if prod == cons:
            return b"", []
        if prod - cons > self.high_water:
            self.high_water = prod - cons
        words = self._words
        base = self._page >> 2
        mask = self.mask
        offs: list[int] = []
        append = offs.append
        pos = cons
        while pos < prod:
            hlen = words[base + ((pos & mask) >> 2)]
            if hlen & _BUSY:
                break  # still being written: the next poll takes it
            if not hlen & _DISCARD:
                append(pos - cons + 8)
            pos += ((hlen & 0x3FFFFFFF) + 15) & ~7
        if pos == cons:
            return b"", []
        start = self._page + (cons & mask)
        span = self._data[start:start + (pos - cons)]
        self.pos = pos
        self._cons_q[0] = pos
        return span, offs

    def close(self) -> None:
        for v in self._views:
            v.release()
        self._cons.close()
        self._data.close()
