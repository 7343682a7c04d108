"""Runtime helpers that compiled predicates call.

EQL has SQL-like null semantics: a comparison with null is null, and only a
condition that is *true* matches. Compiled code asks two questions of every
boolean node, "is it true?" and "is it false?", so that ``not`` of a null
stays null without a third value flowing through Python's ``and``/``or``.
The helpers below answer "what is the value" for comparisons, returning
True, False or None.

Multi-valued fields (lists, like ``process.args``) follow Elasticsearch: a
comparison holds when any element satisfies it.
"""

from __future__ import annotations

from typing import Any, Callable

_str = str
_num_types = (int, float)


def comparable(a: Any, b: Any) -> bool:
    """eql's rule: strings with strings, numbers with numbers, same types otherwise."""
    ta = a.__class__
    tb = b.__class__
    if ta is tb:
        return True
    if ta in _num_types and tb in _num_types:
        return True
    return False


def _fold(v: Any) -> Any:
    return v.lower() if v.__class__ is _str else v


def _scalar_cmp(op: str, a: Any, b: Any, ci: bool) -> bool | None:
    if a is None or b is None:
        return None
    if not comparable(a, b):
        return None
    if ci and a.__class__ is _str:
        a = a.lower()
        b = b.lower()
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def compare(op: str, a: Any, b: Any, ci: bool) -> bool | None:
    """Value of ``a <op> b``: True, False or None (null)."""
    if a.__class__ is list or b.__class__ is list:
        return _compare_multi(op, a, b, ci)
    return _scalar_cmp(op, a, b, ci)


def _compare_multi(op: str, a: Any, b: Any, ci: bool) -> bool | None:
    if op == "!=":
        r = _compare_multi("==", a, b, ci)
        return None if r is None else not r
    left = a if a.__class__ is list else [a]
    right = b if b.__class__ is list else [b]
    seen_false = False
    for x in left:
        for y in right:
            r = _scalar_cmp(op, x, y, ci)
            if r:
                return True
            if r is False:
                seen_false = True
    return False if seen_false else None


def make_compare(op: str, ci: bool) -> Callable[[Any, Any], bool | None]:
    """A two-argument comparison specialized for one operator and case mode."""

    def cmp(a: Any, b: Any) -> bool | None:
        return compare(op, a, b, ci)

    return cmp


def _coerced(literal: Any) -> Any:
    """The other-typed twin of a literal for Elasticsearch-style term
    matching: ``user.id == 0`` finds the keyword "0", ``port == "443"`` the
    number 443."""
    if literal.__class__ is int:
        return str(literal)
    if literal.__class__ is _str:
        t = literal.strip()
        if t and (t.isdigit() or (t[0] == "-" and t[1:].isdigit())):
            return int(t)
    return None


def make_eq_literal(literal: Any, ci: bool, coerce: bool = False) -> Callable[[Any], bool | None]:
    """``value == <literal>``: the hottest comparison, specialized.

    ``coerce`` (the Elasticsearch dialect) also accepts the literal's
    twin of the other type, as a term query on the field would."""
    twin = _coerced(literal) if coerce else None
    if twin is not None:
        plain = make_eq_literal(literal, ci)
        other = make_eq_literal(twin, ci)

        def eq_coerced(v: Any) -> bool | None:
            r = plain(v)
            if r:
                return r
            r2 = other(v)
            if r2:
                return r2
            return False if (r is False or r2 is False) else None

        return eq_coerced
    if literal.__class__ is _str:
        lit = literal.lower() if ci else literal
        if ci:

            def eq_ci(v: Any) -> bool | None:
                if v.__class__ is _str:
                    return v.lower() == lit
                if v is None:
                    return None
                if v.__class__ is list:
                    return compare("==", v, literal, True)
                return None

            return eq_ci

        def eq_cs(v: Any) -> bool | None:
            if v.__class__ is _str:
                return v == lit
            if v is None:
                return None
            if v.__class__ is list:
                return compare("==", v, literal, False)
            return None

        return eq_cs

    def eq_other(v: Any) -> bool | None:
        return compare("==", v, literal, ci)

    return eq_other


def make_in_literals(values: list[Any], ci: bool, coerce: bool = False) -> Callable[[Any], bool | None]:
    """``value in (<literals>)`` as a hash lookup; lists match on any element.

    ``coerce``: numbers also match their decimal strings and back (see
    :func:`make_eq_literal`)."""
    if coerce:
        values = list(values) + [t for t in map(_coerced, values) if t is not None]
    strings = frozenset((v.lower() if ci else v) for v in values if v.__class__ is _str)
    others = [v for v in values if v.__class__ is not _str and v is not None]
    numbers = frozenset(v for v in others if v.__class__ in _num_types)
    rest = [v for v in others if v.__class__ not in _num_types]

    def scalar(v: Any) -> bool | None:
        if v.__class__ is _str:
            if not strings:
                return None if not (numbers or rest) else False
            return (v.lower() if ci else v) in strings
        if v.__class__ in _num_types:
            return v in numbers
        for r in rest:
            if r.__class__ is v.__class__ and r == v:
                return True
        return False

    def in_set(v: Any) -> bool | None:
        if v is None:
            return None
        if v.__class__ is list:
            seen = False
            for x in v:
                if x is None:
                    continue
                r = scalar(x)
                if r:
                    return True
                seen = True
            return False if seen else None
        return scalar(v)

    return in_set


def make_matcher(match_str: Callable[[str], bool], on_other: Callable[[Any], bool | None] | None = None) -> Callable[[Any], bool | None]:
    """Lift a string matcher (wildcards, regex) to EQL values: null stays null,
    lists match on any element, non-strings are null unless ``on_other`` says."""

    def matcher(v: Any) -> bool | None:
        if v.__class__ is _str:
            return match_str(v)
        if v is None:
            return None
        if v.__class__ is list:
            seen = False
            for x in v:
                if x.__class__ is _str:
                    if match_str(x):
                        return True
                    seen = True
                elif on_other is not None and x is not None:
                    r = on_other(x)
                    if r:
                        return True
                    if r is False:
                        seen = True
            return False if seen else None
        if on_other is not None:
            return on_other(v)
        return None

    return matcher


def to_bool(v: Any) -> bool | None:
    """eql's truthiness of a value used as a condition: null stays null."""
    if v is None:
        return None
    return bool(v)


def negative(v: Any) -> Any:
    if v.__class__ in _num_types:
        return -v
    return None


def walk(value: Any, parts: tuple) -> Any:
    """Field access below a value that is not an event (aliases, lambda vars)."""
    from ..events import _walk

    return _walk(value, parts)
