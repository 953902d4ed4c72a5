"""`detection match`: line numbers, --count, --fields, --rule, and located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detection.cli import main

REPO = Path(__file__).resolve().parent.parent
EVENTS = [
    {"event": {"action": "AssumeRole", "provider": "sts.amazonaws.com", "outcome": "success"}},
    {"event": {"action": "GetCallerIdentity", "provider": "sts.amazonaws.com"}},
    {"event.action": "AssumeRole", "event.outcome": "failure"},
]


@pytest.fixture
def events(tmp_path):
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in EVENTS[:2]) + "\n\n" + json.dumps(EVENTS[2]) + "\n")
    return path


def test_prints_matching_line_numbers(events, capsys):
    assert main(["match", "event.action:AssumeRole", str(events)]) == 0
    assert capsys.readouterr().out.split() == ["1", "4"]  # blank line 3 is skipped but counted


def test_count_only(events, capsys):
    assert main(["match", "--count", "event.provider:sts.amazonaws.com", str(events)]) == 0
    assert capsys.readouterr().out.strip() == "2"


def test_no_match_exits_1(events, capsys):
    assert main(["match", "event.action:AssumedRole", str(events)]) == 1
    assert capsys.readouterr().out == ""


def test_bad_query_exits_2_with_caret(events, capsys):
    assert main(["match", "event.action:(AssumeRole", str(events)]) == 2
    err = capsys.readouterr().err
    assert "line 1, column 25" in err and "^" in err


def test_type_error_in_query_exits_2(events, capsys):
    assert main(["match", "destination.port:ssh", str(events)]) == 2
    assert "For input string" in capsys.readouterr().err


def test_bad_json_line_is_located(tmp_path, capsys):
    path = tmp_path / "bad.ndjson"
    path.write_text('{"a": 1}\n{"a": oops}\n')
    assert main(["match", "a:1", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{path}:2:7: E201 invalid JSON")


def test_non_object_line_is_rejected(tmp_path, capsys):
    path = tmp_path / "list.ndjson"
    path.write_text("[1, 2]\n")
    assert main(["match", "a:1", str(path)]) == 2
    assert f"{path}:1:1: E202" in capsys.readouterr().err


def test_missing_events_file(tmp_path, capsys):
    assert main(["match", "a:1", str(tmp_path / "none.ndjson")]) == 2
    assert "E203" in capsys.readouterr().err


def test_fields_file_changes_types(tmp_path, capsys):
    fields = tmp_path / "fields.yml"
    fields.write_text("fields:\n  custom.size: long\n")
    path = tmp_path / "e.ndjson"
    path.write_text('{"custom": {"size": "10"}}\n{"custom": {"size": 9}}\n')
    assert main(["match", "--fields", str(fields), "custom.size > 9", str(path)]) == 0
    assert capsys.readouterr().out.split() == ["1"]
    # without the schema the field is an unknown keyword: "10" < "9" as strings
    assert main(["match", "custom.size > 9", str(path)]) == 1


def test_unsupported_language(events, capsys):
    assert main(["match", "--language", "sql", "a:1", str(events)]) == 2
    assert "not supported" in capsys.readouterr().err


def test_rule_option_uses_the_rule_query(events, capsys):
    rule_path = REPO / "rules" / "aws" / "privilege_escalation_sts_assumerole_usage.yaml"
    if not rule_path.exists():  # pragma: no cover - the sample rule ships with the repository
        pytest.fail("sample rule missing")
    from detection.kql import compile
    from detection.loader import load_rule_file

    rule = load_rule_file(rule_path)
    predicate = compile(rule.query)
    expected = [str(i) for i, e in ((1, EVENTS[0]), (2, EVENTS[1]), (4, EVENTS[2])) if predicate(e)]
    code = main(["match", "--rule", str(rule_path), str(events)])
    assert capsys.readouterr().out.split() == expected
    assert code == (0 if expected else 1)


def test_query_and_rule_together_is_a_usage_error(events, capsys, tmp_path):
    assert main(["match", "--rule", str(tmp_path / "r.yaml"), "a:1", str(events)]) == 2


ROLE_SESSION_ASSUME_ROLE = {  # as the AWS integration stores it: event.dataset is the data stream's constant
    "event": {"action": "AssumeRole", "provider": "sts.amazonaws.com", "outcome": "success"},
    "aws": {"cloudtrail": {"user_identity": {"session_context": {"session_issuer": {"type": "Role"}}}}},
}


@pytest.mark.parametrize("index,expected", [
    (None, (0, ["2"])),  # the seed rule's own indices reach the CloudTrail data stream
    ("[winlogbeat-*]", (1, [])),  # no constant event.dataset there: the first clause fails
])
def test_rule_option_takes_the_rules_query_and_index(tmp_path, capsys, index, expected):
    seed = (REPO / "rules" / "aws" / "privilege_escalation_sts_assumerole_usage.yaml").read_text(encoding="utf-8")
    if index is not None:
        seed = seed.replace("  index:\n    - filebeat-*\n    - logs-aws*\n", f"  index: {index}\n")
        assert index in seed
    rule = tmp_path / "rule.yaml"
    rule.write_text(seed, encoding="utf-8")
    events = tmp_path / "events.ndjson"
    failed = dict(ROLE_SESSION_ASSUME_ROLE, event=dict(ROLE_SESSION_ASSUME_ROLE["event"], outcome="failure"))
    events.write_text(json.dumps(failed) + "\n" + json.dumps(ROLE_SESSION_ASSUME_ROLE) + "\n", encoding="utf-8")
    code = main(["match", "--rule", str(rule), str(events)])
    assert (code, capsys.readouterr().out.split()) == expected


def test_the_projects_field_definitions_are_read_like_detection_test(tmp_path, capsys, monkeypatch):
    """`match` types fields as `detection test` does: with the project's fields-dir, no --fields needed."""
    project = tmp_path / "project"
    (project / "schemas" / "fields").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.detection]\nrules-dir = "rules"\n', encoding="utf-8")
    (project / "schemas" / "fields" / "custom.yml").write_text("fields:\n  custom.size: long\n", encoding="utf-8")
    events = tmp_path / "e.ndjson"
    events.write_text('{"custom": {"size": "10"}}\n{"custom": {"size": 9}}\n', encoding="utf-8")
    monkeypatch.chdir(project)
    assert main(["match", "custom.size > 9", str(events)]) == 0  # long: 10 > 9
    assert capsys.readouterr().out.split() == ["1"]
    monkeypatch.chdir(tmp_path)  # outside the project the field is an unknown keyword: "10" < "9"
    assert main(["match", "custom.size > 9", str(events)]) == 1
    capsys.readouterr()
    # with --rule, the rule's project counts, wherever the command runs
    seed = (REPO / "rules" / "aws" / "privilege_escalation_sts_assumerole_usage.yaml").read_text(encoding="utf-8")
    start = seed.index("  query: >-\n")
    end = seed.index("  severity: low\n")
    rule = project / "rules" / "r.yaml"
    rule.parent.mkdir()
    rule.write_text(seed[:start] + "  query: custom.size > 9\n" + seed[end:], encoding="utf-8")
    assert main(["match", "--rule", str(rule), str(events)]) == 0
    assert capsys.readouterr().out.split() == ["1"]
