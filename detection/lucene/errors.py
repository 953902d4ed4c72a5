"""The error of the Lucene package: a message at a position of the query text."""

from __future__ import annotations

from detection.diagnostics import Diagnostic, Location
from detection.kql.errors import line_column

SYNTAX = "LUC001"  # the text is not query_string syntax
UNSUPPORTED = "LUC002"  # valid syntax this engine does not evaluate (fuzzy, proximity...)
REJECTED = "LUC003"  # Elasticsearch would refuse the query for the field's type


class LuceneError(ValueError):
    """A query_string query that cannot be parsed, evaluated, or that Elasticsearch would reject.

    ``line`` and ``column`` are 1-based positions in ``query``; ``offset`` is the character
    offset. ``str()`` adds the offending line with a caret under the position.
    """

    def __init__(self, message: str, query: str = "", offset: int = 0, hint: str | None = None,
                 code: str = SYNTAX):
        self.message = message
        self.query = query
        self.offset = max(0, min(offset, len(query)))
        self.line, self.column = line_column(query, self.offset)
        self.hint = hint
        self.code = code
        super().__init__(self._format())

    def _format(self) -> str:
        text = f"{self.message} (line {self.line}, column {self.column})"
        if self.query:
            lines = self.query.split("\n")
            shown = lines[self.line - 1].replace("\t", " ").replace("\r", " ")
            text += f"\n    {shown}\n    {' ' * (self.column - 1)}^"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def to_diagnostic(self, path: str, line: int = 1, column: int = 1) -> Diagnostic:
        """A located diagnostic, given where the query text starts inside ``path``."""
        at_line = line + self.line - 1
        at_col = column + self.column - 1 if self.line == 1 else self.column
        return Diagnostic(Location(path, at_line, at_col), self.code, self.message, self.hint)
