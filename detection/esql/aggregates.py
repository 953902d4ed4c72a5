"""Aggregate functions for STATS.

Each aggregate sees every non-null single value its argument produced over the rows of a group
(a multi-valued row contributes each of its values, as Elasticsearch's aggregations do) and the
number of rows, and returns the group's value. Individual nulls are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from detection.esql.values import (
    LONG_MAX,
    LONG_MIN,
    EvalProblem,
    TypeProblem,
    collapse,
    group_key,
    is_number,
    order_key,
    type_name,
)


@dataclass(frozen=True)
class Aggregate:
    name: str
    min_args: int
    max_args: int | None
    impl: Callable[[list, int], object]  # (values, row count) -> result
    extra_args_unsupported: str | None = None


def _same_kind(values: list, name: str) -> None:
    kinds = {order_key(v)[0] for v in values}
    if len(kinds) > 1:
        found = sorted({type_name(v) for v in values})
        raise TypeProblem(f"{name} over values of different types {found}")


def _min(values: list, rows: int) -> object:
    if not values:
        return None
    _same_kind(values, "MIN")
    return min(values, key=order_key)


def _max(values: list, rows: int) -> object:
    if not values:
        return None
    _same_kind(values, "MAX")
    return max(values, key=order_key)


def _numbers(values: list, name: str) -> list:
    for v in values:
        if not is_number(v):
            raise TypeProblem(f"{name} needs numeric values, found [{type_name(v)}]")
    return values


def _sum(values: list, rows: int) -> object:
    numbers = _numbers(values, "SUM")
    if not numbers:
        return None
    if all(isinstance(v, int) for v in numbers):
        total = sum(numbers)
        if not LONG_MIN <= total <= LONG_MAX:
            raise EvalProblem("long overflow")
        return total
    return math.fsum(numbers)


def _avg(values: list, rows: int) -> object:
    numbers = _numbers(values, "AVG")
    return math.fsum(numbers) / len(numbers) if numbers else None


def _count_distinct(values: list, rows: int) -> int:
    return len({group_key(v) for v in values})


def _values(values: list, rows: int) -> object:
    # The order is unspecified in Elasticsearch; sorting keeps results reproducible.
    seen: dict = {}
    for v in values:
        seen.setdefault(group_key(v), v)
    return collapse(sorted(seen.values(), key=order_key))


AGGREGATES: dict[str, Aggregate] = {
    a.name: a
    for a in (
        # COUNT(*) and COUNT() count rows; the evaluator passes the row count for them.
        Aggregate("count", 0, 1, lambda values, rows: len(values)),
        Aggregate("count_distinct", 1, 2, lambda values, rows: _count_distinct(values, rows)),
        Aggregate("min", 1, 1, _min),
        Aggregate("max", 1, 1, _max),
        Aggregate("sum", 1, 1, _sum),
        Aggregate("avg", 1, 1, _avg),
        Aggregate("values", 1, 1, _values),
    )
}
