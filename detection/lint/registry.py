"""The catalogue of lint codes: one ``Check`` per code, with what the docs page says about it.

A check's function takes a context and yields diagnostics. Rule checks get a ``RuleContext`` (one
rule), project checks a ``ProjectContext`` (every rule, for uniqueness and consistency). Codes that
the loader reports (E1xx, S1xx) are listed too, without a function, so the docs page, ``--select``
and suppressions know every code a user can see from ``detection lint``.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from detection.diagnostics import Diagnostic, Severity

# Family letter -> title, in the order the docs page shows them.
FAMILIES: Mapping[str, str] = MappingProxyType({
    "E": "File and syntax (reported while loading)",
    "S": "Rule schema (reported while loading)",
    "U": "Uniqueness across the rules",
    "Q": "Query",
    "V": "Values",
    "A": "MITRE ATT&CK mapping",
    "H": "Rule hygiene",
    "L": "Lint configuration and suppressions",
})

SCOPES = ("rule", "project", "loader", "lint")
_CODE = re.compile(r"^([A-Z])(\d{3})$")

CheckFn = Callable[[Any], Iterable[Diagnostic]]


@dataclass(frozen=True)
class Check:
    """One lint code: what it finds, why it matters, a bad and a good example."""

    code: str
    name: str  # kebab-case, e.g. "unknown-field"
    summary: str  # one line, shown in SARIF shortDescription
    explanation: str  # why it matters / what to do; shown on the docs page
    bad: str  # a YAML excerpt of a rule that triggers the check
    good: str  # the same excerpt fixed
    severity: Severity = Severity.ERROR
    scope: str = "rule"  # rule | project | loader | lint
    fn: CheckFn | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"lint code {self.code!r} must be one capital letter and three digits")
        if self.family not in FAMILIES:
            raise ValueError(f"lint code {self.code!r} has no family in FAMILIES")
        if self.scope not in SCOPES:
            raise ValueError(f"unknown scope {self.scope!r} for {self.code}")
        if self.scope in ("rule", "project") and self.fn is None:
            raise ValueError(f"{self.code} runs on rules but has no function")

    @property
    def family(self) -> str:
        return self.code[0]

    @property
    def anchor(self) -> str:
        """The HTML anchor of the code on docs/lint-codes.md."""
        return self.code.lower()


def check(code: str, name: str, summary: str, *, explanation: str, bad: str, good: str,
          severity: Severity = Severity.ERROR, scope: str = "rule") -> Callable[[CheckFn], Check]:
    """Decorator turning a check function into a ``Check`` (no registration side effect: each
    family module lists its checks in a ``CHECKS`` tuple)."""

    def wrap(fn: CheckFn) -> Check:
        return Check(code=code, name=name, summary=summary, explanation=_dedent(explanation),
                     bad=_dedent(bad), good=_dedent(good), severity=severity, scope=scope, fn=fn)

    return wrap


def documented(code: str, name: str, summary: str, *, explanation: str, bad: str, good: str,
               severity: Severity = Severity.ERROR, scope: str = "loader") -> Check:
    """A code reported elsewhere (loader, lint settings), listed for the docs and selection."""
    return Check(code=code, name=name, summary=summary, explanation=_dedent(explanation),
                 bad=_dedent(bad), good=_dedent(good), severity=severity, scope=scope)


def _dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def build_catalogue(groups: Iterable[Iterable[Check]]) -> Mapping[str, Check]:
    """Codes -> checks, sorted by family order then code; duplicates are a programming error."""
    found: dict[str, Check] = {}
    for group in groups:
        for item in group:
            if item.code in found:
                raise ValueError(f"lint code {item.code} is defined twice")
            found[item.code] = item
    order = list(FAMILIES)
    ordered = sorted(found.values(), key=lambda c: (order.index(c.family), c.code))
    return MappingProxyType({c.code: c for c in ordered})
