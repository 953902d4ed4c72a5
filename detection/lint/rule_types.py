"""H115-H117: settings of the multi-event rule types (new terms, threshold, EQL sequences) that
Kibana refuses or that leave the rule unable to see what its query describes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from detection.diagnostics import Diagnostic, Severity
from detection.lint.context import RuleContext
from detection.lint.datemath import describe, parse_date_math
from detection.lint.registry import check

DEFAULT_FROM = "now-6m"
DEFAULT_TO = "now"


def _offset(text: object) -> int | None:
    """Seconds relative to now of unrounded date math, else None (rounding depends on the run time)."""
    parsed = parse_date_math(text) if isinstance(text, str) else None
    return None if parsed is None or parsed.rounded else parsed.offset_seconds


@check("H115", "history-window-too-short", "a new terms history window does not start before `from`",
       explanation="""
       A new terms rule compares the terms of its look-back window (`from` to `to`) with those seen
       between `history_window_start` and `from`. Kibana refuses to create or import the rule unless
       `history_window_start` is earlier than `from` ("History window size is smaller than rule
       interval + additional lookback").
       """,
       bad="""
       type: new_terms
       new_terms_fields: [user.name]
       from: now-6m
       history_window_start: now-5m
       """,
       good="""
       type: new_terms
       new_terms_fields: [user.name]
       from: now-6m
       history_window_start: now-14d
       """)
def history_window_too_short(ctx: RuleContext) -> Iterator[Diagnostic]:
    rule = ctx.rule.rule
    if ctx.rule.type != "new_terms" or "history_window_start" not in rule:
        return
    start, look_back = _offset(rule["history_window_start"]), _offset(rule.get("from", DEFAULT_FROM))
    if start is None or look_back is None or start < look_back:
        return
    yield Diagnostic(ctx.at(("rule", "history_window_start")), "H115",
                     f"history_window_start {rule['history_window_start']} is not earlier than from "
                     f"{rule.get('from', DEFAULT_FROM)}: Kibana refuses the rule",
                     hint="set history_window_start well before from, e.g. now-14d")


@check("H116", "threshold-cardinality-on-group-field", "a threshold counts distinct values of a field it groups by",
       explanation="""
       Within one threshold group every event has the same value of each `threshold.field`, so the
       distinct count of such a field is always 1. Kibana refuses the rule on import; count another
       field (the user names tried from one source address, say).
       """,
       bad="""
       type: threshold
       threshold:
         field: [source.ip]
         value: 10
         cardinality: [{field: source.ip, value: 5}]
       """,
       good="""
       type: threshold
       threshold:
         field: [source.ip]
         value: 10
         cardinality: [{field: user.name, value: 5}]
       """)
def threshold_cardinality_on_group_field(ctx: RuleContext) -> Iterator[Diagnostic]:
    threshold = ctx.rule.rule.get("threshold")
    if ctx.rule.type != "threshold" or not isinstance(threshold, Mapping):
        return
    fields = threshold.get("field")
    group = [fields] if isinstance(fields, str) else [f for f in fields or [] if isinstance(f, str)] \
        if isinstance(fields, list) else []
    for i, item in enumerate(threshold.get("cardinality") or []):
        if isinstance(item, Mapping) and item.get("field") in group:
            yield Diagnostic(ctx.at(("rule", "threshold", "cardinality", i, "field")), "H116",
                             f"cardinality of {item['field']} is always 1: the rule groups by it",
                             hint="count the distinct values of a field that is not in threshold.field")


@check("H117", "sequence-longer-than-look-back", "an EQL sequence's maxspan is longer than the look-back window",
       explanation="""
       Each run searches only its look-back window (`from` to `to`), so a sequence whose events are
       further apart than the window is never seen whole, although `maxspan` allows it. Widen `from`
       to at least the maxspan (plus the interval's margin), or shorten `maxspan`.
       """,
       bad="""
       type: eql
       language: eql
       interval: 5m
       from: now-6m
       query: sequence by user.name with maxspan=30m [iam where true] [iam where true]
       """,
       good="""
       type: eql
       language: eql
       interval: 5m
       from: now-35m
       query: sequence by user.name with maxspan=30m [iam where true] [iam where true]
       """,
       severity=Severity.WARNING)
def sequence_longer_than_look_back(ctx: RuleContext) -> Iterator[Diagnostic]:
    rule = ctx.rule.rule
    if ctx.rule.language != "eql" or not isinstance(ctx.rule.query, str):
        return
    start, end = _offset(rule.get("from", DEFAULT_FROM)), _offset(rule.get("to", DEFAULT_TO))
    sequence = _sequence(ctx.rule.query)
    if start is None or end is None or sequence is None or sequence.maxspan is None:
        return
    look_back_ns = (end - start) * 10**9
    if sequence.maxspan.nanos <= look_back_ns:
        return
    yield Diagnostic(ctx.at_offset(("rule", "query"), sequence.maxspan.pos), "H117",
                     f"maxspan={sequence.maxspan.render()} is longer than the {describe(max(end - start, 0))} "
                     "look-back window: longer sequences are never found",
                     hint="widen from to cover the maxspan, or shorten maxspan")


def _sequence(text: str) -> Any:
    """The query's Sequence node, or None (not a sequence, or a query Q101 reports)."""
    try:
        from detection import eql
        from detection.eql.ast import Sequence
    except ImportError:
        return None
    try:
        body = eql.parse(text).body
    except eql.EqlError:
        return None
    return body if isinstance(body, Sequence) else None


CHECKS = (history_window_too_short, threshold_cardinality_on_group_field, sequence_longer_than_look_back)
