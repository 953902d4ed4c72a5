"""An ES|QL subset engine: parse detection-rule queries and run them over events offline.

>>> from detection import esql
>>> q = esql.parse('FROM logs-* | WHERE process.name == "cmd.exe" | KEEP host.name')
>>> esql.run(q, [{"process": {"name": "cmd.exe"}, "host": {"name": "h1"}}])
[{'host.name': 'h1'}]

Each result row is what one alert of an ES|QL detection rule would carry.

Supported: ``FROM`` (index patterns, ``-`` exclusions, ``METADATA``) and ``ROW``; ``WHERE``,
``EVAL``, ``STATS ... [WHERE] ... BY``, ``KEEP``, ``DROP``, ``RENAME``, ``SORT``, ``LIMIT``,
``MV_EXPAND``; the operators, the functions listed in :mod:`detection.esql.functions` and
:mod:`detection.esql.aggregates`, and the full-text functions ``KQL()`` and ``QSTR()``
(:mod:`detection.esql.fulltext`: they search each row's source event). Anything else Elasticsearch knows (DISSECT, GROK, ENRICH,
LOOKUP JOIN, MATCH, PERCENTILE...) raises :class:`EsqlUnsupported` at its position.

Where events cannot say what a mapping would, the engine decides as follows (each choice is
documented where it is made):

* whole numbers are longs (64-bit); Elasticsearch's 32-bit ``integer`` overflow is not modelled;
* a number or boolean meeting a string in ``==``, ``IN``, LIKE or a string function reads as a
  keyword field would index it (``4624`` as ``"4624"``); ordering a number against a string is
  refused;
* multi-valued fields are held as doc values hold them: strings sorted and de-duplicated,
  numbers sorted; ``VALUES`` returns its values sorted and STATS groups come in first-seen order;
* ``field_types`` (a mapping or a :class:`detection.fields.FieldSchema`) types fields as dates,
  IPs, keywords or numbers; without it only the ECS timestamp fields are dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from detection.esql import ast
from detection.esql.analyze import Analysis, analyze
from detection.esql.ast import Query
from detection.esql.engine import DEFAULT_LIMIT, EsqlResult
from detection.esql.engine import execute as _execute
from detection.esql.errors import EsqlError, EsqlUnsupported, EsqlWarning
from detection.esql.parser import parse as _parse_syntax

__all__ = [
    "EsqlError",
    "EsqlResult",
    "EsqlUnsupported",
    "EsqlWarning",
    "Query",
    "ast",
    "check",
    "execute",
    "field_names",
    "parse",
    "run",
]


def parse(text: str) -> Query:
    """Parse and check a query; raises :class:`EsqlError` (or :class:`EsqlUnsupported`)."""
    query = _parse_syntax(text)
    analyze(query)
    return query


def check(query: Query | str) -> Analysis:
    """The static analysis of a query: its source fields and output columns."""
    return analyze(_query(query))


def field_names(query: Query | str) -> list[str]:
    """Source fields the query reads (not columns it computes), sorted."""
    return analyze(_query(query)).source_fields


def execute(
    query: Query | str,
    events: Iterable[Mapping],
    now: datetime | str | None = None,
    *,
    field_types: Mapping[str, str] | object | None = None,
    default_limit: int = DEFAULT_LIMIT,
) -> EsqlResult:
    """Run a query; the result has the columns, the rows and Elasticsearch-style warnings.

    ``field_types`` gives fields their Elasticsearch types (``date``, ``ip``, ``keyword``,
    ``long``...) where the events' JSON types are not enough: a mapping of name to type, or a
    schema with ``type_of(name)`` such as :class:`detection.fields.FieldSchema`. By default
    only the ECS timestamp fields are typed (as dates). ``default_limit`` is the row cap of a
    query without LIMIT.
    """
    return _execute(_query(query), events, now, field_types, default_limit)


def run(
    query: Query | str,
    events: Iterable[Mapping],
    now: datetime | str | None = None,
    *,
    field_types: Mapping[str, str] | object | None = None,
    default_limit: int = DEFAULT_LIMIT,
) -> list[dict]:
    """The result rows of a query over ``events`` (one detection alert per row)."""
    return execute(query, events, now, field_types=field_types, default_limit=default_limit).rows


def _query(query: Query | str) -> Query:
    if isinstance(query, Query):
        return query
    return parse(query)
