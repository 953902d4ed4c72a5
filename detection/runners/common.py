"""What every runner shares: the detector shape, query filters and located query errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from detection.diagnostics import DetectionError, Diagnostic, Location
from detection.model import RuleFile
from detection.runners.window import Window, WindowError, run_window, select

DEFAULT_MAX_SIGNALS = 100
CODE_QUERY = "F130"  # the rule's query cannot be compiled for testing (shared with engine.py)
CODE_RULE = "F131"  # another rule setting the test engine cannot use (from, threshold...)

Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass
class RunResult:
    """The alerts of one run plus lines that explain it (window, groups, terms seen)."""

    alerts: list[Any]
    notes: list[str] = field(default_factory=list)


class RuleDetector:
    """A prepared rule: call it with a case's events (and run time) to get its alerts.

    Subclasses implement :meth:`run`; ``summary`` is what a failing case shows besides the
    expected and actual alert counts.
    """

    # Whether a case without ``now`` takes its run time from its latest event (see window.py).
    multi_event = True

    def __init__(self, rule: RuleFile):
        self.rule = rule
        self.max_signals = int(rule.rule.get("max_signals") or DEFAULT_MAX_SIGNALS)

    def __call__(self, events: Sequence[Mapping[str, Any]], now: Any = None) -> list[Any]:
        return self.run(events, now).alerts

    def run(self, events: Sequence[Mapping[str, Any]], now: Any = None) -> RunResult:  # pragma: no cover
        raise NotImplementedError

    def summary(self, events: Sequence[Mapping[str, Any]], now: Any = None) -> str:
        return "\n".join(self.run(events, now).notes)

    def window(self, events: Sequence[Mapping[str, Any]], now: Any) -> Window | None:
        try:
            return run_window(self.rule.rule, events, now, default_to_latest=self.multi_event)
        except WindowError as exc:
            spot = "from" if str(exc).startswith("from") else "to" if str(exc).startswith("to") else None
            where = self.rule.location(("rule", spot)) if spot and spot in self.rule.rule \
                else Location(self.rule.display_path, 1, 1)
            raise DetectionError([Diagnostic(where, CODE_RULE, str(exc),
                                             hint="use date math such as now-6m, or an ISO 8601 date-time")]) from None

    def visible(self, events: Sequence[Mapping[str, Any]], now: Any) -> tuple[Window | None, list[int], list[str]]:
        """The run's window, the indexes of the events it sees, and a note saying so."""
        window = self.window(events, now)
        seen = select(events, window)
        notes = []
        if window is not None:
            left_out = len(events) - len(seen)
            notes.append(window.describe() + (f"; {left_out} of {len(events)} event(s) outside it" if left_out else ""))
        return window, seen, notes


def query_location(rule: RuleFile, offset: int) -> Location:
    """Character ``offset`` of the rule's query as a position in the rule file."""
    try:
        from detection.lint.positions import value_location
    except ImportError:  # pragma: no cover - lint ships with detection
        return rule.location(("rule", "query"))
    return value_location(rule, ("rule", "query"), offset)


def query_error(rule: RuleFile, offset: int, code: str, message: str, hint: str | None) -> DetectionError:
    return DetectionError([Diagnostic(query_location(rule, offset), code, message, hint=hint or "fix the query")])


def offset_of(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    line = max(1, min(line, len(lines)))
    return sum(len(x) + 1 for x in lines[:line - 1]) + max(0, column - 1)


def compile_filter(rule: RuleFile, fields: Any, now: datetime | None = None) -> Predicate:
    """The rule's KQL or Lucene query as a predicate; a bad query is a located F130 error."""
    text = rule.query
    language = rule.language or "kuery"
    if text is None or not str(text).strip():
        return lambda event: True  # an empty query matches every event (match_all)
    if language == "lucene":
        from detection import lucene

        try:
            return lucene.compile(text, fields=fields, now=now)
        except lucene.LuceneError as exc:
            raise query_error(rule, exc.offset, CODE_QUERY, f"the Lucene query does not compile: {exc.message}",
                              exc.hint) from None
    from detection import kql

    try:
        return kql.compile(text, fields=fields, now=now)
    except kql.KqlError as exc:
        raise query_error(rule, exc.offset, CODE_QUERY, f"the query does not compile: {exc.message}",
                          getattr(exc, "hint", None)) from None


class FilterCache:
    """The query compiled once per run time (date math in the query depends on it)."""

    def __init__(self, rule: RuleFile, fields: Any):
        self.rule, self.fields = rule, fields
        self._by_now: dict[Any, Predicate] = {None: compile_filter(rule, fields)}

    def get(self, window: Window | None) -> Predicate:
        key = window.now if window is not None else None
        if key not in self._by_now:
            self._by_now[key] = compile_filter(self.rule, self.fields, key)
        return self._by_now[key]


def require_no_filters(rule: RuleFile) -> None:
    from detection.engine import UnsupportedRule

    if rule.rule.get("filters"):
        raise UnsupportedRule("rules with `filters` cannot be tested yet: only the query is evaluated")
