"""The error of the Lucene package: a message at a position of the query text."""

from __future__ import annotations

from detection.query_errors import QueryError

SYNTAX = "LUC001"  # the text is not query_string syntax
UNSUPPORTED = "LUC002"  # valid syntax this engine does not evaluate (fuzzy, proximity...)
REJECTED = "LUC003"  # Elasticsearch would refuse the query for the field's type


class LuceneError(QueryError):
    """A query_string query that cannot be parsed, evaluated, or that Elasticsearch would reject.

    ``line`` and ``column`` are 1-based positions in ``query``; ``offset`` is the character
    offset. ``str()`` adds the offending line with a caret under the position.
    """

    code = SYNTAX
