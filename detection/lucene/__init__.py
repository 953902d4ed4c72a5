"""Lucene query_string queries (rules with ``language: lucene``): parse, compile, explain.

>>> from detection import lucene
>>> match = lucene.compile('event.action:(StopLogging OR DeleteTrail) AND NOT event.outcome:failure')
>>> match({"event": {"action": "StopLogging", "outcome": "success"}})
True

Clause meanings per field type are KQL's (see :mod:`detection.kql.matchers`); what is
specific to Lucene - operators without precedence, ranges in brackets, regular expressions,
``?`` wildcards - is described in :mod:`detection.lucene.parser`.
"""

from __future__ import annotations

from detection.kql.ast import Node
from detection.lucene.ast import MUST, MUST_NOT, SHOULD, BoolQuery, Clause, Pattern, to_kql
from detection.lucene.compile import compile_query as compile  # noqa: A001 - the package's verb
from detection.lucene.errors import LuceneError
from detection.lucene.explain import explain
from detection.lucene.parser import parse

__all__ = ["MUST", "MUST_NOT", "SHOULD", "BoolQuery", "Clause", "LuceneError", "Pattern", "compile", "explain",
           "field_names", "parse", "to_kql"]


def field_names(query: str | Node) -> list[str]:
    """Field names (or field patterns) the query reads, sorted; free text reads none."""
    from detection.kql.ast import walk

    node = parse(query) if isinstance(query, str) else query
    names = set()
    for n in walk(node):
        field = getattr(n, "field", None)
        if field is not None and hasattr(field, "text"):
            names.add(field.text)
    return sorted(names)
