"""Errors and warnings of the ES|QL package, located in the query text."""

from __future__ import annotations

from dataclasses import dataclass

from detection.diagnostics import Diagnostic, Location, Severity


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


class EsqlError(ValueError):
    """A query this engine cannot parse or Elasticsearch would reject.

    ``line`` and ``column`` are 1-based positions in ``query``; ``str()`` shows the offending
    line with a caret under the position, then the hint if there is one.
    """

    code = "ESQL001"

    def __init__(self, message: str, query: str = "", offset: int = 0, hint: str | None = None):
        self.message = message
        self.query = query
        self.offset = max(0, min(offset, len(query)))
        self.line, self.column = line_column(query, self.offset)
        self.hint = hint
        super().__init__(self._format())

    def excerpt(self) -> str:
        if not self.query:
            return ""
        lines = self.query.split("\n")
        text = lines[self.line - 1] if self.line - 1 < len(lines) else ""
        # Tabs and carriage returns would misalign the caret.
        shown = text.replace("\t", " ").replace("\r", " ")
        return f"    {shown}\n    {' ' * (self.column - 1)}^"

    def _format(self) -> str:
        text = f"line {self.line}:{self.column}: {self.message}"
        excerpt = self.excerpt()
        if excerpt:
            text += "\n" + excerpt
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def relocated(self, query: str, base_offset: int) -> EsqlError:
        """The same error placed inside a larger text (a query embedded in a rule file)."""
        return type(self)(self.message, query, base_offset + self.offset, self.hint)

    def diagnostic(self, path: str, line_offset: int = 0, column_offset: int = 0) -> Diagnostic:
        """This error as a project diagnostic; offsets place the query inside its file."""
        column = self.column + (column_offset if self.line == 1 else 0)
        return Diagnostic(Location(path, self.line + line_offset, column), self.code, self.message, self.hint)


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
