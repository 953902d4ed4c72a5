"""Where each value of a loaded document came from, so findings can name a line and column."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Path = tuple  # a path into a document: ("rule", "threat", 0, "tactic", "id")


@dataclass(frozen=True)
class SourceMap:
    """Positions (1-based line, column) of values and of mapping keys, by document path."""

    values: Mapping[Path, tuple[int, int]] = field(default_factory=dict)
    keys: Mapping[Path, tuple[int, int]] = field(default_factory=dict)

    def value(self, path: Path) -> tuple[int, int]:
        """Position of the value at ``path``, or of its nearest ancestor that is known."""
        return self._nearest(self.values, tuple(path))

    def key(self, path: Path) -> tuple[int, int]:
        """Position of the key naming ``path`` (falls back to the value, then to ancestors)."""
        path = tuple(path)
        if path in self.keys:
            return self.keys[path]
        return self.value(path)

    @staticmethod
    def _nearest(table: Mapping[Path, tuple[int, int]], path: Path) -> tuple[int, int]:
        while path:
            if path in table:
                return table[path]
            path = path[:-1]
        return table.get((), (1, 1))
