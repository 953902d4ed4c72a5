"""Replay a multi-event rule's scheduled runs over the events collected for it.

Kibana runs a rule every ``interval``; each run at time T sees ``[T + from, T + to]`` (see
:mod:`detection.runners.window`). A backtest schedules the runs on the interval's grid (run
times are multiples of ``interval`` since the epoch, so they do not depend on which events a
rule kept) from the first run at or after the first collected event to the first at or after
the last one, and hands each run's events to the rule's own runner (:mod:`detection.runners`)
with ``now=T``. Only the events a run can see are passed, in input order, so each run's alerts are
the ones the runner gives for all the events at that run time (the tests check this).

Overlapping windows (``from: now-6m`` every 5 minutes) let two runs see the same events.
Kibana derives most alert ids from what the alert is about, so a repeat is written once; the
backtest keeps the first run's alert and counts the repeats:

* EQL: an event (event queries with pipes) or a sequence/sample is identified by its events;
* new_terms: by the event and its new term(s) (Kibana hashes the event and the terms), so the
  same term can alert again once it has left the history window;
* ES|QL without STATS: by the row's ``_id`` (plus MV_EXPAND'ed values), as Kibana does for
  non-aggregating queries; an aggregating query's rows are new alerts at every run;
* threshold: alert ids include the run time, so nothing repeats by id. Instead Kibana keeps a
  signal history: once a group (bucket) alerts, later runs leave out that group's events at or
  before the latest event of the alert (``lastSignalTimestamp``), so the same events never
  count twice. The backtest applies the same filter to each run's events.

new_terms runs are not replayed through the runner: its history window (often weeks) would
make every run re-read most of the input. A term's occurrence times are indexed once and each
run asks whether the term occurs in ``[T + history_window_start, T + from)``, which gives the
runner's answer (the tests compare the two run by run). A query using date math falls back to
the runner. Alerts of runs whose history window begins before the first collected event are
flagged ``partial_history``: the captured data cannot say whether the term is really new.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from detection.diagnostics import DetectionError, Diagnostic, Location
from detection.model import RuleFile
from detection.runners.window import event_time, from_ns, resolve, timestamp_fields

DEFAULT_INTERVAL = "5m"
MAX_RUNS = 1_000_000  # a schedule longer than this is refused rather than run for hours
CODE_SCHEDULE = "E208"  # the rule's interval (or its number of runs) cannot be replayed
_INTERVAL = re.compile(r"([1-9][0-9]*)([smhd])")
_UNIT_NS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9}


@dataclass(frozen=True)
class ScheduledAlert:
    """One alert of one run: its events (positions in the rule's event list, in the runner's order)."""

    run: datetime
    events: tuple[int, ...]
    group: Mapping[str, Any] | None = None
    partial_history: bool = False


@dataclass
class RunRecord:
    """A run and its alerts before de-duplication."""

    now: datetime
    alerts: list[ScheduledAlert]


@dataclass
class Replay:
    """The outcome of a rule's schedule: alerts (after de-duplication) and how they came about."""

    alerts: list[ScheduledAlert] = field(default_factory=list)
    runs: int = 0
    repeats: int = 0  # alerts an earlier run had already raised
    untimed: int = 0  # events without a readable timestamp: no run sees them
    first_run: datetime | None = None
    last_run: datetime | None = None
    records: list[RunRecord] | None = None  # every run's raw alerts, when asked for

    @property
    def partial(self) -> int:
        return sum(1 for a in self.alerts if a.partial_history)


class Timeline:
    """The events' times on the rule's timestamp field, sorted for range look-ups."""

    def __init__(self, events: Sequence[Mapping[str, Any]], rule: Mapping[str, Any]):
        name, fallback = timestamp_fields(rule)
        self.times: list[int | None] = [event_time(e, name, fallback) for e in events]
        pairs = sorted((t, i) for i, t in enumerate(self.times) if t is not None)
        self.order = [i for _, i in pairs]  # by time, then input position
        self.sorted_times = [t for t, _ in pairs]

    @property
    def untimed(self) -> int:
        return len(self.times) - len(self.order)

    def between(self, low: int, high: int) -> list[int]:
        """Positions of the events timed in [low, high], by time then position."""
        return self.order[bisect.bisect_left(self.sorted_times, low):bisect.bisect_right(self.sorted_times, high)]


def interval_ns(rule: RuleFile) -> int:
    """The rule's ``interval`` in nanoseconds (default 5m); a located error when unreadable."""
    text = str(rule.rule.get("interval") or DEFAULT_INTERVAL)
    match = _INTERVAL.fullmatch(text)
    if match is None:
        where = rule.location(("rule", "interval")) if "interval" in rule.rule else Location(rule.display_path, 1, 1)
        raise DetectionError([Diagnostic(where, CODE_SCHEDULE, f"interval {text!r} is not a duration a backtest can "
                                         "schedule", hint="write a number and a unit (s, m, h or d), e.g. 5m")])
    return int(match[1]) * _UNIT_NS[match[2]]


def run_times(first_ns: int, last_ns: int, step_ns: int) -> list[datetime]:
    """The runs on the ``step`` grid (multiples of it since the epoch) from the first at or after
    ``first`` to the first at or after ``last``.

    A fixed grid makes the run times independent of which events a rule kept: replaying all
    the input or only a rule's events, alone or with other rules, gives the same runs where
    there is something to see.
    """
    start = -(-first_ns // step_ns) * step_ns
    end = -(-last_ns // step_ns) * step_ns
    return [from_ns(t) for t in range(start, end + 1, step_ns)]


def replay(rule: RuleFile, detector: Any, events: Sequence[Mapping[str, Any]], *, suppress: bool = True,
           keep_runs: bool = False, max_runs: int = MAX_RUNS) -> Replay:
    """Run ``detector`` (the rule's prepared runner) at each scheduled time over ``events``."""
    timeline = Timeline(events, rule.rule)
    outcome = Replay(untimed=timeline.untimed, records=[] if keep_runs else None)
    if not timeline.order:
        return outcome
    step = interval_ns(rule)
    span = timeline.sorted_times[-1] - timeline.sorted_times[0]
    if span // step + 1 > max_runs:
        where = rule.location(("rule", "interval")) if "interval" in rule.rule else Location(rule.display_path, 1, 1)
        raise DetectionError([Diagnostic(where, CODE_SCHEDULE, f"the events span about {span // step + 1:,} runs of this "
                                         f"rule; a backtest replays at most {max_runs:,}",
                                         hint="backtest a shorter stretch of events")])
    runs = run_times(timeline.sorted_times[0], timeline.sorted_times[-1], step)
    outcome.runs, outcome.first_run, outcome.last_run = len(runs), runs[0], runs[-1]
    identity = _identity(rule, detector)
    seen: set[Hashable] = set()
    for record in _records(rule, detector, events, timeline, runs, suppress):
        if outcome.records is not None:
            outcome.records.append(record)
        for alert in record.alerts:
            key = identity(alert)
            if key is not None:
                if key in seen:
                    outcome.repeats += 1
                    continue
                seen.add(key)
            outcome.alerts.append(alert)
    return outcome


def _records(rule: RuleFile, detector: Any, events: Sequence[Mapping[str, Any]], timeline: Timeline,
             runs: list[datetime], suppress: bool) -> Iterator[RunRecord]:
    from detection.backtest_collect import depends_on_now

    if rule.type == "threshold":
        return _threshold_runs(detector, events, timeline, runs, suppress)
    if rule.type == "new_terms":
        if depends_on_now(rule.query):
            return _runner_runs(detector, events, timeline, runs, history=True)
        return _new_terms_runs(detector, events, timeline, runs)
    # An ES|QL query can give rows for no events at all (STATS COUNT(*)); the others cannot.
    return _runner_runs(detector, events, timeline, runs, run_empty=rule.type == "esql")


def _identity(rule: RuleFile, detector: Any) -> Callable[[ScheduledAlert], Hashable | None]:
    """What Kibana derives the alert id from, or None where every run's alert is a new one."""
    if rule.type == "eql":
        return lambda alert: alert.events
    if rule.type == "new_terms":
        return lambda alert: (alert.events, tuple((alert.group or {}).values()))
    if rule.type == "esql":
        from detection.esql import ast

        commands = detector.query.commands
        if any(isinstance(c, ast.Stats) for c in commands):
            return lambda alert: None
        expanded = [c.field.name for c in commands if isinstance(c, ast.MvExpand)]

        def row_id(alert: ScheduledAlert) -> Hashable | None:
            row = alert.group or {}
            if row.get("_id") is None:
                return None
            return (str(row["_id"]),) + tuple(repr(row.get(name)) for name in expanded)

        return row_id
    return lambda alert: None


def _map(now: datetime, alert: Any, positions: Sequence[int], partial: bool = False) -> ScheduledAlert:
    """A runner's alert over a subset, with the subset's indexes turned into the rule's positions."""
    indexes = tuple(alert.event_indexes) or ((alert.event_index,) if alert.event_index is not None else ())
    return ScheduledAlert(now, tuple(positions[j] for j in indexes), alert.group, partial)


def _runner_runs(detector: Any, events: Sequence[Mapping[str, Any]], timeline: Timeline, runs: list[datetime],
                 run_empty: bool = False, history: bool = False) -> Iterator[RunRecord]:
    first = timeline.sorted_times[0]
    for now in runs:
        window = detector.window((), now)
        low = _history_start(detector, window) if history else window.start
        subset = sorted(timeline.between(min(low, window.start), window.end))  # input order, as the runner reads them
        if not subset and not run_empty:
            yield RunRecord(now, [])
            continue
        result = detector.run([events[i] for i in subset], now)
        partial = history and low < first
        yield RunRecord(now, [_map(now, a, subset, partial) for a in result.alerts])


def _threshold_runs(detector: Any, events: Sequence[Mapping[str, Any]], timeline: Timeline, runs: list[datetime],
                    suppress: bool) -> Iterator[RunRecord]:
    from detection.runners.terms import combinations

    names, type_of = detector.group_fields, detector.type_of
    last_alerted: dict[tuple, int] = {}  # group -> time of the latest event of its latest alert

    def groups(i: int) -> list[tuple]:
        return combinations(events[i], names, type_of) if names else [()]

    def already_counted(i: int) -> bool:
        t = timeline.times[i]
        return any(g in last_alerted and t <= last_alerted[g] for g in groups(i))  # type: ignore[operator]

    for now in runs:
        window = detector.window((), now)
        visible = timeline.between(window.start, window.end)
        if suppress and last_alerted:
            visible = [i for i in visible if not already_counted(i)]
        if not visible:
            yield RunRecord(now, [])
            continue
        subset = sorted(visible)
        result = detector.run([events[i] for i in subset], now)
        alerts = [_map(now, a, subset) for a in result.alerts]
        if suppress:
            for alert in alerts:
                group = tuple((alert.group or {}).get(n) for n in names)
                latest = max(timeline.times[i] for i in alert.events)  # type: ignore[type-var]
                last_alerted[group] = max(latest, last_alerted.get(group, latest))
        yield RunRecord(now, alerts)


def _history_start(detector: Any, window: Any) -> int:
    from detection.runners.window import WindowError

    try:
        return resolve(detector.history_start, window.now, "history_window_start")
    except WindowError as exc:
        rule = detector.rule
        raise DetectionError([Diagnostic(rule.location(("rule", "history_window_start")), "F131", str(exc),
                                         hint="use date math such as now-14d")]) from None


def _new_terms_runs(detector: Any, events: Sequence[Mapping[str, Any]], timeline: Timeline,
                    runs: list[datetime]) -> Iterator[RunRecord]:
    from detection.runners.terms import combinations

    predicate = detector.filters.get(None)  # the query has no date math (else the runner replays it)
    names, type_of = detector.fields_names, detector.type_of
    terms_of: dict[int, list[tuple]] = {}
    seen_at: dict[tuple, list[int]] = {}  # term -> sorted times of the matching events having it
    for i in timeline.order:
        if predicate(events[i]):
            terms_of[i] = combinations(events[i], names, type_of)
            for term in terms_of[i]:
                seen_at.setdefault(term, []).append(timeline.times[i])  # type: ignore[arg-type]
    first = timeline.sorted_times[0]
    for now in runs:
        window = detector.window((), now)
        history_from = _history_start(detector, window)
        partial = history_from < first
        alerts: list[ScheduledAlert] = []
        known: set[tuple] = set()
        for i in timeline.between(window.start, window.end):
            for term in terms_of.get(i, ()):
                if term in known:
                    continue
                times = seen_at[term]
                k = bisect.bisect_left(times, history_from)
                if k < len(times) and times[k] < window.start:
                    continue  # the history window has it
                known.add(term)
                alerts.append(ScheduledAlert(now, (i,), dict(zip(names, term, strict=True)), partial))
        yield RunRecord(now, alerts[:detector.max_signals])
