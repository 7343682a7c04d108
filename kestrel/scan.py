"""Multi-pattern and network scanners: one scan per field for all rules.

A thousand rules with wildcards on ``process.command_line`` must not mean a
thousand regex calls per event. All patterns on one field go into one
Hyperscan database (PyPI ``hyperscan``; ~0.6 µs per scan here for 1,000
patterns), whose matches name the rules worth evaluating. Where the wheel
is missing, a pure-Python fallback checks each distinct pattern.

The dispatcher memoizes their answers per field value (telemetry repeats
its paths, command lines and addresses, and a dict hit is far cheaper than
any scan). The scanners are prefilters (see :mod:`kestrel.access`): a false positive
only costs a predicate call, so approximations are allowed in that
direction only.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, Sequence

try:  # pragma: no cover - exercised when the wheel is present
    import hyperscan as _hs
except Exception:  # pragma: no cover
    _hs = None

Handler = Callable[..., Any]
_NONE: tuple = ()


def hyperscan_available() -> bool:
    return _hs is not None


class _Scanner:
    """Strings are scanned; lists are scanned element by element (any
    element may match); other values match nothing. Memoizing by value is
    the caller's job (:class:`kestrel.dispatch._FieldPlan` does it once per
    field for all of that field's tables)."""

    def _scan(self, s: str) -> tuple:
        raise NotImplementedError

    def candidates(self, value: Any) -> tuple:
        if value.__class__ is str:
            return self._scan(value)
        if value.__class__ is list:
            out: list = []
            for x in value:
                if x.__class__ is str:
                    for h in self._scan(x):
                        if h not in out:
                            out.append(h)
            return tuple(out)
        return _NONE


class PatternScanner(_Scanner):
    """All wildcard/prefix/substring conditions on one field, one ``ci`` mode."""

    def __init__(self, ci: bool, force_python: bool = False) -> None:
        self.ci = ci
        self._regexes: list[str] = []
        self._owners: list[int] = []  # regex index -> handler index
        self.handlers: list[Handler] = []
        self._db: Any = None
        self._py: list[tuple[re.Pattern, int]] | None = None
        self._force_python = force_python or _hs is None
        self.engine = "python" if self._force_python else "hyperscan"

    def add(self, regexes: Sequence[str], handler: Handler) -> None:
        hid = len(self.handlers)
        self.handlers.append(handler)
        for rx in regexes:
            self._regexes.append(rx)
            self._owners.append(hid)

    def build(self) -> "PatternScanner":
        if not self._force_python:
            try:
                db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
                flags = _hs.HS_FLAG_DOTALL | _hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_UTF8 | _hs.HS_FLAG_ALLOWEMPTY
                db.compile(
                    expressions=[rx.encode("utf-8") for rx in self._regexes],
                    ids=list(range(len(self._regexes))),
                    elements=len(self._regexes),
                    flags=[flags] * len(self._regexes),
                )
                self._db = db
            except Exception:  # an expression hyperscan rejects: fall back, stay correct
                self._force_python = True
                self.engine = "python"
        if self._force_python:
            self._py = [(re.compile(rx, re.S), self._owners[i]) for i, rx in enumerate(self._regexes)]
        return self

    def _scan(self, s: str) -> tuple:
        if self.ci:
            s = s.lower()
        hit: set[int] = set()
        if self._db is not None:
            try:
                data = s.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates: let every rule decide
                return tuple(self.handlers)
            owners = self._owners

            def on_match(idx: int, start: int, end: int, flags: int, ctx: Any) -> None:
                hit.add(owners[idx])

            self._db.scan(data, match_event_handler=on_match)
        else:
            for rx, owner in self._py or ():
                if owner not in hit and rx.search(s):
                    hit.add(owner)
        if not hit:
            return _NONE
        handlers = self.handlers
        return tuple(handlers[i] for i in sorted(hit))


class CidrScanner(_Scanner):
    """All ``cidrMatch(field, ...)`` conditions on one field: per prefix
    length, a dict from the masked address to the rules that listed it."""

    def __init__(self) -> None:
        self.handlers: list[Handler] = []
        self._tables: dict[tuple[int, int], dict[int, list[int]]] = {}  # (version, prefixlen) -> net -> handler ids

    def add(self, cidrs: Sequence[str], handler: Handler) -> None:
        hid = len(self.handlers)
        self.handlers.append(handler)
        for c in cidrs:
            try:
                net = ipaddress.ip_network(c.strip(), strict=False)
            except ValueError:
                continue  # the predicate treats a bad network as no match
            table = self._tables.setdefault((net.version, net.prefixlen), {})
            table.setdefault(int(net.network_address), []).append(hid)

    def build(self) -> "CidrScanner":
        return self

    def _scan(self, s: str) -> tuple:
        try:
            addr = ipaddress.ip_address(s.strip())
        except ValueError:
            return _NONE
        found: set[int] = set()
        versions = [(addr.version, int(addr))]
        if addr.version == 6 and addr.ipv4_mapped is not None:  # ::ffff:10.0.0.1 is 10.0.0.1
            versions.append((4, int(addr.ipv4_mapped)))
        for version, value in versions:
            bits = 32 if version == 4 else 128
            for (v, plen), table in self._tables.items():
                if v != version:
                    continue
                masked = (value >> (bits - plen)) << (bits - plen) if plen else 0
                ids = table.get(masked)
                if ids:
                    found.update(ids)
        return tuple(self.handlers[i] for i in sorted(found)) if found else _NONE
