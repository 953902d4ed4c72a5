"""Run a parsed query over events: one table flowing through the commands.

A table is an ordered list of column names and a list of rows (dicts; a missing key is null).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from detection.esql import ast
from detection.esql.aggregates import AGGREGATES
from detection.esql.analyze import best_pattern
from detection.esql.errors import EsqlError, EsqlWarning
from detection.esql.evaluate import Evaluator, WarningLog
from detection.esql.events import DOCUMENT, index_matches, load_events
from detection.esql.values import (
    EvalProblem,
    TypeProblem,
    group_key,
    order_key,
    parse_datetime,
    to_output,
    values_of,
)

DEFAULT_LIMIT = 1000  # rows Elasticsearch returns when the query has no LIMIT
MAX_LIMIT = 10_000  # the most any LIMIT returns


@dataclass
class EsqlResult:
    columns: list[str]
    rows: list[dict[str, object]]
    warnings: list[EsqlWarning] = field(default_factory=list)


@dataclass
class _Table:
    columns: list[str]
    rows: list[dict]


def execute(
    query: ast.Query,
    events: Iterable[Mapping],
    now: datetime | str | None = None,
    field_types: object = None,
    default_limit: int = DEFAULT_LIMIT,
) -> EsqlResult:
    log = WarningLog(query.source)
    runner = _Runner(query, Evaluator(query.source, _now(now), log, field_types), log)
    table = runner.source(query.commands[0], events, field_types)
    for command in query.commands[1:]:
        table = runner.apply(command, table)
    if not any(isinstance(c, ast.Limit) for c in query.commands):
        table.rows = table.rows[:default_limit]
    rows = [{c: to_output(row.get(c)) for c in table.columns} for row in table.rows]
    return EsqlResult(list(table.columns), rows, log.warnings())


def _now(now: datetime | str | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, str):
        try:
            return parse_datetime(now)
        except EvalProblem as exc:
            raise EsqlError(
                f"now: {exc}", hint="give an ISO 8601 time such as 2024-05-01T12:00:00Z"
            ) from None
    return now if now.tzinfo else now.replace(tzinfo=UTC)


class _Runner:
    def __init__(self, query: ast.Query, evaluator: Evaluator, log: WarningLog):
        self.query = query
        self.ev = evaluator
        self.log = log

    # ----------------------------------------------------------------- sources

    def source(self, command: ast.Command, events: Iterable[Mapping], field_types) -> _Table:
        if isinstance(command, ast.Row):
            row: dict = {}
            columns: list[str] = []
            for assign in command.fields:
                row[assign.column] = self.ev.compile(assign.expr)(row)
                _define(columns, assign.column)
            return _Table(columns, [row])
        assert isinstance(command, ast.From)
        loaded = load_events(events, field_types, lambda message, name: self.log.add_plain(message, name))
        rows, names = [], set()
        for event in loaded:
            index = event.metadata.get("_index")
            if isinstance(index, str) and not index_matches(index, command.sources):
                continue
            row = dict(event.fields)
            row[DOCUMENT] = event.document
            for meta in command.metadata:
                row[meta] = event.metadata.get(meta)
            names.update(event.fields)
            rows.append(row)
        return _Table(sorted(names) + list(command.metadata), rows)

    # ----------------------------------------------------------------- processing

    def apply(self, command: ast.Command, table: _Table) -> _Table:
        return getattr(self, "_" + type(command).__name__.lower())(command, table)

    def _where(self, command: ast.Where, table: _Table) -> _Table:
        keep = self.ev.condition(command.condition)
        return _Table(table.columns, [row for row in table.rows if keep(row)])

    def _eval(self, command: ast.Eval, table: _Table) -> _Table:
        columns = list(table.columns)
        for assign in command.fields:
            fn, name = self.ev.compile(assign.expr), assign.column
            for row in table.rows:
                row[name] = fn(row)
            _define(columns, name)
        return _Table(columns, table.rows)

    def _limit(self, command: ast.Limit, table: _Table) -> _Table:
        return _Table(table.columns, table.rows[: min(command.count, MAX_LIMIT)])

    def _keep(self, command: ast.Keep, table: _Table) -> _Table:
        ranked = []
        for position, column in enumerate(table.columns):
            best = best_pattern(command.patterns, column)
            if best is not None:
                ranked.append((best, position, column))
        present = set(table.columns)
        for index, pattern in enumerate(command.patterns):
            # A named field absent from every event is still a (null) column.
            if not pattern.wildcard and pattern.name not in present:
                ranked.append((index, len(ranked) + len(table.columns), pattern.name))
        columns = [c for _, _, c in sorted(ranked)]
        return _Table(columns, [{c: row[c] for c in columns if c in row} for row in table.rows])

    def _drop(self, command: ast.Drop, table: _Table) -> _Table:
        dropped = [c for c in table.columns if any(p.matches(c) for p in command.patterns)]
        columns = [c for c in table.columns if c not in dropped]
        for row in table.rows:
            for name in dropped:
                row.pop(name, None)
        return _Table(columns, table.rows)

    def _rename(self, command: ast.Rename, table: _Table) -> _Table:
        columns = list(table.columns)
        for old_pattern, new_pattern in command.pairs:
            old, new = old_pattern.name, new_pattern.name
            if old == new:
                continue
            if new in columns:
                columns.remove(new)
            if old in columns:
                columns[columns.index(old)] = new
            else:
                columns.append(new)
            for row in table.rows:
                row.pop(new, None)
                if old in row:
                    row[new] = row.pop(old)
        return _Table(columns, table.rows)

    def _mvexpand(self, command: ast.MvExpand, table: _Table) -> _Table:
        name = command.field.name
        rows = []
        for row in table.rows:
            value = row.get(name)
            if isinstance(value, list):
                for item in value:
                    copy = dict(row)
                    copy[name] = item
                    rows.append(copy)
            else:
                rows.append(row)
        columns = table.columns if name in table.columns else [*table.columns, name]
        return _Table(columns, rows)

    def _sort(self, command: ast.Sort, table: _Table) -> _Table:
        keys = [(key, self.ev.compile(key.expr)) for key in command.keys]

        def sort_values(row: dict) -> list:
            out = []
            for key, fn in keys:
                values = values_of(fn(row))
                if not values:
                    out.append(None)
                else:
                    # A multi-value sorts by its lowest value ascending, its highest descending.
                    pick = max if key.descending else min
                    out.append(order_key(pick(values, key=order_key)))
            return out

        def compare(a: tuple, b: tuple) -> int:
            for (key, _), x, y in zip(keys, a[0], b[0], strict=True):
                if x == y:
                    continue
                nulls_first = key.descending if key.nulls_first is None else key.nulls_first
                if x is None or y is None:
                    return (-1 if nulls_first else 1) * (1 if x is None else -1)
                result = -1 if x < y else 1
                return -result if key.descending else result
            return 0

        decorated = [(sort_values(row), row) for row in table.rows]
        decorated.sort(key=functools.cmp_to_key(compare))
        return _Table(table.columns, [row for _, row in decorated])

    # ----------------------------------------------------------------- STATS

    def _stats(self, command: ast.Stats, table: _Table) -> _Table:
        by_fns = [self.ev.compile(b.expr) for b in command.by]
        groups: dict[tuple, tuple[list, list]] = {}
        for row in table.rows:
            keys = [values_of(fn(row)) or [None] for fn in by_fns]
            # A multi-valued key puts the row in the group of each of its values.
            for combination in _product(keys):
                identity = tuple(group_key(v) for v in combination)
                groups.setdefault(identity, (combination, []))[1].append(row)
        if not command.by and not groups:
            groups[()] = ([], [])  # without BY there is always exactly one row

        aggs = [self._aggregate_field(agg, [b.column for b in command.by]) for agg in command.aggs]
        names: list[str] = []
        for agg in command.aggs:
            if agg.assign.column in names:
                names.remove(agg.assign.column)
            names.append(agg.assign.column)
        by_names = [b.column for b in command.by]
        names = [n for n in names if n not in by_names]
        columns = names + [n for i, n in enumerate(by_names) if n not in by_names[i + 1 :]]

        rows = []
        for key_values, members in groups.values():
            out: dict = {}
            keyed = dict(zip(by_names, key_values, strict=True))
            for agg, compute in zip(command.aggs, aggs, strict=True):
                out[agg.assign.column] = compute(members, keyed)
            out.update(keyed)
            rows.append(out)
        return _Table(columns, rows)

    def _aggregate_field(self, agg: ast.AggField, by_names: list[str]):
        """A function of (group rows, group keys) computing one STATS output."""
        calls: list[ast.Call] = []

        def replace(node: ast.Expr) -> ast.Expr:
            if isinstance(node, ast.Call) and node.name in AGGREGATES:
                calls.append(node)
                return ast.FieldRef(f"\x00agg{len(calls) - 1}", node.pos, node.end)
            if isinstance(node, ast.Call):
                return ast.Call(
                    node.name, tuple(replace(a) for a in node.args), node.star, node.pos, node.end
                )
            if isinstance(node, ast.Cast):
                return ast.Cast(replace(node.value), node.type_name, node.pos, node.end)
            if isinstance(node, ast.Unary):
                return ast.Unary(node.op, replace(node.operand), node.pos, node.end)
            if isinstance(node, ast.Binary):
                return ast.Binary(node.op, replace(node.left), replace(node.right), node.pos, node.end)
            if isinstance(node, ast.In):
                return ast.In(
                    replace(node.value),
                    tuple(replace(i) for i in node.items),
                    node.negated,
                    node.pos,
                    node.end,
                )
            if isinstance(node, ast.IsNull):
                return ast.IsNull(replace(node.value), node.negated, node.pos, node.end)
            if isinstance(node, ast.Like):
                return ast.Like(
                    replace(node.value), node.patterns, node.negated, node.regex, node.pos, node.end
                )
            return node

        outer = self.ev.compile(replace(agg.assign.expr))
        keep = self.ev.condition(agg.where) if agg.where is not None else None
        inputs = [
            (
                call,
                AGGREGATES[call.name],
                self.ev.compile(call.args[0]) if call.args and not call.star else None,
            )
            for call in calls
        ]

        def compute(members: list, keyed: dict) -> object:
            rows = [r for r in members if keep(r)] if keep is not None else members
            scope = dict(keyed)
            for index, (call, spec, arg) in enumerate(inputs):
                values: list = []
                if arg is not None:
                    for r in rows:
                        values.extend(values_of(arg(r)))
                try:
                    result = spec.impl(values, len(rows)) if arg is not None else len(rows)
                except EvalProblem as exc:
                    self.log.add(call, str(exc))
                    result = None
                except TypeProblem as exc:
                    raise self.ev.error(call, f"{call.name.upper()}: {exc}") from None
                scope[f"\x00agg{index}"] = result
            return outer(scope)

        return compute


def _define(columns: list[str], name: str) -> None:
    if name in columns:
        columns.remove(name)
    columns.append(name)


def _product(lists: list[list]) -> Iterable[list]:
    if not lists:
        yield []
        return
    for head in lists[0]:
        for tail in _product(lists[1:]):
            yield [head, *tail]
