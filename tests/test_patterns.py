"""Tests for kestrel.eql.patterns: wildcards, Lucene regexes, Python regexes."""

from __future__ import annotations

import itertools
import re
import warnings

import pytest

from kestrel.eql.patterns import (
    PatternError,
    compile_python_match,
    compile_regex,
    compile_wildcards,
    lucene_regex_to_python,
    wildcard_regex,
)

# ---------------------------------------------------------------------------
# wildcard_regex
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, question_mark, subject, expected",
    [
        ("*", False, "", True),
        ("*", False, "a\nb", True),  # * crosses newlines
        ("a*c", False, "a\n\nc", True),
        ("a*c", False, "abcd", False),  # whole string
        ("a?c", True, "abc", True),
        ("a?c", True, "ac", False),
        ("a?c", False, "abc", False),  # Endgame: ? is literal
        ("a?c", False, "a?c", True),
        ("a.c", True, "abc", False),  # regex metacharacters are literal
        ("a+c", False, "a+c", True),
        ("(x)", False, "(x)", True),
        # Backslash is always literal, and `\*` is a backslash then a wildcard
        # (Elasticsearch's toLikePattern has no escape character).
        ("C:\\Windows\\*", True, "C:\\Windows\\System32\\cmd.exe", True),
        ("C:\\Windows\\*", True, "C:\\Windows*", False),
        ("a\\*", True, "a\\anything", True),
        ("a\\*", True, "a*", False),
        ("a\\?", True, "a\\x", True),
        ("", True, "", True),
        ("", True, "x", False),
        ("**", False, "anything", True),
    ],
)
def test_wildcard_regex(pattern: str, question_mark: bool, subject: str, expected: bool) -> None:
    rx = wildcard_regex(pattern, question_mark=question_mark)
    assert (re.search(rx, subject) is not None) is expected
    assert (re.match(rx, subject) is not None) is expected
    assert (re.fullmatch(rx, subject) is not None) is expected


def test_wildcard_regex_anchored_against_trailing_newline() -> None:
    # `$` would match before a final newline (eql's quirk); \Z does not.
    assert re.search(wildcard_regex("abc", question_mark=False), "abc\n") is None


# ---------------------------------------------------------------------------
# compile_wildcards: fast paths vs. the regex path
# ---------------------------------------------------------------------------

_WC_PATTERNS = [
    "", "*", "**", "abc", "ABC", "a*", "A*", "*c", "*C", "*b*", "*B*", "a*c", "a**c", "*a*c*", "a?c", "?",
    "??", "*?", "?*", "a*b*c", "*\\*", "C:\\Windows\\*", "c:\\windows\\*\\cmd.exe", "*.exe", "*\n*", "é*", "*É",
    "a.c", "[ab]", "*[ab]*", "foo*bar", "*foo*bar*",
]
_WC_SUBJECTS = [
    "", "a", "A", "c", "abc", "ABC", "aXc", "ac", "a*c", "a?c", "abcabc", "xabcx", "b", "B", "ab\nc", "\n",
    "C:\\Windows\\System32\\cmd.exe", "c:\\windows\\x\\CMD.EXE", "cmd.exe", "é", "Éé", "É", "a.c", "[ab]", "x[ab]y",
    "foobar", "FOO-BAR", "afoo_barz", "\\", "\\*", "*",
]


def _reference(patterns: tuple[str, ...], subject: str, ci: bool, qm: bool) -> bool:
    """Regex-only evaluation, as the definition of the fast paths."""
    for p in patterns:
        rx = wildcard_regex(p.lower() if ci else p, question_mark=qm)
        if re.fullmatch(rx, subject.lower() if ci else subject) is not None:
            return True
    return False


@pytest.mark.parametrize("ci", [False, True])
@pytest.mark.parametrize("qm", [False, True])
def test_fast_paths_agree_with_regex(ci: bool, qm: bool) -> None:
    cases = 0
    singles = [(p,) for p in _WC_PATTERNS]
    pairs = list(itertools.combinations(_WC_PATTERNS[:14], 2))
    mixed = [tuple(_WC_PATTERNS[i::5]) for i in range(5)]  # every fast path plus regex in one set
    for pats in singles + pairs + mixed:
        m = compile_wildcards(pats, ci=ci, question_mark=qm)
        for s in _WC_SUBJECTS:
            assert m(s) is _reference(pats, s, ci, qm), (pats, s, ci, qm)
            cases += 1
    print(f"wildcard fast-path/regex agreement: {cases} cases (ci={ci}, question_mark={qm})")


def test_many_infixes_path() -> None:
    infixes = tuple(f"*{w}*" for w in ["alpha", "beta", "gamma", "delta", "eps", "zeta"])
    m = compile_wildcards(infixes, ci=True, question_mark=True)
    assert m("xxGAMMAxx")
    assert m("zeta")
    assert not m("gam")


def test_compile_wildcards_returns_bool_and_caches() -> None:
    m1 = compile_wildcards(["a*", "*b"], ci=True, question_mark=False)
    m2 = compile_wildcards(("a*", "*b"), ci=True, question_mark=False)
    assert m1 is m2
    assert m1("AXX") is True
    assert m1("xxx") is False
    assert compile_wildcards((), ci=False, question_mark=True)("x") is False
    assert compile_wildcards("abc", ci=False, question_mark=True)("abc") is True  # a bare str is one pattern


def test_compile_wildcards_rejects_non_strings() -> None:
    with pytest.raises(PatternError):
        compile_wildcards((None,), ci=False, question_mark=False)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Lucene regexes
# ---------------------------------------------------------------------------

# (lucene pattern, subject, ci, expected) — rule-style patterns first.
_LUCENE_CASES = [
    (r".*base64 (-d|--decode).*", "echo aGVsbG8= | base64 -d > x", True, True),
    (r".*base64 (-d|--decode).*", "BASE64 --DECODE payload", True, True),
    (r".*base64 (-d|--decode).*", "BASE64 --DECODE payload", False, False),
    (r".*base64 (-d|--decode).*", "base64 -e", True, False),
    (r".*[0-9]{1,3}\.[0-9]{1,3}.*", "curl http://10.1.2.3/x", False, True),
    (r".*[0-9]{1,3}\.[0-9]{1,3}.*", "curl http://example.com", False, False),
    (r".*[0-9]{1,3}\.[0-9]{1,3}.*", "1234.5678", False, True),
    (r"[0-9]{1,3}\.[0-9]{1,3}", "1234.5", False, False),
    (r".*\\\\.*\\pipe\\.*", "\\\\.\\pipe\\evil", False, True),
    (r"/tmp/[a-z0-9]{8}", "/tmp/abcd1234", False, True),
    (r"/tmp/[a-z0-9]{8}", "/tmp/abcd12345", False, False),
    (r"(curl|wget) .*", "wget http://x", False, True),
    (r"(curl|wget) .*", "xwget http://x", False, False),
    (r".*(\.sh|\.py)", "run.sh", False, True),
    (r"[^a-z]+", "ABC123", False, True),
    (r"[^a-z]+", "ABC123", True, False),
    (r"[a-z]+", "ABC", True, True),
    # Lucene specifics
    (r"^abc$", "abc", False, False),  # ^ and $ are literals
    (r"^abc$", "^abc$", False, True),
    (r"a.c", "a\nc", False, True),  # . is any character
    (r"\d+", "123", False, True),  # Lucene 9+: \d is [0-9]
    (r"\d+", "d", False, False),
    (r"\d", "\u0663", False, False),  # ASCII only, unlike Python's \d
    (r"\s", "\t", False, True),
    (r"\s", "\x0b", False, False),
    (r"\w+", "a_Z9", False, True),
    (r"\w", "é", False, False),
    (r"\W", "é", False, True),
    (r"\D\S", "x!", False, True),
    (r"[\d.]+", "1.2.3", False, True),
    (r"[^\d]", "5", False, False),
    (r"[a\W]", "-", False, True),
    (r"[a\W]", "b", False, False),
    (r"[^a\W]", "b", False, True),
    (r"[^a\W]", "-", False, False),
    (r"\.", ".", False, True),
    (r"\.", "x", False, False),
    (r"\\", "\\", False, True),
    (r"\*", "*", False, True),
    (r"\@\#\&\<\~", "@#&<~", False, True),
    (r'"a.b*"', "a.b*", False, True),  # quoted literal string
    (r'"a.b*"', "axb", False, False),
    (r'x"(y)"+', 'x(y)(y)', False, True),
    (r"*ab", "*ab", False, True),  # a leading * is literal
    (r"+x", "+x", False, True),
    (r"{a}", "{a}", False, True),
    (r"?", "?", False, True),
    (r"(|a)", "|a", False, True),
    (r"()", "", False, True),
    (r"", "", False, True),
    (r"a()b", "ab", False, True),
    (r"@", "anything\nat all", False, True),
    (r"a@", "a", False, True),
    (r"#", "", False, False),
    (r"#|b", "b", False, True),
    (r"a{3}", "aaa", False, True),
    (r"a{3}", "aaaa", False, False),
    (r"a{2,}", "aaaaa", False, True),
    (r"a{2,3}", "aaaa", False, False),
    (r"a{3,2}", "aa", False, False),  # impossible repeat: empty language
    (r"(ab)+", "ababab", False, True),
    (r"a?b", "b", False, True),
    (r"a**", "aaa", False, True),
    (r"<1-100>", "42", False, True),
    (r"<1-100>", "0042", False, True),  # different widths: leading zeros allowed
    (r"<1-100>", "101", False, False),
    (r"<1-100>", "0", False, False),
    (r"<01-10>", "05", False, True),  # same width: fixed length
    (r"<01-10>", "5", False, False),
    (r"<10-1>", "7", False, True),  # bounds are swapped
    (r"port<8000-8099>", "port8080", False, True),
    (r"~(a.*)", "bcd", False, True),  # complement at the end of the pattern
    (r"~(a.*)", "abc", False, False),
    (r"x~(a.*)", "xb", False, True),
    (r"x~(a.*)", "xab", False, False),
    (r"~(a.*)|a", "a", False, True),
    (r".*a.*&.*b.*", "cab", False, True),  # intersection at the end of the pattern
    (r".*a.*&.*b.*", "ca", False, False),
    (r"a(.*b&.*c.*)", "abxc", False, False),
    (r"a(.*b&.*c.*)", "acxb", False, True),
    (r"~~a", "a", False, True),
    (r"[]a]", "]", False, True),  # first ] in a class is a member
    (r"[a-c]", "B", True, True),
]


@pytest.mark.parametrize("pattern, subject, ci, expected", _LUCENE_CASES)
def test_lucene_regex(pattern: str, subject: str, ci: bool, expected: bool) -> None:
    m = compile_regex(pattern, ci=ci, lucene=True)
    assert m(subject) is expected


def test_lucene_translation_text() -> None:
    assert lucene_regex_to_python(r".*base64 (-d|--decode).*") == r".*base64\ (?:\-d|\-\-decode).*"
    assert lucene_regex_to_python(r".*[0-9]{1,3}\.[0-9]{1,3}.*") == r".*[0-9]{1,3}\.[0-9]{1,3}.*"
    assert lucene_regex_to_python(r"^a$") == r"\^a\$"
    # The output is valid Python without warnings (doubled set operators would warn).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for p in [r"[&&]", r"[~~]", r"[||]", r"[\-\-]", r"[\[\]]"]:
            re.compile(lucene_regex_to_python(p), re.DOTALL)


@pytest.mark.parametrize(
    "pattern, fragment",
    [
        (r"(~a)b", "complement"),  # complement followed by more pattern
        (r"(~a)*", "complement"),
        (r"(a&b)c", "intersection"),
        (r"(a&b)+", "intersection"),
        (r"<name>", "named automaton"),
        (r"\n", "invalid escape"),  # Lucene has no \n / \t escapes
        (r"\t", "invalid escape"),
        (r"a|", "unexpected end"),
        (r"(a", "expected ')'"),
        (r"a)", "unexpected ')'"),
        (r"[a", "expected ']'"),
        (r"[b-a]", "invalid range"),
        (r'"abc', "unterminated"),
        (r"<1-2", "expected '>'"),
        (r"<-2>", "interval"),
        (r"<1-2-3>", "interval"),
        (r"<a-b>", "interval"),
        (r"a{x}", "integer expected"),
        (r"a{2", "expected '}'"),
        (r"~", "unexpected end"),
        ("a\\", "unexpected end"),
        (r"a{99999999999}", "out of range"),
    ],
)
def test_lucene_errors(pattern: str, fragment: str) -> None:
    with pytest.raises(PatternError) as info:
        compile_regex(pattern, ci=False, lucene=True)
    assert fragment in str(info.value)
    assert repr(pattern) in str(info.value)  # the author sees which pattern


def test_lucene_interval_matches_brute_force() -> None:
    checked = 0
    for lo_s, hi_s in [("0", "9"), ("1", "100"), ("7", "1234"), ("001", "250"), ("00", "99"), ("10", "10"), ("95", "105"), ("0", "0"), ("5", "50")]:
        lo, hi = int(lo_s), int(hi_s)
        fixed = len(lo_s) == len(hi_s)
        m = compile_regex(f"<{lo_s}-{hi_s}>", ci=False, lucene=True)
        for n in range(0, 1300):
            for width in range(1, 6):
                s = str(n).zfill(width)
                if len(s) != width:
                    continue
                if fixed:
                    want = lo <= n <= hi and len(s) == len(lo_s)
                else:
                    want = lo <= n <= hi
                assert m(s) is want, (lo_s, hi_s, s)
                checked += 1
    assert checked > 10000


# ---------------------------------------------------------------------------
# Python regexes: compile_regex(lucene=False) and compile_python_match
# ---------------------------------------------------------------------------


def test_python_regex_fullmatch() -> None:
    m = compile_regex(r"\d+", ci=False, lucene=False)
    assert m("123")
    assert not m("123a")  # whole string
    assert compile_regex("a.c", ci=False, lucene=False)("a\nc")  # DOTALL
    assert compile_regex("abc", ci=True, lucene=False)("ABC")
    assert not compile_regex("abc", ci=False, lucene=False)("ABC")
    multi = compile_regex(["a+", "b+"], ci=False, lucene=False)
    assert multi("aaa") and multi("bb") and not multi("ab")
    with pytest.raises(PatternError):
        compile_regex("(", ci=False, lucene=False)


def test_python_match_is_prefix_anchored() -> None:
    m = compile_python_match(("abc",), ci=False)
    assert m("abcdef")  # re.match: prefix
    assert not m("xabc")
    assert compile_python_match("a|b", ci=False)("bcd")
    assert compile_python_match(("x", "[a-z]{3}\n[a-z]{6}"), ci=False)("foo\nbarbaz")
    assert compile_python_match(("ABC",), ci=True)("abc")
    with pytest.raises(PatternError):
        compile_python_match(("[",), ci=False)


def test_regex_caching() -> None:
    assert compile_regex("a.*", ci=True, lucene=True) is compile_regex("a.*", ci=True, lucene=True)
    assert compile_regex("a.*", ci=True, lucene=True) is not compile_regex("a.*", ci=False, lucene=True)
