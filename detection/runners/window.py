"""The time of a rule run and the events its look-back window sees.

Kibana runs a rule every ``interval`` and searches ``[now + from, now + to]`` (``from``
defaults to ``now-6m``, ``to`` to ``now``) on the rule's timestamp field: ``timestamp_override``
when set - falling back to ``@timestamp`` for events without it, unless
``timestamp_override_fallback_disabled`` - otherwise ``@timestamp``. A fixture case is one rule
run. Its run time is:

* the case's ``now:`` when it gives one;
* otherwise, for rule types that look at several events together (EQL, threshold, new terms,
  ES|QL), the latest event timestamp, so that a case of recorded events just works;
* otherwise (single-event query rules) there is no run time and every event counts: such
  cases often collect records from different days, each standing for a separate run.

With a run time, only events whose timestamp lies in the window count - events with no
readable timestamp are outside it, as Elasticsearch's range filter leaves them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from detection.kql.dates import NS, DateError, doc_date, parse_date, parse_date_math
from detection.kql.docs import values_at

DEFAULT_FROM = "now-6m"
DEFAULT_TO = "now"
TIMESTAMP = "@timestamp"


class WindowError(ValueError):
    """A ``from``/``to``/``now`` value that is not a date or date math."""


@dataclass(frozen=True)
class Window:
    """One rule run: its time and the look-back range, all in UTC nanoseconds."""

    now: datetime
    start: int
    end: int
    timestamp_field: str
    fallback: str | None  # the field read when timestamp_field is missing, if any

    def time_of(self, event: Mapping[str, Any]) -> int | None:
        return event_time(event, self.timestamp_field, self.fallback)

    def contains(self, event: Mapping[str, Any]) -> bool:
        t = self.time_of(event)
        return t is not None and self.start <= t <= self.end

    def describe(self) -> str:
        return f"run time {format_ns(self.now_ns)}, look-back {format_ns(self.start)} .. {format_ns(self.end)} " \
               f"on {self.timestamp_field}" + (f" (else {self.fallback})" if self.fallback else "")

    @property
    def now_ns(self) -> int:
        return to_ns(self.now)


def timestamp_fields(rule: Mapping[str, Any]) -> tuple[str, str | None]:
    """The field the rule's time range filters on, and its fallback."""
    override = rule.get("timestamp_override")
    if override:
        return str(override), None if rule.get("timestamp_override_fallback_disabled") else TIMESTAMP
    return TIMESTAMP, None


def event_time(event: Mapping[str, Any], field: str, fallback: str | None = None) -> int | None:
    """The event's time in UTC nanoseconds (the first readable value), or None."""
    for name in (field, fallback):
        if not name:
            continue
        for value in values_at(event, tuple(name.split("."))):
            t = doc_date(value)
            if t is not None:
                return t
    return None


def parse_now(text: Any) -> datetime:
    """A case's ``now:``: an ISO 8601 date-time (``2024-05-01T12:00:00Z``) or epoch millis."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    try:
        return from_ns(parse_date(str(text)))
    except DateError as exc:
        raise WindowError(f"now: {exc}") from None


def run_window(rule: Mapping[str, Any], events: Sequence[Mapping[str, Any]], now: Any = None,
               default_to_latest: bool = True) -> Window | None:
    """The run's window for these events, or None when every event counts (see module doc)."""
    field, fallback = timestamp_fields(rule)
    if now is None:
        if not default_to_latest:
            return None
        times = [t for e in events if (t := event_time(e, field, fallback)) is not None]
        if not times:
            return None
        moment = from_ns(max(times))
    else:
        moment = parse_now(now)
    start = resolve(rule.get("from") or DEFAULT_FROM, moment, "from")
    end = resolve(rule.get("to") or DEFAULT_TO, moment, "to", round_up=True)
    return Window(moment, start, end, field, fallback)


def resolve(expression: str, now: datetime, name: str, round_up: bool = False) -> int:
    try:
        return parse_date_math(str(expression), now, round_up)
    except DateError as exc:
        raise WindowError(f"{name}: {exc}") from None


def select(events: Sequence[Mapping[str, Any]], window: Window | None) -> list[int]:
    """Indexes of the events the run sees."""
    if window is None:
        return list(range(len(events)))
    return [i for i, e in enumerate(events) if window.contains(e)]


def to_ns(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * NS + delta.microseconds * 1000


def from_ns(ns: int) -> datetime:
    seconds, rest = divmod(ns, NS)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=rest // 1000)


def format_ns(ns: int) -> str:
    moment = from_ns(ns)
    millis = (ns // 1_000_000) % 1000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"
