"""Detailed expectations: which events, or which group values, each expected alert has.

A fixture case may list its alerts instead of counting them::

    expect:
      alerts:
        - events: [0, 2]                  # the alert's events, by position in the case (from 0)
        - group: {source.ip: 192.0.2.10}  # field values of a threshold group, a new term, an ES|QL row

Each listed alert must be matched by a different actual alert (and the counts must agree).
``events`` compares as a set with the alert's events (a sequence's steps, a threshold group's
members, the event of a single-event alert); ``group`` requires each listed field to have the
value given (a value matches an array holding it; numbers and strings compare by their text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def alert_events(alert: Any) -> tuple[int, ...]:
    indexes = tuple(getattr(alert, "event_indexes", ()) or ())
    if indexes:
        return indexes
    return (alert.event_index,) if getattr(alert, "event_index", None) is not None else ()


def satisfies(alert: Any, wanted: Mapping[str, Any]) -> bool:
    if "events" in wanted and set(alert_events(alert)) != set(wanted["events"]):
        return False
    if "group" in wanted:
        group = getattr(alert, "group", None) or {}
        for name, value in wanted["group"].items():
            if name not in group or not same_value(value, group[name]):
                return False
    return True


def same_value(expected: Any, actual: Any) -> bool:
    if isinstance(actual, list) and not isinstance(expected, list):
        return any(same_value(expected, a) for a in actual)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(same_value(e, a) for e, a in zip(expected, actual, strict=True))
    if expected == actual and type(expected) is type(actual):
        return True
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(expected).lower() == str(actual).lower()
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return float(expected) == float(actual)
    return str(expected) == str(actual)


def unmatched(expected: Sequence[Mapping[str, Any]], alerts: Sequence[Any]) -> list[int]:
    """Positions of the expected alerts no distinct actual alert satisfies (a maximum matching)."""
    owner: dict[int, int] = {}  # actual alert -> expected item

    def assign(item: int, visited: set[int]) -> bool:
        for a, alert in enumerate(alerts):
            if a in visited or not satisfies(alert, expected[item]):
                continue
            visited.add(a)
            if a not in owner or assign(owner[a], visited):
                owner[a] = item
                return True
        return False

    matched = {item for item in range(len(expected)) if assign(item, set())}
    return [i for i in range(len(expected)) if i not in matched]


def describe_wanted(wanted: Mapping[str, Any]) -> str:
    parts = []
    if "events" in wanted:
        parts.append("events " + ", ".join(str(i) for i in wanted["events"]))
    if "group" in wanted:
        parts.append(", ".join(f"{k}={v}" for k, v in wanted["group"].items()))
    return "; ".join(parts) or "any alert"


def describe_alert(alert: Any) -> str:
    parts = []
    events = alert_events(alert)
    if events:
        parts.append("events " + ", ".join(str(i) for i in events))
    group = getattr(alert, "group", None)
    if group:
        parts.append(", ".join(f"{k}={v}" for k, v in list(group.items())[:6]))
    return "; ".join(parts) or "(no details)"
