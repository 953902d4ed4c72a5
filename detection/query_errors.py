"""What every query language's error shares: a message at a 1-based line and column of the query
text, shown with the offending line and a caret under the position, and placeable inside a file.

Each language subclasses :class:`QueryError` and only chooses its wording (the headline, the
excerpt's indent, the hint's prefix): those wordings are what users and tests already see.
"""

from __future__ import annotations

from detection.diagnostics import Diagnostic, Location


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset (clamped into ``text``)."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


def caret_excerpt(text: str, offset: int, indent: str = "    ", blanked: str = "\t\r") -> str:
    """The line of ``text`` holding ``offset`` and, under it, a caret at the offset's column."""
    offset = max(0, min(offset, len(text)))
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    shown = text[start:end if end >= 0 else len(text)]
    # Tabs (and carriage returns) are shown as single spaces, or the caret would drift.
    for char in blanked:
        shown = shown.replace(char, " ")
    return f"{indent}{shown}\n{indent}{' ' * (offset - start)}^"


class QueryError(ValueError):
    """A query that cannot be parsed, or that Elasticsearch would reject.

    ``line``/``column`` are 1-based positions in ``query``; ``offset`` is the (clamped) character
    offset. ``str()`` is the headline, the offending line with a caret, then the hint.
    """

    # Lint's code for a query that does not parse; languages with codes of their own override it.
    code: str = "Q101"
    # The rendering choices of a language (its users and tests rely on the exact text).
    excerpt_indent = "    "
    excerpt_blanked = "\t\r"
    hint_prefix = "    hint: "

    def __init__(self, message: str, query: str = "", offset: int = 0, hint: str | None = None,
                 code: str | None = None):
        self.message = message
        self.query = query
        self.offset = max(0, min(offset, len(query)))
        self.line, self.column = line_column(query, self.offset)
        self.hint = hint
        if code is not None:
            self.code = code
        super().__init__(self._format())

    def headline(self) -> str:
        return f"{self.message} (line {self.line}, column {self.column})"

    def excerpt(self) -> str:
        """The offending line with a caret under the position ('' when there is no query text)."""
        if not self.query:
            return ""
        return caret_excerpt(self.query, self.offset, self.excerpt_indent, self.excerpt_blanked)

    def _format(self) -> str:
        text = self.headline()
        excerpt = self.excerpt()
        if excerpt:
            text += "\n" + excerpt
        if self.hint:
            text += f"\n{self.hint_prefix}{self.hint}"
        return text

    def relocated(self, query: str, base_offset: int) -> QueryError:
        """The same error placed inside a larger text (a query embedded in a rule file)."""
        return type(self)(self.message, query, base_offset + self.offset, self.hint, self.code)

    def to_diagnostic(self, path: str, line: int = 1, column: int = 1) -> Diagnostic:
        """A located diagnostic, given where the query text starts inside ``path``."""
        at_line = line + self.line - 1
        # Only the query's first line is shifted right by the query's starting column.
        at_col = column + self.column - 1 if self.line == 1 else self.column
        return Diagnostic(Location(path, at_line, at_col), self.code, self.message, self.hint)
