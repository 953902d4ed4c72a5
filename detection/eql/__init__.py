"""Elasticsearch EQL: parse, verify, compile to Python closures, and run over events.

    >>> from detection import eql
    >>> q = eql.compile('process where process.name : "CMD.exe"')
    >>> q.matches({"event": {"category": "process"}, "process": {"name": "cmd.exe"}})
    True

Semantics follow the Elasticsearch EQL reference (syntax, function and pipe references);
module docstrings say which rule each part implements and where it comes from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from detection.eql.ast import Query
from detection.eql.engine import CompiledQuery, Match
from detection.eql.engine import field_names as _field_names
from detection.eql.errors import EqlError
from detection.eql.parser import parse_text
from detection.eql.verify import verify

__all__ = ["CompiledQuery", "EqlError", "Match", "Query", "compile", "field_names", "match_lines", "parse"]


def parse(text: str) -> Query:
    """Parse and verify EQL text; raises :class:`EqlError` with line and column."""
    query = parse_text(text)
    verify(query)
    return query


def compile(query: str | Query, fields: object = None, *,  # noqa: A001 - the API the project asked for
            event_category_field: str = "event.category",
            timestamp_field: str = "@timestamp",
            tiebreaker_field: str | None = None) -> CompiledQuery:
    """Compile EQL text (or a parsed :class:`Query`) once, for matching many events.

    ``fields`` is an optional field-type schema: a mapping of name to Elasticsearch type,
    or any object with ``type_of(name)``. It is used where the type changes EQL's meaning
    (numbers in keyword fields, IP and date comparisons, text fields EQL cannot search).
    The three field options mirror the rule fields ``event_category_override``,
    ``timestamp_field`` and ``tiebreaker_field``.
    """
    parsed = parse(query) if isinstance(query, str) else query
    if not isinstance(parsed, Query):
        raise TypeError(f"compile() takes EQL text or a parsed Query, not {type(query).__name__}")
    return CompiledQuery(parsed, fields, event_category_field=event_category_field,
                         timestamp_field=timestamp_field, tiebreaker_field=tiebreaker_field)


def field_names(query: str | Query) -> list[str]:
    """Sorted names of the fields a query reads, join keys included."""
    return _field_names(parse(query) if isinstance(query, str) else query)


def match_lines(query_text: str, events: Sequence[Mapping], *, lines: Sequence[int] | None = None,
                **options: object) -> list[list[int]]:
    """1-based line numbers of each match: one per event match, one per step of a sequence.

    ``lines`` gives the line number of each event when they are not simply lines 1..N
    (an NDJSON file with blank lines, say). ``options`` go to :func:`compile`.
    """
    numbers = list(lines) if lines is not None else list(range(1, len(events) + 1))
    if len(numbers) != len(events):
        raise ValueError("lines must give one line number per event")
    compiled = compile(query_text, **options)  # type: ignore[arg-type]
    return [[numbers[i] for i in m.events] for m in compiled.run(events)]
