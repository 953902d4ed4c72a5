"""Threshold rules: count the query's matches per group and alert on groups over the limit.

Following Kibana's threshold rule type: the query filters the events in the look-back window;
``threshold.field`` (a string or a list of 0 to 5 fields) groups them like a terms aggregation
(see :mod:`.terms`: events missing a group field are not counted; array values count in each of
their groups); a group alerts when its count is at least ``threshold.value`` and, with
``threshold.cardinality: [{field, value}]``, when the number of distinct values of that field in
the group is at least its value. No group field means one group of all matching events. Each
qualifying group is one alert (Kibana writes one per bucket), its ``group`` the field values,
its events the group's events in time order; at most ``max_signals`` alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from detection.diagnostics import DetectionError, Diagnostic
from detection.model import RuleFile
from detection.runners.common import CODE_RULE, FilterCache, RuleDetector, RunResult, require_no_filters
from detection.runners.terms import combinations, describe, field_terms, sort_key, type_lookup

MAX_NOTED_GROUPS = 20


class ThresholdDetector(RuleDetector):
    def __init__(self, rule: RuleFile, fields: Any):
        super().__init__(rule)
        require_no_filters(rule)
        spec = rule.rule.get("threshold")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("value"), int):
            raise DetectionError([Diagnostic(rule.location(("rule", "threshold")) if "threshold" in rule.rule
                                             else rule.location(("rule", "type")), CODE_RULE,
                                             "a threshold rule needs `threshold: {field: [...], value: N}`",
                                             hint="add the threshold table (field may be an empty list)")])
        group = spec.get("field") or []
        self.group_fields = [group] if isinstance(group, str) else [str(f) for f in group if f]
        self.value = int(spec["value"])
        self.cardinality = [(str(c["field"]), int(c["value"])) for c in spec.get("cardinality") or []
                            if isinstance(c, Mapping) and c.get("field")]
        self.type_of = type_lookup(fields)
        self.filters = FilterCache(rule, fields)

    def run(self, events: Sequence[Mapping[str, Any]], now: Any = None) -> RunResult:
        from detection.engine import Alert

        window, seen, notes = self.visible(events, now)
        predicate = self.filters.get(window)
        matching = [i for i in seen if predicate(events[i])]
        if window is not None:
            matching.sort(key=lambda i: (window.time_of(events[i]) or 0, i))
        groups: dict[tuple, list[int]] = {}
        for i in matching:
            for combo in (combinations(events[i], self.group_fields, self.type_of) if self.group_fields else [()]):
                groups.setdefault(combo, []).append(i)
        skipped = len(matching) - len({i for idxs in groups.values() for i in idxs})
        notes.append(f"{len(matching)} of {len(seen)} event(s) match the query"
                     + (f"; {skipped} lack a group field and are not counted" if skipped else ""))
        alerts = []
        for combo in sorted(groups, key=sort_key):
            idxs = groups[combo]
            ok = len(idxs) >= self.value
            line = f"group {describe(self.group_fields, combo)}: {len(idxs)} event(s) (alert at >= {self.value})"
            for card_field, card_value in self.cardinality:
                distinct = {t for i in idxs for t in field_terms(events[i], card_field, self.type_of(card_field))}
                ok = ok and len(distinct) >= card_value
                line += f", {len(distinct)} distinct {card_field} (alert at >= {card_value})"
            if len(notes) <= MAX_NOTED_GROUPS:
                notes.append(line + (" -> alert" if ok else ""))
            if ok:
                alerts.append(Alert(self.rule.rule_id, idxs[0], events[idxs[0]], tuple(idxs),
                                    group=dict(zip(self.group_fields, combo, strict=True))))
        if not groups:
            notes.append("no group: no matching event has every group field")
        return RunResult(alerts[:self.max_signals], notes)


def prepare(rule: RuleFile, fields: Any) -> ThresholdDetector:
    return ThresholdDetector(rule, fields)
