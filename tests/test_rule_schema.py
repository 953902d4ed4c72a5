"""The rule schema: a valid and an invalid example for every Kibana rule type, and the
elastic/detection-rules TOML layout loading as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from detection.loader import load_rule_file
from detection.sourcemap import SourceMap
from detection.validation import schema_diagnostics

BASE: dict[str, Any] = {
    "rule_id": "0b0c6bde-0000-4000-8000-000000000001",
    "name": "Example",
    "description": "Example rule.",
    "risk_score": 21,
    "severity": "low",
}

VALID: dict[str, dict[str, Any]] = {
    "query": {"type": "query", "language": "kuery", "query": "event.action:x", "index": ["logs-*"]},
    "saved_query": {"type": "saved_query", "saved_id": "my-saved-query", "index": ["logs-*"]},
    "eql": {"type": "eql", "language": "eql", "query": "process where true", "index": ["logs-*"]},
    "esql": {"type": "esql", "language": "esql", "query": "FROM logs-* | LIMIT 1"},
    "threshold": {"type": "threshold", "language": "kuery", "query": "event.action:x", "index": ["logs-*"],
                  "threshold": {"field": ["source.ip"], "value": 10}},
    "threat_match": {"type": "threat_match", "language": "kuery", "query": "*:*", "index": ["logs-*"],
                     "threat_query": "*:*", "threat_index": ["logs-ti_*"],
                     "threat_mapping": [{"entries": [{"field": "source.ip", "type": "mapping", "value": "threat.indicator.ip"}]}]},
    "machine_learning": {"type": "machine_learning", "anomaly_threshold": 75, "machine_learning_job_id": ["job-1"]},
    "new_terms": {"type": "new_terms", "language": "kuery", "query": "event.action:x", "index": ["logs-*"],
                  "new_terms_fields": ["user.name"], "history_window_start": "now-14d"},
}

# For each type, a mutation that breaks it and the code and path expected.
INVALID: dict[str, tuple[dict[str, Any], str, tuple]] = {
    "query": ({"language": "eql"}, "S104", ("rule", "language")),
    "saved_query": ({"saved_id": None}, "S101", ("rule",)),
    "eql": ({"query": None}, "S101", ("rule",)),
    "esql": ({"language": "kuery"}, "S104", ("rule", "language")),
    "threshold": ({"threshold": {"field": ["a"], "value": 0}}, "S104", ("rule", "threshold", "value")),
    "threat_match": ({"threat_mapping": []}, "S104", ("rule", "threat_mapping")),
    "machine_learning": ({"anomaly_threshold": "high"}, "S103", ("rule", "anomaly_threshold")),
    "new_terms": ({"new_terms_fields": ["a", "b", "c", "d"]}, "S104", ("rule", "new_terms_fields")),
}


def document(rule_type: str, change: dict[str, Any] | None = None) -> dict[str, Any]:
    rule = {**BASE, **VALID[rule_type]}
    for key, value in (change or {}).items():
        if value is None:
            rule.pop(key, None)
        else:
            rule[key] = value
    return {"metadata": {"creation_date": "2024/01/01"}, "rule": rule}


@pytest.mark.parametrize("rule_type", sorted(VALID))
def test_valid_example(rule_type: str) -> None:
    assert schema_diagnostics(document(rule_type), SourceMap(), "r.yaml") == []


@pytest.mark.parametrize("rule_type", sorted(INVALID))
def test_invalid_example(rule_type: str) -> None:
    change, code, path = INVALID[rule_type]
    source = SourceMap(values={path: (7, 3)})
    found = schema_diagnostics(document(rule_type, change), source, "r.yaml")
    assert [(d.code, d.location.line, d.location.column) for d in found] == [(code, 7, 3)], found


def test_index_is_optional_as_in_kibana() -> None:
    # Kibana falls back to the space's default index patterns when a rule names none.
    assert schema_diagnostics(document("query", {"index": None}), SourceMap(), "r.yaml") == []


def test_threat_structure() -> None:
    doc = document("query")
    doc["rule"]["threat"] = [{"framework": "MITRE ATT&CK", "tactic": {"id": "TA0004", "name": "Privilege Escalation"}}]
    found = schema_diagnostics(doc, SourceMap(), "r.yaml")
    assert [(d.code, d.message) for d in found] == [
        ("S101", "rule.threat[0].tactic is missing required field 'reference'")]


def test_history_entry_checked() -> None:
    doc = document("query")
    doc["history"] = [{"version": 1, "date": "yesterday", "kind": "rewrite", "summary": "x"}]
    found = {(d.code, d.message.split(" has")[0]) for d in schema_diagnostics(doc, SourceMap(), "r.yaml")}
    assert found == {("S104", "history[0].date"), ("S104", "history[0].kind")}


ELASTIC_TOML = '''\
[metadata]
creation_date = "2021/10/15"
integration = ["aws"]
maturity = "production"
updated_date = "2024/06/14"

[rule]
author = ["Elastic", "Austin Songer"]
description = """
Identifies the use of AssumeRole.
"""
from = "now-6m"
index = ["filebeat-*", "logs-aws*"]
language = "kuery"
license = "Elastic License v2"
name = "AWS STS Role Assumption by Service"
risk_score = 21
rule_id = "93075852-b0f5-4b8b-89c3-a226efae5726"
severity = "low"
tags = ["Domain: Cloud", "Data Source: AWS"]
timestamp_override = "event.ingested"
type = "new_terms"

query = \'\'\'
event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumeRole
\'\'\'

[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1548"
name = "Abuse Elevation Control Mechanism"
reference = "https://attack.mitre.org/techniques/T1548/"

[rule.threat.tactic]
id = "TA0004"
name = "Privilege Escalation"
reference = "https://attack.mitre.org/tactics/TA0004/"

[rule.new_terms]
field = "new_terms_fields"
value = ["aws.cloudtrail.user_identity.invoked_by"]
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "now-5d"

[transform]
'''


def test_elastic_detection_rules_toml_loads(tmp_path: Path) -> None:
    path = tmp_path / "privilege_escalation_role_assumption_by_service.toml"
    path.write_text(ELASTIC_TOML, encoding="utf-8")
    rule = load_rule_file(path)
    assert rule.fmt == "toml" and rule.version is None and rule.history == []
    assert rule.rule["new_terms_fields"] == ["aws.cloudtrail.user_identity.invoked_by"]
    assert rule.rule["history_window_start"] == "now-5d"
    assert "new_terms" not in rule.rule
    assert rule.rule["threat"][0]["technique"][0]["id"] == "T1548"


def test_toml_errors_are_located(tmp_path: Path) -> None:
    from detection.diagnostics import DetectionError

    path = tmp_path / "r.toml"
    path.write_text(ELASTIC_TOML.replace('severity = "low"', 'severity = "sev"'), encoding="utf-8")
    with pytest.raises(DetectionError) as info:
        load_rule_file(path)
    (diag,) = info.value.diagnostics
    line = ELASTIC_TOML.splitlines().index('severity = "low"') + 1
    assert (diag.code, diag.location.line, diag.location.column) == ("S104", line, 12)

    path.write_text(ELASTIC_TOML.replace('risk_score = 21', 'risk_score = '), encoding="utf-8")
    with pytest.raises(DetectionError) as info:
        load_rule_file(path)
    (diag,) = info.value.diagnostics
    assert diag.code == "E101" and diag.location.line == ELASTIC_TOML.splitlines().index("risk_score = 21") + 1


def test_toml_nested_table_position(tmp_path: Path) -> None:
    from detection.diagnostics import DetectionError

    path = tmp_path / "r.toml"
    path.write_text(ELASTIC_TOML.replace('id = "TA0004"', 'idx = "TA0004"'), encoding="utf-8")
    with pytest.raises(DetectionError) as info:
        load_rule_file(path)
    found = {(d.code, d.location.line) for d in info.value.diagnostics}
    line = ELASTIC_TOML.splitlines().index('id = "TA0004"') + 1
    assert ("S102", line) in found
