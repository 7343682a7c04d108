"""The EQL function library: ``startsWith``, ``cidrMatch``, ``number``, ...

The compiler looks functions up here (``lookup``), checks the argument count
against the spec, calls ``spec.build(ci)`` once per call site and emits a call
to the returned implementation, which then runs once per event. Hence:

* implementations never raise: a wrong type, a null, a bad number or a zero
  divisor give ``None`` (null), as in Elastic's ``eql`` package, so one odd
  event cannot abort a rule;
* ``build`` does the per-call-site work (picking the case-sensitive or
  -insensitive variant) and implementations keep per-call work small: regexes,
  wildcard matchers and CIDR networks are compiled once and found again in a
  dictionary keyed by the literal arguments;
* the boolean string predicates accept a multi-valued (list) first argument
  and are true if any element satisfies them, as Elasticsearch treats
  multi-valued fields; null elements are skipped, and a list with nothing
  to test gives null.

Semantics follow the ``eql`` package (1.0.1), the reference for both EQL
dialects; where it crashes or is undefined, Elasticsearch's behaviour is used.
Deliberate differences are listed in each function's docstring.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Callable

from .patterns import PatternError, compile_python_match, compile_wildcards

__all__ = ["FunctionSpec", "FUNCTIONS", "lookup"]

Impl = Callable[..., Any]


@dataclass(frozen=True)
class FunctionSpec:
    """How the compiler may call one EQL function."""

    name: str  # canonical name, e.g. "startsWith"
    min_args: int
    max_args: int | None  # None = variadic
    build: Callable[[bool], Impl]  # build(ci) -> impl(*args); ci = case-insensitive
    returns: str  # "boolean" | "string" | "number" | "any"
    supports_ci: bool  # whether the `~` suffix (e.g. startsWith~) is allowed


_str = str
_list_types = (list, tuple)
# Literal-argument caches are plain dicts (cheaper than lru_cache per call);
# they are cleared wholesale if a rule feeds them unbounded dynamic values.
_CACHE_LIMIT = 4096


def _is_number(x: Any) -> bool:
    """Numbers in EQL's sense: int or float, but not bool."""
    return (x.__class__ is int or x.__class__ is float) or (
        isinstance(x, (int, float)) and not isinstance(x, bool)
    )


def _lower_keep_len(s: str) -> str:
    """``s.lower()`` without changing the length, so indexes stay valid.

    Only U+0130 (I with dot above) lowers to two code points; it is mapped to
    a plain "i" so that positions found in the folded string index the
    original one (``between``/``indexOf`` return original-case text and
    offsets).
    """
    if "\u0130" in s:
        s = s.replace("\u0130", "i")
    return s.lower()


def _any_element(fn: Impl, items: Any, *rest: Any) -> bool | None:
    """Apply a boolean predicate to each element of a multi-valued field.

    True if any element gives True; False if none does but some gave False;
    None if every element was null or of the wrong type.
    """
    result = None
    for item in items:
        r = fn(item, *rest)
        if r:
            return True
        if r is False:
            result = False
    return result


def _plain(fn: Impl) -> Callable[[bool], Impl]:
    """``build`` for functions where case does not matter."""

    def build(ci: bool) -> Impl:
        return fn

    return build


def _cased(cs: Impl, ci_impl: Impl) -> Callable[[bool], Impl]:
    """``build`` choosing between a case-sensitive and -insensitive variant."""

    def build(ci: bool) -> Impl:
        return ci_impl if ci else cs

    return build


# ---------------------------------------------------------------------------
# Math
# ---------------------------------------------------------------------------


def _add(x: Any, y: Any) -> Any:
    """add(x, y): numbers only (no string concatenation, no booleans)."""
    if _is_number(x) and _is_number(y):
        try:
            return x + y
        except OverflowError:
            return None
    return None


def _subtract(x: Any, y: Any) -> Any:
    """subtract(x, y): numbers only."""
    if _is_number(x) and _is_number(y):
        try:
            return x - y
        except OverflowError:
            return None
    return None


def _multiply(x: Any, y: Any) -> Any:
    """multiply(x, y): numbers only (never string repetition)."""
    if _is_number(x) and _is_number(y):
        try:
            return x * y
        except OverflowError:
            return None
    return None


def _divide(x: Any, y: Any) -> Any:
    """divide(x, y): like eql, two ints give floor division, else float division.

    Division by zero is null. (Elasticsearch truncates integer division toward
    zero; eql, and so this, floors: divide(-7, 2) is -4.)
    """
    if _is_number(x) and _is_number(y) and y != 0:
        try:
            if isinstance(x, float) or isinstance(y, float):
                return float(x) / float(y)
            return x // y
        except (OverflowError, ZeroDivisionError):
            return None
    return None


def _modulo(x: Any, y: Any) -> Any:
    """modulo(x, y): Python ``%`` as in eql (sign of the divisor); by zero is null."""
    if _is_number(x) and _is_number(y):
        try:
            return x % y
        except (ZeroDivisionError, OverflowError):
            return None
    return None


# ---------------------------------------------------------------------------
# Strings
# ---------------------------------------------------------------------------


def _starts_cs(source: Any, prefix: Any) -> bool | None:
    if source.__class__ is _str and prefix.__class__ is _str:
        return source.startswith(prefix)
    if isinstance(prefix, _str):
        if isinstance(source, _str):
            return source.startswith(prefix)
        if isinstance(source, _list_types):
            return _any_element(_starts_cs, source, prefix)
    return None


def _starts_ci(source: Any, prefix: Any) -> bool | None:
    if isinstance(prefix, _str):
        if isinstance(source, _str):
            return source.lower().startswith(prefix.lower())
        if isinstance(source, _list_types):
            return _any_element(_starts_ci, source, prefix)
    return None


def _ends_cs(source: Any, suffix: Any) -> bool | None:
    if source.__class__ is _str and suffix.__class__ is _str:
        return source.endswith(suffix)
    if isinstance(suffix, _str):
        if isinstance(source, _str):
            return source.endswith(suffix)
        if isinstance(source, _list_types):
            return _any_element(_ends_cs, source, suffix)
    return None


def _ends_ci(source: Any, suffix: Any) -> bool | None:
    if isinstance(suffix, _str):
        if isinstance(source, _str):
            return source.lower().endswith(suffix.lower())
        if isinstance(source, _list_types):
            return _any_element(_ends_ci, source, suffix)
    return None


def _contains_cs(source: Any, sub: Any) -> bool | None:
    if source.__class__ is _str and sub.__class__ is _str:
        return sub in source
    if isinstance(sub, _str):
        if isinstance(source, _str):
            return sub in source
        if isinstance(source, _list_types):
            return _any_element(_contains_cs, source, sub)
    return None


def _contains_ci(source: Any, sub: Any) -> bool | None:
    if isinstance(sub, _str):
        if isinstance(source, _str):
            return sub.lower() in source.lower()
        if isinstance(source, _list_types):
            return _any_element(_contains_ci, source, sub)
    return None


def _between(source: Any, left: Any, right: Any, greedy: Any, ci: bool) -> str | None:
    if not (isinstance(source, _str) and isinstance(left, _str) and isinstance(right, _str)):
        return None
    if ci:
        hay, left, right = _lower_keep_len(source), _lower_keep_len(left), _lower_keep_len(right)
    else:
        hay = source
    i = hay.find(left)
    if i < 0:
        return None
    start = i + len(left)
    end = hay.rfind(right, start) if greedy else hay.find(right, start)
    if end < 0:
        return None
    return source[start:end]


def _between_cs(source: Any, left: Any, right: Any, greedy: Any = False) -> str | None:
    """between(source, left, right[, greedy]): text after the first ``left`` up to
    the next (greedy: the last) ``right``; null when either is missing."""
    return _between(source, left, right, greedy, False)


def _between_ci(source: Any, left: Any, right: Any, greedy: Any = False) -> str | None:
    return _between(source, left, right, greedy, True)


def _index_of(source: Any, sub: Any, start: Any, ci: bool) -> int | None:
    if not (isinstance(source, _str) and isinstance(sub, _str)):
        return None
    if start is None:
        start = 0
    elif start.__class__ is not int:
        if isinstance(start, bool) or not isinstance(start, (int, float)):
            return None
        try:
            start = int(start)  # Elasticsearch truncates a fractional start
        except (OverflowError, ValueError):
            return None
    if ci:
        source, sub = _lower_keep_len(source), _lower_keep_len(sub)
    i = source.find(sub, start)
    return None if i < 0 else i


def _index_of_cs(source: Any, sub: Any, start: Any = None) -> int | None:
    """indexOf(source, sub[, start]): first position of ``sub`` at or after
    ``start``, null if absent. A negative start counts from the end (Python
    slicing, as eql; Elasticsearch treats it as 0)."""
    return _index_of(source, sub, start, False)


def _index_of_ci(source: Any, sub: Any, start: Any = None) -> int | None:
    return _index_of(source, sub, start, True)


def _length(value: Any) -> int | None:
    """length(x): characters of a string, elements of a list, keys of an object."""
    if isinstance(value, (_str, list, tuple, dict)):
        return len(value)
    return None


def _substring(source: Any, start: Any = None, end: Any = None) -> str | None:
    """substring(s, start[, end]): Python slice semantics, negatives from the end."""
    if not isinstance(source, _str):
        return None
    if not (_is_index(start) and _is_index(end)):
        return None
    return source[start:end]


def _is_index(v: Any) -> bool:
    """An optional integer position: None or an int that is not a bool."""
    return v is None or v.__class__ is int or (isinstance(v, int) and not isinstance(v, bool))


def _to_string(value: Any) -> str | None:
    """string(x): how EQL prints a scalar (``true``/``false`` for booleans).

    Lists and objects have no EQL string form, so they give null (eql would
    return Python's repr).
    """
    if value is None:
        return None
    cls = value.__class__
    if cls is _str:
        return value
    if cls is bool:
        return "true" if value else "false"
    if cls is int or cls is float:
        return str(value)
    if isinstance(value, _str):
        return _str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _concat(*args: Any) -> str | None:
    """concat(...): the string forms joined; null if any argument is null."""
    parts = []
    for a in args:
        s = _to_string(a)
        if s is None:
            return None
        parts.append(s)
    return "".join(parts)


_DEC_INT = re.compile(r"[+-]?[0-9]+")
_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _parse_int(body: str, base: int) -> int | None:
    """Strict ``int(body, base)``: sign and digits only (Python's int() would
    also take whitespace, ``_`` and ``0x`` prefixes)."""
    digits = body[1:] if body[:1] in ("+", "-") else body
    if not digits:
        return None
    valid = _DIGITS[:base]
    for c in digits.lower():
        if c not in valid:
            return None
    return int(body, base)


def _number(source: Any, base: Any = None) -> int | float | None:
    """number(s[, base]): parse a string as a number.

    Whatever eql accepts gives eql's result: decimal integers (with sign),
    decimals with one ``.`` (a float), ``0x``-prefixed hex when the base is
    absent or 16, and integers in an explicit base. Where eql gives null or
    crashes, Elasticsearch's reading is used: exponents (``"1e3"``) in base
    10, digits valid for an explicit base without prefix (``number("ff",
    16)`` is 255). Anything else, non-strings, and bases outside 2..36 give
    null. Surrounding whitespace is not accepted.
    """
    if not isinstance(source, _str):
        return None
    if not _is_index(base):
        return None
    if base is None or base == 10:
        if _DEC_INT.fullmatch(source):
            return int(source)
        if _DEC_FLOAT.fullmatch(source):
            try:
                return float(source)
            except (ValueError, OverflowError):  # pragma: no cover - regex admits floats only
                return None
        if base is None and source.startswith("0x"):
            return _parse_int(source[2:], 16)
        return None
    if not 2 <= base <= 36:
        return None
    if base == 16 and source.startswith("0x"):
        source = source[2:]
    return _parse_int(source, base)


# ---------------------------------------------------------------------------
# Patterns: wildcard, match, matchLite
# ---------------------------------------------------------------------------

_NO_MATCHER = object()


def _cached_matcher(cache: dict, key: tuple, make: Callable[[tuple], Callable[[str], bool]]) -> Any:
    """Find or build the matcher for literal pattern arguments ``key``.

    Returns ``_NO_MATCHER`` when the patterns are unusable (not strings, or
    an invalid regex): the function then yields null instead of raising.
    """
    try:
        m = cache.get(key)
    except TypeError:  # unhashable argument, e.g. a list
        return _NO_MATCHER
    if m is None:
        try:
            m = make(key)
        except (PatternError, TypeError):
            m = _NO_MATCHER
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = m
    return m


def _make_wildcard_impl(ci: bool) -> Impl:
    cache: dict = {}

    def make(patterns: tuple) -> Callable[[str], bool]:
        if not patterns or not all(isinstance(p, _str) for p in patterns):
            raise PatternError("wildcard() patterns must be strings")
        return compile_wildcards(patterns, ci=ci, question_mark=False)

    def wildcard(source: Any, *patterns: Any) -> bool | None:
        """wildcard(source, pattern...): Endgame glob (``*`` only; ``?`` literal)."""
        m = _cached_matcher(cache, patterns, make)
        if m is _NO_MATCHER:
            return None
        if isinstance(source, _str):
            return m(source)
        if isinstance(source, _list_types):
            return _any_element(wildcard, source, *patterns)
        return None

    return wildcard


def _make_match_impl(ci: bool) -> Impl:
    cache: dict = {}

    def make(patterns: tuple) -> Callable[[str], bool]:
        if not patterns or not all(isinstance(p, _str) for p in patterns):
            raise PatternError("match() patterns must be strings")
        return compile_python_match(patterns, ci=ci)

    def match(source: Any, *patterns: Any) -> bool | None:
        """match(source, regex...): Python regexes matched at the start of the
        string (``re.match``, not fullmatch), DOTALL, as eql does."""
        m = _cached_matcher(cache, patterns, make)
        if m is _NO_MATCHER:
            return None
        if isinstance(source, _str):
            return m(source)
        if isinstance(source, _list_types):
            return _any_element(match, source, *patterns)
        return None

    return match


_WILDCARD = {False: _make_wildcard_impl(False), True: _make_wildcard_impl(True)}
_MATCH = {False: _make_match_impl(False), True: _make_match_impl(True)}
# matchLite is match() in eql; separate instances keep their caches apart.
_MATCH_LITE = {False: _make_match_impl(False), True: _make_match_impl(True)}


# ---------------------------------------------------------------------------
# cidrMatch
# ---------------------------------------------------------------------------


def _cidr_matcher(cidrs: tuple) -> Callable[[str], bool]:
    """Build an IP-string predicate for the networks ``cidrs``.

    Networks become (version, network-int, mask-int) triples so a test is an
    integer AND; parsed results are memoised per IP string because the same
    addresses recur across events. An IPv4-mapped IPv6 address
    (``::ffff:10.0.0.1``) is also tested as its IPv4 address, as Java's
    address parsing (and so Elasticsearch) treats it. Raises PatternError
    for an invalid CIDR.
    """
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    for c in cidrs:
        if not isinstance(c, _str):
            raise PatternError(f"cidrMatch() needs CIDR strings, got {c!r}")
        try:
            net = ipaddress.ip_network(c.strip(), strict=False)
        except ValueError as exc:
            raise PatternError(f"invalid CIDR {c!r}: {exc}") from None
        mask = int(net.netmask)
        (v4 if net.version == 4 else v6).append((int(net.network_address) & mask, mask))
    v4t, v6t = tuple(v4), tuple(v6)
    memo: dict[str, bool] = {}

    def test(ip: str) -> bool:
        r = memo.get(ip)
        if r is not None:
            return r
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            r = False
        else:
            r = False
            if addr.version == 6:
                n = int(addr)
                for net, mask in v6t:
                    if n & mask == net:
                        r = True
                        break
                mapped = addr.ipv4_mapped
                if not r and mapped is not None:
                    addr = mapped
            if not r and addr.version == 4:
                n = int(addr)
                for net, mask in v4t:
                    if n & mask == net:
                        r = True
                        break
        if len(memo) >= _CACHE_LIMIT:
            memo.clear()
        memo[ip] = r
        return r

    return test


_CIDR_CACHE: dict = {}


def _cidr_match(source: Any, *cidrs: Any) -> bool | None:
    """cidrMatch(ip, cidr...): is the address in any of the networks?

    Null stays null; a string that is not an IP address is false (not an
    error). Any other type is false, as in eql. Invalid CIDRs make the call
    null (the compiler should reject them up front).
    """
    m = _cached_matcher(_CIDR_CACHE, cidrs, _cidr_matcher)
    if m is _NO_MATCHER:
        return None
    if isinstance(source, _str):
        return m(source)
    if source is None:
        return None
    if isinstance(source, _list_types):
        return _any_element(_cidr_match, source, *cidrs)
    return False


# ---------------------------------------------------------------------------
# arrayContains
# ---------------------------------------------------------------------------


def _array_contains(array: Any, ci: bool, values: tuple) -> bool | None:
    if array is None:
        return None
    items = array if isinstance(array, _list_types) else (array,)
    if ci:
        values = tuple(v.lower() if isinstance(v, _str) else v for v in values)
    try:
        wanted: Any = frozenset(values)
    except TypeError:  # unhashable values (lists): fall back to ==
        wanted = values
    for item in items:
        if ci and isinstance(item, _str):
            item = item.lower()
        try:
            if item in wanted:
                return True
        except TypeError:  # unhashable element vs. a set
            if item in values:
                return True
    return False


def _array_contains_cs(array: Any, *values: Any) -> bool | None:
    """arrayContains(array, value...): is any value an element of the array?

    A scalar counts as a one-element array (Elasticsearch's view of a
    single-valued field; eql would iterate over a string's characters).
    Values compare with ``==``, so 1 == 1.0 and, as in eql, 1 == true.
    """
    return _array_contains(array, False, values)


def _array_contains_ci(array: Any, *values: Any) -> bool | None:
    return _array_contains(array, True, values)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------


def _spec(name: str, min_args: int, max_args: int | None, build: Callable[[bool], Impl], returns: str, supports_ci: bool) -> FunctionSpec:
    return FunctionSpec(name, min_args, max_args, build, returns, supports_ci)


_SPECS = [
    _spec("add", 2, 2, _plain(_add), "number", False),
    _spec("arrayContains", 2, None, _cased(_array_contains_cs, _array_contains_ci), "boolean", True),
    _spec("between", 3, 4, _cased(_between_cs, _between_ci), "string", True),
    _spec("cidrMatch", 2, None, _plain(_cidr_match), "boolean", False),
    _spec("concat", 1, None, _plain(_concat), "string", False),
    _spec("divide", 2, 2, _plain(_divide), "number", False),
    _spec("endsWith", 2, 2, _cased(_ends_cs, _ends_ci), "boolean", True),
    _spec("indexOf", 2, 3, _cased(_index_of_cs, _index_of_ci), "number", True),
    _spec("length", 1, 1, _plain(_length), "number", False),
    _spec("match", 2, None, _cased(_MATCH[False], _MATCH[True]), "boolean", True),
    _spec("matchLite", 2, None, _cased(_MATCH_LITE[False], _MATCH_LITE[True]), "boolean", True),
    _spec("modulo", 2, 2, _plain(_modulo), "number", False),
    _spec("multiply", 2, 2, _plain(_multiply), "number", False),
    _spec("number", 1, 2, _plain(_number), "number", False),
    _spec("startsWith", 2, 2, _cased(_starts_cs, _starts_ci), "boolean", True),
    _spec("string", 1, 1, _plain(_to_string), "string", False),
    _spec("stringContains", 2, 2, _cased(_contains_cs, _contains_ci), "boolean", True),
    _spec("substring", 2, 3, _plain(_substring), "string", False),
    _spec("subtract", 2, 2, _plain(_subtract), "number", False),
    _spec("wildcard", 2, None, _cased(_WILDCARD[False], _WILDCARD[True]), "boolean", True),
]

FUNCTIONS: dict[str, FunctionSpec] = {s.name.lower(): s for s in _SPECS}


def lookup(name: str) -> FunctionSpec | None:
    """Find a function by name, ignoring case and a trailing ``~``."""
    if name.endswith("~"):
        name = name[:-1]
    return FUNCTIONS.get(name.lower())
