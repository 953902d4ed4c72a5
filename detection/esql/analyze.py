"""Static checks Elasticsearch makes before running a query, and the source fields it reads.

Column names are followed through the pipeline. After ``FROM`` any field may exist (the index
mapping is unknown here), so names not defined by the query are taken as source fields. Once a
command fixes the columns (``STATS``, ``KEEP``, ``ROW``...) an unknown name is an error, as in
Elasticsearch ("Unknown column [x]").
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

from detection.esql import ast
from detection.esql.aggregates import AGGREGATES
from detection.esql.errors import EsqlError
from detection.esql.events import METADATA_FIELDS
from detection.esql.fulltext import FULL_TEXT, check_placement, full_text_fields

OpenNames = Callable[[str], bool] | None


@dataclass
class Schema:
    """The columns at a point in the pipeline: ``known`` for sure, plus any name ``open`` allows."""

    known: list[str]
    open: OpenNames = None

    def may_have(self, name: str) -> bool:
        return self.open is not None and self.open(name)


@dataclass
class Analysis:
    source_fields: list[str] = field(default_factory=list)  # sorted
    columns: list[str] = field(default_factory=list)  # the definite output columns
    open_output: bool = False  # whether more source columns may appear in the output


def analyze(query: ast.Query) -> Analysis:
    return _Analyzer(query.source).run(query)


def _from_source(name: str) -> bool:
    return name not in METADATA_FIELDS


class _Analyzer:
    def __init__(self, source: str):
        self.source = source
        self.fields: set[str] = set()

    def error(self, message: str, offset: int, hint: str | None = None) -> EsqlError:
        return EsqlError(message, self.source, offset, hint)

    def run(self, query: ast.Query) -> Analysis:
        check_placement(query)
        schema = Schema([])
        for command in query.commands:
            schema = getattr(self, "_" + type(command).__name__.lower())(command, schema)
        return Analysis(sorted(self.fields), list(schema.known), schema.open is not None)

    # ----------------------------------------------------------------- names

    def resolve(self, name: str, offset: int, schema: Schema) -> None:
        if name in schema.known:
            return
        if schema.may_have(name):
            self.fields.add(name)
            return
        close = difflib.get_close_matches(name, schema.known, n=1)
        hint = (
            f"did you mean [{close[0]}]?"
            if close
            else ("available columns: " + ", ".join(schema.known[:12]) if schema.known else None)
        )
        if name in METADATA_FIELDS:
            hint = f"request it with FROM ... METADATA {name}"
        raise self.error(f"Unknown column [{name}]", offset, hint)

    def check(self, expr: ast.Expr, schema: Schema) -> None:
        for node in ast.walk(expr):
            if isinstance(node, ast.FieldRef):
                self.resolve(node.name, node.pos, schema)
            elif isinstance(node, ast.Call) and node.name in FULL_TEXT:
                # The query string reads the source document's fields.
                self.fields.update(full_text_fields(node, self.source))
            elif isinstance(node, ast.Call) and node.name in AGGREGATES:
                raise self.error(
                    f"aggregate function {node.name.upper()} is only allowed in STATS",
                    node.pos,
                    "aggregate in a STATS command, then use its column",
                )

    # ----------------------------------------------------------------- commands

    def _from(self, command: ast.From, schema: Schema) -> Schema:
        return Schema(list(command.metadata), _from_source)

    def _row(self, command: ast.Row, schema: Schema) -> Schema:
        out = Schema([])
        for assign in command.fields:
            self.check(assign.expr, out)
            _define(out, assign.column)
        return out

    def _where(self, command: ast.Where, schema: Schema) -> Schema:
        self.check(command.condition, schema)
        return schema

    def _eval(self, command: ast.Eval, schema: Schema) -> Schema:
        out = Schema(list(schema.known), schema.open)
        for assign in command.fields:
            self.check(assign.expr, out)
            _define(out, assign.column)
        return out

    def _stats(self, command: ast.Stats, schema: Schema) -> Schema:
        by_names = []
        for assign in command.by:
            self.check(assign.expr, schema)
            by_names.append(assign.column)
        for agg in command.aggs:
            self.check_aggregate(agg.assign.expr, schema, by_names)
            if agg.where is not None:
                self.check(agg.where, schema)
        names: list[str] = []
        for agg in command.aggs:
            column = agg.assign.column
            if column in names:
                names.remove(column)  # the rightmost of equal names wins
            names.append(column)
        names = [n for n in names if n not in by_names]
        for name in by_names:
            if name in names:
                names.remove(name)
            names.append(name)
        return Schema(names)

    def check_aggregate(self, expr: ast.Expr, schema: Schema, by_names: list[str]) -> None:
        found = False

        def visit(node: ast.Expr, inside: bool) -> None:
            nonlocal found
            if isinstance(node, ast.Call) and node.name in AGGREGATES:
                if inside:
                    raise self.error(
                        f"aggregate function {node.name.upper()} cannot be nested in another aggregate",
                        node.pos,
                    )
                found = True
                for child in node.args:
                    visit(child, True)
                return
            if isinstance(node, ast.FieldRef):
                if inside:
                    self.resolve(node.name, node.pos, schema)
                elif node.name not in by_names:
                    raise self.error(
                        f"column [{node.name}] must appear in the STATS BY clause or be used in an aggregate function",
                        node.pos,
                        f"wrap it in an aggregate such as VALUES({node.render()}), or add it to BY",
                    )
                return
            for child in ast.children(node):
                visit(child, inside)

        visit(expr, False)
        if not found and not (isinstance(expr, ast.FieldRef) and expr.name in by_names):
            raise self.error(
                f"expected an aggregate function such as COUNT or MAX, found [{expr.render()}]",
                _pos(expr),
                "aggregate it, e.g. VALUES(field), or move it to BY",
            )

    def _keep(self, command: ast.Keep, schema: Schema) -> Schema:
        winners: dict[str, int] = {}
        for column in schema.known:
            best = _best_pattern(command.patterns, column)
            if best is not None:
                winners[column] = best
        order: list[tuple[int, int, str]] = [
            (w, i, c) for i, (c, w) in enumerate((c, winners[c]) for c in schema.known if c in winners)
        ]
        for index, pattern in enumerate(command.patterns):
            if pattern.wildcard:
                if schema.open is None and not any(pattern.matches(c) for c in schema.known):
                    raise self.error(f"No matches found for pattern [{pattern.text}]", pattern.pos)
                continue
            name = pattern.name
            if name in schema.known:
                continue
            self.resolve(name, pattern.pos, schema)
            order.append((index, len(order), name))
        known = [c for _, _, c in sorted(order)]
        wildcards = [p for p in command.patterns if p.wildcard]
        previous = schema.open
        opened: OpenNames = None
        if previous is not None and wildcards:
            opened = lambda n: previous(n) and any(p.matches(n) for p in wildcards)  # noqa: E731
        return Schema(known, opened)

    def _drop(self, command: ast.Drop, schema: Schema) -> Schema:
        for pattern in command.patterns:
            hit = any(pattern.matches(c) for c in schema.known)
            if not hit:
                if pattern.wildcard and schema.open is None:
                    raise self.error(f"No matches found for pattern [{pattern.text}]", pattern.pos)
                if not pattern.wildcard and not schema.may_have(pattern.name):
                    self.resolve(pattern.name, pattern.pos, schema)
        known = [c for c in schema.known if not any(p.matches(c) for p in command.patterns)]
        previous = schema.open
        opened: OpenNames = None
        if previous is not None:
            patterns = command.patterns
            opened = lambda n: previous(n) and not any(p.matches(n) for p in patterns)  # noqa: E731
        return Schema(known, opened)

    def _rename(self, command: ast.Rename, schema: Schema) -> Schema:
        known, opened = list(schema.known), schema.open
        for old, new in command.pairs:
            current = Schema(known, opened)
            self.resolve(old.name, old.pos, current)
            if new.name != old.name and new.name in known:
                known.remove(new.name)
            if old.name in known:
                known[known.index(old.name)] = new.name
            else:
                known.append(new.name)
            if opened is not None:
                previous, gone = opened, (old.name, new.name)
                opened = lambda n, previous=previous, gone=gone: previous(n) and n not in gone  # noqa: E731
        return Schema(known, opened)

    def _sort(self, command: ast.Sort, schema: Schema) -> Schema:
        for key in command.keys:
            self.check(key.expr, schema)
        return schema

    def _limit(self, command: ast.Limit, schema: Schema) -> Schema:
        return schema

    def _mvexpand(self, command: ast.MvExpand, schema: Schema) -> Schema:
        name = command.field.name
        self.resolve(name, command.field.pos, schema)
        if name not in schema.known:
            return Schema([*schema.known, name], schema.open)
        return schema


def _define(schema: Schema, name: str) -> None:
    if name in schema.known:
        schema.known.remove(name)
    schema.known.append(name)


def _best_pattern(patterns: tuple[ast.NamePattern, ...], column: str) -> int | None:
    """KEEP precedence: an exact name beats a partial wildcard beats ``*``; ties go right."""
    best, best_rank = None, -1
    for index, pattern in enumerate(patterns):
        if not pattern.matches(column):
            continue
        rank = 2 if not pattern.wildcard else (0 if pattern.text == "*" else 1)
        if rank >= best_rank:
            best, best_rank = index, rank
    return best


def best_pattern(patterns: tuple[ast.NamePattern, ...], column: str) -> int | None:
    return _best_pattern(patterns, column)


def _pos(expr: ast.Expr) -> int:
    return getattr(expr, "pos", 0)
