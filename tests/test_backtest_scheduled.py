"""detection backtest replays multi-event rules on their schedule.

Three kinds of evidence: small inputs whose alerts are known by construction (one per rule
type, each showing what overlapping runs do); generated inputs on which every scheduled run
gives exactly the runner's alerts for all the events at that run time, and the streamed
backtest (collection, workers, chunks) gives what replaying every event gives; and the memory
cap, which refuses a rule with a located message instead of holding its events.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest

from detection import engine, eql
from detection.backtest import prepare_backtest, run_backtest
from detection.backtest_collect import collection, is_scheduled
from detection.backtest_schedule import interval_ns, replay, run_times
from detection.cli import main
from detection.diagnostics import DetectionError
from detection.loader import load_rules
from detection.runners.window import format_ns, to_ns
from tests.kibana_helpers import rule_doc, write_rule

LOGINS = "event.action:login"
SEQUENCE = ('sequence by user.name with maxspan=10m [any where event.action == "login"] '
            '[any where event.action == "sudo"]')


def at(minute: int, second: int = 0, hour: int = 12) -> str:
    return f"2024-05-01T{hour:02d}:{minute:02d}:{second:02d}.000Z"


def run_at(minute: int, hour: int = 12) -> str:
    """A run time as the --out records write it."""
    return f"2024-05-01T{hour:02d}:{minute:02d}:00.000Z"


def event(time: str | None, action: str, user: Any = None, **extra: Any) -> dict:
    out: dict[str, Any] = {"event": {"action": action}}
    if time is not None:
        out["@timestamp"] = time
    if user is not None:
        out["user"] = {"name": user}
    out.update(extra)
    return out


def backtest(tmp_path: Path, rules: dict[str, dict], events: list[dict], **options: Any):
    """Write the rules and one events file, run the backtest; (result, --out records)."""
    for stem, doc in rules.items():
        write_rule(tmp_path / "rules", stem, doc)
    data = tmp_path / "events.ndjson"
    data.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    plan = prepare_backtest(load_rules([tmp_path / "rules"]).rules)
    out_path = tmp_path / "alerts.ndjson"
    with out_path.open("wb") as out:
        result = run_backtest(plan, [data], jobs=options.pop("jobs", 1), out=out, **options)
    records = [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines()]
    return result, records


def summary(records: list[dict]) -> list[tuple]:
    return [(r["run_time"], [e["line"] for e in r["events"]]) for r in records]


def schedule_of(result, name: str):
    return next(c for c in result.counts if c.rule.name == name)


# --------------------------------------------------------------------------- known by construction


def threshold_doc(**changes: Any) -> dict:
    settings = {"name": "Thr", "type": "threshold", "query": LOGINS, "threshold": {"field": ["user.name"], "value": 3}}
    return rule_doc(**{**settings, **changes})


THRESHOLD_EVENTS = [
    event(at(0), "login", "carol"),  # line 1: the first event, so runs are at 12:00, 12:05, 12:10
    event(at(4, 30), "login", "bob"),  # lines 2-4: seen by the runs at 12:05 and 12:10
    event(at(4, 40), "login", "bob"),
    event(at(4, 50), "login", "bob"),
    event(at(6), "login", "bob"),  # lines 5-7: three more, seen by the 12:10 run only
    event(at(7), "login", "bob"),
    event(at(8), "login", "bob"),
]


def test_threshold_counts_a_groups_events_once_across_overlapping_runs(tmp_path):
    result, records = backtest(tmp_path, {"thr": threshold_doc()}, THRESHOLD_EVENTS)
    # 12:05 sees lines 2-4 (3 of bob); 12:10 sees lines 2-7 but the signal history leaves out
    # bob's events up to 12:04:50, the latest of the first alert, so it counts lines 5-7 alone.
    assert summary(records) == [(run_at(5), [2, 3, 4]), (run_at(10), [5, 6, 7])]
    assert [r["group"] for r in records] == [{"user.name": "bob"}] * 2
    count = schedule_of(result, "Thr")
    assert count.alerts == 2 and count.schedule.runs == 3 and count.schedule.collected == 7
    assert (count.schedule.first_run, count.schedule.last_run) == (run_at(0), run_at(10))


def test_threshold_without_the_signal_history_recounts_the_overlap(tmp_path):
    write_rule(tmp_path, "thr", threshold_doc())
    rule = load_rules([tmp_path / "thr.yaml"]).rules[0]
    outcome = replay(rule, engine.prepare(rule), THRESHOLD_EVENTS, suppress=False)
    assert [a.events for a in outcome.alerts] == [(1, 2, 3), (1, 2, 3, 4, 5, 6)]


def test_new_terms_alert_once_per_event_and_term_and_again_after_the_history_window(tmp_path):
    doc = rule_doc(name="NT", type="new_terms", query=LOGINS, new_terms_fields=["user.name"],
                   history_window_start="now-1h")
    events = [event(at(0), "login", "alice"), event(at(1), "login", "dave"), event(at(2), "login", "bob"),
              event(at(3), "login", "alice"), event(at(4, 30), "login", "carol"),
              event(at(10, hour=13), "login", "dave"), event(at(5), "logout", "erin")]
    result, records = backtest(tmp_path, {"nt": doc}, events)
    # alice at 12:00 is new at 12:00 and again in the 12:05 window (the same alert); carol at
    # 12:04:30 is in both the 12:05 and 12:10 look-backs (one alert). dave is new at 12:01, and
    # again at 13:10, when the hour of history no longer reaches back to 12:01.
    assert summary(records) == [(run_at(0), [1]), (run_at(5), [2]), (run_at(5), [3]), (run_at(5), [5]),
                                (run_at(10, 13), [6])]
    assert [r["group"]["user.name"] for r in records] == ["alice", "dave", "bob", "carol", "dave"]
    # Until 13:00 the hour of history reaches before the first event: those alerts are flagged.
    assert [r.get("partial_history", False) for r in records] == [True, True, True, True, False]
    info = schedule_of(result, "NT").schedule
    assert (info.repeats, info.partial_history, info.collected, info.runs) == (2, 4, 6, 15)


def test_eql_sequences_are_found_within_one_runs_window_and_written_once(tmp_path):
    doc = rule_doc(name="Seq", type="eql", language="eql", query=SEQUENCE)
    events = [event(at(0), "login", "bob"), event(at(1), "sudo", "bob"),
              event(at(4, 10), "login", "alice"), event(at(4, 20), "sudo", "alice"),
              event(at(20), "login", "carol"), event(at(28), "sudo", "carol"),
              event(at(2), "logout", "bob")]
    result, records = backtest(tmp_path, {"seq": doc}, events)
    assert summary(records) == [(run_at(5), [1, 2]), (run_at(5), [3, 4])]
    info = schedule_of(result, "Seq").schedule
    assert info.repeats == 1 and info.collected == 6 and info.kind == "eql sequence"
    # carol's pair is within maxspan but 8 minutes apart: no 6-minute look-back holds both,
    # though matching the whole stream at once finds it.
    assert len(eql.compile(SEQUENCE).run(events)) == 3


def test_esql_rows_with_an_id_alert_once_and_aggregates_alert_every_run(tmp_path):
    rows = rule_doc(name="Rows", type="esql", language="esql", index=None,
                    query='FROM logs-* METADATA _id | WHERE event.action == "sudo" | KEEP _id, user.name')
    counts = rule_doc(name="Counts", type="esql", language="esql", index=None, rule_id="00000000-0000-4000-8000-000000000002",
                      query='FROM logs-* | WHERE event.action == "login" | STATS n = COUNT(*) BY user.name | WHERE n >= 2')
    events = [event(at(0), "sudo", "bob"), event(at(0), "login", "bob"),
              event(at(4, 10), "login", "bob"), event(at(4, 20), "login", "bob"),
              event(at(4, 30), "sudo", "alice"), event(at(2), "sudo", "mallory", _index="other-2024.05.01"),
              event(at(9), "sudo", "carol"), event(at(9), "login", "alice")]
    result, records = backtest(tmp_path, {"rows": rows, "counts": counts}, events)
    by_rule = {name: [r for r in records if r["rule_name"] == name] for name in ("Rows", "Counts")}
    # Rows: the run at 12:05 sees bob's and alice's sudo, 12:10 alice's and carol's; each once.
    # The event of another index is not FROM logs-* and is not even kept.
    assert summary(by_rule["Rows"]) == [(run_at(0), [1]), (run_at(5), [5]), (run_at(10), [7])]
    # Events without an _id are named by file and line, as the records place them.
    assert [r["group"] for r in by_rule["Rows"]] == [{"_id": f"{r['file']}:{r['line']}", "user.name": user}
                                                     for r, user in zip(by_rule["Rows"], ("bob", "alice", "carol"), strict=True)]
    assert schedule_of(result, "Rows").schedule.collected == 3
    # Counts: an aggregate names no event; bob's two 12:04 logins count in both runs that see them.
    assert [(r["run_time"], r["group"], r["events"], r["line"]) for r in by_rule["Counts"]] == [
        (run_at(5), {"n": 3, "user.name": "bob"}, [], None), (run_at(10), {"n": 2, "user.name": "bob"}, [], None)]
    assert schedule_of(result, "Counts").schedule.repeats == 0


def test_eql_event_queries_with_pipes_run_per_schedule(tmp_path):
    doc = rule_doc(name="Head", type="eql", language="eql", query='any where event.action == "sudo" | head 1')
    events = [event(at(0), "sudo", "a"), event(at(1), "sudo", "b"), event(at(7), "sudo", "c"), event(at(8), "sudo", "d")]
    _, records = backtest(tmp_path, {"head": doc}, events)
    # head 1 keeps each run's first event: a (12:00 and 12:05, once), then c (12:10).
    assert summary(records) == [(run_at(0), [1]), (run_at(10), [3])]


def test_events_without_a_timestamp_are_kept_but_no_run_sees_them(tmp_path):
    result, records = backtest(tmp_path, {"thr": threshold_doc()},
                               [event(None, "login", "bob")] * 3 + [event(at(0), "login", "bob")])
    info = schedule_of(result, "Thr").schedule
    assert records == [] and (info.collected, info.untimed, info.runs) == (4, 3, 1)


# --------------------------------------------------------------------------- the schedule


def test_runs_are_on_the_interval_grid_from_the_first_event_to_the_last():
    minute = 60 * 10**9
    first = to_ns_text("2024-05-01T12:00:00.000000500Z")  # just after 12:00: the first run is 12:05
    times = run_times(first, first + 11 * minute, 5 * minute)
    assert [format_ns(to_ns(t)) for t in times] == [
        "2024-05-01T12:05:00.000Z", "2024-05-01T12:10:00.000Z", "2024-05-01T12:15:00.000Z"]
    on_grid = to_ns_text("2024-05-01T12:00:00Z")
    assert [format_ns(to_ns(t)) for t in run_times(on_grid, on_grid + 5 * minute, 5 * minute)] == [
        "2024-05-01T12:00:00.000Z", "2024-05-01T12:05:00.000Z"]
    assert len(run_times(on_grid, on_grid, minute)) == 1


def to_ns_text(text: str) -> int:
    from detection.kql.dates import parse_date

    return parse_date(text)


def test_an_interval_a_backtest_cannot_schedule_is_a_located_error_before_the_events_are_read(tmp_path):
    path = write_rule(tmp_path, "thr", threshold_doc(interval="90s"))
    [rule] = load_rules([path]).rules
    rule.rule["interval"] = "90 s"  # the loader refuses it; the backtest does not rely on that
    plan = prepare_backtest([rule])
    assert plan.rules == [] and [d.code for d in plan.diagnostics] == ["E208"]
    assert plan.diagnostics[0].location.line == next(
        n for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip().startswith("interval:"))
    assert "'90 s' is not a duration" in plan.diagnostics[0].message
    rule = load_rules([write_rule(tmp_path, "ok", threshold_doc(interval="1s"))]).rules[0]
    assert interval_ns(rule) == 10**9
    far = [event(at(0), "login", "bob"), event(at(0, hour=23), "login", "bob")]
    with pytest.raises(DetectionError) as caught:
        replay(rule, engine.prepare(rule), far, max_runs=1000)
    assert "about 39,601 runs" in caught.value.diagnostics[0].message


def test_which_rules_are_replayed_and_what_they_keep(tmp_path):
    docs = {
        "q": rule_doc(query=LOGINS),
        "ev": rule_doc(type="eql", language="eql", query='any where event.action == "x"'),
        "pipe": rule_doc(type="eql", language="eql", query='any where event.action == "x" | tail 3'),
        "seq": rule_doc(type="eql", language="eql", query=SEQUENCE),
        "thr": threshold_doc(),
        "date": threshold_doc(query="event.action:login and @timestamp >= now-1h"),
        "esql": rule_doc(type="esql", language="esql", index=None,
                         query='FROM logs-* | WHERE event.action IN ("login", "sudo") AND (user.name == "a" OR '
                               'user.name == "b") | WHERE host.name == "h1" OR source.port > 1 | '
                               'WHERE event.outcome == "123" | STATS n = COUNT(*)'),
    }
    rules = {stem: load_rules([write_rule(tmp_path, stem, doc)]).rules[0] for stem, doc in docs.items()}
    assert {s for s, r in rules.items() if is_scheduled(r)} == {"pipe", "seq", "thr", "date", "esql"}
    seq = collection(rules["seq"], None)
    assert [t.values for t in seq.requirements.terms] == [frozenset({"login", "sudo"})]
    assert seq.predicate(event(None, "sudo")) and not seq.predicate(event(None, "logout"))
    assert [t.values for t in collection(rules["thr"], None).requirements.terms] == [frozenset({"login"})]
    # Date math depends on the run time: such a rule keeps every event.
    dated = collection(rules["date"], None)
    assert dated.predicate(event(None, "logout")) and not dated.requirements
    # ES|QL: equalities and IN lists under AND, an OR constraining one field; not a number-like text.
    esql_rule = collection(rules["esql"], None)
    assert {t.field: t.values for t in esql_rule.requirements.terms} == {
        "event.action": frozenset({"login", "sudo"}), "user.name": frozenset({"a", "b"})}
    passing = {"event": {"action": "sudo", "outcome": "123"}, "user": {"name": "a"}, "host": {"name": "h1"}}
    assert esql_rule.predicate(passing)
    assert not esql_rule.predicate({**passing, "user": {"name": "c"}})


def test_unsupported_types_are_still_listed(tmp_path):
    folder = tmp_path / "rules"
    write_rule(folder, "ml", rule_doc(name="ML", type="machine_learning", query=None, language=None,
                                      anomaly_threshold=50, machine_learning_job_id="job"))
    write_rule(folder, "thr", threshold_doc(name="F", filters=[{"query": {"match_all": {}}}]))
    write_rule(folder, "row", rule_doc(name="R", type="esql", language="esql", index=None, query="ROW a = 1"))
    plan = prepare_backtest(load_rules([folder]).rules)
    reasons = {s.rule.name: s.reason for s in plan.skipped}
    assert set(reasons) == {"ML", "F", "R"} and plan.rules == []
    assert "filters" in reasons["F"] and "ROW" in reasons["R"]


# --------------------------------------------------------------------------- generated data


USERS = ("ann", "ben", "cat", "dan")
HOSTS = ("h1", "h2", "h3")
GENERATED_RULES = {
    "thr_groups": threshold_doc(name="thr_groups", query="event.action:(login or sudo)", interval="4m", **{"from": "now-7m"},
                                threshold={"field": ["user.name", "host.name"], "value": 2,
                                           "cardinality": [{"field": "source.port", "value": 2}]}),
    "thr_all": threshold_doc(name="thr_all", query="event.action:sudo", threshold={"field": [], "value": 4}),
    "nt_one": rule_doc(name="nt_one", type="new_terms", query="event.action:login", new_terms_fields=["user.name"],
                       history_window_start="now-40m", max_signals=3),
    "nt_two": rule_doc(name="nt_two", type="new_terms", query="event.action:(login or sudo)", interval="10m",
                       new_terms_fields=["user.name", "host.name"], history_window_start="now-1h",
                       **{"from": "now-12m"}),
    "nt_dated": rule_doc(name="nt_dated", type="new_terms", query="event.action:login and @timestamp < now+1d",
                         new_terms_fields=["host.name"], history_window_start="now-30m"),
    "seq": rule_doc(name="seq", type="eql", language="eql",
                    query='sequence by host.name with maxspan=4m [any where event.action == "login"] '
                          '[any where event.action == "sudo"] until [any where event.action == "logout"]'),
    "seq_missing": rule_doc(name="seq_missing", type="eql", language="eql", **{"from": "now-10m"},
                            query='sequence by user.name with maxspan=5m [any where event.action == "login"] '
                                  '![any where event.action == "logout"] [any where event.action == "sudo"]'),
    "tail": rule_doc(name="tail", type="eql", language="eql", query='any where event.action == "sudo" | tail 2'),
    "esql_rows": rule_doc(name="esql_rows", type="esql", language="esql", index=None,
                          query='FROM logs-* METADATA _id | WHERE event.action == "sudo" | SORT @timestamp | '
                                'KEEP _id, user.name, host.name'),
    "esql_stats": rule_doc(name="esql_stats", type="esql", language="esql", index=None, interval="3m",
                           query='FROM logs-*, -other* | WHERE event.action != "logout" | '
                                 'STATS n = COUNT(*), users = COUNT_DISTINCT(user.name) BY host.name | WHERE n > 2'),
}


def generated_events(seed: int, n: int = 260) -> list[dict]:
    """Events over about two hours in nearly time order, with the odd array, gap and untimed event."""
    rng = random.Random(seed)
    events = []
    for i in range(n):
        second = i * 28 + rng.randint(-40, 40)  # neighbours sometimes out of order
        if rng.random() < 0.1:
            second += 3600  # a few events an hour late: gaps and long histories
        event_: dict[str, Any] = {"event": {"action": rng.choice(("login", "login", "sudo", "logout"))},
                                  "host": {"name": rng.choice(HOSTS)}, "source": {"port": rng.choice((22, 443, 8080))}}
        roll = rng.random()
        if roll < 0.1:
            event_["user"] = {"name": rng.sample(USERS, 2)}  # an array: one term per value
        elif roll < 0.95:
            event_["user"] = {"name": rng.choice(USERS)}
        if rng.random() < 0.97:
            minutes, seconds = divmod(max(0, second), 60)
            event_["@timestamp"] = f"2024-05-01T{10 + minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}.{i % 1000:03d}Z"
        if rng.random() < 0.05:
            event_["_index"] = "other-events"
        events.append(event_)
    return events


def named(events: list[dict], files: list[tuple[str, int]]) -> list[dict]:
    """The events with the ``_id`` the backtest gives ES|QL events (file:line)."""
    return [e if "_id" in e else {**e, "_id": f"{f}:{line}"} for e, (f, line) in zip(events, files, strict=True)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("scheduled")
    for i, (stem, doc) in enumerate(GENERATED_RULES.items()):
        doc["rule"]["rule_id"] = f"00000000-0000-4000-8000-{i + 10:012d}"
        write_rule(root / "rules", stem, doc)
    events = generated_events(7)
    half = len(events) // 2
    (root / "events").mkdir()
    (root / "events" / "a.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events[:half]), encoding="utf-8")
    with gzip.open(root / "events" / "b.ndjson.gz", "wt", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(e) + "\n" for e in events[half:]))
    where = [("events/a.ndjson", i + 1) for i in range(half)] + \
            [("events/b.ndjson.gz", i + 1) for i in range(len(events) - half)]
    rules = {r.name: r for r in load_rules([root / "rules"]).rules}
    return root, rules, events, where


@pytest.mark.parametrize("name", sorted(GENERATED_RULES))
def test_every_run_gives_the_runners_alerts_for_all_events_at_that_time(generated, name):
    _, rules, events, where = generated
    rule = rules[name]
    detector = engine.prepare(rule)
    if rule.type == "esql":
        events = named(events, where)
    outcome = replay(rule, detector, events, suppress=False, keep_runs=True)
    assert outcome.runs > 15 and len(outcome.records) == outcome.runs
    raised = 0
    for record in outcome.records:
        direct = detector.run(events, record.now).alerts
        expected = [(tuple(a.event_indexes) or ((a.event_index,) if a.event_index is not None else ()), a.group)
                    for a in direct]
        assert [(a.events, a.group) for a in record.alerts] == expected, record.now
        raised += len(direct)
    assert raised > 0  # the comparison is not vacuous


# Rules whose kept events all hold a constant term: with only them the byte prefilter is on.
PREFILTERED = ("thr_groups", "nt_one", "seq", "tail", "esql_rows")


@pytest.mark.parametrize("jobs, chunk_size, selection", [(1, 1 << 20, "all"), (2, 900, "all"),
                                                         (2, 700, "prefiltered")])
def test_the_streamed_backtest_equals_replaying_every_event(generated, tmp_path, jobs, chunk_size, selection,
                                                            monkeypatch):
    root, rules, events, where = generated
    monkeypatch.chdir(root)
    if selection == "prefiltered":
        rules = {name: rules[name] for name in PREFILTERED}
    plan = prepare_backtest(list(rules.values()))
    assert set(plan.scheduled) == set(range(len(rules))) and plan.skipped == []
    assert (plan.matcher.prefilter.mode == "off") == (selection == "all")
    out_path = tmp_path / "alerts.ndjson"
    with out_path.open("wb") as out:
        files = [Path("events/a.ndjson"), Path("events/b.ndjson.gz")]
        result = run_backtest(plan, files, jobs=jobs, chunk_size=chunk_size, out=out)
    assert result.diagnostics == []
    records = [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines()]
    for count in result.counts:
        rule = rules[count.rule.name]
        given = named(events, where) if rule.type == "esql" else events
        reference = replay(rule, engine.prepare(rule), given)
        expected = [(format_ns(to_ns(a.run)), [list(where[i]) for i in a.events], a.group) for a in reference.alerts]
        got = [[r["run_time"], [[e["file"], e["line"]] for e in r["events"]], r.get("group")]
               for r in records if r["rule_name"] == rule.name]
        assert got == json.loads(json.dumps(expected)), rule.name
        assert count.alerts == len(expected) and count.schedule.repeats == reference.repeats
        assert count.schedule.collected <= len(events)
    assert sum(c.alerts for c in result.counts) > 30


# --------------------------------------------------------------------------- memory cap


def test_past_the_cap_the_rule_holding_most_is_refused_and_the_rest_still_run(tmp_path):
    docs = {"thr": threshold_doc(), "seq": rule_doc(name="Seq", type="eql", language="eql", query=SEQUENCE,
                                                    rule_id="00000000-0000-4000-8000-000000000002")}
    events = THRESHOLD_EVENTS + [event(at(9), "sudo", "bob")]
    result, records = backtest(tmp_path, docs, events, max_collected=10)
    # Thr keeps the 7 logins, Seq the 7 logins and the sudo: 15 in all, over 10.
    seq, thr = schedule_of(result, "Seq"), schedule_of(result, "Thr")
    assert seq.schedule.refused and seq.schedule.collected == 8 and seq.alerts == 0
    assert not thr.schedule.refused and thr.alerts == 2 and {r["rule_name"] for r in records} == {"Thr"}
    [problem] = result.diagnostics
    assert problem.code == "E209" and problem.location.path.endswith("seq.yaml") and problem.location.line > 1
    assert "8 events can take part in this eql sequence rule's runs" in problem.message
    assert "--max-collected (10)" in problem.message and "--max-collected" in problem.hint


def test_the_command_refuses_with_exit_2_and_reports_replayed_rules(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text('[tool.detection]\nrules-dir = "rules"\n', encoding="utf-8")
    write_rule(tmp_path / "rules", "thr", threshold_doc())
    write_rule(tmp_path / "rules", "q", rule_doc(name="Q", query=LOGINS, rule_id="00000000-0000-4000-8000-000000000002"))
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "e.ndjson").write_text("".join(json.dumps(e) + "\n" for e in THRESHOLD_EVENTS))
    monkeypatch.chdir(tmp_path)
    assert main(["backtest", "events", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "     2  Thr (rules/thr.yaml)" in out and "     7  Q (rules/q.yaml)" in out
    assert "Replayed on their schedule (1 rule(s)):" in out
    assert "rules/thr.yaml: Thr: threshold every 5m, 7 event(s) kept (events matching the query), 3 run(s) " \
           "2024-05-01T12:00:00.000Z .. 2024-05-01T12:10:00.000Z" in out
    assert main(["backtest", "events", "--max-collected", "5", "--format", "json"]) == 2
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    thr = next(r for r in report["rules"] if r["name"] == "Thr")
    assert thr["schedule"]["refused"] and thr["alerts"] == 0
    assert next(r for r in report["rules"] if r["name"] == "Q")["alerts"] == 7  # per-event rules are not held
    assert [d["code"] for d in report["diagnostics"]] == ["E209"]
    assert main(["backtest", "events", "--max-collected", "-1"]) == 2
    assert "--max-collected must be 0 or more" in capsys.readouterr().err


def test_a_rule_whose_replay_fails_is_a_located_error_and_the_others_still_run(tmp_path, monkeypatch):
    from detection.runners.eql_runner import EqlDetector

    def broken(self, events, now=None):
        raise TypeError("cannot compare")

    monkeypatch.setattr(EqlDetector, "run", broken)
    docs = {"thr": threshold_doc(), "seq": rule_doc(name="Seq", type="eql", language="eql", query=SEQUENCE,
                                                    rule_id="00000000-0000-4000-8000-000000000002")}
    result, records = backtest(tmp_path, docs, THRESHOLD_EVENTS)
    [problem] = result.diagnostics
    assert problem.code == "E207" and problem.location.path.endswith("seq.yaml")
    assert "replaying this rule's runs failed: TypeError: cannot compare" in problem.message
    assert schedule_of(result, "Thr").alerts == 2 and {r["rule_name"] for r in records} == {"Thr"}


def test_per_event_rules_count_the_same_with_replayed_rules_in_the_selection(generated):
    root, rules, events, where = generated
    docs = [rule_doc(name=f"q{i}", query=q, rule_id=f"00000000-0000-4000-8000-{900 + i:012d}")
            for i, q in enumerate(("event.action:sudo", "user.name:ann", "host.name:h2 and not event.action:login"))]
    folder = root / "per_event"
    for i, doc in enumerate(docs):
        write_rule(folder, f"q{i}", doc)
    alone = prepare_backtest(load_rules([folder]).rules)
    mixed = prepare_backtest(load_rules([folder]).rules + list(rules.values()))
    files = [root / "events" / "a.ndjson", root / "events" / "b.ndjson.gz"]
    expected = {c.rule.name: c.alerts for c in run_backtest(alone, files, jobs=1).counts}
    got = {c.rule.name: c.alerts for c in run_backtest(mixed, files, jobs=2, chunk_size=700).counts}
    assert {k: got[k] for k in expected} == expected and all(expected.values())
    assert expected["q0"] == sum(1 for e in events if e["event"]["action"] == "sudo")
