"""Fixture files: the format, defaults, event files, and a located error for every kind of mistake."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from detection.diagnostics import DetectionError
from detection.fixtures import FieldConflict, expand_dotted, load_fixture_file, overlay

from .conftest import REPO

SEED_FIXTURE = REPO / "fixtures" / "aws" / "privilege_escalation_sts_assumerole_usage.yaml"
RULE_ID = "93075852-b0f5-4b8b-89c3-a226efae5726"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, root: Path) -> list[tuple[str, str, int, int, str, str | None]]:
    with pytest.raises(DetectionError) as info:
        load_fixture_file(path, root)
    return [(d.code, Path(d.location.path).name, d.location.line, d.location.column, d.message, d.hint)
            for d in info.value.diagnostics]


# --------------------------------------------------------------------------- the seed fixture


def test_seed_fixture_loads_with_every_required_scenario():
    fixture = load_fixture_file(SEED_FIXTURE, REPO)
    assert fixture.rule_id == RULE_ID
    names = [c.name for c in fixture.cases]
    assert len(names) == len(set(names)) >= 8
    actions = {(c.events[0]["event"].get("action"), c.events[0]["aws"]["cloudtrail"]["user_identity"]["type"])
               for c in fixture.cases if "cloudtrail" in c.events[0].get("aws", {})}
    for wanted in [("AssumeRole", "AssumedRole"), ("AssumeRole", "IAMUser"), ("AssumeRole", "AWSService"),
                   ("AssumeRoleWithSAML", "SAMLUser"), ("AssumeRoleWithWebIdentity", "WebIdentityUser"),
                   ("GetSessionToken", "IAMUser"), ("GetCallerIdentity", "AssumedRole")]:
        assert wanted in actions
    denied = [c for c in fixture.cases if c.events[0]["event"].get("outcome") == "failure"]
    assert denied and denied[0].events[0]["aws"]["cloudtrail"]["error_code"] == "AccessDenied"
    by_name = {c.name: c for c in fixture.cases}
    assert by_name["assume-role-by-role-session"].expect.alerts == 1
    assert by_name["role-session-activity-from-search-hits"].expect.alerts == 2
    assert sum(c.positive for c in fixture.cases) >= 1 and sum(not c.positive for c in fixture.cases) >= 1


def test_defaults_are_merged_and_dotted_keys_expanded():
    cases = {c.name: c for c in load_fixture_file(SEED_FIXTURE, REPO).cases}
    service = cases["assume-role-by-aws-service"].events[0]  # written with flat dotted keys
    assert service["event"]["action"] == "AssumeRole"
    assert service["event"]["dataset"] == "aws.cloudtrail"  # from defaults
    assert service["aws"]["cloudtrail"]["user_identity"]["invoked_by"] == "ec2.amazonaws.com"
    assert service["aws"]["cloudtrail"]["event_type"] == "AwsApiCall"  # default merged under dotted keys
    raw = cases["raw-cloudtrail-line-in-cloudwatch-logs-stream"].events[0]
    assert raw["event"] == {"dataset": "aws.cloudwatch_logs"}  # null removed the defaults
    assert "cloudtrail" not in raw["aws"]


def test_events_file_hits_are_unwrapped_to_source():
    case = {c.name: c for c in load_fixture_file(SEED_FIXTURE, REPO).cases}["role-session-activity-from-search-hits"]
    assert [e["event"]["action"] for e in case.events] == ["AssumeRole", "GetCallerIdentity", "AssumeRole"]
    assert all("_source" not in e and "_index" not in e for e in case.events)
    assert case.events_file and case.events_file.endswith("sts_role_session_activity.ndjson")


def test_json_file_forms(tmp_path: Path):
    write(tmp_path / "one.json", '{"event": {"action": "A"}}')
    write(tmp_path / "list.json", '[{"event.action": "B"}, {"event": {"action": "C"}}]')
    write(tmp_path / "response.json", '{"took": 1, "hits": {"total": {"value": 1}, "hits": '
                                      '[{"_index": "i", "_id": "1", "_source": {"event": {"action": "D"}}}]}}')
    fixture = write(tmp_path / "f.yaml", """
cases:
  - {name: one, expect: alert, events_file: one.json}
  - {name: list, expect: {alerts: 2}, events_file: list.json}
  - {name: response, expect: no_alert, events_file: response.json}
""")
    cases = load_fixture_file(fixture, tmp_path).cases
    assert [[e["event"]["action"] for e in c.events] for c in cases] == [["A"], ["B", "C"], ["D"]]


# --------------------------------------------------------------------------- documents


def test_expand_dotted_combines_spellings_like_elasticsearch():
    assert expand_dotted({"a.b": 1, "a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}
    assert expand_dotted({"a.b": 1, "a": {"b": 2}}) == {"a": {"b": [2, 1]}} or \
        expand_dotted({"a.b": 1, "a": {"b": 2}}) == {"a": {"b": [1, 2]}}
    assert expand_dotted({"x": [{"y.z": 1}]}) == {"x": [{"y": {"z": 1}}]}
    with pytest.raises(FieldConflict) as info:
        expand_dotted({"a": 1, "a.b": 2})
    assert info.value.field_name == "a"


def test_overlay_merges_objects_replaces_values_and_null_removes():
    base = {"event": {"kind": "event", "type": ["info"]}, "x": 1}
    assert overlay(base, {"event": {"type": None, "action": "A"}, "x": [2]}) == \
        {"event": {"kind": "event", "action": "A"}, "x": [2]}
    assert base == {"event": {"kind": "event", "type": ["info"]}, "x": 1}  # not modified


# --------------------------------------------------------------------------- malformed fixtures


def test_bad_json_on_line_n_of_an_ndjson_file_is_located(tmp_path: Path):
    write(tmp_path / "fx" / "events.ndjson", '{"a": 1}\n\n{"a": 2,}\n[1]\n')
    fixture = write(tmp_path / "fx" / "f.yaml", "cases:\n  - {name: c, expect: no_alert, events_file: events.ndjson}\n")
    found = problems(fixture, tmp_path)
    assert ("F112", "events.ndjson", 3, 8) == found[0][:4]  # the trailing comma
    assert "line 3" in found[0][4]
    assert ("F113", "events.ndjson", 4, 1) == found[1][:4]


def test_bad_json_in_a_json_file_is_located(tmp_path: Path):
    write(tmp_path / "e.json", '{\n  "a": 1\n  "b": 2\n}\n')
    fixture = write(tmp_path / "f.yaml", "cases:\n  - {name: c, expect: no_alert, events_file: e.json}\n")
    [(code, name, line, column, _message, _hint)] = problems(fixture, tmp_path)
    assert (code, name, line) == ("F112", "e.json", 3) and column >= 1


def test_missing_expectation(tmp_path: Path):
    fixture = write(tmp_path / "f.yaml", "cases:\n  - name: c\n    event: {a: 1}\n")
    [(code, name, line, _column, message, hint)] = problems(fixture, tmp_path)
    assert (code, name, line) == ("F101", "f.yaml", 2)
    assert "'expect'" in message and "expect: alert" in hint


def test_wrong_expectations(tmp_path: Path):
    fixture = write(tmp_path / "f.yaml", """cases:
  - {name: a, expect: alerts, event: {a: 1}}
  - {name: b, expect: alert, events: [{a: 1}, {a: 2}]}
  - {name: c, expect: {alerts: -1}, event: {a: 1}}
""")
    found = problems(fixture, tmp_path)
    assert [(f[0], f[2]) for f in found] == [("F107", 2), ("F107", 3), ("F107", 4)]
    assert found[0][5] == "did you mean 'alert'?"
    assert "{alerts: N}" in found[1][5]


def test_event_files_must_stay_inside_the_repository(tmp_path: Path):
    repo = tmp_path / "repo"
    outside = write(tmp_path / "secret.json", '{"a": 1}')
    (repo / "fixtures").mkdir(parents=True)
    os.symlink(outside, repo / "fixtures" / "link.json")
    fixture = write(repo / "fixtures" / "f.yaml", f"""cases:
  - {{name: up, expect: no_alert, events_file: ../../secret.json}}
  - {{name: absolute, expect: no_alert, events_file: {outside}}}
  - {{name: symlink, expect: no_alert, events_file: link.json}}
  - {{name: missing, expect: no_alert, events_file: nowhere.ndjson}}
""")
    found = problems(fixture, repo)
    assert [(f[0], f[2]) for f in found] == [("F111", 2), ("F111", 3), ("F111", 4), ("F110", 5)]
    assert "leaves the repository" in found[0][4] and "absolute" in found[1][4]


def test_event_source_must_be_exactly_one(tmp_path: Path):
    fixture = write(tmp_path / "f.yaml", """cases:
  - {name: none, expect: no_alert}
  - {name: two, expect: no_alert, event: {a: 1}, events: [{a: 2}]}
""")
    found = problems(fixture, tmp_path)
    assert [(f[0], f[2]) for f in found] == [("F106", 2), ("F106", 3)]
    assert "none of" in found[0][4] and "more than one" in found[1][4]


def test_duplicates_unknown_keys_conflicts_and_shapes(tmp_path: Path):
    fixture = write(tmp_path / "f.yaml", """cases:
  - {name: a, expect: no_alert, event: {a: 1}}
  - {name: a, expect: no_alert, event: {a: 2}}
  - {name: b, expected: no_alert, event: {a: 1}}
  - {name: c, expect: no_alert, event: {a: 1, a.b: 2}}
  - {name: d, expect: no_alert, event: [1]}
""")
    found = problems(fixture, tmp_path)
    codes = [(f[0], f[2]) for f in found]
    assert ("F108", 3) in codes
    assert ("F102", 4) in codes and any(f[5] == "did you mean 'expect'?" for f in found)
    assert ("F116", 5) in codes
    assert ("F103", 6) in codes


def test_syntax_errors_and_non_mappings(tmp_path: Path):
    broken = write(tmp_path / "broken.yaml", "cases:\n  - {name: a, expect: alert\n")
    [(code, _name, line, _c, _m, _h)] = problems(broken, tmp_path)
    assert code == "E101" and line >= 2
    assert problems(write(tmp_path / "list.yaml", "- 1\n"), tmp_path)[0][0] == "F105"
    assert problems(write(tmp_path / "empty.yaml", "cases: []\n"), tmp_path)[0][0] == "F104"


def test_toml_fixture_files_work(tmp_path: Path):
    fixture = write(tmp_path / "f.toml", """rule = "abc"
[[cases]]
name = "one"
expect = "alert"
event = { "event.action" = "AssumeRole" }
""")
    loaded = load_fixture_file(fixture, tmp_path)
    assert loaded.rule_id == "abc" and loaded.cases[0].events[0] == {"event": {"action": "AssumeRole"}}
