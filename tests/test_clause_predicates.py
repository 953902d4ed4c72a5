"""Leaf clauses of EQL and ES|QL queries, and condition coverage for rules in those languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.clause_predicates import ClauseError, eql_clauses, esql_clauses
from detection.coverage import rule_coverage
from detection.diagnostics import Location
from detection.fixtures import Case, Expectation

from .runner_support import make_rule

CREATE = {"event": {"provider": "iam.amazonaws.com", "action": "CreateUser", "outcome": "success"}}
KEY = {"event": {"provider": "iam.amazonaws.com", "action": "CreateAccessKey", "outcome": "success"}}
DENIED = {"event": {"provider": "iam.amazonaws.com", "action": "CreateAccessKey", "outcome": "failure"}}


def texts(clauses):
    return [text for text, _ in clauses]


def case(name: str, *events: dict, alerts: int = 0) -> Case:
    return Case(name=name, expect=Expectation(alerts), events=tuple(events),
                location=Location("fixtures/x.yaml", 1, 1), fixture="fixtures/x.yaml")


def test_eql_lists_are_split_into_one_clause_per_value():
    clauses = eql_clauses('any where event.outcome == "success" and '
                          'event.action in ("CreateUser", "CreateAccessKey")')
    assert texts(clauses) == ['event.outcome == "success"', 'event.action == "CreateUser"',
                              'event.action == "CreateAccessKey"']
    by_text = dict(clauses)
    assert by_text['event.action == "CreateUser"'](CREATE) is True
    assert by_text['event.action == "CreateUser"'](KEY) is False


def test_eql_not_and_patterns_are_descended_and_split():
    clauses = eql_clauses('any where not event.outcome == "failure" and '
                          'aws.cloudtrail.request_parameters : ("*enable=false*", "*enabled=false*")')
    assert texts(clauses) == ['event.outcome == "failure"',
                              'aws.cloudtrail.request_parameters : "*enable=false*"',
                              'aws.cloudtrail.request_parameters : "*enabled=false*"']
    # the clause is judged without its `not`: coverage needs it true and false either way
    assert dict(clauses)['event.outcome == "failure"'](DENIED) is True
    # `:` is case-insensitive in EQL
    hit = {"aws": {"cloudtrail": {"request_parameters": "{detectorId=x, Enable=FALSE}"}}}
    assert dict(clauses)['aws.cloudtrail.request_parameters : "*enable=false*"'](hit) is True


def test_eql_sequence_steps_share_clauses_once():
    clauses = eql_clauses(
        'sequence by user.name with maxspan=10m\n'
        '  [any where event.action == "CreateUser" and event.outcome == "success"]\n'
        '  [any where event.action == "CreateAccessKey" and event.outcome == "success"]')
    assert texts(clauses) == ['event.action == "CreateUser"', 'event.outcome == "success"',
                              'event.action == "CreateAccessKey"']


def test_eql_negated_list_stays_one_clause():
    clauses = eql_clauses('any where event.action not in ("A", "B")')
    assert texts(clauses) == ['event.action not in ("A", "B")']


def test_eql_syntax_error_is_a_clause_error():
    with pytest.raises(ClauseError):
        eql_clauses("any where event.action ==")


def test_esql_where_clauses_before_the_first_computed_column():
    clauses = esql_clauses(
        'FROM logs-* METADATA _id\n'
        '| WHERE event.provider == "iam.amazonaws.com" AND event.action IN ("CreateAccessKey", "CreateUser")\n'
        '| WHERE user.name != user.target.name\n'
        '| EVAL n = 1\n'
        '| WHERE n == 1')
    assert texts(clauses) == ['event.provider == "iam.amazonaws.com"', 'event.action == "CreateAccessKey"',
                              'event.action == "CreateUser"', 'user.name != user.target.name']
    differs = dict(clauses)["user.name != user.target.name"]
    assert differs({"user": {"name": "Bob", "target": {"name": "Alice"}}}) is True
    assert differs({"user": {"name": "Bob", "target": {"name": "Bob"}}}) is False
    # null (no target) is not true, so WHERE drops the row: it counts as false
    assert differs({"user": {"name": "Bob"}}) is False


def test_esql_aggregating_query_has_no_source_clauses_after_stats():
    assert esql_clauses("FROM logs-* | STATS c = COUNT(*) BY user.name | WHERE c > 10") == []


def test_coverage_of_an_eql_rule_reports_the_clause_no_case_makes_false(tmp_path: Path):
    rule = make_rule(tmp_path, type="eql", language="eql",
                     query='any where event.provider == "iam.amazonaws.com" and event.outcome == "success"')
    report = rule_coverage(rule, [case("created", CREATE, alerts=1), case("denied", DENIED)])
    assert report.note is None
    assert [c.clause for c in report.uncovered] == ['event.provider == "iam.amazonaws.com"']
    assert report.uncovered[0].describe() == 'never false: event.provider == "iam.amazonaws.com"'


def test_coverage_of_an_esql_rule_counts_every_listed_value(tmp_path: Path):
    rule = make_rule(tmp_path, type="esql", language="esql", index=None,
                     query='FROM logs-* | WHERE event.action IN ("CreateUser", "CreateAccessKey")')
    report = rule_coverage(rule, [case("created", CREATE, alerts=1), case("other", {"event": {"action": "X"}})])
    assert {c.clause: c.covered for c in report.clauses} == {
        'event.action == "CreateUser"': True, 'event.action == "CreateAccessKey"': False}


def test_coverage_of_an_eql_rule_that_does_not_parse_is_a_note(tmp_path: Path):
    rule = make_rule(tmp_path, type="eql", language="eql", query="any where (")
    report = rule_coverage(rule, [case("created", CREATE)])
    assert report.clauses == () and "does not compile" in report.note
