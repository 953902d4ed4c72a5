"""detection export: Kibana import ndjson, deterministic, checked before it is written."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import pytest

from detection.cli import main
from detection.diagnostics import DetectionError, Severity
from detection.kibana_check import details_problems, import_problems
from detection.kibana_export import ExportSettings, export_paths, export_rules
from detection.kibana_fields import (
    FieldTypes,
    field_info,
    package_table,
    query_datasets,
    related_integrations,
)
from detection.loader import load_rule_file
from tests.conftest import REPO, SEED_RULE, SHARED
from tests.kibana_helpers import line_of, rule_doc, write_rule

SEED_ID = "93075852-b0f5-4b8b-89c3-a226efae5726"


def seed_export():
    return export_paths([SEED_RULE])


def test_seed_line_is_the_rule_table_with_version_and_derived_fields():
    result = seed_export()
    assert len(result.rules) == 1
    line = result.rules[0].line
    payload = json.loads(line)
    assert list(payload) == sorted(payload), "keys must be sorted"
    assert payload["rule_id"] == SEED_ID
    assert payload["version"] == load_rule_file(SEED_RULE).version >= 100
    assert payload["query"].startswith("event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com")
    # no repository-only data
    for key in ("metadata", "history", "creation_date", "maturity", "integration", "added_in_stack"):
        assert key not in payload
    assert payload["related_integrations"] == [{"integration": "cloudtrail", "package": "aws", "version": "^2.0.0"}]
    required = {f["name"]: f for f in payload["required_fields"]}
    assert set(required) == {"event.dataset", "event.provider", "event.action", "event.outcome",
                             "aws.cloudtrail.user_identity.session_context.session_issuer.type"}
    assert required["event.action"]["type"] == "keyword" and required["event.action"]["ecs"] is True
    issuer = required["aws.cloudtrail.user_identity.session_context.session_issuer.type"]
    assert issuer == {"ecs": False, "name": issuer["name"], "type": "keyword"}, "typed by the AWS integration fields"
    assert required["event.dataset"]["type"] == "constant_keyword", "the CloudTrail data stream's mapping"
    assert [f["name"] for f in payload["required_fields"]] == sorted(required)
    assert import_problems(payload) == []


def test_serialisation_is_compact_utf8_with_a_trailing_newline(tmp_path):
    doc = rule_doc(name="Règle été ✓", description="Ünïcödé stays as it is")
    write_rule(tmp_path, "unicode", doc)
    text = export_paths([tmp_path]).ndjson()
    assert text.endswith("}\n") and text.count("\n") == 1
    assert "Règle été ✓" in text and "\\u" not in text
    assert ", " not in text.split('"description"')[0]  # no spaces after separators
    assert json.loads(text)["name"] == "Règle été ✓"


def test_exporting_twice_gives_identical_bytes_whatever_the_input_order(tmp_path):
    for index in range(3):
        write_rule(tmp_path, f"rule_{index}", rule_doc(rule_id=f"id-{2 - index}", name=f"Rule {index}"))
    files = sorted(tmp_path.glob("*.yaml"))
    first = export_rules([load_rule_file(p) for p in files]).ndjson(details=True)
    second = export_rules([load_rule_file(p) for p in reversed(files)]).ndjson(details=True)
    assert first.encode() == second.encode()
    ids = [json.loads(line).get("rule_id") for line in first.splitlines()[:-1]]
    assert ids == ["id-0", "id-1", "id-2"], "rules are sorted by rule_id"


def test_details_line_counts_the_rules_and_fits_kibanas_schema():
    text = seed_export().ndjson(details=True)
    lines = text.splitlines()
    assert len(lines) == 2
    details = json.loads(lines[-1])
    assert details["exported_count"] == 1 and details["exported_rules_count"] == 1
    assert details["missing_rules"] == [] and details["missing_rules_count"] == 0
    assert details_problems(details) == []
    assert "exported_count" not in seed_export().ndjson()


@pytest.mark.skipif(not (SHARED / "kibana" / "check_import.py").is_file(), reason="shared reference folder absent")
def test_export_passes_the_shared_kibana_checker(tmp_path):
    write_rule(tmp_path / "rules", "extra", rule_doc(rule_id="extra-1", name="Extra"))
    out = tmp_path / "export.ndjson"
    out.write_text(export_paths([SEED_RULE, tmp_path / "rules"]).ndjson(details=True), encoding="utf-8")
    run = subprocess.run([sys.executable, str(SHARED / "kibana" / "check_import.py"), "--strict", str(out)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 valid, 0 invalid" in run.stdout
    assert "warning" not in run.stdout


@pytest.mark.skipif(not (SHARED / "kibana" / "check_import.py").is_file(), reason="shared reference folder absent")
def test_whole_repository_export_passes_both_checkers_and_is_stable(tmp_path):
    # Every rule type the pack uses (query, eql, esql, threshold, new_terms) goes through both checks.
    text = export_paths([REPO / "rules"]).ndjson(details=True)
    assert export_paths([REPO / "rules"]).ndjson(details=True).encode() == text.encode()
    *rules, details = [json.loads(line) for line in text.splitlines()]
    assert {r["type"] for r in rules} >= {"query", "eql", "esql", "threshold", "new_terms"}
    assert [p for r in rules for p in import_problems(r)] == [] and details_problems(details) == []
    out = tmp_path / "rules.ndjson"
    out.write_text(text, encoding="utf-8")
    run = subprocess.run([sys.executable, str(SHARED / "kibana" / "check_import.py"), "--strict", str(out)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(rules) + 1} valid, 0 invalid (rule={len(rules)}, export_details=1)" in run.stdout
    assert "warning" not in run.stdout


def test_kibana_checks_outside_the_schema_fail_with_the_rule_files_position(tmp_path):
    path = write_rule(tmp_path, "timeline", rule_doc(timeline_id="abc"))
    with pytest.raises(DetectionError) as caught:
        export_paths([path])
    [diag] = caught.value.diagnostics
    assert diag.code == "K104"
    assert diag.location.path.endswith("timeline.yaml")
    assert diag.location.line == line_of(path, "timeline_id:")
    assert "timeline_title" in diag.message


def test_threshold_cardinality_on_a_grouped_field_is_refused(tmp_path):
    doc = rule_doc(type="threshold", threshold={"field": ["user.name"], "value": 5,
                                                "cardinality": [{"field": "user.name", "value": 2}]})
    path = write_rule(tmp_path, "thr", doc)
    with pytest.raises(DetectionError) as caught:
        export_paths([path])
    [diag] = caught.value.diagnostics
    assert diag.code == "K104" and "always 1" in diag.message
    assert diag.location.line == line_of(path, "- field: user.name")


def test_schema_failure_is_reported_and_nothing_is_exported(tmp_path):
    good = write_rule(tmp_path, "good", rule_doc(rule_id="good-1", name="Good"))
    bad = write_rule(tmp_path, "bad", rule_doc(rule_id="bad-1", name="Bad", actions=[{}]))
    with pytest.raises(DetectionError) as caught:
        export_paths([good, bad])
    codes = {d.code for d in caught.value.diagnostics}
    assert codes == {"K103"}
    assert all(d.location.path.endswith("bad.yaml") for d in caught.value.diagnostics)
    assert any("action_type_id" in d.message for d in caught.value.diagnostics)


def test_duplicate_rule_ids_are_refused(tmp_path):
    a = write_rule(tmp_path / "a", "one", rule_doc(name="One"))
    b = write_rule(tmp_path / "b", "two", rule_doc(name="Two"))
    with pytest.raises(DetectionError) as caught:
        export_rules([load_rule_file(a), load_rule_file(b)])
    [diag] = caught.value.diagnostics
    assert diag.code == "K105" and "one.yaml" in diag.message


def test_deprecated_rules_are_left_out_unless_asked_for(tmp_path):
    doc = rule_doc(rule_id="old-1", name="Old")
    doc["metadata"]["maturity"] = "deprecated"
    write_rule(tmp_path, "old", doc)
    write_rule(tmp_path, "new", rule_doc(rule_id="new-1", name="New"))
    default = export_paths([tmp_path])
    assert [r.source.rule_id for r in default.rules] == ["new-1"]
    assert [r.rule_id for r in default.skipped] == ["old-1"]
    everything = export_paths([tmp_path], ExportSettings(include_deprecated=True))
    assert [r.source.rule_id for r in everything.rules] == ["new-1", "old-1"]


def test_written_values_win_over_derived_ones(tmp_path):
    written = [{"name": "custom.field", "type": "keyword"}]
    write_rule(tmp_path, "explicit", rule_doc(required_fields=written, related_integrations=[]))
    payload = export_paths([tmp_path]).rules[0].payload
    assert payload["required_fields"] == written
    assert payload["related_integrations"] == []


def test_derivation_can_be_turned_off_per_rule(tmp_path):
    doc = rule_doc(query="event.dataset:aws.cloudtrail and event.action:X")
    doc["metadata"]["export_derived_fields"] = False
    write_rule(tmp_path, "plain", doc)
    payload = export_paths([tmp_path]).rules[0].payload
    assert "required_fields" not in payload and "related_integrations" not in payload


def test_version_comes_from_history_when_the_rule_table_has_none(tmp_path):
    doc = rule_doc(version=None)
    doc["history"][0]["version"] = 7
    write_rule(tmp_path, "noversion", doc)
    assert export_paths([tmp_path]).rules[0].payload["version"] == 7


def test_unparsable_query_gives_a_warning_not_a_failure(tmp_path):
    path = write_rule(tmp_path, "broken", rule_doc(query="event.action:(a or"))
    result = export_paths([path])
    assert "required_fields" not in result.rules[0].payload
    [warning] = result.warnings
    assert warning.code == "K120" and warning.severity is Severity.WARNING
    assert warning.location.line == line_of(path, "query:")


def test_unknown_integration_is_reported_and_left_out(tmp_path):
    doc = rule_doc()
    doc["metadata"]["integration"] = ["aws", "nosuchpackage"]
    path = write_rule(tmp_path, "pkgs", doc)
    result = export_paths([path])
    assert result.rules[0].payload["related_integrations"] == [{"package": "aws", "version": "^2.0.0"}]
    assert [w.code for w in result.warnings] == ["K121"]
    assert "nosuchpackage" in result.warnings[0].message


def test_project_overrides_extend_the_package_table():
    table = package_table({"okta": "^3.1.0", "aws": {"version": "^4.0.0", "integrations": ["cloudtrail"]}})
    entries, unknown = related_integrations({"query": 'data_stream.dataset:"okta.system"'}, {"integration": "okta"},
                                            table)
    assert entries == [{"package": "okta", "version": "^3.1.0"}] and unknown == []
    entries, _ = related_integrations({"query": "event.dataset:aws.cloudtrail"}, {}, table)
    assert entries == [{"integration": "cloudtrail", "package": "aws", "version": "^4.0.0"}]


@pytest.mark.parametrize(("query", "expected"), [
    ("event.dataset:aws.cloudtrail and x:1", ["aws.cloudtrail"]),
    ('event.dataset:("aws.cloudtrail" or aws.guardduty)', ["aws.cloudtrail", "aws.guardduty"]),
    ('any where event.dataset == "okta.system"', ["okta.system"]),
    ('from logs-* | where data_stream.dataset in ("a.b", "c.d")', ["a.b", "c.d"]),
    ("event.dataset:aws.* and event.action:x", []),
    ("event.action:dataset", []),
])
def test_query_datasets(query, expected):
    assert query_datasets(query) == expected


def test_field_types_follow_the_rules_index_patterns():
    class Layered:
        def __init__(self, aws=True):
            self.aws = aws

        def for_indices(self, patterns):
            return Layered(any(p.startswith("logs-aws") for p in patterns))

        def type_of(self, name):
            return "keyword" if self.aws and name.startswith("aws.") else None

    types = FieldTypes((Layered(),))
    assert types.for_rule({"index": ["logs-aws*"]})("aws.x") == ("keyword", False)
    assert types.for_rule({"index": ["logs-endpoint*"]})("aws.x") == (None, False)
    assert types.for_rule({})("aws.x") == ("keyword", False)


def test_field_info_falls_back_to_ecs_and_unknown():
    class Custom:
        def type_of(self, name):
            return "ip" if name == "my.addr" else None

    info = field_info([Custom()])
    assert info("my.addr") == ("ip", False)
    assert info("event.action") == ("keyword", True)
    assert info("user.name.text") == ("match_only_text", True)
    assert info("no.such.field") == (None, False)


def test_cli_writes_the_file_and_reports_on_stderr(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    out = tmp_path / "rules.ndjson"
    assert main(["export", str(SEED_RULE), "-o", str(out), "--details"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "exported 1 rule(s)" in captured.err
    assert out.read_text(encoding="utf-8") == seed_export().ndjson(details=True)


def test_cli_prints_to_stdout_and_fails_without_writing_on_a_bad_rule(tmp_path, capsys):
    good = write_rule(tmp_path, "good", rule_doc())
    assert main(["export", str(good)]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Example Rule"
    bad = write_rule(tmp_path, "bad", rule_doc(rule_id="b", name="B", timeline_title="t"))
    out = tmp_path / "out.ndjson"
    assert main(["export", str(good), str(bad), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"bad.yaml:{line_of(bad, 'timeline_title')}:" in err and "K104" in err
    assert not out.exists()
    assert main(["export", str(tmp_path / "missing")]) == 2


def test_shipped_schema_copies_match_the_hashes_their_readme_records():
    folder = REPO / "schemas" / "kibana"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for name in ("rule_import.schema.json", "rule_export_details.schema.json"):
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in readme


def test_grouping_fields_of_threshold_and_new_terms_rules_are_required(tmp_path):
    write_rule(tmp_path, "thr", rule_doc(rule_id="t", name="T", type="threshold", query="event.outcome:failure",
                                         threshold={"field": ["user.name"], "value": 5,
                                                    "cardinality": [{"field": "source.ip", "value": 2}]}))
    write_rule(tmp_path, "nt", rule_doc(rule_id="n", name="N", type="new_terms", query="event.category:process",
                                        new_terms_fields=["host.name"], history_window_start="now-7d"))
    payloads = {r.source.rule_id: r.payload for r in export_paths([tmp_path]).rules}
    assert [f["name"] for f in payloads["t"]["required_fields"]] == ["event.outcome", "source.ip", "user.name"]
    assert [f["name"] for f in payloads["n"]["required_fields"]] == ["event.category", "host.name"]
    assert {f["type"] for f in payloads["t"]["required_fields"]} == {"keyword", "ip"}


def test_every_k_code_used_is_documented():
    from detection.kibana_check import KIBANA_CODES

    used = set()
    for module in ("kibana_ndjson", "kibana_check", "kibana_export", "kibana_import"):
        used |= set(re.findall(r'"(K1\d\d)"', (REPO / "detection" / f"{module}.py").read_text(encoding="utf-8")))
    assert used and used <= set(KIBANA_CODES)
