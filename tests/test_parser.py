"""Parser: what parses, and errors that point at the right character."""

from __future__ import annotations

import pytest

from kestrel import Config, Engine, EqlError, EqlSyntaxError
from kestrel.eql import ast
from kestrel.eql.parser import parse_expression, parse_query


def error_of(query: str) -> EqlError:
    with pytest.raises(EqlError) as info:
        Engine(Config()).add_query(query)
    return info.value


@pytest.mark.parametrize(
    "query, line, column, needle",
    [
        ('process where process.name == "x" where', 1, 35, "unexpected 'where'"),
        ("process where (a == 1", 1, 22, "expected ')'"),
        ("process where a in (1, 2", 1, 25, "')' to close the 'in' list"),
        ('process where\n  process.name == "a" and\n  process.args : ', 3, 18, "expected a string after ':'"),
        ("proces wher true", 1, 8, "expected 'where'"),
        ('process where process.name == "unterminated', 1, 31, "unterminated string"),
        ("sequence [process where true]", 1, 1, "at least two steps"),
        ("sequence [process where true] [file where true", 1, 47, "']' to close the step"),
        ("process where a == 1 == 2", 1, 22, "cannot be chained"),
        ("process where a # b", 1, 17, "unexpected character"),
        ("", 1, 1, "empty query"),
        ("process where true | bogus 3", 1, 20, "unknown pipe 'bogus'"),
        ("process where nosuchfunc(a)", 1, 15, "unknown function 'nosuchfunc'"),
        ("process where startsWith(a)", 1, 15, "takes 2 arguments"),
        ("process where add~(a, 1)", 1, 15, "no case-insensitive form"),
        ("sequence by a [process where true] by b [file where true]", 1, 41, "same number of 'by' values"),
        ("sequence with maxspan=5 parsecs [process where true] [file where true]", 1, 25, "unknown time unit"),
        ("process where a regex \"[unclosed\"", 1, 15, "regex"),
    ],
)
def test_error_positions(query: str, line: int, column: int, needle: str) -> None:
    err = error_of(query)
    assert (err.line, err.column) == (line, column), str(err)
    assert needle in str(err)


def test_error_shows_caret_under_offending_text() -> None:
    err = error_of('process where process.name == "x" where')
    text = str(err)
    assert text.splitlines()[0].startswith("1:35: syntax error:")
    src, caret = text.splitlines()[1:3]
    col = caret.index("^")
    assert src[col:col + 5] == "where"
    assert caret.strip() == "^^^^^"


def test_error_located_in_a_file() -> None:
    with pytest.raises(EqlError) as info:
        Engine(Config()).add_query("process where (", origin="rules/x.toml", line_offset=10, col_offset=0)
    assert str(info.value).startswith("rules/x.toml:11:16:")


def test_elasticsearch_constructs_parse() -> None:
    q = parse_query(
        """sequence by host.id, process.entity_id with maxspan=30s
             [process where event.type == "start" and process.name : ("bash", "sh")] by process.parent.entity_id
             [network where ?destination.port in (4444, 1337)] with runs=2
             ![file where file.path like~ "/tmp/*"]
             [file where true] as event0
           until [process where event.type == "end"]
           | head 5"""
    )
    seq = q.base
    assert isinstance(seq, ast.Sequence)
    assert seq.maxspan_ns == 30 * 10**9
    assert [s.runs for s in seq.steps] == [1, 2, 1, 1]
    assert [s.missing for s in seq.steps] == [False, False, True, False]
    assert seq.steps[3].alias == "event0"
    assert seq.until is not None
    assert len(seq.by) == 2
    assert q.pipes[0].name == "head"


def test_endgame_constructs_parse() -> None:
    q = parse_query('join by user_name [process where opcode = 1] [file where file_name == "*.exe"] until [process where true] | unique_count a b | sort c')
    assert isinstance(q.base, ast.Join)
    assert [p.name for p in q.pipes] == ["unique_count", "sort"]
    lin = parse_expression('descendant of [process where process_name == "cmd.exe"]')
    assert isinstance(lin, ast.Lineage) and lin.relation == "descendant"


def test_strings_and_fields() -> None:
    assert parse_expression('"a\\tb\\u{41}"').value == "a\tbA"  # type: ignore[union-attr]
    assert parse_expression('"""C:\\raw\\path"""').value == "C:\\raw\\path"  # type: ignore[union-attr]
    assert parse_expression("?'.*\\s+'").value == ".*\\s+"  # type: ignore[union-attr]
    f = parse_expression("process.args[0]")
    assert isinstance(f, ast.Field) and f.path == ("process", "args", 0)
    f = parse_expression("?process.`odd name`.x")
    assert isinstance(f, ast.Field) and f.optional and f.path == ("process", "odd name", "x")
    f = parse_expression("@timestamp")
    assert isinstance(f, ast.Field) and f.path == ("@timestamp",)


def test_function_names_in_any_case_and_tilde() -> None:
    e = parse_expression('STARTSWITH~(process.name, "a")')
    assert isinstance(e, ast.FunctionCall) and e.insensitive and e.name == "STARTSWITH"
    eng = Engine(Config())
    eng.add_query('process where cidrmatch(destination.ip, "10.0.0.0/8") and stringcontains(process.name, "x")')


def test_comments_are_ignored() -> None:
    q = parse_query("process where /* block */ true // line\n and true")
    assert isinstance(q.base, ast.EventQuery)


def test_syntax_error_is_a_subclass() -> None:
    with pytest.raises(EqlSyntaxError):
        parse_query("process where (")
