"""New terms rules: alert on values (or value combinations) not seen in the history window.

Following Kibana's new terms rule type: the query filters the events. The history window is
``[now + history_window_start, now + from)`` and the look-back window ``[now + from, now + to]``
(run time and look-back as in :mod:`.window`; a case without ``now`` runs at its latest event).
A term is a value of the single ``new_terms_fields`` field, or a combination of values of
several (arrays give one term per value / per combination; an event missing a field has no
term). Every term found in the look-back window that no history event has is new, and each new
term is one alert, on the earliest look-back event that has it - so two events with the same new
term make one alert, and one event with two new values in an array makes two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from detection.diagnostics import DetectionError, Diagnostic
from detection.model import RuleFile
from detection.runners.common import CODE_RULE, FilterCache, RuleDetector, RunResult, require_no_filters
from detection.runners.terms import combinations, describe, sort_key, type_lookup
from detection.runners.window import WindowError, format_ns, resolve

MAX_NOTED_TERMS = 20


class NewTermsDetector(RuleDetector):
    def __init__(self, rule: RuleFile, fields: Any):
        super().__init__(rule)
        require_no_filters(rule)
        names = rule.rule.get("new_terms_fields")
        start = rule.rule.get("history_window_start")
        if not names or not start:
            raise DetectionError([Diagnostic(rule.location(("rule", "type")), CODE_RULE,
                                             "a new_terms rule needs new_terms_fields and history_window_start",
                                             hint="add e.g. `new_terms_fields: [user.name]` and "
                                                  "`history_window_start: now-14d`")])
        self.fields_names = [names] if isinstance(names, str) else [str(n) for n in names]
        self.history_start = str(start)
        self.type_of = type_lookup(fields)
        self.filters = FilterCache(rule, fields)

    def run(self, events: Sequence[Mapping[str, Any]], now: Any = None) -> RunResult:
        from detection.engine import Alert

        window = self.window(events, now)
        notes: list[str] = []
        predicate = self.filters.get(window)
        if window is None:
            # No timestamps and no run time: every event is in the look-back, the history is empty.
            current = [i for i in range(len(events)) if predicate(events[i])]
            history: list[int] = []
            notes.append("no event has a timestamp and the case gives no `now`: every event is in the "
                         "look-back window and the history window is empty")
        else:
            try:
                history_from = resolve(self.history_start, window.now, "history_window_start")
            except WindowError as exc:
                raise DetectionError([Diagnostic(self.rule.location(("rule", "history_window_start")), CODE_RULE,
                                                 str(exc), hint="use date math such as now-14d")]) from None
            timed = [(window.time_of(e), i) for i, e in enumerate(events)]
            history = [i for t, i in sorted(x for x in timed if x[0] is not None)
                       if history_from <= t < window.start and predicate(events[i])]
            current = [i for t, i in sorted(x for x in timed if x[0] is not None)
                       if window.start <= t <= window.end and predicate(events[i])]
            notes.append(window.describe())
            notes.append(f"history window {format_ns(history_from)} .. {format_ns(window.start)}: "
                         f"{len(history)} matching event(s)")
        known: dict[tuple, int] = {}
        for i in history:
            for combo in combinations(events[i], self.fields_names, self.type_of):
                known.setdefault(combo, i)
        shown = sorted(known, key=sort_key)
        if shown:
            listed = "; ".join(describe(self.fields_names, c) for c in shown[:MAX_NOTED_TERMS])
            more = f" and {len(shown) - MAX_NOTED_TERMS} more" if len(shown) > MAX_NOTED_TERMS else ""
            notes.append(f"terms seen in the history window: {listed}{more}")
        notes.append(f"look-back window: {len(current)} matching event(s)")
        alerts = []
        for i in current:
            for combo in combinations(events[i], self.fields_names, self.type_of):
                if combo in known:
                    continue
                known[combo] = i
                alerts.append(Alert(self.rule.rule_id, i, events[i], (i,),
                                    group=dict(zip(self.fields_names, combo, strict=True))))
                if len(alerts) <= MAX_NOTED_TERMS:
                    notes.append(f"new term {describe(self.fields_names, combo)} first in event {i + 1} -> alert")
        return RunResult(alerts[:self.max_signals], notes)


def prepare(rule: RuleFile, fields: Any) -> NewTermsDetector:
    return NewTermsDetector(rule, fields)
