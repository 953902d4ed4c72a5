"""ES|QL rules through the test engine: each result row is one alert.

Documented behaviour (Elastic Security, "Create an ES|QL rule"): aggregating queries (STATS ...
BY) create one alert per row of the result; non-aggregating queries create one alert per
returned document, and should ask for ``METADATA _id, _version, _index`` so alerts can be told
apart; the rule's time range (from/to) filters the searched events. The query's NOW() is the
rule run's time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detection import engine
from detection.diagnostics import DetectionError

from .runner_support import at, block_position, make_rule, with_block_query

STATS = """FROM logs-aws.cloudtrail-* | WHERE event.action == "RunInstances" AND event.outcome == "success"
| STATS regions = COUNT_DISTINCT(cloud.region), calls = COUNT(*) BY aws.cloudtrail.user_identity.arn
| WHERE regions >= 3"""


def run_instances(minute: int, region: str, arn: str = "arn:aws:iam::111122223333:user/ci", outcome: str = "success"):
    return {"@timestamp": at(minute), "event": {"action": "RunInstances", "outcome": outcome},
            "cloud": {"region": region}, "aws": {"cloudtrail": {"user_identity": {"arn": arn}}}}


def esql_rule(tmp_path: Path, query: str, **settings):
    return make_rule(tmp_path, type="esql", language="esql", query=query, drop=("index",),
                     **{"from": "now-1h", **settings})


def test_aggregating_query_one_alert_per_row(tmp_path: Path):
    rule = esql_rule(tmp_path, STATS)
    spread = [run_instances(1, r) for r in ("us-east-1", "eu-west-1", "ap-south-1")]
    other = [run_instances(2, "us-east-1", "arn:aws:iam::111122223333:user/ops")]
    alerts = engine.alerts_for(rule, spread + other)
    assert len(alerts) == 1
    assert alerts[0].group["regions"] == 3 and alerts[0].group["calls"] == 3
    assert alerts[0].event_index is None and alerts[0].event_indexes == ()


def test_rows_with_id_name_their_event(tmp_path: Path):
    rule = esql_rule(tmp_path, 'FROM logs-* METADATA _id | WHERE cloud.region == "eu-west-1" | KEEP _id, cloud.region')
    alerts = engine.alerts_for(rule, [run_instances(1, "us-east-1"), run_instances(2, "eu-west-1"),
                                      {**run_instances(3, "eu-west-1"), "_id": "abc"}])
    assert [(a.event_index, a.event_indexes) for a in alerts] == [(1, (1,)), (2, (2,))]


def test_look_back_window_and_now(tmp_path: Path):
    rule = esql_rule(tmp_path, STATS, **{"from": "now-5m"})
    detect = engine.prepare(rule)
    events = [run_instances(0, "us-east-1"), run_instances(9, "eu-west-1"), run_instances(10, "ap-south-1")]
    assert detect(events) == []  # run at 12:10, the 12:00 call is outside 12:05..12:10
    assert len(detect(events, now=at(4))) == 0
    wide = esql_rule(tmp_path, STATS, **{"from": "now-15m"})
    assert len(engine.prepare(wide)(events)) == 1


def test_now_is_the_run_time(tmp_path: Path):
    rule = esql_rule(tmp_path, "FROM logs-* | WHERE @timestamp >= NOW() - 2 minutes | KEEP cloud.region")
    alerts = engine.prepare(rule)([run_instances(1, "us-east-1"), run_instances(9, "eu-west-1")], now=at(10))
    assert [a.group["cloud.region"] for a in alerts] == ["eu-west-1"]


def test_max_signals(tmp_path: Path):
    rule = esql_rule(tmp_path, "FROM logs-* | KEEP cloud.region", max_signals=2)
    assert len(engine.alerts_for(rule, [run_instances(i, "us-east-1") for i in range(4)])) == 2


def test_summary_shows_rows(tmp_path: Path):
    rule = esql_rule(tmp_path, STATS)
    summary = engine.prepare(rule).summary([run_instances(1, "us-east-1")])
    assert "0 row(s) from 1 event(s); columns: regions, calls, aws.cloudtrail.user_identity.arn" in summary


def test_syntax_errors_point_into_the_rule_file(tmp_path: Path):
    rule = with_block_query(esql_rule(tmp_path, "FROM logs-*"), "FROM logs-*\n| WHERE event.action ==\n| LIMIT 5")
    with pytest.raises(DetectionError) as caught:
        engine.prepare(rule)
    diag = caught.value.diagnostics[0]
    assert diag.code == "F130" and "ES|QL" in diag.message
    assert (diag.location.line, diag.location.column) == block_position(rule, 3, 1)  # the '|' after ==


def test_unsupported_commands_skip_the_rule(tmp_path: Path):
    rule = esql_rule(tmp_path, "FROM logs-* | ENRICH policy ON user.name")
    with pytest.raises(engine.UnsupportedRule, match="cannot run yet"):
        engine.prepare(rule)
