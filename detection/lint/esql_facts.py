"""Facts about an ES|QL rule's query that the field and value checks share: the index fields it
reads and the string constants its WHERE commands compare them with, each with its character
offset in the query.

A name is an index field only where the query has not made a column of that name itself: after
``EVAL x = ...`` (or ``RENAME a AS x``) ``x`` is the query's own column, after ``STATS`` every
column is, and ``FROM ... METADATA _id`` columns are never mapped fields. Those are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from detection.lint.context import RuleContext, parsed_tree
from detection.lint.eql_facts import EqlValue

QUERY_PATH = ("rule", "query")
# ``TO_LOWER(field) == "x"`` compares the field's value without regard to case.
_CASE_FOLDING = frozenset({"to_lower", "to_upper"})


def esql_query(ctx: RuleContext) -> Any:
    """The rule's parsed ES|QL query, or None for other languages and queries that do not parse."""
    return parsed_tree(ctx, "esql")


def source_indices(query: Any) -> list[str]:
    """The index patterns of ``FROM`` (exclusions dropped, remote cluster prefixes removed)."""
    from detection.esql import ast

    out: list[str] = []
    for command in query.commands:
        if isinstance(command, ast.From):
            for source in command.sources:
                if not source.startswith("-"):
                    out.append(source.rpartition(":")[2])
    return out


def schema_for(ctx: RuleContext, query: Any) -> Any:
    """Field schema for the indices the query reads (ES|QL rules name them in FROM, not in index)."""
    if ctx.rule.metadata.get("query_schema_validation") is False:
        return None
    return ctx.project.schema_for(source_indices(query) or ctx.rule.index)


@dataclass
class _Scope:
    """Which names are the query's own columns at a point of the pipeline."""

    made: set[str] = field(default_factory=set)  # columns the query defined (or METADATA)
    open: bool = True  # False once the columns are fixed (ROW, STATS): no index field is left

    def is_source(self, name: str) -> bool:
        return self.open and name not in self.made


@dataclass(frozen=True)
class QueryFields:
    """Index-field references in source order, each WHERE condition with the names that were the
    query's own columns when it ran, and the query's own columns at the end (what it outputs)."""

    refs: tuple[tuple[str, int], ...]
    wheres: tuple[tuple[Any, frozenset[str]], ...]
    made: frozenset[str]


def query_fields(query: Any) -> QueryFields:
    from detection.esql import ast
    from detection.esql.fulltext import FULL_TEXT, full_text_field_refs

    scope = _Scope(open=False)
    refs: list[tuple[str, int]] = []
    wheres: list[tuple[Any, frozenset[str]]] = []

    def read(expr: Any) -> None:
        for node in ast.walk(expr):
            if isinstance(node, ast.FieldRef) and scope.is_source(node.name):
                refs.append((node.name, node.pos))
            elif isinstance(node, ast.Call) and node.name in FULL_TEXT and scope.open:
                # KQL("...") and QSTR("...") read the indexed document's fields by name.
                refs.extend(full_text_field_refs(node, query.source))

    def read_name(pattern: Any) -> None:
        if not pattern.wildcard and scope.is_source(pattern.name):
            refs.append((pattern.name, pattern.pos))

    for command in query.commands:
        if isinstance(command, ast.From):
            scope = _Scope(set(command.metadata), open=True)
        elif isinstance(command, ast.Row):
            scope = _Scope({a.column for a in command.fields}, open=False)
        elif isinstance(command, ast.Where):
            read(command.condition)
            if scope.open:
                wheres.append((command.condition, frozenset(scope.made)))
        elif isinstance(command, ast.Eval):
            for assign in command.fields:
                read(assign.expr)
                scope.made.add(assign.column)
        elif isinstance(command, ast.Stats):
            for assign in command.by:
                read(assign.expr)
            for agg in command.aggs:
                read(agg.assign.expr)
                if agg.where is not None:
                    read(agg.where)
            scope = _Scope({a.assign.column for a in command.aggs} | {b.column for b in command.by}, open=False)
        elif isinstance(command, (ast.Keep, ast.Drop)):
            for pattern in command.patterns:
                read_name(pattern)
        elif isinstance(command, ast.Rename):
            for old, new in command.pairs:
                read_name(old)
                scope.made.discard(old.name)
                scope.made.add(new.name)
        elif isinstance(command, ast.Sort):
            for key in command.keys:
                read(key.expr)
        elif isinstance(command, ast.MvExpand):
            read_name(command.field)
        elif not isinstance(command, ast.Limit):
            break  # a command this walk does not know may make columns: judge nothing after it
    return QueryFields(tuple(refs), tuple(wheres), frozenset(scope.made))


def esql_fields(query: Any) -> Iterator[tuple[str, int]]:
    """(name, offset) of every index field the query reads."""
    yield from query_fields(query).refs


def esql_values(query: Any) -> Iterator[EqlValue]:
    """String constants that WHERE commands compare index fields with (``==``, ``!=``, ``=~``,
    ``IN``, ``LIKE``), in source order; a field the query has redefined by then is skipped."""
    for condition, made in query_fields(query).wheres:
        yield from _compared(condition, made, False)


def _compared(node: Any, made: frozenset[str], negated: bool) -> Iterator[EqlValue]:
    from detection.esql import ast

    if isinstance(node, ast.Unary) and node.op == "not":
        yield from _compared(node.operand, made, not negated)
    elif isinstance(node, ast.Binary) and node.op in ("and", "or"):
        yield from _compared(node.left, made, negated)
        yield from _compared(node.right, made, negated)
    elif isinstance(node, ast.Binary) and node.op in ("==", "!=", "=~"):
        for side, constant in ((node.left, node.right), (node.right, node.left)):
            found = _subject(side, made)
            if found is not None and _is_string(constant):
                yield EqlValue(found[0], constant.value, constant.pos, False, found[1] or node.op == "=~",
                               negated ^ (node.op == "!="))
    elif isinstance(node, (ast.In, ast.Like)) and not getattr(node, "regex", False):
        found = _subject(node.value, made)
        items = node.items if isinstance(node, ast.In) else node.patterns
        for item in items if found is not None else ():
            if _is_string(item):
                yield EqlValue(found[0], item.value, item.pos, isinstance(node, ast.Like), found[1],
                               negated ^ node.negated)


def _subject(expr: Any, made: frozenset[str]) -> tuple[str, bool] | None:
    """(field, case-folded) when ``expr`` is an index field, bare or under TO_LOWER/TO_UPPER."""
    from detection.esql import ast

    folded = False
    if isinstance(expr, ast.Call) and expr.name in _CASE_FOLDING and len(expr.args) == 1:
        expr, folded = expr.args[0], True
    if isinstance(expr, ast.FieldRef) and expr.name not in made:
        return expr.name, folded
    return None


def _is_string(node: Any) -> bool:
    from detection.esql import ast

    return isinstance(node, ast.Literal) and node.kind == "string" and isinstance(node.value, str)
