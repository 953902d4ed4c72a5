"""Compile expressions into functions of a row, with ES|QL's null and multi-value rules.

* Three-valued logic: comparisons with null are null; ``AND``/``OR`` follow Kleene's tables;
  ``NOT null`` is null; ``WHERE`` keeps a row only when its condition is true.
* A multi-value reaching an operator or a single-value function makes the result null and adds
  the warning Elasticsearch sends ("single-value function encountered multi-value").
* A failure on one row (division by zero, an unparsable number) is null plus a warning; operand
  types Elasticsearch would refuse raise :class:`EsqlError` at the expression.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from detection.esql import ast
from detection.esql.aggregates import AGGREGATES
from detection.esql.errors import EsqlError, EsqlWarning, line_column
from detection.esql.events import DOCUMENT
from detection.esql.fulltext import FULL_TEXT, compile_full_text
from detection.esql.functions import CAST_TYPES, FUNCTIONS, Context
from detection.esql.operators import arithmetic, compare, negate
from detection.esql.patterns import like_regex, rlike_regex
from detection.esql.values import EvalProblem, TypeProblem, collapse, keyword_text, type_name

Row = Mapping[str, object]
Compiled = Callable[[Row], object]
MULTI_VALUE = "single-value function encountered multi-value"


class WarningLog:
    """Warnings by expression, counted, in the order they first happened."""

    def __init__(self, source: str):
        self.source = source
        self._entries: dict[tuple[int, str], list] = {}

    def add(self, node: object, message: str) -> None:
        pos = getattr(node, "pos", 0)
        key = (pos, message)
        entry = self._entries.get(key)
        if entry is None:
            end = getattr(node, "end", pos)
            self._entries[key] = [pos, self.source[pos:end], message, 1]
        else:
            entry[3] += 1

    def add_plain(self, message: str, subject: str = "") -> None:
        key = (-1, message)
        if key not in self._entries:
            self._entries[key] = [-1, subject, message, 1]
        else:
            self._entries[key][3] += 1

    def warnings(self) -> list[EsqlWarning]:
        out = []
        for pos, text, message, count in self._entries.values():
            line, column = line_column(self.source, pos) if pos >= 0 else (0, 0)
            out.append(EsqlWarning(line, column, text, message, count))
        return out


class Evaluator:
    def __init__(self, source: str, now: datetime, warnings: WarningLog, field_types: object = None):
        self.source = source
        self.context = Context(now)
        self.log = warnings
        self.field_types = field_types  # how full-text functions type the document's fields

    # ----------------------------------------------------------------- reporting

    def error(self, node: object, message: str, hint: str | None = None) -> EsqlError:
        text = self.source[getattr(node, "pos", 0) : getattr(node, "end", 0)]
        where = f" in [{text}]" if text else ""
        return EsqlError(message + where, self.source, getattr(node, "pos", 0), hint)

    # ----------------------------------------------------------------- entry points

    def compile(self, node: ast.Expr) -> Compiled:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def condition(self, node: ast.Expr) -> Callable[[Row], bool]:
        """A WHERE filter: true keeps the row; false, null and failures drop it."""
        fn = self.compile(node)

        def keep(row: Row) -> bool:
            return self.truth(node, fn(row)) is True

        return keep

    def truth(self, node: object, value: object) -> bool | None:
        """A value used as a condition: a boolean, or null."""
        if value is None or isinstance(value, bool):
            return value  # type: ignore[return-value]
        if isinstance(value, list):
            self.log.add(node, MULTI_VALUE)
            return None
        raise self.error(
            node,
            f"condition must be a boolean, found [{type_name(value)}]",
            'compare the value, e.g. field == "x" or field IS NOT NULL',
        )

    # ----------------------------------------------------------------- leaves

    def _literal(self, node: ast.Literal) -> Compiled:
        value = literal_value(node)
        return lambda row: value

    def _fieldref(self, node: ast.FieldRef) -> Compiled:
        name = node.name
        return lambda row: row.get(name)

    # ----------------------------------------------------------------- operators

    def _unary(self, node: ast.Unary) -> Compiled:
        operand = self.compile(node.operand)
        if node.op == "not":

            def logical_not(row: Row) -> object:
                value = self.truth(node.operand, operand(row))
                return None if value is None else not value

            return logical_not

        def minus(row: Row) -> object:
            value = operand(row)
            if value is None:
                return None
            if isinstance(value, list):
                self.log.add(node, MULTI_VALUE)
                return None
            try:
                return negate(value)
            except EvalProblem as exc:
                self.log.add(node, str(exc))
                return None
            except TypeProblem as exc:
                raise self.error(node, str(exc)) from None

        return minus

    def _connective(self, node: ast.Binary, left: Compiled, right: Compiled, decisive: bool) -> Compiled:
        """``and`` (decisive False) or ``or`` (decisive True) in three-valued logic: a side with the
        decisive value settles it (the right side is then not evaluated); else null if a side is null."""

        def connective(row: Row) -> object:
            a = self.truth(node.left, left(row))
            if a is decisive:
                return decisive
            b = self.truth(node.right, right(row))
            if b is decisive:
                return decisive
            return None if a is None or b is None else not decisive

        return connective

    def _binary(self, node: ast.Binary) -> Compiled:
        left, right, op = self.compile(node.left), self.compile(node.right), node.op
        if op in ("and", "or"):
            return self._connective(node, left, right, decisive=op == "or")
        apply = compare if op in ast.COMPARISONS else arithmetic

        def binary(row: Row) -> object:
            a, b = left(row), right(row)
            if a is None or b is None:
                return None
            if isinstance(a, list) or isinstance(b, list):
                self.log.add(node, MULTI_VALUE)
                return None
            try:
                return apply(op, a, b)
            except EvalProblem as exc:
                self.log.add(node, str(exc))
                return None
            except TypeProblem as exc:
                raise self.error(node, str(exc)) from None

        return binary

    def _in(self, node: ast.In) -> Compiled:
        value_fn = self.compile(node.value)
        items = [(item, self.compile(item)) for item in node.items]
        negated = node.negated

        def member(row: Row) -> object:
            value = value_fn(row)
            if value is None:
                return None
            if isinstance(value, list):
                self.log.add(node, MULTI_VALUE)
                return None
            unknown = False
            for item, fn in items:
                candidate = fn(row)
                if candidate is None:
                    unknown = True
                    continue
                if isinstance(candidate, list):
                    self.log.add(item, MULTI_VALUE)
                    unknown = True
                    continue
                try:
                    if compare("==", value, candidate):
                        return not negated
                except EvalProblem as exc:
                    self.log.add(node, str(exc))
                    unknown = True
                except TypeProblem as exc:
                    raise self.error(node, str(exc)) from None
            return None if unknown else negated

        return member

    def _isnull(self, node: ast.IsNull) -> Compiled:
        fn, negated = self.compile(node.value), node.negated
        return lambda row: (fn(row) is None) != negated

    def _like(self, node: ast.Like) -> Compiled:
        fn, negated = self.compile(node.value), node.negated
        # The parser has refused invalid patterns already.
        compiled = [(rlike_regex if node.regex else like_regex)(str(p.value)) for p in node.patterns]

        def like(row: Row) -> object:
            value = fn(row)
            if value is None:
                return None
            if isinstance(value, list):
                self.log.add(node, MULTI_VALUE)
                return None
            try:
                text = keyword_text(value)
            except TypeProblem:
                raise self.error(
                    node, f"{'RLIKE' if node.regex else 'LIKE'} needs a string, found [{type_name(value)}]"
                ) from None
            matched = any(p.fullmatch(text) for p in compiled)
            return matched != negated

        return like

    def _cast(self, node: ast.Cast) -> Compiled:
        spec = FUNCTIONS[CAST_TYPES[node.type_name]]
        return self._apply(node, spec, [self.compile(node.value)])

    # ----------------------------------------------------------------- calls

    def _call(self, node: ast.Call) -> Compiled:
        if node.name in AGGREGATES:
            raise self.error(node, f"aggregate function {node.name.upper()} is only allowed in STATS")
        if node.name in FULL_TEXT:
            search = compile_full_text(node, self.source, self.field_types, self.context.now)
            return lambda row: search(row.get(DOCUMENT))  # type: ignore[arg-type]
        spec = FUNCTIONS[node.name]
        args = [self.compile(a) for a in node.args]
        if node.name == "coalesce":

            def coalesce(row: Row) -> object:
                for fn in args:
                    value = fn(row)
                    if value is not None:
                        return value
                return None

            return coalesce
        if node.name == "case":
            return self._case(node, args)
        return self._apply(node, spec, args)

    def _case(self, node: ast.Call, args: list[Compiled]) -> Compiled:
        pairs = [(node.args[i], args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]
        default = args[-1] if len(args) % 2 else None

        def case(row: Row) -> object:
            for cond_node, cond, result in pairs:
                # A null (or multi-valued) condition does not match; the next pair is tried.
                if self.truth(cond_node, cond(row)) is True:
                    return result(row)
            return default(row) if default is not None else None

        return case

    def _apply(self, node: object, spec, args: list[Compiled]) -> Compiled:
        impl, policy, ctx = spec.impl, spec.policy, self.context

        def run(values: list) -> object:
            try:
                return impl(ctx, *values)
            except EvalProblem as exc:
                self.log.add(node, str(exc))
                return None
            except TypeProblem as exc:
                raise self.error(node, f"{spec.name.upper()}: {exc}") from None

        if policy == "raw":
            # MV_ functions take multi-values; each checks its own single-valued parameters.
            return lambda row: run([fn(row) for fn in args])

        if policy == "each":

            def each(row: Row) -> object:
                values = [fn(row) for fn in args]
                first = values[0]
                if first is None or any(v is None for v in values[1:]):
                    return None
                if not isinstance(first, list):
                    return run(values)
                out = []
                for item in first:
                    converted = run([item, *values[1:]])
                    if converted is None:
                        return None  # one failed value makes the whole result null
                    out.append(converted)
                return out

            return each

        def single(row: Row) -> object:
            values = [fn(row) for fn in args]
            for v in values:
                if v is None:
                    return None
            for v in values:
                if isinstance(v, list):
                    self.log.add(node, MULTI_VALUE)
                    return None
            return run(values)

        return single


def literal_value(node: ast.Literal) -> object:
    if node.kind == "list":
        return collapse([literal_value(item) for item in node.value])  # type: ignore[attr-defined]
    return node.value
