"""Compile EQL expressions into Python functions, once, ahead of the events.

Each condition becomes the source of one Python function that is ``exec``-ed
with its constants, field getters and helpers bound as globals, so the
per-event cost is one call and straight-line code: no tree walking, no
dictionary of node handlers, no per-event closures.

Null semantics are exact (Kleene three-valued logic, as eql and
Elasticsearch use): every boolean node is compiled twice, as "is true" (T)
and "is false" (F), so ``not`` of a null is null and only a true condition
matches, while Python's own short-circuit ``and``/``or`` still apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..config import Config
from ..events import make_getter
from . import ast
from . import runtime as rt
from .errors import EqlSemanticError

# Names of functions whose arguments the compiler handles itself.
_LAMBDA_FUNCS = {"arraysearch", "arraycount"}
_MATH_FUNCS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "modulo"}


class LineageHost:
    """What the compiler needs from whoever tracks process lineage."""

    def register(self, relation: str, predicate: Callable[[dict], bool], event_type: str | None) -> Callable[[dict], bool]:
        raise NotImplementedError


@dataclass
class CompileContext:
    config: Config
    source: str = ""
    aliases: frozenset[str] = frozenset()
    lineage: LineageHost | None = None
    # Extra EQL-callable functions (plugins: lua.*, wasm.*): name -> impl.
    extra_functions: dict[str, Callable[..., Any]] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        return self.config.dialect

    @property
    def fold(self) -> bool:
        return self.config.fold_case_default


def _is_str_lit(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and isinstance(node.value, str)


class ExprCompiler:
    """Turns one expression tree into Python source plus its namespace."""

    def __init__(self, ctx: CompileContext, lambda_vars: dict[str, str] | None = None, ns: dict | None = None) -> None:
        self.ctx = ctx
        self.ns: dict[str, Any] = ns if ns is not None else {"_walk": rt.walk, "_to_bool": rt.to_bool, "_neg": rt.negative}
        self.lambda_vars = dict(lambda_vars or {})
        self._getters: dict[tuple, str] = {}
        self._consts: dict[int, str] = {}
        self._n = 0
        self.fields: set[str] = set()
        self.alias_used = False
        self._lineage_checks: dict[int, str] = {}

    # -- plumbing ------------------------------------------------------
    def error(self, message: str, node: Any) -> EqlSemanticError:
        pos = getattr(node, "pos", (0, 0))
        return EqlSemanticError(message, self.ctx.source, pos[0], pos[1])

    def name(self, prefix: str) -> str:
        self._n += 1
        n = f"{prefix}{self._n}_{id(self) % 10007}"
        while n in self.ns:
            self._n += 1
            n = f"{prefix}{self._n}_{id(self) % 10007}"
        return n

    def const(self, obj: Any, prefix: str = "_c") -> str:
        key = id(obj)
        if key in self._consts and self.ns.get(self._consts[key]) is obj:
            return self._consts[key]
        n = self.name(prefix)
        self.ns[n] = obj
        self._consts[key] = n
        return n

    def lit(self, value: Any) -> str:
        if value is None or isinstance(value, (bool, int, float, str)):
            return repr(value)
        return self.const(value)

    def field_code(self, node: ast.Field) -> str:
        path = node.path
        head = path[0]
        if isinstance(head, str) and head in self.lambda_vars:
            var = self.lambda_vars[head]
            if len(path) == 1:
                return var
            return f"_walk({var}, {self.lit(tuple(path[1:]))})"
        if isinstance(head, str) and head in self.ctx.aliases and len(path) > 1:
            self.alias_used = True
            return f"_walk((a or {{}}).get({head!r}), {self.lit(tuple(path[1:]))})"
        self.fields.add(node.name)
        g = self._getters.get(path)
        if g is None:
            g = self.const(make_getter(path), "_g")
            self._getters[path] = g
        # Nested ECS events are read inline (a Python call per field read is
        # most of a predicate's cost); any other shape falls back to the
        # general getter, so the two agree on every event.
        parts = tuple(q for p in path for q in (p.split(".") if isinstance(p, str) and "." in p else (p,)))
        if not all(isinstance(p, str) for p in parts):
            return f"{g}(e)"
        if len(parts) == 1:
            return f"e.get({parts[0]!r})"
        if len(parts) == 2:
            t = self.name("_t")
            return f"({t}.get({parts[1]!r}) if ({t} := e.get({parts[0]!r})).__class__ is dict else {g}(e))"
        if len(parts) == 3:
            t, u = self.name("_t"), self.name("_t")
            return (
                f"({u}.get({parts[2]!r}) if ({u} := ({t}.get({parts[1]!r}) if ({t} := e.get({parts[0]!r})).__class__ is dict "
                f"else None)).__class__ is dict else {g}(e))"
            )
        return f"{g}(e)"

    # -- three faces of every node --------------------------------------
    def V(self, node: ast.Expr) -> str:
        """Python expression for the node's value (None for null)."""
        if isinstance(node, ast.Literal):
            return self.lit(node.value)
        if isinstance(node, ast.Field):
            return self.field_code(node)
        if isinstance(node, ast.Negative):
            return f"_neg({self.V(node.expr)})"
        if isinstance(node, ast.Math):
            impl = self._function_impl(_MATH_FUNCS[node.op], False, node, 2)
            return f"{impl}({self.V(node.left)}, {self.V(node.right)})"
        if isinstance(node, ast.FunctionCall):
            return self._call(node)
        if isinstance(node, (ast.Compare, ast.InSet, ast.StringPredicate)):
            return self._tri(node)
        # Boolean connectives and lineage used as values.
        t, f = self.T(node), self.F(node)
        return f"(True if {t} else (False if {f} else None))"

    def T(self, node: ast.Expr) -> str:
        """Python expression that is true exactly when the node is true."""
        return self._test(node, True)

    def F(self, node: ast.Expr) -> str:
        """Python expression that is true exactly when the node is false (not null)."""
        return self._test(node, False)

    def _test(self, node: ast.Expr, want: bool) -> str:
        """"Is the node ``want``?" — De Morgan duals for and/or, a flip for not."""
        if isinstance(node, ast.Literal):
            return "True" if rt.to_bool(node.value) is want else "False"
        if isinstance(node, (ast.And, ast.Or)):
            joiner = " and " if isinstance(node, ast.And) == want else " or "
            return "(" + joiner.join(self._test(t, want) for t in node.terms) + ")"
        if isinstance(node, ast.Not):
            return self._test(node.term, not want)
        if isinstance(node, ast.Lineage):
            check = f"{self._lineage(node)}(e)"
            return check if want else f"(not {check})"
        if isinstance(node, ast.FunctionCall):
            return f"({self._call(node)} is {want})"
        if want and isinstance(node, (ast.Compare, ast.InSet)):
            fast = self._fast_true(node)
            if fast is not None:
                return fast
        if isinstance(node, (ast.Compare, ast.InSet, ast.StringPredicate)):
            return f"({self._tri(node)} is {want})"
        v = self.name("_t")
        return f"(({v} := {self.V(node)}) is not None and {'bool(' if want else '(not '}{v}))"

    # -- comparisons ----------------------------------------------------
    def _fast_true(self, node: ast.Expr) -> str | None:
        """Inline "is true" code for the commonest tests — a field equal to,
        or in a list of, string literals — with the general helper kept for
        lists and other types so the result is the same."""
        from .runtime import _coerced

        coerce = self.ctx.dialect == "elasticsearch"
        if isinstance(node, ast.Compare) and node.op == "==":
            if isinstance(node.right, ast.Literal) and isinstance(node.left, ast.Field):
                fld, lit = node.left, node.right.value
            elif isinstance(node.left, ast.Literal) and isinstance(node.right, ast.Field):
                fld, lit = node.right, node.left.value
            else:
                return None
            if not isinstance(lit, str) or (coerce and _coerced(lit) is not None):
                return None
            if self.ctx.dialect == "endgame" and "*" in lit:
                return None
            ci = self.ctx.fold
            m = self.const(rt.make_eq_literal(lit, ci, coerce), "_eq")
            v = self.name("_t")
            if ci:
                head = f"(({v} := {self.field_code(fld)}).__class__ is str and {v}.lower() == {lit.lower()!r})"
                return f"({head} or ({v}.__class__ is list and {m}({v}) is True))"
            head = f"(({v} := {self.field_code(fld)}) == {lit!r})"
            # Case-sensitive: a list holds the literal exactly when `in` says so.
            return f"({head} or ({v}.__class__ is list and {lit!r} in {v}))"
        if isinstance(node, ast.InSet) and not node.negate and isinstance(node.expr, ast.Field):
            if not node.items or not all(isinstance(i, ast.Literal) and isinstance(i.value, str) for i in node.items):
                return None
            values = [i.value for i in node.items]  # type: ignore[union-attr]
            if coerce and any(_coerced(x) is not None for x in values):
                return None
            ci = node.insensitive or self.ctx.fold
            strings = self.const(frozenset(x.lower() if ci else x for x in values), "_set")
            m = self.const(rt.make_in_literals(values, ci, coerce), "_in")
            v = self.name("_t")
            probe = f"{v}.lower()" if ci else v
            return (
                f"((({v} := {self.field_code(node.expr)}).__class__ is str and {probe} in {strings}) "
                f"or ({v}.__class__ is list and {m}({v}) is True))"
            )
        return None

    def _tri(self, node: ast.Expr) -> str:
        """Value (True/False/None) of a comparison-like node."""
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.InSet):
            return self._in_set(node)
        if isinstance(node, ast.StringPredicate):
            return self._string_predicate(node)
        raise AssertionError(node)

    def _compare(self, node: ast.Compare) -> str:
        ci = self.ctx.fold
        op = node.op
        left, right = node.left, node.right
        if op in ("==", "!=") and (isinstance(left, ast.Literal) or isinstance(right, ast.Literal)):
            lit_node, other = (right, left) if isinstance(right, ast.Literal) else (left, right)
            value = lit_node.value  # type: ignore[union-attr]
            if value is None:
                # `x == null` is a null test, never null itself.
                code = f"({self.V(other)} is None)"
                return code if op == "==" else f"(not {code})"
            if isinstance(value, str) and self.ctx.dialect == "endgame" and "*" in value:
                # Endgame EQL: == against a literal with * is a wildcard match.
                from .patterns import compile_wildcards

                m = self.const(rt.make_matcher(compile_wildcards((value,), ci=ci, question_mark=False)), "_m")
                code = f"{m}({self.V(other)})"
            else:
                m = self.const(rt.make_eq_literal(value, ci, self.ctx.dialect == "elasticsearch"), "_eq")
                code = f"{m}({self.V(other)})"
            if op == "!=":
                t = self.name("_t")
                return f"(None if ({t} := {code}) is None else not {t})"
            return code
        cmp = self.const(rt.make_compare(op, ci), "_cmp")
        return f"{cmp}({self.V(left)}, {self.V(right)})"

    def _in_set(self, node: ast.InSet) -> str:
        ci = node.insensitive or self.ctx.fold
        if all(isinstance(i, ast.Literal) for i in node.items):
            values = [i.value for i in node.items]  # type: ignore[union-attr]
            m = self.const(rt.make_in_literals(values, ci, self.ctx.dialect == "elasticsearch"), "_in")
            code = f"{m}({self.V(node.expr)})"
        else:
            # Non-literal members: membership is a chain of == comparisons.
            cmp = self.const(rt.make_compare("==", ci), "_cmp")
            v = self.name("_t")
            head = f"({v} := {self.V(node.expr)})"
            parts = [f"{cmp}({head if k == 0 else v}, {self.V(item)})" for k, item in enumerate(node.items)]
            agg = self.const(_or3, "_or3")
            code = f"{agg}(({', '.join(parts)},))"
        if node.negate:
            t = self.name("_t")
            return f"(None if ({t} := {code}) is None else not {t})"
        return code

    def _string_predicate(self, node: ast.StringPredicate) -> str:
        from .patterns import PatternError, compile_regex, compile_wildcards

        ci = node.insensitive
        pats = []
        others = []
        for p in node.patterns:
            if not isinstance(p, ast.Literal):
                raise self.error(f"'{node.op}' needs literal patterns", p)
            if isinstance(p.value, str):
                pats.append(p.value)
            else:
                others.append(p.value)
        try:
            if node.op == "regex":
                match_str = compile_regex(tuple(pats), ci=ci, lucene=self.ctx.dialect == "elasticsearch") if pats else (lambda s: False)
            else:
                match_str = compile_wildcards(tuple(pats), ci=ci, question_mark=True) if pats else (lambda s: False)
        except PatternError as exc:
            raise self.error(str(exc), node) from None
        except Exception as exc:  # re.error and friends from a bad pattern
            raise self.error(f"invalid pattern: {exc}", node) from None
        on_other = None
        if others:
            eqs = [rt.make_eq_literal(o, True) for o in others]

            def on_other(v: Any, _eqs=tuple(eqs)) -> bool | None:
                return _or3(tuple(f(v) for f in _eqs))

        m = self.const(rt.make_matcher(match_str, on_other), "_m")
        return f"{m}({self.V(node.expr)})"

    # -- functions --------------------------------------------------------
    def _function_impl(self, name: str, ci: bool, node: Any, nargs: int) -> str:
        from . import functions

        spec = functions.lookup(name)
        if spec is None:
            raise self.error(f"unknown function {name!r}", node)
        if nargs < spec.min_args or (spec.max_args is not None and nargs > spec.max_args):
            if spec.max_args is None:
                want = f"at least {spec.min_args}"
            elif spec.min_args == spec.max_args:
                want = str(spec.min_args)
            else:
                want = f"{spec.min_args} to {spec.max_args}"
            raise self.error(f"{spec.name}() takes {want} argument{'s' if want != '1' else ''}, got {nargs}", node)
        return self.const(spec.build(ci), "_f")

    def _call(self, node: ast.FunctionCall) -> str:
        lname = node.name.lower()
        if lname in self.ctx.extra_functions or node.name in self.ctx.extra_functions:
            impl = self.ctx.extra_functions.get(node.name) or self.ctx.extra_functions[lname]
            arity = getattr(impl, "arity", None)
            if arity is not None and len(node.args) != arity:
                raise self.error(f"{node.name}() takes {arity} argument{'s' if arity != 1 else ''}, got {len(node.args)}", node)
            f = self.const(impl, "_x")
            return f"{f}({', '.join(self.V(a) for a in node.args)})"
        if lname in _LAMBDA_FUNCS:
            return self._lambda_call(node, lname)
        if lname == "safe":
            if len(node.args) != 1:
                raise self.error("safe() takes 1 argument", node)
            inner, extra = self._subfunction([], node.args[0])
            s = self.const(_safe, "_safe")
            return f"{s}({inner}, e, a{extra})"
        from . import functions

        spec = functions.lookup(node.name)
        if spec is None:
            raise self.error(f"unknown function {node.name!r}", node)
        if node.insensitive and not spec.supports_ci:
            raise self.error(f"{spec.name}() has no case-insensitive form ({spec.name}~)", node)
        ci = node.insensitive or self.ctx.fold
        impl = self._function_impl(node.name, ci, node, len(node.args))
        return f"{impl}({', '.join(self.V(a) for a in node.args)})"

    def _env(self) -> list[str]:
        """Python names of the enclosing lambda variables, passed down to
        nested functions so an inner condition can read an outer variable."""
        return list(dict.fromkeys(self.lambda_vars.values()))

    def _subfunction(self, params: list[str], body: ast.Expr) -> tuple[str, str]:
        """Compile ``body`` into its own function sharing this namespace;
        returns the function's name and the extra call arguments."""
        env = self._env()
        sub = ExprCompiler(self.ctx, self.lambda_vars, self.ns)
        sub._n = self._n + 1000
        fname = self.name("_fn")
        code = sub.V(body)
        self.fields |= sub.fields
        self.alias_used |= sub.alias_used
        args = ", ".join(["e", "a", *params, *env])
        src = f"def {fname}({args}):\n    return {code}\n"
        exec(compile(src, f"<eql {fname}>", "exec"), self.ns)
        return fname, "".join(f", {v}" for v in env)

    def _lambda_call(self, node: ast.FunctionCall, lname: str) -> str:
        if len(node.args) != 3 or not isinstance(node.args[1], ast.Field) or len(node.args[1].path) != 1:
            raise self.error(f"{node.name}(array, variable, condition) takes an array, a variable name and a condition", node)
        var = str(node.args[1].path[0])
        pyvar = f"_lv_{var}_{self._n}"
        self._n += 1
        env = self._env()
        body = node.args[2]
        sub = ExprCompiler(self.ctx, {**self.lambda_vars, var: pyvar}, self.ns)
        sub._n = self._n + 1000
        fname = self.name("_lam")
        cond = sub.T(body)
        self.fields |= sub.fields
        self.alias_used |= sub.alias_used
        params = ", ".join(["e", "a", pyvar, *env])
        src = f"def {fname}({params}):\n    return {cond}\n"
        exec(compile(src, f"<eql {fname}>", "exec"), self.ns)
        helper = self.const(_array_search if lname == "arraysearch" else _array_count, "_arr")
        extra = "".join(f", {v}" for v in env)
        return f"{helper}({self.V(node.args[0])}, {fname}, e, a{extra})"

    def _lineage(self, node: ast.Lineage) -> str:
        """The registered check for a lineage test, registered once per node
        (T, F and V may all ask for it)."""
        done = self._lineage_checks.get(id(node))
        if done is not None:
            return done
        if self.ctx.lineage is None:
            raise self.error(f"'{node.relation} of' is not available here", node)
        sub = ExprCompiler(self.ctx, self.lambda_vars)
        sub.ctx = CompileContext(self.ctx.config, self.ctx.source, frozenset(), self.ctx.lineage, self.ctx.extra_functions)
        pred = sub.predicate(node.query.condition)
        self.fields |= sub.fields
        check = self.ctx.lineage.register(node.relation, pred, node.query.event_type)
        name = self._lineage_checks[id(node)] = self.const(check, "_lin")
        return name

    # -- entry points -----------------------------------------------------
    def predicate(self, cond: ast.Expr) -> Callable[..., bool]:
        """``f(event, aliases=None) -> bool``: true only when ``cond`` is true."""
        code = self.T(cond)
        fname = self.name("_pred")
        src = f"def {fname}(e, a=None):\n    return {code}\n"
        exec(compile(src, f"<eql {fname}>", "exec"), self.ns)
        fn = self.ns[fname]
        fn.always_true = code == "True"  # type: ignore[attr-defined]
        fn.always_false = code == "False"  # type: ignore[attr-defined]
        fn.source = src  # type: ignore[attr-defined]
        return fn

    def value(self, expr: ast.Expr) -> Callable[..., Any]:
        """``f(event, aliases=None) -> value``: for join keys and pipe arguments."""
        code = self.V(expr)
        fname = self.name("_val")
        src = f"def {fname}(e, a=None):\n    return {code}\n"
        exec(compile(src, f"<eql {fname}>", "exec"), self.ns)
        return self.ns[fname]


def _or3(values: tuple) -> bool | None:
    out: bool | None = False
    for v in values:
        if v is True:
            return True
        if v is None:
            out = None
    return out


def _safe(fn: Callable[..., Any], e: dict, a: Any, *env: Any) -> Any:
    try:
        return fn(e, a, *env)
    except Exception:
        return None


def _array_search(arr: Any, fn: Callable[..., bool], e: dict, a: Any, *env: Any) -> bool | None:
    if arr is None:
        return None
    if arr.__class__ is not list:
        arr = [arr]
    for item in arr:
        if fn(e, a, item, *env):
            return True
    return False


def _array_count(arr: Any, fn: Callable[..., bool], e: dict, a: Any, *env: Any) -> int | None:
    if arr is None:
        return None
    if arr.__class__ is not list:
        arr = [arr]
    return sum(1 for item in arr if fn(e, a, item, *env))


def compile_predicate(cond: ast.Expr, ctx: CompileContext) -> Callable[..., bool]:
    return ExprCompiler(ctx).predicate(cond)


def compile_value(expr: ast.Expr, ctx: CompileContext) -> Callable[..., Any]:
    return ExprCompiler(ctx).value(expr)
