"""Running untrusted Wasm modules: one store per module, bounded every way.

Measured here: wasmtime-py's public ``Func.__call__`` costs ~35 µs because
it rebuilds typed values on every call, while the C API's
``wasmtime_func_call_unchecked`` through the same ctypes binding costs
~2 µs. The host therefore checks each export's signature once, with the
public API, and then calls it unchecked with a preallocated raw-value
array. Bytes cross by ``memmove`` into the guest's buffer (the memory's base
address is re-read per call: it moves when the guest grows its memory).

Bounds per call: fuel (instructions), a memory cap enforced by the store's
limiter (``memory.grow`` returns -1), and an epoch deadline driven by one
ticker thread per process as a wall-clock backstop. A trap leaves the store
usable, but the guest's own state may be torn, so the caller replaces the
instance after a fault.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import threading
import time
from ctypes import POINTER, byref
from typing import Any, Callable

import wasmtime
from wasmtime import _bindings as _ffi

from .wasm_errors import Fault, ModuleRefused
from .wasm_manifest import ABI_VERSION, Limits

log = logging.getLogger("kestrel.wasm")

try:
    from importlib.metadata import version as _dist_version

    _WASMTIME_VERSION = _dist_version("wasmtime")
except Exception:  # pragma: no cover - metadata missing: key on the binding file instead
    _WASMTIME_VERSION = str(os.path.getmtime(wasmtime.__file__))

TICK_S = 0.005  # epoch ticker period
_I32 = wasmtime.ValType.i32()
_I64 = wasmtime.ValType.i64()
_GRANTED = {
    ("kestrel", "log"): ((_I32, _I32, _I32), ()),
    ("kestrel", "now_ns"): ((), (_I64,)),
}
_LOG_LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)
_LOG_LINES_PER_S = 20


_TRAP_KINDS = {
    wasmtime.TrapCode.OUT_OF_FUEL: "fuel",
    wasmtime.TrapCode.INTERRUPT: "timeout",
    wasmtime.TrapCode.STACK_OVERFLOW: "stack",
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "out-of-bounds",
    wasmtime.TrapCode.UNREACHABLE: "unreachable",
}


class WasmRuntime:
    """The process-wide wasmtime engine, its epoch ticker and compile cache."""

    def __init__(self, cache_dir: str | None = None) -> None:
        cfg = wasmtime.Config()
        cfg.consume_fuel = True
        cfg.epoch_interruption = True
        self.engine = wasmtime.Engine(cfg)
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self._ticker: threading.Thread | None = None
        self._lock = threading.Lock()
        self.compiled = 0
        self.cache_hits = 0

    def ticks(self, ms: float) -> int:
        return max(4, int(ms / 1000 / TICK_S) + 1)

    def start_ticker(self) -> None:
        with self._lock:
            if self._ticker is not None:
                return
            engine = self.engine

            def tick() -> None:
                while True:
                    time.sleep(TICK_S)
                    engine.increment_epoch()

            self._ticker = threading.Thread(target=tick, name="kestrel-wasm-epoch", daemon=True)
            self._ticker.start()

    def compile(self, wasm: bytes) -> wasmtime.Module:
        """Compile once; reuse the machine code across runs from the cache."""
        key = hashlib.sha256(wasm + b"|wasmtime-" + _WASMTIME_VERSION.encode() + b"|fuel,epoch").hexdigest()
        path = os.path.join(self.cache_dir, key + ".cwasm") if self.cache_dir else None
        if path and os.path.exists(path):
            try:
                module = wasmtime.Module.deserialize_file(self.engine, path)
                self.cache_hits += 1
                return module
            except Exception as exc:  # stale or torn cache entry: compile afresh
                log.info("wasm cache entry %s unusable (%s); recompiling", path, exc)
        module = wasmtime.Module(self.engine, wasm)
        self.compiled += 1
        if path:
            try:
                os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
                tmp = f"{path}.{os.getpid()}.tmp"
                with open(tmp, "wb") as f:
                    f.write(module.serialize())
                os.replace(tmp, path)
            except OSError as exc:
                log.info("cannot cache compiled wasm in %s: %s", self.cache_dir, exc)
        return module


def default_cache_dir() -> str:
    env = os.environ.get("KESTREL_CACHE_DIR")
    if env:
        return os.path.join(env, "wasm")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kestrel", "wasm")


_runtime: WasmRuntime | None = None


def get_runtime() -> WasmRuntime:
    global _runtime
    if _runtime is None:
        _runtime = WasmRuntime()
    return _runtime


def check_imports(module: wasmtime.Module) -> None:
    """Refuse a module that wants anything beyond ``kestrel.log``/``now_ns``."""
    for imp in module.imports:
        key = (imp.module, imp.name)
        want = _GRANTED.get(key)
        ty = imp.type
        if want is None:
            granted = ", ".join(f"{m}.{n}" for m, n in _GRANTED)
            raise ModuleRefused(f"imports {imp.module}.{imp.name}, which Kestrel does not grant (a module may import only {granted})")
        if not isinstance(ty, wasmtime.FuncType) or (tuple(ty.params), tuple(ty.results)) != want:
            raise ModuleRefused(f"imports {imp.module}.{imp.name} with the wrong signature")


_BATCH_SIG = ((_I32, _I32, _I32), (_I64,))


class Sandbox:
    """One live instance of a module in a store of its own."""

    def __init__(self, runtime: WasmRuntime, module: wasmtime.Module, limits: Limits, label: str, config: bytes,
                 exports: tuple[str, ...]) -> None:
        self.runtime = runtime
        self.limits = limits
        self.label = label
        self.cap = limits.memory_mb << 20
        store = self.store = wasmtime.Store(runtime.engine)
        store.set_limits(memory_size=self.cap, instances=1, tables=4, memories=1, table_elements=100_000)
        store.set_fuel(limits.fuel * 64)
        store.set_epoch_deadline(runtime.ticks(limits.timeout_ms))
        runtime.start_ticker()
        self._log_window = 0.0
        self._log_count = 0
        self.suppressed_logs = 0
        linker = wasmtime.Linker(runtime.engine)
        linker.define_func("kestrel", "log", wasmtime.FuncType([_I32, _I32, _I32], []), self._log, access_caller=True)
        linker.define_func("kestrel", "now_ns", wasmtime.FuncType([], [_I64]), time.time_ns)
        try:
            instance = linker.instantiate(store, module)
        except wasmtime.Trap as exc:
            raise Fault("trap", f"trapped while starting: {_first_line(exc)}") from None
        except wasmtime.WasmtimeError as exc:
            raise ModuleRefused(f"cannot be instantiated: {_first_line(exc)}") from None
        ex = instance.exports(store)
        mem = ex.get("memory")
        if not isinstance(mem, wasmtime.Memory):
            raise ModuleRefused("exports no memory named 'memory'")
        self.memory = mem
        self._ctx = store._context()
        self._raw = (_ffi.wasmtime_val_raw * 3)()
        self._trap = POINTER(_ffi.wasm_trap_t)()
        self._funcs: dict[str, Any] = {}
        self._want("kestrel_abi_version", ((), (_I32,)), ex)
        self._want("kestrel_alloc", ((_I32,), (_I32,)), ex)
        for name in exports:
            self._want(name, _BATCH_SIG, ex)
        has_init = "kestrel_init" in ex
        if has_init:
            self._want("kestrel_init", ((_I32, _I32), (_I32,)), ex)
        version = self._call("kestrel_abi_version", (), 10_000_000, "i32")
        if version != ABI_VERSION:
            raise ModuleRefused(f"speaks Wasm rule ABI {version}; this Kestrel speaks {ABI_VERSION}")
        self._buf_ptr = 0
        self._buf_cap = 0
        if has_init:
            ptr = self._place(config)
            status = self._call("kestrel_init", (ptr, len(config)), limits.fuel * 16, "i32")
            if status != 0:
                raise ModuleRefused(f"kestrel_init refused the configuration (status {status})")

    # -- guest services -----------------------------------------------------
    def _log(self, caller: Any, level: int, ptr: int, length: int) -> None:
        try:
            now = time.monotonic()
            if now - self._log_window >= 1.0:
                self._log_window = now
                self._log_count = 0
            self._log_count += 1
            if self._log_count > _LOG_LINES_PER_S:
                self.suppressed_logs += 1
                return
            mem = caller["memory"]
            length = max(0, min(length, 4096))
            text = bytes(mem.read(caller, ptr, ptr + length)).decode("utf-8", "replace")
            log.log(_LOG_LEVELS[level if 0 <= level < 4 else 1], "wasm %s: %s", self.label, text)
        except Exception:  # a bad pointer in a log call is the guest's problem, not ours
            pass

    # -- calls ----------------------------------------------------------------
    def _want(self, name: str, sig: tuple, ex: Any) -> None:
        f = ex.get(name)
        if not isinstance(f, wasmtime.Func):
            raise ModuleRefused(f"does not export the function {name!r} (docs/wasm-abi.md)")
        ty = f.type(self.store)
        if (tuple(ty.params), tuple(ty.results)) != sig:
            raise ModuleRefused(f"exports {name!r} with the wrong signature")
        self._funcs[name] = byref(f._func)

    def _call(self, name: str, args: tuple, fuel: int, result: str) -> int:
        raw = self._raw
        for i, a in enumerate(args):
            raw[i].i32 = a
        self.store.set_fuel(fuel)
        self.store.set_epoch_deadline(self.runtime.ticks(self.limits.timeout_ms))
        trap = self._trap
        err = _ffi._wasmtime_func_call_unchecked(self._ctx, self._funcs[name], raw, 3, byref(trap))
        if trap:
            t = wasmtime.Trap._from_ptr(trap)
            self._trap = POINTER(_ffi.wasm_trap_t)()
            raise self._classify(t)
        if err:
            e = wasmtime.WasmtimeError._from_ptr(err)
            raise Fault("trap", _first_line(e))
        return raw[0].i64 if result == "i64" else raw[0].i32

    def _classify(self, trap: wasmtime.Trap) -> Fault:
        code = trap.trap_code
        kind = _TRAP_KINDS.get(code, "trap") if code is not None else "trap"
        if kind in ("unreachable", "out-of-bounds", "trap") and self.memory.data_len(self.store) + 65536 > self.cap:
            kind = "memory"  # the guest hit its cap and gave up
        return Fault(kind, _first_line(trap))

    def _base(self) -> int:
        return ctypes.cast(self.memory.data_ptr(self.store), ctypes.c_void_p).value or 0

    def _place(self, payload: bytes) -> int:
        """Copy ``payload`` into the guest's input buffer, growing it as needed."""
        n = len(payload)
        if n > self._buf_cap:
            want = max(n, self._buf_cap * 2, 65536)
            ptr = self._call("kestrel_alloc", (want,), 10_000_000, "i32") & 0xFFFFFFFF
            if ptr == 0:
                raise Fault("memory", f"kestrel_alloc({want}) returned 0")
            self._buf_ptr, self._buf_cap = ptr, want
        ptr = self._buf_ptr
        if ptr + n > self.memory.data_len(self.store):
            raise Fault("output", "kestrel_alloc returned a buffer outside memory")
        ctypes.memmove(self._base() + ptr, payload, n)
        return ptr

    def call_batch(self, export: str, payload: bytes, count: int, fuel: int) -> bytes:
        """Run one batch; return the result bytes (a copy) or raise Fault."""
        ptr = self._place(payload)
        r = self._call(export, (ptr, len(payload), count), fuel, "i64")
        if r < 0:
            raise Fault("status", f"{export} returned error status {r}")
        optr, olen = r >> 32, r & 0xFFFFFFFF
        size = self.memory.data_len(self.store)
        if optr + olen > size:
            raise Fault("output", f"{export} returned a result outside memory ({optr}+{olen} > {size})")
        return ctypes.string_at(self._base() + optr, olen)

    def memory_bytes(self) -> int:
        return self.memory.data_len(self.store)


def _first_line(exc: BaseException) -> str:
    """The cause wasmtime gives (``wasm trap: ...``), not its backtrace header."""
    text = str(exc).strip()
    if "Caused by:" in text:
        text = text.split("Caused by:", 1)[1].strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]


def load_module(runtime: WasmRuntime, wasm: bytes) -> wasmtime.Module:
    """Compile (cached) and vet a module's imports; raises ModuleRefused."""
    try:
        module = runtime.compile(wasm)
    except wasmtime.WasmtimeError as exc:
        raise ModuleRefused(f"is not a valid WebAssembly module: {_first_line(exc)}") from None
    check_imports(module)
    return module


Factory = Callable[[], Sandbox]
