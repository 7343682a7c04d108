"""A hand-written recursive-descent parser for EQL.

Hand-written rather than generated so that every error can say exactly what
was expected at which character, and so that one grammar serves both
dialects: the differences between Elasticsearch EQL and Endgame EQL are in
meaning (case rules, ``==`` with wildcards), which the compiler decides, not
in what parses.
"""

from __future__ import annotations

from . import ast
from .errors import EqlSyntaxError
from .lexer import EOF, FIELD, METHOD, NAME, NUMBER, OP, STRING, Token, tokenize

KEYWORDS = {
    "and", "or", "not", "in", "in~", "like", "like~", "regex", "regex~", "where", "sequence", "join",
    "sample", "until", "by", "with", "of", "true", "false", "null", "as",
}
LINEAGE = ("child", "descendant", "event")
STRING_OPS = {":": (":", True), "like": ("like", False), "like~": ("like", True), "regex": ("regex", False), "regex~": ("regex", True)}
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=", "=")
TIME_UNITS_NS = {
    "nanos": 1, "nanosecond": 1, "nanoseconds": 1, "ns": 1,
    "micros": 1_000, "microsecond": 1_000, "microseconds": 1_000, "us": 1_000,
    "ms": 1_000_000, "millis": 1_000_000, "millisecond": 1_000_000, "milliseconds": 1_000_000,
    "s": 1_000_000_000, "sec": 1_000_000_000, "second": 1_000_000_000, "seconds": 1_000_000_000,
    "m": 60_000_000_000, "min": 60_000_000_000, "minute": 60_000_000_000, "minutes": 60_000_000_000,
    "h": 3_600_000_000_000, "hour": 3_600_000_000_000, "hours": 3_600_000_000_000,
    "d": 86_400_000_000_000, "day": 86_400_000_000_000, "days": 86_400_000_000_000,
}


def parse_query(source: str) -> ast.PipedQuery:
    """Parse a full query (event query, sequence, join or sample, with pipes)."""
    return _Parser(source).parse_query()


def parse_expression(source: str) -> ast.Expr:
    """Parse a bare expression (used by tests and the function library)."""
    p = _Parser(source)
    expr = p.expr()
    p.expect_eof()
    return expr


def _describe(tok: Token) -> str:
    if tok.kind == EOF:
        return "end of query"
    return repr(tok.text)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0

    # -- token helpers -------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != EOF:
            self.i += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> EqlSyntaxError:
        tok = tok or self.tok
        return EqlSyntaxError(message, self.source, tok.start, max(tok.end, tok.start + 1))

    def expect_op(self, op: str, what: str | None = None) -> Token:
        if not self.tok.is_op(op):
            raise self.error(f"expected {what or repr(op)} but found {_describe(self.tok)}")
        return self.advance()

    def expect_kw(self, word: str) -> Token:
        if not self.tok.is_kw(word):
            raise self.error(f"expected '{word}' but found {_describe(self.tok)}")
        return self.advance()

    def expect_eof(self) -> None:
        if self.tok.kind != EOF:
            raise self.error(f"unexpected {_describe(self.tok)} after the end of the query")

    # -- queries -------------------------------------------------------
    def parse_query(self) -> ast.PipedQuery:
        if self.tok.kind == EOF:
            raise self.error("empty query: expected '<event type> where <condition>', 'sequence', 'join' or 'sample'")
        base: ast.Base | None = None
        if not self.tok.is_op("|"):
            base = self.base_query()
        pipes = self.pipes()
        self.expect_eof()
        return ast.PipedQuery(base, pipes, self.source)

    def base_query(self) -> ast.Base:
        tok = self.tok
        if tok.is_kw("sequence"):
            return self.sequence()
        if tok.is_kw("join"):
            return self.join()
        if tok.is_kw("sample"):
            return self.sample()
        return self.event_query()

    def event_query(self) -> ast.EventQuery:
        tok = self.tok
        if tok.kind == NAME and tok.value not in KEYWORDS:
            event_type: str | None = str(tok.value)
        elif tok.kind == STRING:
            event_type = str(tok.value)
        elif tok.kind == FIELD and not tok.value[1]:
            # Dotted categories are not valid EQL, but say so clearly.
            raise self.error(f"expected an event type (like 'process' or 'any') but found {_describe(tok)}")
        else:
            raise self.error(f"expected an event type (like 'process' or 'any') but found {_describe(tok)}")
        self.advance()
        if not self.tok.is_kw("where"):
            raise self.error(f"expected 'where' after the event type {tok.text!r} but found {_describe(self.tok)}")
        self.advance()
        cond = self.expr()
        if event_type is not None and event_type.lower() == "any":
            event_type = None
        return ast.EventQuery(event_type, cond, (tok.start, self.tokens[self.i - 1].end))

    def _by_clause(self) -> list[ast.Expr]:
        self.expect_kw("by")
        items = [self.expr()]
        while self.tok.is_op(","):
            self.advance()
            items.append(self.expr())
        return items

    def _maxspan(self) -> int:
        with_tok = self.expect_kw("with")
        if not self.tok.is_kw("maxspan"):
            raise self.error(f"expected 'maxspan' after 'with' but found {_describe(self.tok)}")
        self.advance()
        if not (self.tok.is_op("=") or self.tok.is_op("==")):
            raise self.error(f"expected '=' after 'maxspan' but found {_describe(self.tok)}")
        self.advance()
        num = self.tok
        if num.kind != NUMBER:
            raise self.error(f"expected a time span such as 30s or 5m but found {_describe(num)}")
        self.advance()
        unit = "s"
        if self.tok.kind == NAME and self.tok.value not in KEYWORDS:
            unit = str(self.tok.value)
            unit_tok = self.advance()
            if unit.lower() not in TIME_UNITS_NS:
                raise self.error(f"unknown time unit {unit!r}; use ms, s, m, h or d", unit_tok)
        value = num.value
        if not isinstance(value, (int, float)) or value < 0:
            raise self.error("maxspan must be a positive time span", num)
        del with_tok
        return int(value * TIME_UNITS_NS[unit.lower()])

    def sequence(self) -> ast.Sequence:
        start = self.advance()
        by: list[ast.Expr] = []
        maxspan: int | None = None
        for _ in range(2):
            if self.tok.is_kw("by") and not by:
                by = self._by_clause()
            elif self.tok.is_kw("with") and maxspan is None:
                maxspan = self._maxspan()
        steps, until = self._steps("sequence", allow_missing=True, allow_until=True)
        # `[q] with runs=N` stands for N steps, so a single repeated step is
        # a valid sequence (Elastic's brute-force rules are written so).
        if not any(not s.missing for s in steps) or sum(s.runs for s in steps) < 2:
            raise self.error("a sequence needs at least two steps", start)
        if any(s.missing for s in steps) and maxspan is None and (steps[0].missing or steps[-1].missing):
            raise self.error("a sequence that starts or ends with a missing step (![..]) needs 'with maxspan='", start)
        return ast.Sequence(by, maxspan, steps, until, (start.start, self.tokens[self.i - 1].end))

    def join(self) -> ast.Join:
        start = self.advance()
        by = self._by_clause() if self.tok.is_kw("by") else []
        steps, until = self._steps("join", allow_missing=False, allow_until=True)
        if len(steps) < 2:
            raise self.error("a join needs at least two steps", start)
        return ast.Join(by, steps, until, (start.start, self.tokens[self.i - 1].end))

    def sample(self) -> ast.Sample:
        start = self.advance()
        by = self._by_clause() if self.tok.is_kw("by") else []
        steps, _ = self._steps("sample", allow_missing=False, allow_until=False)
        if len(steps) < 2:
            raise self.error("a sample needs at least two steps", start)
        return ast.Sample(by, steps, (start.start, self.tokens[self.i - 1].end))

    def _steps(self, what: str, allow_missing: bool, allow_until: bool) -> tuple[list[ast.Step], ast.Step | None]:
        steps: list[ast.Step] = []
        until = None
        while self.tok.is_op("[") or self.tok.is_op("!["):
            if self.tok.is_op("![") and not allow_missing:
                raise self.error(f"missing-event steps (![..]) are only allowed in a sequence, not in a {what}")
            steps.append(self.step())
        if not steps:
            raise self.error(f"expected '[' to start the first step of the {what} but found {_describe(self.tok)}")
        if self.tok.is_kw("until"):
            if not allow_until:
                raise self.error(f"'until' is not allowed in a {what}")
            self.advance()
            if not self.tok.is_op("["):
                raise self.error(f"expected '[' after 'until' but found {_describe(self.tok)}")
            until = self.step()
        return steps, until

    def step(self) -> ast.Step:
        open_tok = self.advance()
        missing = open_tok.value == "!["
        query = self.event_query()
        self.expect_op("]", "']' to close the step")
        step = ast.Step(query, missing=missing, pos=(open_tok.start, open_tok.end))
        seen: set[str] = set()
        while True:
            tok = self.tok
            if tok.is_kw("by") and "by" not in seen:
                step.by = self._by_clause()
                seen.add("by")
            elif tok.is_kw("fork") and self.peek().is_op("=", "==") and "fork" not in seen:
                self.advance()
                self.advance()
                val = self.advance()
                if not val.is_kw("true", "false"):
                    raise self.error("expected true or false after 'fork='", val)
                step.fork = val.value == "true"
                seen.add("fork")
            elif tok.is_kw("fork") and "fork" not in seen and not self.peek().is_op("="):
                self.advance()
                step.fork = True
                seen.add("fork")
            elif tok.is_kw("with") and self.peek().is_kw("runs") and "runs" not in seen:
                self.advance()
                self.advance()
                if not self.tok.is_op("=", "=="):
                    raise self.error(f"expected '=' after 'runs' but found {_describe(self.tok)}")
                self.advance()
                num = self.advance()
                if num.kind != NUMBER or not isinstance(num.value, int) or num.value < 1:
                    raise self.error("runs must be a positive whole number", num)
                if num.value > 100:
                    raise self.error("runs may be at most 100", num)
                step.runs = num.value
                seen.add("runs")
            elif tok.is_kw("as") and "as" not in seen:
                self.advance()
                name = self.advance()
                if name.kind != NAME or name.value in KEYWORDS:
                    raise self.error(f"expected an alias name after 'as' but found {_describe(name)}", name)
                step.alias = str(name.value)
                seen.add("as")
            else:
                break
        step.pos = (open_tok.start, self.tokens[self.i - 1].end)
        return step

    def pipes(self) -> list[ast.Pipe]:
        pipes: list[ast.Pipe] = []
        while self.tok.is_op("|"):
            bar = self.advance()
            name = self.advance()
            if name.kind != NAME:
                raise self.error(f"expected a pipe name (head, tail, filter, unique, unique_count, count, sort) but found {_describe(name)}", name)
            args: list[ast.Expr] = []
            while not (self.tok.is_op("|") or self.tok.kind == EOF):
                args.append(self.expr())
                if self.tok.is_op(","):
                    self.advance()
            pipes.append(ast.Pipe(str(name.value).lower(), args, (bar.start, self.tokens[self.i - 1].end)))
        return pipes

    # -- expressions ---------------------------------------------------
    def expr(self) -> ast.Expr:
        return self.or_expr()

    def or_expr(self) -> ast.Expr:
        first = self.and_expr()
        terms = [first]
        while self.tok.is_kw("or"):
            self.advance()
            terms.append(self.and_expr())
        if len(terms) == 1:
            return first
        return ast.Or(terms, (_start(first), _end(terms[-1])))

    def and_expr(self) -> ast.Expr:
        first = self.not_expr()
        terms = [first]
        while self.tok.is_kw("and"):
            self.advance()
            terms.append(self.not_expr())
        if len(terms) == 1:
            return first
        return ast.And(terms, (_start(first), _end(terms[-1])))

    def not_expr(self) -> ast.Expr:
        if self.tok.is_kw("not"):
            tok = self.advance()
            inner = self.not_expr()
            return ast.Not(inner, (tok.start, _end(inner)))
        return self.comparison()

    def comparison(self) -> ast.Expr:
        left = self.sum_expr()
        tok = self.tok
        if tok.kind == OP and tok.value in COMPARE_OPS:
            self.advance()
            right = self.sum_expr()
            op = "==" if tok.value == "=" else str(tok.value)
            node: ast.Expr = ast.Compare(op, left, right, (_start(left), _end(right)))
            if self.tok.kind == OP and self.tok.value in COMPARE_OPS:
                raise self.error("comparisons cannot be chained; combine them with 'and'")
            return node
        negate = False
        if tok.is_kw("not") and (self.peek().is_kw("in", "in~", "like", "like~", "regex", "regex~") or self.peek().is_op(":")):
            negate = True
            self.advance()
            tok = self.tok
        if tok.is_kw("in", "in~"):
            self.advance()
            self.expect_op("(", "'(' after 'in'")
            items = [self.expr()]
            while self.tok.is_op(","):
                self.advance()
                if self.tok.is_op(")"):
                    break
                items.append(self.expr())
            close = self.expect_op(")", "')' to close the 'in' list")
            return ast.InSet(left, items, negate, tok.value == "in~", (_start(left), close.end))
        if tok.is_op(":") or (tok.kind == NAME and tok.value in STRING_OPS):
            op, insensitive = STRING_OPS[str(tok.value)]
            self.advance()
            patterns: list[ast.Expr] = []
            if self.tok.is_op("("):
                self.advance()
                patterns.append(self._pattern_literal(op))
                while self.tok.is_op(","):
                    self.advance()
                    if self.tok.is_op(")"):
                        break
                    patterns.append(self._pattern_literal(op))
                end = self.expect_op(")", "')' to close the pattern list").end
            else:
                patterns.append(self._pattern_literal(op))
                end = _end(patterns[-1])
            node = ast.StringPredicate(op, insensitive, left, patterns, (_start(left), end))
            return ast.Not(node, node.pos) if negate else node
        if negate:
            raise self.error("expected 'in', 'like', 'regex' or ':' after 'not'")
        return left

    def _pattern_literal(self, op: str) -> ast.Expr:
        tok = self.tok
        if op == ":" and tok.kind in (NUMBER,) or (op == ":" and tok.is_kw("true", "false", "null")):
            self.advance()
            return ast.Literal(_kw_value(tok), (tok.start, tok.end))
        if tok.kind != STRING:
            if op == ":":
                # Elasticsearch allows any expression on the right of ':'
                # only when it folds to a constant; fields are an error there.
                raise self.error(f"expected a string after ':' but found {_describe(tok)}")
            raise self.error(f"'{op}' takes string patterns, found {_describe(tok)}")
        self.advance()
        return ast.Literal(tok.value, (tok.start, tok.end))

    def sum_expr(self) -> ast.Expr:
        left = self.mul_expr()
        while self.tok.is_op("+", "-"):
            op = self.advance()
            right = self.mul_expr()
            left = ast.Math(str(op.value), left, right, (_start(left), _end(right)))
        return left

    def mul_expr(self) -> ast.Expr:
        left = self.unary()
        while self.tok.is_op("*", "/", "%"):
            op = self.advance()
            right = self.unary()
            left = ast.Math(str(op.value), left, right, (_start(left), _end(right)))
        return left

    def unary(self) -> ast.Expr:
        if self.tok.is_op("-", "+"):
            op = self.advance()
            inner = self.unary()
            if op.value == "+":
                return inner
            if isinstance(inner, ast.Literal) and isinstance(inner.value, (int, float)) and not isinstance(inner.value, bool):
                return ast.Literal(-inner.value, (op.start, _end(inner)))
            return ast.Negative(inner, (op.start, _end(inner)))
        return self.postfix()

    def postfix(self) -> ast.Expr:
        node = self.primary()
        while self.tok.kind == METHOD:
            m = self.advance()
            args = [node]
            if not self.tok.is_op(")"):
                args.extend(self._args())
            close = self.expect_op(")", "')' to close the method call")
            node = ast.FunctionCall(str(m.value), args, False, (_start(node), close.end))
        return node

    def _args(self) -> list[ast.Expr]:
        args = [self.expr()]
        while self.tok.is_op(","):
            self.advance()
            if self.tok.is_op(")"):
                break
            args.append(self.expr())
        return args

    def primary(self) -> ast.Expr:
        tok = self.tok
        if tok.kind == STRING:
            self.advance()
            return ast.Literal(tok.value, (tok.start, tok.end))
        if tok.kind == NUMBER:
            self.advance()
            return ast.Literal(tok.value, (tok.start, tok.end))
        if tok.kind == FIELD:
            path, optional = tok.value  # type: ignore[misc]
            if not optional and self.peek().is_op("(") and all(isinstance(p, str) for p in path):
                # A dotted function name: functions that rule plugins add
                # (lua.high_entropy(...), wasm.rule.check(...)).
                self.advance()
                self.advance()
                args = [] if self.tok.is_op(")") else self._args()
                close = self.expect_op(")", f"')' to close the call to {tok.text}()")
                return ast.FunctionCall(".".join(path), args, False, (tok.start, close.end))
            self.advance()
            return ast.Field(tuple(path), bool(optional), (tok.start, tok.end))
        if tok.is_op("("):
            self.advance()
            inner = self.expr()
            self.expect_op(")", "')' to close the parenthesis")
            return inner
        if tok.kind == NAME:
            name = str(tok.value)
            nxt = self.peek()
            if nxt.is_op("(") and name not in KEYWORDS:
                self.advance()
                self.advance()
                args = [] if self.tok.is_op(")") else self._args()
                close = self.expect_op(")", f"')' to close the call to {name.rstrip('~')}()")
                insensitive = name.endswith("~")
                return ast.FunctionCall(name.rstrip("~"), args, insensitive, (tok.start, close.end))
            if name.endswith("~"):
                raise self.error(f"'{name}' must be followed by '(' (a case-insensitive function call)")
            if name in LINEAGE and nxt.is_kw("of"):
                self.advance()
                self.advance()
                if not self.tok.is_op("["):
                    raise self.error(f"expected '[' after '{name} of' but found {_describe(self.tok)}")
                self.advance()
                query = self.event_query()
                close = self.expect_op("]", "']' to close the lineage subquery")
                return ast.Lineage(name, query, (tok.start, close.end))
            if name in ("true", "false", "null"):
                self.advance()
                return ast.Literal(_kw_value(tok), (tok.start, tok.end))
            if name in KEYWORDS:
                raise self.error(f"expected a value but found the keyword {name!r}")
            self.advance()
            return ast.Field((name,), False, (tok.start, tok.end))
        if tok.kind == EOF:
            raise self.error("unexpected end of query: expected a value")
        raise self.error(f"expected a value but found {_describe(tok)}")


def _kw_value(tok: Token) -> object:
    if tok.kind == NAME:
        return {"true": True, "false": False, "null": None}[str(tok.value)]
    return tok.value


def _start(node: object) -> int:
    return getattr(node, "pos", (0, 0))[0]


def _end(node: object) -> int:
    return getattr(node, "pos", (0, 0))[1]
