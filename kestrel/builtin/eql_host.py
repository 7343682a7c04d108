"""The EQL rule host: TOML rule files and bare ``.eql`` query files.

It is a plugin like any other rule host; it only parses files and hands
queries to the engine's compiler.
"""

from __future__ import annotations

import os

from ..alerts import RuleMeta
from ..config import Config
from ..eql.errors import EqlError
from ..hookspecs import hookimpl
from ..rules.model import LoadError, LoadReport, RuleSpec, read_rule_text
from ..rules.toml_format import parse_rule_file


class EqlRuleHost:
    name = "eql"

    def claims(self, path: str) -> bool:
        return path.endswith((".toml", ".eql"))

    def load(self, path: str, engine, report: LoadReport) -> None:  # type: ignore[no-untyped-def]
        text, error = read_rule_text(path)
        if text is None:
            report.errors.append(error)  # type: ignore[arg-type]
            return
        if path.endswith(".eql"):
            stem = os.path.splitext(os.path.basename(path))[0]
            specs = [RuleSpec(id=stem, name=stem, query=text, origin=path, line=1)]
            errors: list[LoadError] = []
        else:
            specs, errors = parse_rule_file(path, text)
        report.errors.extend(errors)
        for spec in specs:
            add_spec(engine, spec, report)


def add_spec(engine, spec: RuleSpec, report: LoadReport) -> None:  # type: ignore[no-untyped-def]
    meta = RuleMeta(spec.id, spec.name, spec.severity, spec.tags, spec.description, spec.actions)
    try:
        rule = engine.add_rule(
            meta,
            spec.query,
            origin=spec.origin,
            line_offset=spec.query_line_offset,
            col_offset=spec.query_col_offset,
            dialect=spec.dialect,
        )
    except EqlError as exc:
        report.errors.append(LoadError(spec.origin or "<rule>", exc.line, exc.column, exc.message, spec.id, exc.snippet()))
        return
    except ValueError as exc:  # duplicate ids and the like
        report.errors.append(LoadError(spec.origin or "<rule>", spec.line, 1, str(exc), spec.id))
        return
    rule.spec = spec  # type: ignore[attr-defined]
    report.rules.append(rule)
    report.specs.append(spec)


@hookimpl
def kestrel_rule_hosts(config: Config) -> list:
    return [EqlRuleHost()]
