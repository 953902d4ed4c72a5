"""The one error an EQL query can raise: a message at a 1-based line and column."""

from __future__ import annotations

from detection.diagnostics import Diagnostic, Location

# Stable codes, so lint and the CLI can select or ignore them.
SYNTAX = "EQL001"  # the text is not EQL
UNSUPPORTED = "EQL002"  # valid shape, but Elasticsearch would reject it (verification)
FIELD_TYPE = "EQL003"  # the field schema says the field cannot be searched this way


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


class EqlError(ValueError):
    """A query that cannot be parsed or would be rejected by Elasticsearch.

    ``str()`` shows the message, the offending line and a caret under the column.
    """

    def __init__(self, message: str, text: str = "", offset: int = 0, *,
                 code: str = SYNTAX, hint: str | None = None):
        self.message = message
        self.text = text
        self.offset = offset
        self.code = code
        self.hint = hint
        self.line, self.column = line_col(text, offset)
        super().__init__(self._render())

    def _render(self) -> str:
        out = f"line {self.line}, column {self.column}: {self.message}"
        if self.text:
            src = self.text.split("\n")[self.line - 1] if self.text else ""
            # Tabs would shift the caret; show them as single spaces.
            src = src.replace("\t", " ")
            out += f"\n  {src}\n  {' ' * (self.column - 1)}^"
        if self.hint:
            out += f"\nhint: {self.hint}"
        return out

    def to_diagnostic(self, path: str, line: int = 1, column: int = 1) -> Diagnostic:
        """A located diagnostic, given where the query text starts inside ``path``."""
        at_line = line + self.line - 1
        at_col = column + self.column - 1 if self.line == 1 else self.column
        return Diagnostic(Location(path, at_line, at_col), self.code, self.message, self.hint)
