"""New terms rules through the test engine.

Documented behaviour (Kibana's new terms rule type, elastic/security-docs#2257 and the
"New terms rules" page): the rule "generates an alert for each new term it detects";
``history_window_start`` "defines the additional time range to search over when determining if a
term is new. If a term is found between the times history_window_start and from then it will not
be classified as a new term"; "a single source document may have multiple new terms if the source
document contains an array of values in the specified field. In that case, multiple alerts will be
generated from the single source document - one for each new value"; several fields detect new
combinations ("a host.ip and host.id that have never been observed together before").
"""

from __future__ import annotations

from pathlib import Path

from detection import engine

from .runner_support import at, make_rule

QUERY = "event.action:AssumeRole and event.outcome:success"


def assume(day: int, user: str | list | None = "ci", role: str = "deploy", outcome: str = "success",
           minute: int = 0) -> dict:
    event = {"@timestamp": at(minute, day=day), "event": {"action": "AssumeRole", "outcome": outcome},
             "aws": {"cloudtrail": {"resources": {"arn": f"arn:aws:iam::111122223333:role/{role}"}}}}
    if user is not None:
        event["user"] = {"name": user}
    return event


def new_terms_rule(tmp_path: Path, fields=("user.name",), history: str = "now-7d", **settings):
    return make_rule(tmp_path, type="new_terms", new_terms_fields=list(fields), history_window_start=history,
                     **{"from": "now-1h", "query": QUERY, **settings})


def test_term_seen_in_history_is_not_new(tmp_path: Path):
    rule = new_terms_rule(tmp_path)
    assert engine.alerts_for(rule, [assume(25, "ci"), assume(28, "ci")]) == []
    alerts = engine.alerts_for(rule, [assume(25, "ci"), assume(28, "eve")])
    assert [(a.event_index, a.group) for a in alerts] == [(1, {"user.name": "eve"})]


def test_history_window_bounds(tmp_path: Path):
    rule = new_terms_rule(tmp_path, history="now-7d")
    # run at day 28 12:00: history is day 21 12:00 .. day 28 11:00
    assert len(engine.alerts_for(rule, [assume(20, "ci"), assume(28, "ci")])) == 1  # seen before the history
    assert engine.alerts_for(rule, [assume(21, "ci"), assume(28, "ci")]) == []  # at its very start


def test_one_alert_per_new_term_on_its_earliest_event(tmp_path: Path):
    rule = new_terms_rule(tmp_path)
    events = [assume(28, "eve", minute=30), assume(28, "eve", minute=10), assume(28, "ci", minute=20), assume(20, "x")]
    alerts = engine.alerts_for(rule, events)
    assert [(a.event_index, a.group["user.name"]) for a in alerts] == [(1, "eve"), (2, "ci")]


def test_array_values_give_one_alert_per_new_value(tmp_path: Path):
    rule = new_terms_rule(tmp_path)
    alerts = engine.alerts_for(rule, [assume(25, "ci"), assume(28, ["ci", "eve", "mal"])])
    assert [a.group["user.name"] for a in alerts] == ["eve", "mal"]
    assert all(a.event_index == 1 for a in alerts)


def test_combinations_of_several_fields(tmp_path: Path):
    rule = new_terms_rule(tmp_path, fields=("user.name", "aws.cloudtrail.resources.arn"))
    known = [assume(25, "ci", "deploy"), assume(26, "eve", "admin")]
    assert engine.alerts_for(rule, known + [assume(28, "ci", "deploy")]) == []
    alerts = engine.alerts_for(rule, known + [assume(28, "ci", "admin")])  # both seen, never together
    assert len(alerts) == 1 and alerts[0].group == {
        "user.name": "ci", "aws.cloudtrail.resources.arn": "arn:aws:iam::111122223333:role/admin"}


def test_history_events_must_match_the_query(tmp_path: Path):
    rule = new_terms_rule(tmp_path)
    assert len(engine.alerts_for(rule, [assume(25, "ci", outcome="failure"), assume(28, "ci")])) == 1


def test_events_without_the_field_have_no_term(tmp_path: Path):
    rule = new_terms_rule(tmp_path)
    assert engine.alerts_for(rule, [assume(28, None)]) == []


def test_run_time_and_look_back(tmp_path: Path):
    rule = new_terms_rule(tmp_path)
    detect = engine.prepare(rule)
    events = [assume(25, "ci"), assume(28, "eve")]
    assert detect(events, now=at(30, day=28)) != []
    assert detect(events, now=at(0, day=29)) == []  # eve is now in the history, not the look-back
    assert detect(events, now=at(0, day=26)) == []  # eve's event is in the future of that run


def test_summary_lists_history_terms_and_new_terms(tmp_path: Path):
    rule = new_terms_rule(tmp_path)
    summary = engine.prepare(rule).summary([assume(25, "ci"), assume(26, "ops"), assume(28, "eve")])
    assert "history window 2024-05-21T12:00:00.000Z .. 2024-05-28T11:00:00.000Z: 2 matching event(s)" in summary
    assert "terms seen in the history window: user.name=ci; user.name=ops" in summary
    assert "new term user.name=eve first in event 3 -> alert" in summary


def test_lucene_new_terms_rule(tmp_path: Path):
    rule = new_terms_rule(tmp_path, language="lucene", query="event.action:AssumeRole AND event.outcome:success")
    assert len(engine.alerts_for(rule, [assume(25, "ci"), assume(28, "eve")])) == 1
