"""The one error an EQL query can raise: a message at a 1-based line and column."""

from __future__ import annotations

from detection.query_errors import QueryError, line_column

# Stable codes, so lint and the CLI can select or ignore them.
SYNTAX = "EQL001"  # the text is not EQL
UNSUPPORTED = "EQL002"  # valid shape, but Elasticsearch would reject it (verification)
FIELD_TYPE = "EQL003"  # the field schema says the field cannot be searched this way

line_col = line_column  # the name this package has always exported

__all__ = ["FIELD_TYPE", "SYNTAX", "UNSUPPORTED", "EqlError", "line_col"]


class EqlError(QueryError):
    """A query that cannot be parsed or would be rejected by Elasticsearch.

    ``str()`` shows the message, the offending line and a caret under the column.
    """

    code = SYNTAX
    excerpt_indent = "  "
    excerpt_blanked = "\t"
    hint_prefix = "hint: "

    @property
    def text(self) -> str:
        """The query text (EQL's name for ``query``)."""
        return self.query

    def headline(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"
