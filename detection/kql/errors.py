"""The one error type of the KQL package, located in the query text."""

from __future__ import annotations

from detection.query_errors import QueryError, line_column

__all__ = ["KqlError", "line_column"]


class KqlError(QueryError):
    """A query that Kibana would not parse or Elasticsearch would reject.

    ``line``/``column`` are 1-based positions in ``query``; ``str()`` adds the offending line
    with a caret under the position.
    """
