"""The one error type of the KQL package, located in the query text."""

from __future__ import annotations


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


class KqlError(ValueError):
    """A query that Kibana would not parse or Elasticsearch would reject.

    ``line``/``column`` are 1-based positions in ``query``; ``str()`` adds the offending line
    with a caret under the position.
    """

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
        # Tabs would misalign the caret; show them as single spaces.
        shown = text.replace("\t", " ").replace("\r", " ")
        return f"    {shown}\n    {' ' * (self.column - 1)}^"

    def _format(self) -> str:
        text = f"{self.message} (line {self.line}, column {self.column})"
        excerpt = self.excerpt()
        if excerpt:
            text += "\n" + excerpt
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def relocated(self, query: str, base_offset: int) -> KqlError:
        """The same error placed inside a larger text (a query embedded in a rule file)."""
        return KqlError(self.message, query, base_offset + self.offset, self.hint)
