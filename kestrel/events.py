"""The event model: plain dicts, ECS field names, time in integer nanoseconds.

Events arrive nested (``{"process": {"name": "bash"}}``, as ECS JSON and
msgpack are written) or flat with dotted keys (``{"process.name": "bash"}``,
as some shippers and TOML test cases write them). Field access here accepts
both so that nothing has to be converted on the way in.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

FieldPath = tuple  # of str (keys) and int (array indices)
Getter = Callable[[dict], Any]

# FILETIME counts 100 ns ticks since 1601-01-01; this is the offset to 1970.
_FILETIME_EPOCH_TICKS = 116_444_736_000_000_000

_UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

_ISO_FRACTION = re.compile(r"^(?P<head>[^.,]+)[.,](?P<frac>\d+)(?P<tail>.*)$")


def parse_field_path(name: str) -> FieldPath:
    """Split ``process.args[0]`` into ``("process", "args", 0)``."""
    parts: list[Any] = []
    for token in re.finditer(r"([^.\[\]]+)|\[(\d+)\]", name):
        if token.group(2) is not None:
            parts.append(int(token.group(2)))
        else:
            parts.append(token.group(1))
    return tuple(parts)


def _walk(value: Any, parts: Sequence[Any]) -> Any:
    """Descend nested dicts/lists; a list of objects yields the list of their values."""
    for i, key in enumerate(parts):
        if value is None:
            return None
        if isinstance(key, int):
            if isinstance(value, list) and -len(value) <= key < len(value):
                value = value[key]
            else:
                return None
        elif isinstance(value, dict):
            nxt = value.get(key)
            if nxt is None and i + 1 < len(parts):
                # A key that itself holds dots inside a nested object
                # (Kubernetes labels: {"extra": {"authentication.kubernetes.io/pod-name": ..}}).
                return _walk_dotted(value, parts[i:])
            value = nxt
        elif isinstance(value, list):
            # ECS arrays of objects (dns.answers.data): multi-valued result.
            rest = parts[i:]
            out = []
            for item in value:
                v = _walk(item, rest)
                if isinstance(v, list):
                    out.extend(v)
                elif v is not None:
                    out.append(v)
            return out or None
        else:
            return None
    return value


def _walk_dotted(value: dict, parts: Sequence[Any]) -> Any:
    for j in range(len(parts), 1, -1):
        if not all(isinstance(p, str) for p in parts[:j]):
            continue
        key = ".".join(parts[:j])
        if key in value:
            return _walk(value[key], parts[j:])
    return None


def make_getter(path: FieldPath) -> Getter:
    """Build the fastest accessor for one field path.

    The common shapes (one key; two or three nested keys) get dedicated
    closures because this runs for every field of every candidate event.
    """
    if not path:
        return lambda e: None
    # A quoted name with dots (`a.b.c`) is a path like any other; keys that
    # really contain dots are found by the fallbacks below.
    path = tuple(q for p in path for q in (p.split(".") if isinstance(p, str) and "." in p else (p,)))
    dotted = _dotted(path)
    if len(path) == 1 and isinstance(path[0], str):
        key = path[0]
        return lambda e: e.get(key)
    if all(isinstance(p, str) for p in path):
        first = path[0]
        rest = path[1:]
        if len(rest) == 1:
            k1 = rest[0]

            def get2(e: dict) -> Any:
                v = e.get(first)
                if v is None:
                    return e.get(dotted)
                if v.__class__ is dict:
                    return v.get(k1)
                return _walk(v, rest)

            return get2
        if len(rest) == 2:
            k1, k2 = rest

            def get3(e: dict) -> Any:
                v = e.get(first)
                if v is None:
                    return e.get(dotted) if dotted in e else _flat_prefix(e, path)
                if v.__class__ is dict:
                    w = v.get(k1)
                    if w.__class__ is dict:
                        return w.get(k2)
                    if w is None:
                        return v.get(k1 + "." + k2)
                    return _walk(w, (k2,))
                return _walk(v, rest)

            return get3

    def get_n(e: dict) -> Any:
        v = e.get(path[0]) if isinstance(path[0], str) else None
        if v is None:
            if dotted in e:
                return e[dotted]
            return _flat_prefix(e, path)
        return _walk(v, path[1:])

    return get_n


def _dotted(path: FieldPath) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out = f"{out}.{p}" if out else p
    return out


def _flat_prefix(e: dict, path: FieldPath) -> Any:
    """Mixed shapes: ``{"process.parent": {"name": ..}}`` and the like."""
    for cut in range(len(path) - 1, 0, -1):
        if not all(isinstance(p, str) for p in path[:cut]):
            continue
        key = ".".join(path[:cut])
        if key in e:
            return _walk(e[key], path[cut:])
    return None


def get_field(event: dict, name: str) -> Any:
    """Convenience accessor by dotted name (not for hot paths)."""
    return make_getter(parse_field_path(name))(event)


def to_ns(value: Any, unit: str = "auto") -> int | None:
    """Normalize a timestamp to integer nanoseconds since the Unix epoch.

    ``auto`` takes ISO 8601 strings and integer nanoseconds (the schema's
    native forms); the other units say what a number means. Returns None for
    a value that cannot be read, so a bad timestamp never crashes a rule.
    """
    try:
        return _to_ns(value, unit)
    except (ValueError, OverflowError):  # NaN, infinities, absurd values
        return None


def _to_ns(value: Any, unit: str) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        s = value.strip()
        if s.lstrip("-").isdigit():
            return _to_ns(int(s), unit)
        return parse_iso8601(s)
    if isinstance(value, (int, float)):
        if unit == "filetime":
            return int((value - _FILETIME_EPOCH_TICKS) * 100)
        if unit == "auto" or unit == "ns":
            return int(value)
        return int(value * _UNIT_NS[unit])
    return None


def parse_iso8601(s: str) -> int | None:
    """ISO 8601 to ns, keeping nanosecond fractions that datetime would drop."""
    frac_ns = 0
    m = _ISO_FRACTION.match(s)
    if m:
        frac = m.group("frac")
        frac_ns = int((frac + "000000000")[:9])
        s = m.group("head") + m.group("tail")
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 1_000_000_000 + frac_ns


def format_ns(ns: int | None) -> str | None:
    """ns since epoch to an ISO 8601 UTC string with nanoseconds when present."""
    if ns is None:
        return None
    secs, rem = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(secs, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if rem:
        frac = f"{rem:09d}".rstrip("0")
        if len(frac) <= 3:
            frac = frac.ljust(3, "0")
        elif len(frac) <= 6:
            frac = frac.ljust(6, "0")
        else:
            frac = frac.ljust(9, "0")
        return f"{base}.{frac}Z"
    return f"{base}.000Z"
