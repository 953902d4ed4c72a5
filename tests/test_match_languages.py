"""`detection match --language lucene|esql`: output, exit codes and located query errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detection.cli import main

from .conftest import REPO

EVENTS = [
    {"event": {"action": "StopLogging", "outcome": "success"}, "source": {"port": 443}},
    {"event": {"action": "DeleteTrail", "outcome": "failure"}, "source": {"port": 80}},
    {"event": {"action": "DeleteWebACL", "outcome": "success", "dataset": "aws.cloudtrail",
               "provider": "wafv2.amazonaws.com"}},
]


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n", encoding="utf-8")
    return path


def test_lucene_prints_matching_line_numbers(events: Path, capsys):
    assert main(["match", "--language", "lucene", "event.action:/Stop.*/ OR source.port:[1 TO 100]", str(events)]) == 0
    assert capsys.readouterr().out.split() == ["1", "2"]


def test_lucene_no_match_and_count(events: Path, capsys):
    assert main(["match", "--language", "lucene", "event.action:stoplogging", str(events)]) == 1
    assert main(["match", "--count", "--language", "lucene", "NOT event.outcome:failure", str(events)]) == 0
    assert capsys.readouterr().out.split() == ["2"]


def test_lucene_errors_are_located_in_the_query(events: Path, capsys):
    assert main(["match", "--language", "lucene", "event.action:(a OR", str(events)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("<query>:1:19: LUC001 Lucene syntax error: the query ends after an operator")


def test_lucene_rule_file_gives_query_and_language(events: Path, capsys):
    rule = REPO / "rules" / "aws" / "defense_impairment_waf_acl_or_rule_deleted.yaml"
    assert main(["match", "--rule", str(rule), str(events)]) == 0
    assert capsys.readouterr().out.split() == ["3"]


def test_esql_prints_one_row_per_line(events: Path, capsys):
    query = "FROM logs-* | STATS n = COUNT(*) BY event.outcome | SORT event.outcome"
    assert main(["match", "--language", "esql", query, str(events)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [{"n": 1, "event.outcome": "failure"}, {"n": 2, "event.outcome": "success"}]


def test_esql_no_rows_and_errors(events: Path, capsys):
    assert main(["match", "--language", "esql", 'FROM logs-* | WHERE event.action == "Nope"', str(events)]) == 1
    assert main(["match", "--language", "esql", "FROM logs-* | WHERE", str(events)]) == 2
    assert "<query>:1:20: ESQL001 ES|QL syntax error" in capsys.readouterr().err
