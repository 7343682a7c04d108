"""One Lua rule file in a sandboxed lupa runtime (see lua_prelude.lua).

Measured with lupa 2.8: a guarded call from Python costs ~2 µs (the call,
arming and disarming the hook, a pcall), so rule matches run in batches:
each declared field crosses as one column (``table_from``), and the
prelude's loop builds each event table and calls ``match`` under a budget
of its own, ~0.8 µs per event in all. LuaJIT 2.1 (JIT off: hooks do not
fire in compiled traces) where the wheel has it, Lua 5.4 otherwise.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("kestrel.lua")

HOST_CHUNK = "=kestrel-host"
_HERE = os.path.dirname(os.path.abspath(__file__))
_RUNTIMES = ("luajit21", "lua54")


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def sdk_path() -> str:
    """The Lua-side library (sdk/lua/kestrel.lua, shipped as kestrel/data/lua)."""
    return os.path.join(os.path.dirname(_HERE), "data", "lua", "kestrel.lua")


_lua_module: Any = None


def lua_module() -> Any:
    """lupa's LuaJIT 2.1 module, or Lua 5.4's."""
    global _lua_module
    if _lua_module is None:
        forced = os.environ.get("KESTREL_LUA")  # luajit21 | lua54: tests run both
        for name in ((forced,) if forced else _RUNTIMES):
            try:
                _lua_module = importlib.import_module(f"lupa.{name}")
                break
            except ImportError:
                continue
        else:  # pragma: no cover - lupa without either runtime
            raise ImportError("lupa has neither LuaJIT 2.1 nor Lua 5.4")
    return _lua_module


def runtime_name() -> str:
    return "LuaJIT 2.1 (JIT off)" if lua_module().__name__.endswith("luajit21") else "Lua 5.4"


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("Python objects are not reachable from Lua rules")


@dataclass(frozen=True)
class LuaLimits:
    instructions: int = 200_000  # per event (per call of a function)
    timeout_ms: float = 100.0  # wall-clock time per event, the backstop of the hook
    memory_mb: int = 64  # the file's runtime
    batch: int = 128
    latency_ms: float = 10.0
    max_faults: int = 5


class LoadFailed(Exception):
    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _lua_error_line(msg: str, path: str) -> tuple[str, int]:
    """'path:12: message' -> ('message', 12)."""
    for prefix in (f"{path}:", f'[string "{path}"]:'):
        if msg.startswith(prefix):
            rest = msg[len(prefix):]
            num, _, text = rest.partition(":")
            if num.isdigit():
                return text.strip(), int(num)
    return msg, 0


class LuaSandbox:
    """A runtime with the prelude, the SDK library and one rule file loaded."""

    def __init__(self, code: str, path: str, memory_mb: int, load_steps: int = 5_000_000, load_seconds: float = 2.0) -> None:
        mod = lua_module()
        self.path = path
        self.lua = mod.LuaRuntime(register_eval=False, register_builtins=False, unpack_returned_tuples=True,
                                  max_memory=memory_mb << 20, attribute_filter=_deny_attributes)
        prelude = _read(os.path.join(_HERE, "lua_prelude.lua"))
        # The hook reads the wall clock only for calls that outlive one hook
        # period (1,000 instructions), so a Python call there is affordable.
        self.api = self.lua.execute(prelude, HOST_CHUNK, time.monotonic, name=HOST_CHUNK)
        self.lua.globals().python = None  # rules run in their own environment; belt and braces
        self.table_from = self.lua.table_from
        self.lua_type = mod.lua_type
        # Lua shortens long chunk names in messages: the file's base name
        # keeps "name.lua:LINE: message" whole.
        chunk = os.path.basename(path)
        status, msg = self.api.load(_read(sdk_path()), "=kestrel.lua", code, "@" + chunk, load_steps, load_seconds)
        if status != "ok":
            text, line = _lua_error_line(str(msg), chunk)
            raise LoadFailed(text if status == "error" else f"{status} while loading the file: {text}", line)
        self.api.set_log(self._log)
        status, rules = self.api.rules(load_steps, load_seconds)
        if status != "ok":
            raise LoadFailed(f"cannot read the rules: {rules}")
        self.rules = [(self.to_py(pair[1]), bool(pair[2])) for pair in self._seq(rules)]
        self.funcs = [(str(pair[1]), pair[2]) for pair in self._seq(self.api.funcs())]
        self._log_budget = 0

    def _log(self, level: str, msg: str) -> None:
        lv = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}.get(level, logging.INFO)
        log.log(lv, "lua %s: %s", os.path.basename(self.path), msg[:2000])

    # -- conversions -----------------------------------------------------------
    def _seq(self, t: Any) -> list:
        out = []
        i = 1
        while True:
            v = t[i]
            if v is None:
                return out
            out.append(v)
            i += 1

    def to_py(self, v: Any) -> Any:
        """A plain Lua value (the prelude made it so) as Python data."""
        if self.lua_type(v) != "table":
            if v.__class__ is float and v.is_integer() and -2**53 <= v <= 2**53:
                return int(v)  # LuaJIT has only doubles: 12.0 was 12
            return v
        items = list(v.items())
        if items and all(isinstance(k, (int, float)) and float(k).is_integer() for k, _ in items):
            keys = sorted(int(k) for k, _ in items)
            if keys == list(range(1, len(keys) + 1)):
                d = {int(k): x for k, x in items}
                return [self.to_py(d[k]) for k in keys]
        return {(str(k) if not isinstance(k, (int, float)) else (int(k) if float(k).is_integer() else k)): self.to_py(x)
                for k, x in items}

    def to_lua(self, v: Any) -> Any:
        if isinstance(v, (list, tuple, dict)):
            return self.table_from(v, recursive=True)
        return v

    # -- calls --------------------------------------------------------------------
    def match_fn(self, index: int) -> Any:
        return self.api.rule_match(index + 1)

    def event_meta(self, fields: tuple[str, ...]) -> Any:
        prefixes: dict[str, bool] = {}
        for f in fields:
            parts = f.split(".")
            for k in range(1, len(parts)):
                prefixes[".".join(parts[:k])] = True
        return self.api.event_mt(self.table_from(prefixes))

    def run(self, match: Any, names: Any, meta: Any, columns: list[list[Any]], n: int, steps: int, seconds: float) -> tuple[list, list]:
        """(hits [(index0, result)], faults [(index0, kind, message)])."""
        cols = [self.table_from(c, recursive=True) for c in columns]
        hits, faults = self.api.run(match, names, meta, len(columns), n, steps, seconds, *cols)
        h = self._seq(hits)
        f = self._seq(faults)
        return ([(int(h[k]) - 1, self.to_py(h[k + 1])) for k in range(0, len(h), 2)],
                [(int(f[k]) - 1, str(f[k + 1]), str(f[k + 2])) for k in range(0, len(f), 3)])

    def call(self, fn: Any, steps: int, seconds: float, args: tuple) -> tuple[str, Any]:
        status, value = self.api.call(fn, steps, seconds, *[self.to_lua(a) for a in args])
        return str(status), value

    def memory_bytes(self) -> int:
        try:
            return int(self.lua.get_memory_used())
        except Exception:  # pragma: no cover - older lupa
            return 0
