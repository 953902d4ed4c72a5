"""EQL rules: one alert per matching event, one per matched sequence.

The query runs over the events in the look-back window with the rule's
``event_category_override``, ``timestamp_field`` and ``tiebreaker_field``, and at most
``max_signals`` results (Kibana's EQL search size). Kibana writes a sequence as one alert plus a
building-block alert per event in it; fixture expectations count **one alert per sequence**,
whose ``events`` are the sequence's events in step order. Event queries are single-event rules
(a case without ``now`` sees all of its events); sequences and samples run at the case's latest
event timestamp unless the case gives ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from detection.model import RuleFile
from detection.runners.common import CODE_QUERY, RuleDetector, RunResult, query_error, require_no_filters


def options(rule: Mapping[str, Any]) -> dict[str, Any]:
    """eql.compile options from the rule's EQL settings."""
    return {"event_category_field": rule.get("event_category_override") or "event.category",
            "timestamp_field": rule.get("timestamp_field") or "@timestamp",
            "tiebreaker_field": rule.get("tiebreaker_field") or None}


class EqlDetector(RuleDetector):
    def __init__(self, rule: RuleFile, fields: Any):
        from detection import eql

        super().__init__(rule)
        require_no_filters(rule)
        try:
            self.compiled = eql.compile(rule.query or "", fields, **options(rule.rule))
        except eql.EqlError as exc:
            raise query_error(rule, exc.offset, CODE_QUERY, f"the EQL query does not compile: {exc.message}",
                              exc.hint) from None
        self.multi_event = self.compiled.kind != "event"
        self.steps = self._steps(fields) if self.multi_event else []

    def _steps(self, fields: Any) -> list[tuple[str, Any]]:
        """Each sequence/sample step as its own event query, to say which events could fill it."""
        from detection import eql

        body = self.compiled.query.body
        out = []
        for number, term in enumerate(body.terms, start=1):
            label = f"step {number}" + (" (missing event)" if term.missing else "")
            try:
                out.append((f"{label} [{term.query.render()}]", eql.compile(term.query.render(), fields,
                                                                             **options(self.rule.rule))))
            except eql.EqlError:
                continue  # the whole query compiled; a step alone may still need context - skip it
        return out

    def run(self, events: Sequence[Mapping[str, Any]], now: Any = None) -> RunResult:
        from detection.engine import Alert

        window, seen, notes = self.visible(events, now)
        subset = [events[i] for i in seen]
        alerts = []
        for match in self.compiled.run(subset):
            steps = tuple(seen[i] for i in match.events)
            first = steps[0] if steps else None
            alerts.append(Alert(self.rule.rule_id, first, events[first] if first is not None else None, steps))
        what = "event(s) match" if self.compiled.kind == "event" else f"{self.compiled.kind}(s) matched"
        notes.append(f"{len(alerts)} {what} among {len(seen)} event(s)")
        for label, step in self.steps:
            hits = [str(seen[i] + 1) for i, e in enumerate(subset) if step.matches(e)]
            notes.append(f"{label}: events {', '.join(hits) if hits else '(none)'}")
        return RunResult(alerts[:self.max_signals], notes)


def prepare(rule: RuleFile, fields: Any) -> EqlDetector:
    return EqlDetector(rule, fields)
