"""Pattern matchers for EQL: wildcards and regular expressions.

Rules are compiled once and then run against every event, so everything here
is built for that split: translation and ``re.compile`` happen at rule-compile
time (and are cached, because many rules share the same patterns), and what is
handed back is a plain ``Callable[[str], bool]`` that does as little as
possible per call.

Three pattern languages meet here:

* **Wildcards.** ``*`` is any sequence of characters. In the Elasticsearch
  dialect (``like``, ``like~``, ``:``) ``?`` is any single character; in the
  Endgame dialect (``wildcard()``, ``==`` with ``*``) ``?`` is an ordinary
  character. Elasticsearch has *no* escape for ``*`` or ``?``: its
  ``toLikePattern`` maps every ``*``/``?`` to a wildcard and leaves ``\\`` alone,
  which is what makes ``"C:\\\\Windows\\\\*"`` (after string unescaping
  ``C:\\Windows\\*``) mean "anything under ``C:\\Windows\\``". A backslash is
  therefore always a literal backslash here.
* **Lucene regular expressions** (Elasticsearch ``regex``/``regex~``): the
  syntax of ``org.apache.lucene.util.automaton.RegExp`` with all optional
  operators enabled, as Elasticsearch builds it. They match the whole string.
  This module parses that syntax itself and emits an equivalent Python regex.
* **Python regular expressions** (Endgame ``match()``/``matchLite()``), which
  are passed to ``re`` as they are, as Elastic's ``eql`` package does.
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Sequence

__all__ = [
    "PatternError",
    "wildcard_regex",
    "compile_wildcards",
    "lucene_regex_to_python",
    "compile_regex",
    "compile_python_match",
]

Matcher = Callable[[str], bool]

# Every compiled pattern gets DOTALL: in all three languages `.`/`*` cross
# newlines (Lucene's `.` is "any character"; eql compiles with re.DOTALL).
_FLAGS = re.DOTALL


class PatternError(ValueError):
    """A pattern a rule author wrote cannot be compiled.

    The message is meant to be shown to the rule author as is, so it names the
    pattern and, where known, the position of the problem.
    """


# ---------------------------------------------------------------------------
# Wildcards
# ---------------------------------------------------------------------------


def _wildcard_body(pattern: str, question_mark: bool) -> str:
    """Regex for ``pattern`` without anchors (callers use fullmatch or add them)."""
    out: list[str] = []
    star = False
    for ch in pattern:
        if ch == "*":
            if not star:  # runs of * mean the same as one and backtrack less
                out.append(".*")
            star = True
            continue
        star = False
        if ch == "?" and question_mark:
            out.append(".")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def wildcard_regex(pattern: str, *, question_mark: bool) -> str:
    """Translate an EQL wildcard pattern into a Python regex source.

    The result is anchored at both ends (``\\A...\\Z``) and carries its own
    DOTALL flag, so it matches the whole string with ``re.search``,
    ``re.match`` or ``re.fullmatch`` alike and ``*`` crosses newlines.
    ``question_mark`` selects the Elasticsearch meaning of ``?`` (any one
    character); without it ``?`` is literal, as in the Endgame dialect.
    There is no escape character: see the module docstring.
    """
    return r"\A(?s:" + _wildcard_body(pattern, question_mark) + r")\Z"


def compile_wildcards(patterns: Sequence[str], *, ci: bool, question_mark: bool) -> Matcher:
    """Compile wildcard patterns into one predicate: does any pattern match?

    Patterns are sorted into fast paths that avoid the regex engine where the
    shape allows (exact values: set lookup; ``p*``: ``startswith``; ``*s``:
    ``endswith``; ``*i*``: ``in``); the rest become one alternation regex.
    With ``ci`` both patterns and subject are compared lower-cased (the regex
    is additionally compiled with ``re.IGNORECASE``), so every path agrees.
    The returned callable takes a ``str``; null and list handling is the
    caller's business. Results are cached by arguments.
    """
    if isinstance(patterns, str):
        patterns = (patterns,)
    return _compile_wildcards(tuple(patterns), bool(ci), bool(question_mark))


def _always_true(_s: str) -> bool:
    return True


def _always_false(_s: str) -> bool:
    return False


@functools.lru_cache(maxsize=4096)
def _compile_wildcards(patterns: tuple[str, ...], ci: bool, question_mark: bool) -> Matcher:
    for p in patterns:
        if not isinstance(p, str):
            raise PatternError(f"wildcard pattern must be a string, got {p!r}")
    wild = "*?" if question_mark else "*"

    def has_wild(s: str) -> bool:
        return any(c in s for c in wild)

    exact: set[str] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    infixes: list[str] = []
    regex_bodies: list[str] = []
    match_all = False
    for raw in dict.fromkeys(patterns):  # dedupe, keep order
        p = raw.lower() if ci else raw
        if not has_wild(p):
            exact.add(p)
        elif p.strip("*") == "":
            match_all = True
        elif not has_wild(p.rstrip("*")) and p.endswith("*"):
            prefixes.append(p.rstrip("*"))
        elif not has_wild(p.lstrip("*")) and p.startswith("*"):
            suffixes.append(p.lstrip("*"))
        elif p.startswith("*") and p.endswith("*") and not has_wild(p.strip("*")):
            infixes.append(p.strip("*"))
        else:
            regex_bodies.append(_wildcard_body(p, question_mark))

    if match_all:
        return _always_true

    checks: list[Matcher] = []
    if exact:
        checks.append(frozenset(exact).__contains__)
    if prefixes:
        pre = tuple(prefixes)

        def starts(s: str, _pre: tuple[str, ...] = pre) -> bool:
            return s.startswith(_pre)

        checks.append(starts)
    if suffixes:
        suf = tuple(suffixes)

        def ends(s: str, _suf: tuple[str, ...] = suf) -> bool:
            return s.endswith(_suf)

        checks.append(ends)
    if infixes:
        if len(infixes) == 1:
            (inf,) = infixes

            def contains(s: str, _inf: str = inf) -> bool:
                return _inf in s

            checks.append(contains)
        elif len(infixes) <= 4:
            infs = tuple(infixes)

            def contains_any(s: str, _infs: tuple[str, ...] = infs) -> bool:
                for i in _infs:
                    if i in s:
                        return True
                return False

            checks.append(contains_any)
        else:
            # Many substrings: one regex scan beats many `in` passes.
            search = re.compile("|".join(re.escape(i) for i in infixes), _FLAGS).search

            def contains_re(s: str, _search: Callable = search) -> bool:
                return _search(s) is not None

            checks.append(contains_re)
    if regex_bodies:
        flags = _FLAGS | (re.IGNORECASE if ci else 0)
        try:
            full = re.compile("|".join(f"(?:{b})" for b in regex_bodies), flags).fullmatch
        except (re.error, OverflowError) as exc:  # pragma: no cover - escaped input cannot fail
            raise PatternError(f"invalid wildcard pattern: {exc}") from None

        def regex(s: str, _full: Callable = full) -> bool:
            return _full(s) is not None

        checks.append(regex)

    if not checks:
        return _always_false
    if len(checks) == 1:
        (only,) = checks
        if not ci:
            return only

        def one_ci(s: str, _f: Matcher = only) -> bool:
            return _f(s.lower())

        return one_ci
    all_checks = tuple(checks)

    def any_check(s: str, _checks: tuple[Matcher, ...] = all_checks, _ci: bool = ci) -> bool:
        if _ci:
            s = s.lower()
        for c in _checks:
            if c(s):
                return True
        return False

    return any_check


# ---------------------------------------------------------------------------
# Lucene regular expressions
# ---------------------------------------------------------------------------
#
# The parser below follows the grammar documented for Lucene's RegExp class
# (union `|` < intersection `&` < concatenation < repetition `? * + {n,m}` <
# complement `~` < character class < simple expression), including its less
# obvious corners, because a pattern must mean here what it means in
# Elasticsearch:
#   * a character that cannot start an operator where it stands is literal:
#     a leading `*`, `+`, `?`, `{`, `|`, `^`, `$`, `]` all match themselves;
#   * `\` escapes any character, except that `\d \D \s \S \w \W` are the ASCII
#     classes [0-9], [ \t\n\r], [a-zA-Z_0-9] and their complements, and a
#     backslash before any other ASCII letter is an error (as in current
#     Lucene; there are no `\n`, `\t`, `\b`, ... escapes);
#   * `"..."` is a literal string (no escapes inside), `()` the empty string;
#   * `.` is any character (newlines included), `@` any string, `#` the empty
#     language, `<n-m>` a decimal number in [n, m] (fixed width when n and m
#     are written with the same number of digits);
#   * there are no anchors and no lazy/possessive quantifiers.
# Intersection and complement have no direct Python counterpart. They are
# translated with lookaheads, which is exact when the operator's match must
# run to the end of the subject (it is the last thing in the pattern, or in a
# top-level alternative); elsewhere they raise PatternError. `<identifier>`
# (named automata) is not supported: Elasticsearch has none to offer either.

_PREDEFINED = {
    # letter -> (ranges, negated)
    "d": ((("0", "9"),), False),
    "D": ((("0", "9"),), True),
    "s": (((" ", " "), ("\t", "\t"), ("\n", "\n"), ("\r", "\r")), False),
    "S": (((" ", " "), ("\t", "\t"), ("\n", "\n"), ("\r", "\r")), True),
    "w": ((("a", "z"), ("A", "Z"), ("_", "_"), ("0", "9")), False),
    "W": ((("a", "z"), ("A", "Z"), ("_", "_"), ("0", "9")), True),
}
# Lucene rejects a backslash before these letters (Java regex would read them
# as escapes Lucene does not implement).
_BAD_ESCAPES = frozenset("abcefghijklmnopqrtuvxyzABCEFGHIJKLMNOPQRTUVXYZ")
_MAX_INT = 2**31 - 1

# AST node shapes (tuples keep the parser small):
#   ("union", a, b) ("inter", a, b) ("concat", [items]) ("compl", x)
#   ("opt", x) ("rep", x, min, max|None)
#   ("char", c) ("str", s) ("any",) ("anystr",) ("none",)
#   ("class", negated, [("range", lo, hi) | ("pre", letter)])
#   ("interval", lo, hi, digits)


class _LuceneParser:
    """Recursive-descent parser for Lucene RegExp syntax (all flags on)."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.pos = 0

    # -- low-level helpers -------------------------------------------------
    def error(self, msg: str, pos: int | None = None) -> PatternError:
        at = self.pos if pos is None else pos
        return PatternError(f"invalid regex {self.s!r}: {msg} at position {at}")

    def more(self) -> bool:
        return self.pos < len(self.s)

    def peek(self, chars: str) -> bool:
        return self.more() and self.s[self.pos] in chars

    def match(self, ch: str) -> bool:
        if self.more() and self.s[self.pos] == ch:
            self.pos += 1
            return True
        return False

    def next(self) -> str:
        if not self.more():
            raise self.error("unexpected end of pattern")
        ch = self.s[self.pos]
        self.pos += 1
        return ch

    # -- grammar -------------------------------------------------------------
    def parse(self) -> tuple:
        if self.s == "":
            return ("str", "")
        node = self.union()
        if self.more():
            raise self.error(f"unexpected {self.s[self.pos]!r}")
        return node

    def union(self) -> tuple:
        node = self.inter()
        if self.match("|"):
            node = ("union", node, self.union())
        return node

    def inter(self) -> tuple:
        node = self.concat()
        if self.match("&"):
            node = ("inter", node, self.inter())
        return node

    def concat(self) -> tuple:
        items = [self.repeat()]
        while self.more() and not self.peek(")|&"):
            items.append(self.repeat())
        return items[0] if len(items) == 1 else ("concat", items)

    def repeat(self) -> tuple:
        node = self.compl()
        while self.peek("?*+{"):
            if self.match("?"):
                node = ("opt", node)
            elif self.match("*"):
                node = ("rep", node, 0, None)
            elif self.match("+"):
                node = ("rep", node, 1, None)
            else:
                self.match("{")
                lo = self.integer()
                hi: int | None
                if self.match(","):
                    hi = self.integer() if self.peek("0123456789") else None
                else:
                    hi = lo
                if not self.match("}"):
                    raise self.error("expected '}'")
                node = ("rep", node, lo, hi)
        return node

    def integer(self) -> int:
        start = self.pos
        while self.peek("0123456789"):
            self.pos += 1
        if start == self.pos:
            raise self.error("integer expected")
        value = int(self.s[start:self.pos])
        if value > _MAX_INT:
            raise self.error("repeat count out of range", start)
        return value

    def compl(self) -> tuple:
        if self.match("~"):
            return ("compl", self.compl())
        return self.char_class()

    def char_class(self) -> tuple:
        if not self.match("["):
            return self.simple()
        negated = self.match("^")
        items = [self.class_item()]
        while self.more() and not self.peek("]"):
            items.append(self.class_item())
        if not self.match("]"):
            raise self.error("expected ']'")
        return ("class", negated, items)

    def class_item(self) -> tuple:
        start = self.pos
        pre = self.predefined()
        if pre is not None:
            return pre
        lo = self.char_exp()
        if self.match("-"):
            hi = self.char_exp()
            if lo > hi:
                raise self.error(f"invalid range {lo!r}-{hi!r}", start)
            return ("range", lo, hi)
        return ("range", lo, lo)

    def predefined(self) -> tuple | None:
        """``\\d``-style classes; consumes a lone backslash like Lucene does."""
        if not self.match("\\"):
            return None
        if self.peek("dDsSwW"):
            return ("pre", self.next())
        if self.peek("\\"):
            return ("char", self.next())
        if self.more() and self.s[self.pos] in _BAD_ESCAPES:
            raise self.error(f"invalid escape '\\{self.s[self.pos]}'", self.pos - 1)
        return None

    def char_exp(self) -> str:
        self.match("\\")
        return self.next()

    def simple(self) -> tuple:
        start = self.pos
        if self.match("."):
            return ("any",)
        if self.match("#"):
            return ("none",)
        if self.match("@"):
            return ("anystr",)
        if self.match('"'):
            end = self.s.find('"', self.pos)
            if end < 0:
                raise self.error("unterminated '\"' string", start)
            text = self.s[self.pos:end]
            self.pos = end + 1
            return ("str", text)
        if self.match("("):
            if self.match(")"):
                return ("str", "")
            node = self.union()
            if not self.match(")"):
                raise self.error("expected ')'")
            return node
        if self.match("<"):
            end = self.s.find(">", self.pos)
            if end < 0:
                raise self.error("expected '>'", start)
            body = self.s[self.pos:end]
            self.pos = end + 1
            return self.interval(body, start)
        pre = self.predefined()
        if pre is not None:
            if pre[0] == "pre":
                return ("class", False, [pre])
            return pre
        return ("char", self.char_exp())

    def interval(self, body: str, start: int) -> tuple:
        if "-" not in body:
            raise self.error(f"named automaton <{body}> is not supported (escape '<' to match it literally)", start)
        i = body.find("-")
        if i == 0 or i == len(body) - 1 or i != body.rfind("-"):
            raise self.error("numeric interval syntax error", start)
        smin, smax = body[:i], body[i + 1:]
        if not (re.fullmatch(r"\+?[0-9]+", smin) and re.fullmatch(r"\+?[0-9]+", smax)):
            raise self.error("numeric interval syntax error", start)
        lo, hi = int(smin), int(smax)
        if lo > _MAX_INT or hi > _MAX_INT:
            raise self.error("numeric interval out of range", start)
        digits = len(smin) if len(smin) == len(smax) else 0
        if lo > hi:
            lo, hi = hi, lo
        return ("interval", lo, hi, digits)


def _class_char(c: str) -> str:
    """Escape one character for use inside a Python ``[...]`` set."""
    if c in "\\]^-[&~|":  # the last three: Python warns on doubled set operators
        return "\\" + c
    if c == "\n":
        return "\\n"
    return c


def _class_set(ranges: Sequence[tuple[str, str]]) -> str:
    parts = []
    for lo, hi in ranges:
        parts.append(_class_char(lo) if lo == hi else f"{_class_char(lo)}-{_class_char(hi)}")
    return "".join(parts)


def _emit_class(negated: bool, items: Sequence[tuple]) -> str:
    positive: list[tuple[str, str]] = []
    complements: list[str] = []  # negated predefined classes, as [^...] sets
    for item in items:
        if item[0] == "range":
            positive.append((item[1], item[2]))
        elif item[0] == "char":
            positive.append((item[1], item[1]))
        else:
            ranges, neg = _PREDEFINED[item[1]]
            if neg:
                complements.append("[^" + _class_set(ranges) + "]")
            else:
                positive.extend(ranges)
    if not complements:
        return ("[^" if negated else "[") + _class_set(positive) + "]"
    alts = complements + (["[" + _class_set(positive) + "]"] if positive else [])
    union = "(?:" + "|".join(alts) + ")"
    if negated:
        return f"(?!{union})."
    return union


def _any_digits(n: int) -> str:
    return "" if n == 0 else "[0-9]" if n == 1 else f"[0-9]{{{n}}}"


def _int_range_fixed(lo: str, hi: str) -> str:
    """Regex for decimal strings of exactly len(lo) digits between lo and hi."""
    if lo == hi:
        return lo
    n = len(lo)
    a, b = lo[0], hi[0]
    if a == b:
        return a + _int_range_fixed(lo[1:], hi[1:])
    rest = n - 1
    if lo[1:] == "0" * rest and hi[1:] == "9" * rest:
        return f"[{a}-{b}]" + _any_digits(rest)
    alts = [a + _int_range_fixed(lo[1:], "9" * rest)]
    if int(b) - int(a) > 1:
        mid = f"[{int(a) + 1}-{int(b) - 1}]"
        alts.append(mid + _any_digits(rest))
    alts.append(b + _int_range_fixed("0" * rest, hi[1:]))
    return "(?:" + "|".join(alts) + ")"


def _emit_interval(lo: int, hi: int, digits: int) -> str:
    """Lucene ``<lo-hi>``: fixed width when ``digits`` > 0, else any leading zeros."""
    if digits > 0:
        return "(?:" + _int_range_fixed(str(lo).zfill(digits), str(hi).zfill(digits)) + ")"
    alts = []
    for width in range(len(str(lo)), len(str(hi)) + 1):
        w_lo = max(lo, 10 ** (width - 1) if width > 1 else 0)
        w_hi = min(hi, 10**width - 1)
        if w_lo <= w_hi:
            alts.append(_int_range_fixed(str(w_lo), str(w_hi)))
    return "0*(?:" + "|".join(alts) + ")"


def _is_atom(node: tuple, emitted: str) -> bool:
    """Whether a quantifier can follow ``emitted`` without a group around it."""
    if node[0] in ("char", "any"):
        return True
    if node[0] == "str":
        return len(node[1]) == 1
    return node[0] == "class" and emitted.startswith("[")


def _emit(node: tuple, tail: bool, source: str) -> str:
    """Python regex for ``node``; ``tail`` = its match must end the subject."""
    kind = node[0]
    if kind == "char":
        return re.escape(node[1])
    if kind == "str":
        return re.escape(node[1])
    if kind == "any":
        return "."
    if kind == "anystr":
        return ".*"
    if kind == "none":
        return "(?!)"
    if kind == "class":
        return _emit_class(node[1], node[2])
    if kind == "interval":
        return _emit_interval(node[1], node[2], node[3])
    if kind == "concat":
        items = node[1]
        last = len(items) - 1
        return "".join(_emit(item, tail and i == last, source) for i, item in enumerate(items))
    if kind == "union":
        return "(?:" + _emit(node[1], tail, source) + "|" + _emit(node[2], tail, source) + ")"
    if kind == "opt":
        return "(?:" + _emit(node[1], tail, source) + ")?"
    if kind == "rep":
        inner = _emit(node[1], False, source)
        body = inner if _is_atom(node[1], inner) else "(?:" + inner + ")"
        lo, hi = node[2], node[3]
        if hi is None:
            return body + ("*" if lo == 0 else "+" if lo == 1 else f"{{{lo},}}")
        if lo > hi:
            return "(?!)"  # Lucene: an impossible repeat is the empty language
        return body + (f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}")
    if kind == "inter":
        if not tail:
            raise PatternError(
                f"unsupported regex {source!r}: intersection '&' is only supported where it ends the pattern"
                " (escape '&' as \\& to match it literally)"
            )
        return "(?=(?:" + _emit(node[1], True, source) + r")\Z)(?:" + _emit(node[2], True, source) + ")"
    if kind == "compl":
        if not tail:
            raise PatternError(
                f"unsupported regex {source!r}: complement '~' is only supported where it ends the pattern"
                " (escape '~' as \\~ to match it literally)"
            )
        return "(?!(?:" + _emit(node[1], True, source) + r")\Z).*"
    raise AssertionError(kind)  # pragma: no cover


def lucene_regex_to_python(pattern: str) -> str:
    """Translate a Lucene regular expression into Python ``re`` syntax.

    The result is meant for ``fullmatch`` with ``re.DOTALL`` (Lucene regexes
    always match the whole string and ``.`` includes newlines); it carries no
    anchors of its own. Raises PatternError for invalid patterns and for the
    few constructs that have no exact Python translation.
    """
    if not isinstance(pattern, str):
        raise PatternError(f"regex must be a string, got {pattern!r}")
    tree = _LuceneParser(pattern).parse()
    return _emit(tree, True, pattern)


def compile_regex(pattern: str | Sequence[str], *, ci: bool, lucene: bool) -> Matcher:
    """Compile a whole-string regex predicate (EQL ``regex``/``regex~``).

    ``lucene=True`` reads the pattern as Lucene syntax (Elasticsearch);
    ``lucene=False`` as Python ``re`` syntax (used as is). Either way the whole
    string must match, ``.`` matches newlines, and ``ci`` adds
    ``re.IGNORECASE``. A sequence of patterns means "any of them". Cached.
    """
    pats = (pattern,) if isinstance(pattern, str) else tuple(pattern)
    return _compile_regex(pats, bool(ci), bool(lucene))


@functools.lru_cache(maxsize=4096)
def _compile_regex(patterns: tuple[str, ...], ci: bool, lucene: bool) -> Matcher:
    if not patterns:
        return _always_false
    sources = []
    for p in patterns:
        if not isinstance(p, str):
            raise PatternError(f"regex must be a string, got {p!r}")
        sources.append(lucene_regex_to_python(p) if lucene else p)
    flags = _FLAGS | (re.IGNORECASE if ci else 0)
    try:
        if len(sources) == 1:
            compiled = re.compile(sources[0], flags)
        else:
            compiled = re.compile("|".join(f"(?:{s})" for s in sources), flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise PatternError(f"invalid regex {patterns[0] if len(patterns) == 1 else list(patterns)!r}: {exc}") from None
    full = compiled.fullmatch

    def matcher(s: str, _full: Callable = full) -> bool:
        return _full(s) is not None

    return matcher


def compile_python_match(patterns: str | Sequence[str], *, ci: bool) -> Matcher:
    """Compile Endgame ``match()`` regexes: Python syntax, anchored at the start only.

    This reproduces Elastic's ``eql`` package, which joins the patterns with
    ``|`` and calls ``re.match`` with DOTALL (plus IGNORECASE when
    insensitive): a pattern matches if it matches a *prefix* of the string.
    Each pattern is wrapped in a group so alternation inside one pattern
    cannot leak into another. Invalid regexes raise PatternError. Cached.
    """
    pats = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    return _compile_python_match(pats, bool(ci))


@functools.lru_cache(maxsize=4096)
def _compile_python_match(patterns: tuple[str, ...], ci: bool) -> Matcher:
    if not patterns:
        return _always_false
    for p in patterns:
        if not isinstance(p, str):
            raise PatternError(f"regex must be a string, got {p!r}")
    flags = _FLAGS | (re.IGNORECASE if ci else 0)
    try:
        if len(patterns) == 1:
            compiled = re.compile(patterns[0], flags)
        else:
            compiled = re.compile("|".join(f"(?:{p})" for p in patterns), flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise PatternError(f"invalid regex {patterns[0] if len(patterns) == 1 else list(patterns)!r}: {exc}") from None
    match = compiled.match

    def matcher(s: str, _match: Callable = match) -> bool:
        return _match(s) is not None

    return matcher
