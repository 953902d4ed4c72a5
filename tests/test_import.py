"""detection import: Kibana exports to rule files, and the export -> import -> export round trip."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detection.cli import main
from detection.diagnostics import Severity
from detection.formatting import format_paths, format_text
from detection.kibana_export import export_paths
from detection.kibana_import import SERVER_FIELDS, apply_import, plan_import, snake_name
from detection.kibana_ndjson import dumps_line
from detection.loader import load_rule_file, load_rules
from detection.rule_writer import dump_rule_document
from detection.yaml_safe import load_yaml
from tests.conftest import REPO, SEED_RULE, SHARED
from tests.kibana_helpers import rule_doc

SAMPLE = SHARED / "kibana" / "sample_valid_export.ndjson"
TODAY = "2026/01/02"
needs_sample = pytest.mark.skipif(not SAMPLE.is_file(), reason="shared reference folder absent")


def stripped_rule_lines(path: Path) -> list[str]:
    """The rule lines of an export without Kibana's server-side fields, in our serialisation."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        obj = json.loads(raw)
        if "exported_count" in obj or "list_id" in obj or "item_id" in obj or "attributes" in obj:
            continue
        out.append(dumps_line({k: v for k, v in obj.items() if k not in SERVER_FIELDS}))
    return sorted(out)


def test_export_import_export_gives_identical_bytes(tmp_path):
    first = export_paths([SEED_RULE]).ndjson(details=True)
    exported = tmp_path / "export.ndjson"
    exported.write_text(first, encoding="utf-8")
    plan = plan_import(exported, tmp_path / "rules", today=TODAY)
    assert plan.ok, [d.format() for d in plan.diagnostics]
    apply_import(plan)
    again = export_paths([tmp_path / "rules"]).ndjson(details=True)
    assert again.encode() == first.encode()


def test_whole_repository_round_trips_into_canonical_rule_files(tmp_path):
    # Every rule type of the pack (KQL, EQL, ES|QL, threshold, new_terms), long flattened field names included.
    first = export_paths([REPO / "rules"]).ndjson(details=True)
    exported = tmp_path / "export.ndjson"
    exported.write_text(first, encoding="utf-8")
    plan = plan_import(exported, tmp_path / "rules", today=TODAY)
    assert plan.ok, [d.format() for d in plan.diagnostics]
    written = apply_import(plan)
    assert len(written) == len(first.splitlines()) - 1 >= 25
    assert export_paths([tmp_path / "rules"]).ndjson(details=True).encode() == first.encode()
    results = format_paths([tmp_path / "rules"])
    assert [d.format() for r in results for d in r.findings] == [], "imported files pass `detection fmt --check`"
    assert not any(r.changed or r.failed for r in results)


def test_long_unbreakable_values_stay_on_their_line():
    name = "aws.cloudtrail.flattened.request_parameters.AccessControlPolicy.AccessControlList.Grant.Grantee.URI"
    spaced = "two  spaces keep this string quoted " * 4
    doc = rule_doc(required_fields=[{"ecs": False, "name": name, "type": "flattened"}], description=spaced)
    text = dump_rule_document(doc)
    assert f"      name: {name}\n" in text
    assert all(line == line.rstrip() for line in text.splitlines()), "no trailing spaces"
    assert format_text(text)[1] == [] and load_yaml(text)[0] == doc


@needs_sample
def test_sample_export_round_trips_every_rule_line(tmp_path):
    source = SAMPLE
    plan = plan_import(source, tmp_path / "rules", today=TODAY)
    assert plan.ok, [d.format() for d in plan.errors]
    assert len(apply_import(plan)) == 8
    loaded = load_rules([tmp_path / "rules"])
    assert loaded.diagnostics == [], "every written file is a valid rule file"
    exported = export_paths([tmp_path / "rules"]).ndjson()
    assert sorted(exported.splitlines()) == stripped_rule_lines(source)


@needs_sample
def test_server_fields_are_dropped_and_a_created_entry_is_added(tmp_path):
    plan = plan_import(SAMPLE, tmp_path / "rules", today=TODAY)
    apply_import(plan)
    rule = load_rule_file(tmp_path / "rules" / "suspicious_powershell_encoded_command.yaml")
    for key in ("id", "created_at", "created_by", "updated_at", "updated_by", "immutable", "rule_source", "revision"):
        assert key not in rule.rule
    assert rule.rule["output_index"] == "" and rule.rule["meta"] == {"from": "1m"}, "Kibana defaults are kept"
    assert rule.metadata["creation_date"] == "2024/05/01" and rule.metadata["integration"] == ["endpoint"]
    [entry] = rule.history
    assert (entry.version, entry.date, entry.kind) == (1, TODAY, "created")
    assert entry.summary == "Imported from Kibana export sample_valid_export.ndjson"
    assert entry.hash is None or re.fullmatch(r"sha256:[0-9a-f]{64}", entry.hash)
    eql = load_rule_file(tmp_path / "rules" / "eql_seq.yaml")
    assert eql.history[0].version == 2
    assert eql.metadata["export_derived_fields"] is False, "the line had no derived fields to reproduce"


@needs_sample
def test_other_lines_are_recognised_and_reported(tmp_path):
    plan = plan_import(SAMPLE, tmp_path / "rules", today=TODAY)
    kinds = {(s.kind, s.label) for s in plan.skipped}
    assert kinds == {("exception_list", "my-exceptions"), ("exception_item", "item-1")}
    codes = [d.code for d in plan.diagnostics]
    assert codes.count("K109") == 2
    assert "K108" not in codes, "the summary line's counts agree with the file"
    assert all(d.severity is Severity.WARNING for d in plan.diagnostics)
    assert plan.details is not None and plan.details["exported_rules_count"] == 8


def test_action_connector_lines_are_reported_and_the_rule_keeps_its_action(tmp_path):
    connector_id = "5e8d1c7a-2f1b-4a43-9a3e-0c6a1b2d3e4f"
    action = {"action_type_id": ".slack", "group": "default", "id": connector_id,
              "params": {"message": "Rule {{context.rule.name}} fired"}}
    rule_line = dumps_line({**rule_doc()["rule"], "actions": [action], "id": "server-side-id", "revision": 3})
    connector = dumps_line({"attributes": {"actionTypeId": ".slack", "config": {}, "isMissingSecrets": True,
                                           "name": "SOC channel", "secrets": {}},
                            "id": connector_id, "managed": False, "references": [], "type": "action"})
    details = dumps_line({"exported_count": 2, "exported_rules_count": 1, "exported_action_connector_count": 1,
                          "missing_rules": [], "missing_rules_count": 0})
    source = tmp_path / "with_connector.ndjson"
    source.write_text("\n".join([rule_line, connector, details]) + "\n", encoding="utf-8")
    plan = plan_import(source, tmp_path / "rules", today=TODAY)
    assert plan.ok, [d.format() for d in plan.errors]
    assert [(s.line, s.kind, s.label) for s in plan.skipped] == [(2, "action_connector", connector_id)]
    assert [(d.code, d.location.line) for d in plan.diagnostics] == [("K109", 2)]
    assert "action connector" in plan.diagnostics[0].message
    [written] = apply_import(plan)
    rule = load_rule_file(written)
    assert rule.rule["actions"] == [action] and "id" not in rule.rule and "revision" not in rule.rule
    [again] = export_paths([tmp_path / "rules"]).ndjson().splitlines()
    assert again == dumps_line({**rule_doc()["rule"], "actions": [action]})


@needs_sample
def test_rules_without_index_are_imported(tmp_path):
    # Kibana accepts rules that name no index (it falls back to its default index patterns).
    plan = plan_import(SAMPLE, tmp_path / "rules", today=TODAY)
    assert plan.errors == []
    written = apply_import(plan)
    assert all("index" not in load_rule_file(p).rule for p in written if "index" not in p.read_text())


@pytest.mark.parametrize(("content", "code", "line", "column"), [
    ('{"rule_id": "a", "name": "A"\n', "K101", 1, 29),
    ('\n\n[1, 2]\n', "K102", 3, 1),
    ('{"rule_id": "a", "rule_id": "b"}\n', "K112", 1, 18),
    ('{"rule_id": "a", "risk_score": NaN}\n', "K101", 1, 1),
])
def test_malformed_lines_are_located(tmp_path, content, code, line, column):
    path = tmp_path / "bad.ndjson"
    path.write_text(content, encoding="utf-8")
    plan = plan_import(path, tmp_path / "rules", today=TODAY)
    [diag] = plan.errors
    assert (diag.code, diag.location.line, diag.location.column) == (code, line, column)
    assert diag.location.path.endswith("bad.ndjson")


def test_bytes_that_are_not_utf8_are_located(tmp_path):
    path = tmp_path / "latin1.ndjson"
    path.write_bytes(b'{"name": "ok"}\n{"name": "caf\xe9"}\n')
    [diag] = plan_import(path, tmp_path / "rules", today=TODAY).errors
    assert (diag.code, diag.location.line, diag.location.column) == ("K110", 2, 14)


def test_kibana_schema_problems_point_at_the_key(tmp_path):
    line = dumps_line({"rule_id": "r", "name": "R", "description": "d", "risk_score": 500, "severity": "low",
                       "type": "query", "index": ["x"], "query": "a:b"})
    path = tmp_path / "bad.ndjson"
    path.write_text(line + "\n", encoding="utf-8")
    [diag] = plan_import(path, tmp_path / "rules", today=TODAY).errors
    assert diag.code == "K103" and "risk_score" in diag.message
    assert diag.location.column == line.index('"risk_score"') + 1


def test_duplicate_rule_ids_in_one_file_are_refused(tmp_path):
    obj = rule_doc()["rule"]
    path = tmp_path / "dup.ndjson"
    path.write_text(dumps_line(obj) + "\n" + dumps_line({**obj, "name": "Other"}) + "\n", encoding="utf-8")
    [diag] = plan_import(path, tmp_path / "rules", today=TODAY).errors
    assert diag.code == "K105" and diag.location.line == 2


def test_existing_files_are_not_overwritten_without_force(tmp_path):
    obj = rule_doc()["rule"]
    path = tmp_path / "one.ndjson"
    path.write_text(dumps_line(obj) + "\n", encoding="utf-8")
    apply_import(plan_import(path, tmp_path / "rules", today=TODAY))
    target = tmp_path / "rules" / "example_rule.yaml"
    before = target.read_text(encoding="utf-8")
    path.write_text(dumps_line({**obj, "severity": "high", "risk_score": 73}) + "\n", encoding="utf-8")
    plan = plan_import(path, tmp_path / "rules", today=TODAY)
    [diag] = plan.errors
    assert diag.code == "K106" and "example_rule.yaml" in diag.message
    assert target.read_text(encoding="utf-8") == before
    forced = plan_import(path, tmp_path / "rules", today=TODAY, force=True)
    assert forced.ok and forced.rules[0].replaces and forced.rules[0].target == target
    apply_import(forced)
    assert load_rule_file(target).rule["severity"] == "high"
    assert [p.name for p in (tmp_path / "rules").iterdir()] == ["example_rule.yaml"], "no temporary files left"


def test_same_names_get_distinct_files_and_layout_by_integration(tmp_path):
    base = rule_doc()["rule"]
    lines = [dumps_line({**base, "rule_id": "aaaa1111-x", "related_integrations": [{"package": "aws", "version": "^2.0.0"}],
                         "required_fields": []}),
             dumps_line({**base, "rule_id": "bbbb2222-y"})]
    path = tmp_path / "two.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    flat = plan_import(path, tmp_path / "flat", today=TODAY)
    assert sorted(r.target.name for r in flat.rules) == ["example_rule.yaml", "example_rule_bbbb2222.yaml"]
    grouped = plan_import(path, tmp_path / "grouped", today=TODAY, layout="integration")
    assert sorted(r.target.relative_to(tmp_path / "grouped").as_posix() for r in grouped.rules) == [
        "aws/example_rule.yaml", "custom/example_rule.yaml"]


def test_unknown_fields_are_dropped_with_a_warning(tmp_path):
    obj = {**rule_doc()["rule"], "some_future_field": 1}
    path = tmp_path / "x.ndjson"
    path.write_text(dumps_line(obj) + "\n", encoding="utf-8")
    plan = plan_import(path, tmp_path / "rules", today=TODAY)
    assert plan.ok
    [warning] = plan.diagnostics
    assert warning.code == "K107" and "some_future_field" in warning.message
    assert "some_future_field" not in plan.rules[0].document["rule"]


def test_legacy_investigation_fields_are_migrated_as_kibana_does(tmp_path):
    obj = {**rule_doc()["rule"], "investigation_fields": ["user.name"]}
    path = tmp_path / "x.ndjson"
    path.write_text(dumps_line(obj) + "\n", encoding="utf-8")
    plan = plan_import(path, tmp_path / "rules", today=TODAY)
    assert plan.rules[0].document["rule"]["investigation_fields"] == {"field_names": ["user.name"]}


def test_multi_line_strings_are_readable_blocks():
    doc = rule_doc(note="## Triage\n\n- step one\n- step two  \n", query="a:b and\n  c:d")
    text = dump_rule_document(doc)
    assert "note: |\n" in text and "query: |-\n" in text
    assert load_yaml(text)[0] == doc


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(description=_text.filter(lambda s: s.strip()), note=_text, query=_text,
       tags=st.lists(_text, max_size=3), meta=st.dictionaries(_text, st.one_of(_text, st.integers(), st.floats(
           allow_nan=False, allow_infinity=False), st.booleans(), st.none()), max_size=3))
def test_any_strings_read_back_unchanged(description, note, query, tags, meta):
    doc = rule_doc(description=description, note=note, query=query, tags=tags, meta=meta)
    data, _ = load_yaml(dump_rule_document(doc))
    assert data == doc


def test_snake_names():
    assert snake_name("AWS STS AssumeRole Usage", "x") == "aws_sts_assumerole_usage"
    assert snake_name("  ***  ", "5f3c-ID") == "5f3c_id"
    assert len(snake_name("word " * 50, "x")) <= 80


def test_cli_import_writes_files_and_refuses_bad_input(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    export = tmp_path / "export.ndjson"
    export.write_text(export_paths([SEED_RULE]).ndjson(details=True), encoding="utf-8")
    into = tmp_path / "imported"
    assert main(["import", str(export), "--into", str(into), "--dry-run"]) == 0
    assert "would write" in capsys.readouterr().out and not into.exists()
    assert main(["import", str(export), "--into", str(into)]) == 0
    written = into / "aws_sts_assumerole_usage.yaml"
    assert written.is_file() and "wrote" in capsys.readouterr().out
    assert load_rule_file(written).rule_id == "93075852-b0f5-4b8b-89c3-a226efae5726"
    assert main(["import", str(export), "--into", str(into)]) == 2
    assert "K106" in capsys.readouterr().err
    broken = tmp_path / "broken.ndjson"
    broken.write_text("{not json}\n", encoding="utf-8")
    assert main(["import", str(broken), "--into", str(into)]) == 2
    err = capsys.readouterr().err
    assert "broken.ndjson:1:2: K101" in err and "Traceback" not in err


def test_another_rules_file_is_never_replaced(tmp_path):
    base = rule_doc()["rule"]
    first = tmp_path / "first.ndjson"
    first.write_text(dumps_line(base) + "\n", encoding="utf-8")
    apply_import(plan_import(first, tmp_path / "rules", today=TODAY))
    second = tmp_path / "second.ndjson"
    second.write_text(dumps_line({**base, "rule_id": "ffff9999-other"}) + "\n", encoding="utf-8")
    plan = plan_import(second, tmp_path / "rules", today=TODAY, force=True)
    assert plan.ok and plan.rules[0].target.name == "example_rule_ffff9999.yaml" and not plan.rules[0].replaces


def test_a_file_as_target_folder_is_refused(tmp_path):
    source = tmp_path / "x.ndjson"
    source.write_text(dumps_line(rule_doc()["rule"]) + "\n", encoding="utf-8")
    [diag] = plan_import(source, source, today=TODAY).errors
    assert diag.code == "K110" and "not a folder" in diag.message


@needs_sample
def test_summary_count_mismatch_is_reported(tmp_path):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    trimmed = tmp_path / "trimmed.ndjson"
    trimmed.write_text("\n".join(line for n, line in enumerate(lines, start=1) if n not in (3, 4, 5)) + "\n",
                       encoding="utf-8")
    plan = plan_import(trimmed, tmp_path / "rules", today=TODAY)
    assert "K108" in [d.code for d in plan.diagnostics], "the summary line says 8 rules, the file has 5"
