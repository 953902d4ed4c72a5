"""The one shape for every finding and error: ``path:line:col: CODE message``."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based position in a file; line 0 means "the whole file"."""

    path: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    location: Location
    code: str
    message: str
    hint: str | None = None
    severity: Severity = Severity.ERROR
    # Extra machine-readable facts (a suggestion, the offending value...).
    data: dict = field(default_factory=dict, compare=False, hash=False)

    def format(self, with_hint: bool = True) -> str:
        text = f"{self.location}: {self.code} {self.message}"
        if with_hint and self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def to_json(self) -> dict:
        return {
            "path": self.location.path,
            "line": self.location.line,
            "column": self.location.column,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
        }


class DetectionError(ValueError):
    """Raised when input cannot be used; carries located diagnostics."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


def sort_diagnostics(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diags, key=lambda d: (d.location.path, d.location.line, d.location.column, d.code))
