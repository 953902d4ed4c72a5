"""Errors and warnings of the ES|QL package, located in the query text."""

from __future__ import annotations

from dataclasses import dataclass

from detection.diagnostics import Diagnostic, Location, Severity
from detection.query_errors import QueryError, line_column

__all__ = ["EsqlError", "EsqlUnsupported", "EsqlWarning", "line_column"]


class EsqlError(QueryError):
    """A query this engine cannot parse or Elasticsearch would reject.

    ``line`` and ``column`` are 1-based positions in ``query``; ``str()`` shows the offending
    line with a caret under the position, then the hint if there is one.
    """

    code = "ESQL001"

    def headline(self) -> str:
        return f"line {self.line}:{self.column}: {self.message}"

    def diagnostic(self, path: str, line_offset: int = 0, column_offset: int = 0) -> Diagnostic:
        """This error as a project diagnostic; offsets place the query inside its file."""
        return self.to_diagnostic(path, line_offset + 1, column_offset + 1)


class EsqlUnsupported(EsqlError):
    """Valid ES|QL that this engine does not implement (a command, function or form)."""

    code = "ESQL002"


@dataclass(frozen=True)
class EsqlWarning:
    """What Elasticsearch sends as a response warning: an expression failed and became null."""

    line: int
    column: int
    expression: str
    message: str
    count: int = 1

    def format(self) -> str:
        times = f" ({self.count} rows)" if self.count > 1 else ""
        return f"line {self.line}:{self.column}: evaluation of [{self.expression}] failed, treating result as null{times}: {self.message}"

    def diagnostic(self, path: str, line_offset: int = 0) -> Diagnostic:
        return Diagnostic(
            Location(path, self.line + line_offset, self.column),
            "ESQL100",
            f"evaluation of [{self.expression}] gives null: {self.message}",
            severity=Severity.WARNING,
        )
