"""Threshold rules through the test engine.

Documented behaviour (Elastic Security, "Create a threshold rule"): "if Group by is source.ip and
Threshold is 10, an alert is generated for every source IP address that appears in at least 10
of the rule's search results"; Count limits it to groups with at least that many unique values of
another field; no Group by field means one count over all results. Grouping is a terms /
composite aggregation: documents without the field are in no bucket, an array value counts in
each of its buckets. The rule API allows 0 to 5 group fields (Kibana's threshold schema).
"""

from __future__ import annotations

from pathlib import Path

from detection import engine

from .runner_support import at, make_rule

QUERY = "event.action:ConsoleLogin and event.outcome:failure"


def login(minute: int, ip: str | list | None = "192.0.2.10", user: str = "alice", outcome: str = "failure") -> dict:
    event = {"@timestamp": at(minute), "event": {"action": "ConsoleLogin", "outcome": outcome},
             "user": {"name": user}}
    if ip is not None:
        event["source"] = {"ip": ip}
    return event


def threshold_rule(tmp_path: Path, field, value: int, cardinality=None, language: str = "kuery", query: str = QUERY,
                   **settings):
    spec = {"field": field, "value": value}
    if cardinality:
        spec["cardinality"] = cardinality
    return make_rule(tmp_path, type="threshold", language=language, query=query, threshold=spec,
                     **{"from": "now-1h", **settings})


def test_one_alert_per_group_at_or_over_the_value(tmp_path: Path):
    rule = threshold_rule(tmp_path, ["source.ip"], 3)
    events = [login(1), login(2), login(3), login(4, "198.51.100.7"), login(5, "198.51.100.7"),
              login(6, outcome="success")]
    alerts = engine.alerts_for(rule, events)
    assert len(alerts) == 1
    assert alerts[0].group == {"source.ip": "192.0.2.10"} and alerts[0].event_indexes == (0, 1, 2)


def test_string_field_and_several_fields(tmp_path: Path):
    events = [login(1, user="a"), login(2, user="a"), login(3, user="b"), login(4, user="b")]
    assert len(engine.alerts_for(threshold_rule(tmp_path, "source.ip", 4), events)) == 1
    two = engine.alerts_for(threshold_rule(tmp_path, ["source.ip", "user.name"], 2), events)
    assert sorted(a.group["user.name"] for a in two) == ["a", "b"]


def test_no_group_field_counts_all_matching_events(tmp_path: Path):
    events = [login(1), login(2, "198.51.100.7"), login(3, None)]
    alerts = engine.alerts_for(threshold_rule(tmp_path, [], 3), events)
    assert len(alerts) == 1 and alerts[0].group == {} and alerts[0].event_indexes == (0, 1, 2)
    assert engine.alerts_for(threshold_rule(tmp_path, [], 4), events) == []


def test_events_missing_a_group_field_are_not_counted(tmp_path: Path):
    rule = threshold_rule(tmp_path, ["source.ip"], 3)
    detect = engine.prepare(rule)
    events = [login(1), login(2), login(3, None)]
    assert detect(events) == []
    assert "1 lack a group field" in detect.summary(events)


def test_array_values_count_in_each_group(tmp_path: Path):
    rule = threshold_rule(tmp_path, ["source.ip"], 2)
    events = [login(1, ["192.0.2.10", "192.0.2.11"]), login(2, "192.0.2.11"), login(3, "192.0.2.10")]
    assert sorted(a.group["source.ip"] for a in engine.alerts_for(rule, events)) == ["192.0.2.10", "192.0.2.11"]


def test_cardinality(tmp_path: Path):
    rule = threshold_rule(tmp_path, ["source.ip"], 3, [{"field": "user.name", "value": 3}])
    sprayed = [login(1, user="a"), login(2, user="b"), login(3, user="c")]
    same_user = [login(1), login(2), login(3)]
    assert len(engine.alerts_for(rule, sprayed)) == 1
    assert engine.alerts_for(rule, same_user) == []
    assert "1 distinct user.name (alert at >= 3)" in engine.prepare(rule).summary(same_user)


def test_keyword_terms_bucket_numbers_and_strings_together(tmp_path: Path):
    rule = threshold_rule(tmp_path, ["user.name"], 2, query="event.action:ConsoleLogin")
    events = [login(1, user="1001"), {**login(2), "user": {"name": 1001}}]
    assert len(engine.alerts_for(rule, events)) == 1


def test_look_back_window_and_run_time(tmp_path: Path):
    rule = threshold_rule(tmp_path, ["source.ip"], 3, **{"from": "now-5m"})
    detect = engine.prepare(rule)
    spread = [login(0), login(10), login(11), login(12)]
    assert len(detect(spread)) == 1  # run at 12:12: 12:07..12:12 holds three
    assert detect(spread, now=at(20)) == []  # nothing since 12:15
    assert detect([login(0), login(1), login(10)]) == []


def test_lucene_threshold_rule(tmp_path: Path):
    rule = threshold_rule(tmp_path, ["source.ip"], 2, language="lucene",
                          query="event.action:ConsoleLogin AND NOT event.outcome:success")
    assert len(engine.alerts_for(rule, [login(1), login(2), login(3, outcome="success")])) == 1


def test_max_signals_and_group_order(tmp_path: Path):
    rule = threshold_rule(tmp_path, ["source.ip"], 1, max_signals=2)
    events = [login(1, "192.0.2.30"), login(2, "192.0.2.20"), login(3, "192.0.2.10")]
    assert [a.group["source.ip"] for a in engine.alerts_for(rule, events)] == ["192.0.2.10", "192.0.2.20"]


def test_summary_shows_group_counts(tmp_path: Path):
    rule = threshold_rule(tmp_path, ["source.ip"], 3)
    summary = engine.prepare(rule).summary([login(1), login(2), login(3, "198.51.100.7")])
    assert "group source.ip=192.0.2.10: 2 event(s) (alert at >= 3)" in summary
    assert "group source.ip=198.51.100.7: 1 event(s)" in summary
    assert "3 of 3 event(s) match the query" in summary


def test_per_event_explanation_is_the_query(tmp_path: Path):
    rule = threshold_rule(tmp_path, ["source.ip"], 3)
    assert engine.explain_event(rule, login(1, outcome="success")).result is False
