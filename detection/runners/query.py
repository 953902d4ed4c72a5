"""Query rules (``type: query``/``saved_query``), KQL or Lucene: one alert per matching event.

The query filters the events the run sees and each match is an alert, at most ``max_signals``
of them (Kibana stops there). ``language: lucene`` reads the query as Elasticsearch's
query_string (:mod:`detection.lucene`). A case without ``now`` sees all of its events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from detection.model import RuleFile
from detection.runners.common import FilterCache, RuleDetector, RunResult, require_no_filters


class QueryDetector(RuleDetector):
    """A single-event query rule: with no ``now`` every event of the case counts."""

    multi_event = False

    def __init__(self, rule: RuleFile, fields: Any):
        from detection.engine import UnsupportedRule

        super().__init__(rule)
        require_no_filters(rule)
        if rule.query is None:
            raise UnsupportedRule(f"this {rule.type} rule has no query to evaluate")
        self.filters = FilterCache(rule, fields)

    def run(self, events: Sequence[Mapping[str, Any]], now: Any = None) -> RunResult:
        from detection.engine import Alert

        window, seen, notes = self.visible(events, now)
        predicate = self.filters.get(window)
        alerts = [Alert(self.rule.rule_id, i, events[i], (i,)) for i in seen if predicate(events[i])]
        if window is not None:  # without a window the expected/actual counts already say it all
            notes.append(f"{len(alerts)} of {len(seen)} event(s) in the window match the query")
        return RunResult(alerts[:self.max_signals], notes)


def prepare(rule: RuleFile, fields: Any) -> QueryDetector:
    return QueryDetector(rule, fields)
