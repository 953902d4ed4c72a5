"""EQL rules through the test engine: event queries, sequences (maxspan, by-keys, until,
out-of-order input), the rule's EQL settings, the run window and located errors.

Semantics checked against the Elasticsearch EQL syntax reference ("Sequences": ``maxspan``,
``by`` join keys, ``until``; "Required fields": ``event.category`` and ``@timestamp``, which
the EQL search API's ``event_category_field`` / ``timestamp_field`` / ``tiebreaker_field``
replace - Kibana passes the rule's ``event_category_override``, ``timestamp_field`` and
``tiebreaker_field``) and Kibana's EQL rule type (one alert per event or sequence, at most
``max_signals``: the search's ``size``).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from detection import engine
from detection.diagnostics import DetectionError

from .runner_support import at, block_position, make_rule, with_block_query

SEQUENCE = """sequence by user.name with maxspan=5m
  [iam where event.action == "CreateUser"]
  [iam where event.action == "CreateAccessKey"]"""


def ev(minute: int, action: str, user: str = "mallory", category: str = "iam", second: int = 0, **extra) -> dict:
    return {"@timestamp": at(minute, second), "event": {"action": action, "category": [category]},
            "user": {"name": user}, **extra}


def eql_rule(tmp_path: Path, query: str, **settings):
    return make_rule(tmp_path, type="eql", language="eql", query=query, drop=("index",),
                     index=["logs-aws*"], **{"from": "now-1h", **settings})


def test_event_query_alerts_per_event(tmp_path: Path):
    rule = eql_rule(tmp_path, 'iam where event.action == "CreateUser"')
    alerts = engine.alerts_for(rule, [ev(1, "CreateUser"), ev(2, "GetUser"), ev(3, "CreateUser", "bob")])
    assert [(a.event_index, a.event_indexes) for a in alerts] == [(0, (0,)), (2, (2,))]


def test_sequence_is_one_alert_naming_its_events_in_step_order(tmp_path: Path):
    rule = eql_rule(tmp_path, SEQUENCE)
    events = [ev(1, "CreateUser"), ev(2, "GetUser"), ev(3, "CreateAccessKey")]
    alerts = engine.alerts_for(rule, events)
    assert len(alerts) == 1 and alerts[0].event_indexes == (0, 2) and alerts[0].event_index == 0


def test_sequence_maxspan(tmp_path: Path):
    # "maxspan: the matching events must occur within this time span" - 5m here.
    rule = eql_rule(tmp_path, SEQUENCE)
    assert len(engine.alerts_for(rule, [ev(1, "CreateUser"), ev(6, "CreateAccessKey")])) == 1  # exactly 5m
    assert engine.alerts_for(rule, [ev(1, "CreateUser"), ev(6, "CreateAccessKey", second=1)]) == []


def test_sequence_join_keys(tmp_path: Path):
    # "by user.name": every event of a sequence shares the value; a missing key joins nothing.
    rule = eql_rule(tmp_path, SEQUENCE)
    assert engine.alerts_for(rule, [ev(1, "CreateUser", "ann"), ev(2, "CreateAccessKey", "bob")]) == []
    keyless = {"@timestamp": at(2), "event": {"action": "CreateAccessKey", "category": ["iam"]}}
    assert engine.alerts_for(rule, [ev(1, "CreateUser"), keyless]) == []
    both = engine.alerts_for(rule, [ev(1, "CreateUser", "ann"), ev(1, "CreateUser", "bob", second=5),
                                    ev(2, "CreateAccessKey", "bob"), ev(3, "CreateAccessKey", "ann")])
    assert sorted(a.event_indexes for a in both) == [(0, 3), (1, 2)]


def test_sequence_until_ends_pending_sequences(tmp_path: Path):
    # "until": an event matching it ends the pending sequences of its join key.
    rule = eql_rule(tmp_path, SEQUENCE + '\nuntil [iam where event.action == "DeleteUser"]')
    assert engine.alerts_for(rule, [ev(1, "CreateUser"), ev(2, "DeleteUser"), ev(3, "CreateAccessKey")]) == []
    other = engine.alerts_for(rule, [ev(1, "CreateUser"), ev(2, "DeleteUser", "bob"), ev(3, "CreateAccessKey")])
    assert [a.event_indexes for a in other] == [(0, 2)]


def test_sequence_out_of_order_input_is_sorted_by_timestamp(tmp_path: Path):
    # Elasticsearch orders events by timestamp (then tiebreaker); input order does not matter.
    rule = eql_rule(tmp_path, SEQUENCE)
    events = [ev(3, "CreateAccessKey"), ev(2, "GetUser"), ev(1, "CreateUser")]
    assert [a.event_indexes for a in engine.alerts_for(rule, events)] == [(2, 0)]
    shuffled = [ev(m, a, u) for m, a, u in [(1, "CreateUser", "ann"), (2, "CreateAccessKey", "ann"),
                                              (3, "CreateUser", "bob"), (4, "CreateAccessKey", "bob")]]
    random.Random(7).shuffle(shuffled)
    found = engine.alerts_for(rule, shuffled)
    assert sorted(tuple(shuffled[i]["user"]["name"] for i in a.event_indexes) for a in found) == [
        ("ann", "ann"), ("bob", "bob")]


def test_sequence_runs_at_the_latest_event_and_honours_from(tmp_path: Path):
    rule = eql_rule(tmp_path, SEQUENCE, **{"from": "now-2m"})
    detect = engine.prepare(rule)
    events = [ev(1, "CreateUser"), ev(4, "CreateAccessKey")]
    assert detect(events) == []  # run at 12:04, look-back from 12:02: the first step is too old
    assert len(detect(events, now=at(4))) == 0
    rule = eql_rule(tmp_path, SEQUENCE, **{"from": "now-10m"})
    assert len(engine.prepare(rule)(events)) == 1
    assert engine.prepare(rule)(events, now=at(30)) == []  # both events before 12:20


def test_event_category_override(tmp_path: Path):
    rule = eql_rule(tmp_path, 'iam where event.action == "CreateUser"', event_category_override="event.type")
    typed = {"@timestamp": at(1), "event": {"action": "CreateUser", "type": "iam"}}
    assert len(engine.alerts_for(rule, [typed, ev(2, "CreateUser")])) == 1  # event.category no longer read


def test_timestamp_and_tiebreaker_fields(tmp_path: Path):
    rule = eql_rule(tmp_path, SEQUENCE, timestamp_field="event.created", tiebreaker_field="event.sequence")
    first = {"event": {"action": "CreateUser", "category": ["iam"], "created": at(1), "sequence": 2}, "user": {"name": "x"}}
    second = {"event": {"action": "CreateAccessKey", "category": ["iam"], "created": at(1), "sequence": 3},
              "user": {"name": "x"}}
    assert [a.event_indexes for a in engine.alerts_for(rule, [second, first])] == [(1, 0)]
    swapped = [{**second, "event": {**second["event"], "sequence": 1}}, first]
    assert engine.alerts_for(rule, swapped) == []  # the tiebreaker puts the key before the user


def test_max_signals(tmp_path: Path):
    rule = eql_rule(tmp_path, "iam where true", max_signals=2)
    assert len(engine.alerts_for(rule, [ev(i, "GetUser") for i in range(5)])) == 2


def test_syntax_errors_point_into_the_rule_file(tmp_path: Path):
    rule = with_block_query(eql_rule(tmp_path, "iam where true"),
                            'sequence by user.name\n  [iam where event.action == ]\n  [iam where true]')
    with pytest.raises(DetectionError) as caught:
        engine.prepare(rule)
    diag = caught.value.diagnostics[0]
    assert diag.code == "F130" and "EQL" in diag.message
    assert (diag.location.line, diag.location.column) == block_position(rule, 2, 30)  # at the "]"


def test_event_query_explanation_has_per_clause_results(tmp_path: Path):
    rule = eql_rule(tmp_path, 'iam where event.action == "CreateUser" and not user.name == "root"')
    tree = engine.explain_event(rule, ev(1, "CreateUser", "root"))
    assert tree.result is False
    text = tree.render_text(ascii=True)
    assert '[+] event.action == "CreateUser"' in text and "[-] not:" in text and '"root"' in text


def test_sequence_summary_lists_the_events_each_step_can_take(tmp_path: Path):
    rule = eql_rule(tmp_path, SEQUENCE)
    detect = engine.prepare(rule)
    summary = detect.summary([ev(1, "CreateUser"), ev(2, "CreateAccessKey", "bob")])
    assert "0 sequence(s) matched among 2 event(s)" in summary
    assert 'step 1 [iam where event.action == "CreateUser"]: events 1' in summary
    assert "step 2" in summary and "events 2" in summary
    assert engine.explain_event(rule, ev(2, "CreateAccessKey")).children[1].result is True
