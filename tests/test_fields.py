"""Field schema: shipped ECS and CloudTrail data, custom files, index scoping."""

from __future__ import annotations

import json

import pytest

from detection.diagnostics import DetectionError
from detection.fields import FieldSchema, default_schema, ecs_version, globs_intersect, load_custom_fields
from detection.resources import data_path


def test_ecs_data_is_pinned_and_credited():
    meta = json.loads(data_path("ecs_fields.json").read_text())["_meta"]
    assert meta["ecs_version"] == "9.4.0" == ecs_version()
    assert meta["licence"] == "Apache-2.0"
    assert "@elastic/ecs@9.4.0" in meta["source"]


def test_ecs_types_and_multi_fields():
    s = default_schema()
    assert s.type_of("user.name") == "keyword"
    assert s.type_of("user.name.text") == "match_only_text"
    assert s.info("user.name.text").source_path == "user.name"
    assert s.type_of("@timestamp") == "date"
    assert s.type_of("source.ip") == "ip"
    assert s.type_of("process.command_line") == "wildcard"
    assert s.type_of("destination.port") == "long"
    assert s.type_of("no.such.field") is None
    assert s.allowed_values("event.outcome") == ("failure", "success", "unknown")
    assert s.is_array("event.category") and not s.is_array("event.action")


def test_cloudtrail_fields_from_the_integration():
    s = default_schema()
    prefix = "aws.cloudtrail.user_identity.session_context."
    assert s.type_of(prefix + "mfa_authenticated") == "keyword"
    assert s.type_of(prefix + "creation_date") == "date"
    assert s.type_of(prefix + "session_issuer.type") == "keyword"
    assert s.type_of("aws.cloudtrail.read_only") == "boolean"
    assert s.type_of("aws.cloudtrail.request_parameters.text") == "text"
    assert s.info("aws.cloudtrail.request_parameters").ignore_above == 8191
    assert s.type_of("aws.cloudtrail.flattened.request_parameters") == "flattened"
    # keys under a flattened field are queryable
    assert s.type_of("aws.cloudtrail.flattened.request_parameters.bucketName") == "flattened"
    assert s.flattened_root("aws.cloudtrail.flattened.request_parameters.a.b") == "aws.cloudtrail.flattened.request_parameters"


def test_constant_keyword_values():
    s = default_schema()
    assert s.type_of("event.dataset") == "constant_keyword"
    assert s.constant_value("event.dataset") == "aws.cloudtrail"
    assert s.constant_value("event.module") == "aws"
    assert s.constant_value("data_stream.dataset") == "aws.cloudtrail"
    assert s.constant_value("user.name") is None


def test_for_indices_scopes_integration_fields():
    s = default_schema()
    for patterns in (["logs-aws*"], ["logs-aws.cloudtrail-*"], ["filebeat-*"], ["logs-*"], ["remote:logs-aws*"]):
        assert s.for_indices(patterns).constant_value("event.dataset") == "aws.cloudtrail", patterns
    windows = s.for_indices(["winlogbeat-*", "logs-windows.*"])
    assert windows.type_of("event.dataset") == "keyword"  # ECS only
    assert windows.type_of("aws.cloudtrail.read_only") is None
    assert s.for_indices(None) is s


def test_glob_intersection():
    assert globs_intersect("logs-aws*", "logs-aws.cloudtrail-*")
    assert globs_intersect("logs-*", "logs-aws*")
    assert globs_intersect("*", "filebeat-*")
    assert globs_intersect("logs-*-default", "logs-aws.cloudtrail-*")
    assert not globs_intersect("winlogbeat-*", "logs-aws*")
    assert not globs_intersect("logs-windows*", "logs-aws*")
    assert globs_intersect("abc", "abc") and not globs_intersect("abc", "abd")


def test_nested_fields_from_ecs():
    s = default_schema()
    assert s.is_nested("email.attachments")
    assert s.nested_parent("email.attachments.file.name") == "email.attachments"
    assert s.nested_parent("user.name") is None


def test_match_pattern_and_names():
    s = default_schema()
    names = s.match_pattern("aws.cloudtrail.user_identity.session_context.session_issuer.*")
    assert "aws.cloudtrail.user_identity.session_context.session_issuer.type" in names
    assert all(n.startswith("aws.cloudtrail.user_identity.session_context.session_issuer.") for n in names)
    assert s.match_pattern("user.name") == ["user.name"]
    assert s.match_pattern("nothing.*") == []
    assert "user.name.text" in s.names()


def test_from_mapping_and_merge():
    custom = FieldSchema.from_mapping(
        {"okta.actor.id": "keyword", "event.dataset": {"type": "constant_keyword", "value": "okta.system"}}
    )
    merged = default_schema().for_indices(["winlogbeat-*"]).merge(custom)
    assert merged.type_of("okta.actor.id") == "keyword"
    assert merged.constant_value("event.dataset") == "okta.system"
    assert merged.type_of("user.name") == "keyword"


def test_conflicting_constants_fall_back_to_document_values():
    a = FieldSchema.from_mapping({"event.dataset": {"type": "constant_keyword", "value": "a"}})
    b = FieldSchema.from_mapping({"event.dataset": {"type": "constant_keyword", "value": "b"}})
    merged = a.merge(b)
    assert merged.type_of("event.dataset") == "constant_keyword"
    assert merged.constant_value("event.dataset") is None


def test_caseless_multi_field_is_inferred():
    s = FieldSchema.from_mapping({"process.name": "keyword", "process.name.caseless": "keyword"})
    info = s.info("process.name.caseless")
    assert info.parent == "process.name" and info.normalizer == "lowercase"


def test_load_custom_fields_both_forms(tmp_path):
    (tmp_path / "okta.yml").write_text(
        "index_patterns: [logs-okta*]\nfields:\n  okta.risk: long\n  event.dataset: {type: constant_keyword, value: okta.system}\n"
    )
    (tmp_path / "more.yaml").write_text("fields:\n  - name: custom.flag\n    type: boolean\n")
    s = load_custom_fields(tmp_path)
    assert s.type_of("okta.risk") == "long"
    assert s.type_of("custom.flag") == "boolean"
    assert s.for_indices(["logs-okta.system-*"]).constant_value("event.dataset") == "okta.system"
    assert s.for_indices(["logs-aws*"]).type_of("okta.risk") is None
    assert s.for_indices(["logs-aws*"]).type_of("custom.flag") == "boolean"


def test_missing_custom_folder_is_empty(tmp_path):
    assert len(load_custom_fields(tmp_path / "none")) == 0


@pytest.mark.parametrize(
    "text,code,line",
    [
        ("fields:\n  a.b: keywrd\n", "FLD004", 2),
        ("fields:\n  a.b: {type: keyword, value: x}\n", "FLD005", 2),
        ("fields:\n  a.b: {type: keyword, colour: red}\n", "FLD002", 2),
        ("fields: [1]\n", "FLD002", 1),
        ("nofields: {}\n", "FLD002", 1),
        ("fields:\n  a: [\n", "FLD001", 3),
        ("fields:\n  ok: keyword\n  bad..name: keyword\n", "FLD003", 3),
        ("fields:\n  a.b: {type: keyword, scaling_factor: 10}\n", "FLD005", 2),
        ("fields:\n  a.b: {type: scaled_float, scaling_factor: 0}\n", "FLD005", 2),
    ],
)
def test_custom_file_errors_are_located(tmp_path, text, code, line):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(DetectionError) as info:
        load_custom_fields(tmp_path)
    diag = info.value.diagnostics[0]
    assert diag.code == code
    assert diag.location.path.endswith("bad.yml")
    assert diag.location.line == line
    assert diag.format().startswith(f"{path}:{line}:")


def test_custom_scaled_float_keeps_its_scaling_factor(tmp_path):
    (tmp_path / "metrics.yml").write_text("fields:\n  app.load: {type: scaled_float, scaling_factor: 10}\n")
    assert load_custom_fields(tmp_path).info("app.load").scaling_factor == 10
