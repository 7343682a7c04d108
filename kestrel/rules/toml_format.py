"""The TOML rule file format (see docs/rules.md).

A file holds one or more ``[[rule]]`` tables, each with its metadata, an
EQL ``query`` and ``[[rule.tests]]`` cases. TOML parsers do not report
where a value sits in the file, so the query's position is found by
scanning the text for each rule's ``query =`` key; that is what lets a
query error point at the file's own line and column.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from ..config import DIALECTS
from .model import SEVERITIES, LoadError, RuleSpec, RuleTest, parse_test_case

_RULE_HEADER = re.compile(r"^\s*\[\[?\s*rule\s*\]\]?\s*(#.*)?$")
_QUERY_KEY = re.compile(r"""^(\s*query\s*=\s*)('''|\"\"\"|'|")""")
_TOML_ERR_POS = re.compile(r"\(at line (\d+), column (\d+)\)")

RULE_KEYS = {"id", "name", "description", "severity", "tags", "query", "dialect", "actions", "tests", "enabled", "author", "references", "version", "false_positives", "risk_score"}


def toml_error(exc: tomllib.TOMLDecodeError) -> tuple[int, int, str]:
    """(line, column, message without its position) of a TOML error."""
    msg = str(exc)
    m = _TOML_ERR_POS.search(msg)
    line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
    return line, col, _TOML_ERR_POS.sub("", msg).strip()


def _positions(text: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Lines of rule headers and (line_offset, col_offset) of each query."""
    headers: list[int] = []
    queries: list[tuple[int, int]] = []
    for i, line in enumerate(text.splitlines()):
        if _RULE_HEADER.match(line):
            headers.append(i + 1)
            continue
        m = _QUERY_KEY.match(line)
        if m:
            quote = m.group(2)
            rest = line[m.end():]
            if len(quote) == 3 and rest.strip() == "":
                # Multi-line string: TOML drops the newline after the quotes,
                # so the query's first line is the next line of the file.
                queries.append((i + 1, 0))
            else:
                queries.append((i, m.end()))
    return headers, queries


def parse_rule_file(path: str, text: str) -> tuple[list[RuleSpec], list[LoadError]]:
    errors: list[LoadError] = []
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, msg = toml_error(exc)
        detail = ""
        lines = text.splitlines()
        if 0 < line <= len(lines):
            detail = f"    {lines[line - 1]}\n    {' ' * max(col - 1, 0)}^"
        return [], [LoadError(path, line, col, f"invalid TOML: {msg}", None, detail)]
    raw = doc.get("rule")
    if raw is None:
        return [], [LoadError(path, 1, 1, "no [[rule]] table in this file")]
    tables = raw if isinstance(raw, list) else [raw]
    headers, queries = _positions(text)
    file_dialect = doc.get("dialect")
    specs: list[RuleSpec] = []
    for i, t in enumerate(tables):
        line = headers[i] if i < len(headers) else 1
        qpos = queries[i] if i < len(queries) else (line, 0)
        spec, errs = _rule(path, t, i, line, qpos, file_dialect)
        errors.extend(errs)
        if spec is not None:
            specs.append(spec)
    return specs, errors


def _rule(path: str, t: Any, index: int, line: int, qpos: tuple[int, int], file_dialect: Any) -> tuple[RuleSpec | None, list[LoadError]]:
    errs: list[LoadError] = []

    def err(msg: str) -> None:
        errs.append(LoadError(path, line, 1, msg, rid))

    rid = t.get("id") if isinstance(t, dict) else None
    if not isinstance(t, dict):
        return None, [LoadError(path, line, 1, "a rule must be a table")]
    if not isinstance(rid, str) or not rid.strip():
        rid = None
        err("the rule has no 'id' (a unique string)")
    unknown = sorted(set(t) - RULE_KEYS)
    if unknown:
        err(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(repr(k) for k in unknown)} (known: {', '.join(sorted(RULE_KEYS))})")
    query = t.get("query")
    if not isinstance(query, str) or not query.strip():
        err("the rule has no 'query' (an EQL query string)")
    name = t.get("name", rid)
    if not isinstance(name, str):
        err("'name' must be a string")
    severity = t.get("severity", "medium")
    if severity not in SEVERITIES:
        err(f"'severity' must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    tags = t.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
        err("'tags' must be a list of strings")
        tags = []
    actions = t.get("actions", ["alert"])
    if isinstance(actions, str):
        actions = [actions]
    if not isinstance(actions, list) or not all(isinstance(x, str) for x in actions):
        err("'actions' must be a list of action names")
        actions = ["alert"]
    dialect = t.get("dialect", file_dialect)
    if dialect is not None and dialect not in DIALECTS:
        err(f"'dialect' must be one of {', '.join(DIALECTS)}, not {dialect!r}")
    tests: list[RuleTest] = []
    raw_tests = t.get("tests", [])
    if not isinstance(raw_tests, list):
        err("'tests' must be an array of tables ([[rule.tests]])")
        raw_tests = []
    for k, rt in enumerate(raw_tests):
        case = parse_test_case(rt, k, err)
        if case is not None:
            tests.append(case)
    if errs or t.get("enabled", True) is False:
        return None, errs
    spec = RuleSpec(
        id=str(rid),
        name=str(name),
        query=str(query),
        description=str(t.get("description", "")),
        severity=str(severity),
        tags=tuple(tags),
        actions=tuple(actions),
        dialect=dialect,
        tests=tests,
        origin=path,
        line=line,
        query_line_offset=qpos[0],
        query_col_offset=qpos[1],
        extra={k: v for k, v in t.items() if k in ("author", "references", "version", "false_positives", "risk_score")},
    )
    return spec, []
