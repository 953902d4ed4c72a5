"""ES|QL rules: run the query over the events in the look-back window; each row is an alert.

The run time is also the query's ``NOW()``. Rows carry their columns as the alert's ``group``.
When a row keeps the ``_id`` metadata column (``FROM ... METADATA _id``, as Kibana advises for
non-aggregating rules), the alert names its event: events without an ``_id`` are given their
position in the case as one. At most ``max_signals`` rows become alerts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from detection.model import RuleFile
from detection.runners.common import CODE_QUERY, RuleDetector, RunResult, query_error, require_no_filters

MAX_NOTED_ROWS = 10


class EsqlDetector(RuleDetector):
    def __init__(self, rule: RuleFile, fields: Any):
        from detection import esql
        from detection.engine import UnsupportedRule

        super().__init__(rule)
        require_no_filters(rule)
        self.fields = fields
        try:
            self.query = esql.parse(rule.query or "")
        except esql.EsqlUnsupported as exc:
            raise UnsupportedRule("this ES|QL query uses something the test engine cannot run yet: "
                                  f"{exc.message}") from None
        except esql.EsqlError as exc:
            raise query_error(rule, exc.offset, CODE_QUERY, f"the ES|QL query does not compile: {exc.message}",
                              exc.hint) from None

    def run(self, events: Sequence[Mapping[str, Any]], now: Any = None) -> RunResult:
        from detection import esql
        from detection.engine import Alert

        window, seen, notes = self.visible(events, now)
        ids: dict[str, int] = {}
        subset = []
        for i in seen:
            event = events[i]
            if "_id" not in event:
                event = {**event, "_id": str(i)}
            ids[str(event["_id"])] = i
            subset.append(event)
        moment = window.now if window is not None else None
        try:
            result = esql.execute(self.query, subset, moment, field_types=self.fields)
        except esql.EsqlError as exc:
            raise query_error(self.rule, exc.offset, CODE_QUERY, f"the ES|QL query failed: {exc.message}",
                              exc.hint) from None
        alerts = []
        for row in result.rows:
            index = ids.get(str(row.get("_id"))) if "_id" in row else None
            alerts.append(Alert(self.rule.rule_id, index, events[index] if index is not None else None,
                                (index,) if index is not None else (), group=dict(row)))
        notes.append(f"{len(alerts)} row(s) from {len(seen)} event(s); columns: {', '.join(result.columns)}")
        for row in result.rows[:MAX_NOTED_ROWS]:
            notes.append("row " + json.dumps(row, default=str, ensure_ascii=False))
        for warning in result.warnings:
            notes.append("warning: " + warning.format())
        return RunResult(alerts[:self.max_signals], notes)


def prepare(rule: RuleFile, fields: Any) -> EsqlDetector:
    return EsqlDetector(rule, fields)

