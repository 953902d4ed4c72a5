"""Query rules in Lucene and KQL through the test engine: alerts, the run window, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection import engine
from detection.diagnostics import DetectionError

from .runner_support import at, block_position, make_rule, with_block_query

STOP = {"@timestamp": at(0), "event": {"action": "StopLogging", "outcome": "success"}, "user": {"name": "alice"}}
DELETE = {"@timestamp": at(3), "event": {"action": "DeleteTrail", "outcome": "success"}, "user": {"name": "bob"}}
FAILED = {"@timestamp": at(4), "event": {"action": "StopLogging", "outcome": "failure"}, "user": {"name": "eve"}}


def lucene_rule(tmp_path: Path, query: str, **settings):
    return make_rule(tmp_path, type="query", language="lucene", query=query, **settings)


def test_lucene_query_rule_raises_one_alert_per_matching_event(tmp_path: Path):
    rule = lucene_rule(tmp_path, "event.action:(StopLogging OR DeleteTrail) AND NOT event.outcome:failure")
    alerts = engine.alerts_for(rule, [STOP, DELETE, FAILED])
    assert [a.event_index for a in alerts] == [0, 1]
    assert [a.event_indexes for a in alerts] == [(0,), (1,)]


def test_max_signals_caps_the_alerts(tmp_path: Path):
    rule = lucene_rule(tmp_path, "event.action:*", max_signals=2)
    assert len(engine.alerts_for(rule, [STOP, DELETE, FAILED])) == 2


def test_without_now_a_query_rule_sees_every_event(tmp_path: Path):
    # Single-event rules: records from different days each stand for their own run.
    old = {**STOP, "@timestamp": "2019-01-01T00:00:00Z"}
    rule = lucene_rule(tmp_path, "event.action:StopLogging")
    assert len(engine.prepare(rule)([old, STOP])) == 2


def test_now_applies_the_look_back_window(tmp_path: Path):
    # from: now-6m (the seed's), to: now. Run at 12:05: 11:59..12:05 counts.
    rule = lucene_rule(tmp_path, "event.outcome:*")
    detect = engine.prepare(rule)
    late = {**DELETE, "@timestamp": at(6)}
    no_time = {k: v for k, v in DELETE.items() if k != "@timestamp"}
    alerts = detect([STOP, late, no_time, FAILED], now=at(5))
    assert [a.event_index for a in alerts] == [0, 3]  # 12:06 is after now; no timestamp: outside
    assert "2 of 4 event(s) outside it" in detect.summary([STOP, late, no_time, FAILED], now=at(5))
    assert len(detect([STOP], now=at(7))) == 0  # 12:00 is before 12:01


def test_timestamp_override_with_fallback(tmp_path: Path):
    rule = lucene_rule(tmp_path, "event.outcome:*", timestamp_override="event.ingested")
    detect = engine.prepare(rule)
    ingested_late = {**STOP, "event": {**STOP["event"], "ingested": at(30)}}
    assert [a.event_index for a in detect([ingested_late, DELETE], now=at(5))] == [1]  # DELETE falls back
    rule = lucene_rule(tmp_path, "event.outcome:*", timestamp_override="event.ingested",
                       timestamp_override_fallback_disabled=True)
    assert engine.prepare(rule)([DELETE], now=at(5)) == []


def test_date_math_in_the_query_uses_the_run_time(tmp_path: Path):
    rule = lucene_rule(tmp_path, "@timestamp:[now-2m TO now]", **{"from": "now-1h"})
    detect = engine.prepare(rule)
    assert [a.event_index for a in detect([STOP, DELETE], now=at(4))] == [1]


def test_kuery_rule_errors_point_into_the_rule_file(tmp_path: Path):
    rule = with_block_query(make_rule(tmp_path, query="x"), "event.action:StopLogging and\n  source.port:many")
    with pytest.raises(DetectionError) as caught:
        engine.prepare(rule)
    diag = caught.value.diagnostics[0]
    assert diag.code == "F130"
    assert (diag.location.line, diag.location.column) == block_position(rule, 2, 15)


def test_lucene_syntax_errors_point_into_the_rule_file(tmp_path: Path):
    rule = with_block_query(lucene_rule(tmp_path, "x"), "event.action:StopLogging AND\n  (user.name:alice OR user.name:bob")
    with pytest.raises(DetectionError) as caught:
        engine.prepare(rule)
    diag = caught.value.diagnostics[0]
    assert diag.code == "F130" and "Lucene" in diag.message and "missing ')'" in diag.message
    assert (diag.location.line, diag.location.column) == block_position(rule, 2, 3)


def test_lucene_explanations_per_event(tmp_path: Path):
    rule = lucene_rule(tmp_path, "event.action:StopLogging AND NOT event.outcome:failure")
    tree = engine.explain_event(rule, FAILED)
    assert tree.result is False
    assert "event.outcome:failure" in tree.render_text(ascii=True)
