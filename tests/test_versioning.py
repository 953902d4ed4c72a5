"""Content hash, query equivalence, history rebuild and the seed rule's recorded versions."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from detection.cli import main
from detection.content_hash import canonical_json, canonical_payload, content_hash
from detection.history import (
    apply_previous,
    changed_fields,
    classify_change,
    describe_change,
    rebuild_version,
    rebuild_versions,
    reverse_delta,
)
from detection.loader import load_rule_file
from detection.model import HistoryEntry
from detection.query_compare import queries_equivalent, query_tokens, text_equivalent

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "rules" / "aws" / "privilege_escalation_sts_assumerole_usage.yaml"
BASE_RULE = {"rule_id": "r-1", "name": "Rule", "description": "d", "type": "query", "language": "kuery",
             "query": "event.action:Foo", "index": ["logs-*"], "severity": "low", "risk_score": 21, "version": 3}


# -- content hash ---------------------------------------------------------------------------------

def test_hash_has_the_schema_format() -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", content_hash(BASE_RULE))


def test_hash_ignores_version_revision_and_key_order() -> None:
    reordered = dict(reversed(list(BASE_RULE.items())))
    assert content_hash(reordered) == content_hash(BASE_RULE)
    assert content_hash(dict(BASE_RULE, version=99, revision=7)) == content_hash(BASE_RULE)


def test_hash_changes_with_any_content_field() -> None:
    for key, value in (("description", "other"), ("risk_score", 22), ("index", ["logs-*", "x"]),
                       ("severity", "high"), ("threat", [])):
        assert content_hash(dict(BASE_RULE, **{key: value})) != content_hash(BASE_RULE), key


def test_list_order_counts() -> None:
    two = dict(BASE_RULE, tags=["a", "b"])
    assert content_hash(two) != content_hash(dict(BASE_RULE, tags=["b", "a"]))


def test_integral_floats_hash_as_integers_and_nan_is_refused() -> None:
    assert content_hash(dict(BASE_RULE, risk_score=21.0)) == content_hash(BASE_RULE)
    assert content_hash(dict(BASE_RULE, anomaly_threshold=50.5)) != content_hash(dict(BASE_RULE, anomaly_threshold=50))
    with pytest.raises(ValueError, match="NaN"):
        content_hash(dict(BASE_RULE, anomaly_threshold=float("nan")))


def test_null_fields_hash_like_absent_ones() -> None:
    assert content_hash(dict(BASE_RULE, note=None)) == content_hash(BASE_RULE)


def test_strings_are_not_unicode_normalised() -> None:
    # Elasticsearch matches keywords code point by code point: NFC and NFD are different queries.
    nfc = unicodedata.normalize("NFC", "user.name:José")
    nfd = unicodedata.normalize("NFD", nfc)
    assert content_hash(dict(BASE_RULE, query=nfc)) != content_hash(dict(BASE_RULE, query=nfd))


def test_canonical_json_is_compact_sorted_and_keeps_non_ascii() -> None:
    text = canonical_json(dict(BASE_RULE, name="Régle"))
    assert text.startswith('{"description":"d","index":["logs-*"],"language":"kuery","name":"Régle"')
    assert " " not in text.replace("Régle", "")
    assert '"version"' not in text


def test_toml_new_terms_table_hashes_like_the_kibana_form() -> None:
    toml_form = dict(BASE_RULE, type="new_terms", new_terms={"field": "new_terms_fields", "value": ["user.id"],
                                                              "history_window_start": [{"field": "history_window_start",
                                                                                        "value": "now-7d"}]})
    kibana_form = dict(BASE_RULE, type="new_terms", new_terms_fields=["user.id"], history_window_start="now-7d")
    assert canonical_payload(toml_form) == canonical_payload(kibana_form)
    assert content_hash(toml_form) == content_hash(kibana_form)


# -- query equivalence ----------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "a", "b"), [
    ("kuery", "event.action:AssumeRole and event.outcome:success ", "event.action:AssumeRole and event.outcome:success"),
    ("kuery", "a:b and c:d", "a:b\n    and c:d"),
    ("kuery", "a : b", "a:b"),
    ("kuery", "a:b AND c:d", "a:b and c:d"),  # KQL keywords are case-insensitive (needs the KQL parser)
    ("eql", "process where process.name == \"a\"", "process where\n  process.name == \"a\"  // comment"),
    ("esql", "from logs-* | where x == 1", "from logs-*\n| where x == 1 /* why */"),
    ("lucene", "a:b AND c:d", "a:b  AND\tc:d"),
])
def test_layout_changes_are_equivalent(language: str, a: str, b: str) -> None:
    assert queries_equivalent(language, a, b)


@pytest.mark.parametrize(("language", "a", "b"), [
    ("kuery", "event.action:AssumedRole", "event.action:AssumeRole"),
    ("kuery", 'a:"x  y"', 'a:"x y"'),  # whitespace inside a quoted phrase is content
    ("kuery", "a:b", 'a:"b"'),  # quoting changes wildcard and text-field behaviour
    ("kuery", "a:b or c:d", "a:b and c:d"),
    ("kuery", "a:x//y", "a:x /y"),  # KQL has no comments: // is text
    ("eql", 'any where a == "x  y"', 'any where a == "x y"'),
    ("lucene", "a:b c:d", "a:bc:d"),
])
def test_meaning_changes_are_not_equivalent(language: str, a: str, b: str) -> None:
    assert not queries_equivalent(language, a, b)


def test_missing_query_is_only_equivalent_to_missing() -> None:
    assert queries_equivalent("kuery", None, None)
    assert not queries_equivalent("kuery", None, "a:b")


def test_unparseable_queries_fall_back_to_tokens() -> None:
    # "a:(" does not parse; the comparison still works on tokens
    assert queries_equivalent("kuery", "a:( ", "a:(")
    assert query_tokens("kuery", 'x:"a b" and y') == ("x", ":", '"a b"', "and", "y")


def test_prose_equivalence_keeps_line_breaks() -> None:
    assert text_equivalent("Two  words here. ", "Two words here.")
    assert not text_equivalent("Para one.\n\nPara two.", "Para one. Para two.")
    assert not text_equivalent("x", 1)


# -- history ----------------------------------------------------------------------------------------

def _history(rule_v3: dict) -> list[HistoryEntry]:
    v2 = dict(rule_v3, description="older", version=2)
    v1 = {k: v for k, v in v2.items() if k != "note"}
    v1["query"] = "event.action:Bar"
    return [
        HistoryEntry(3, "2024/03/01", "fields", "desc", changed=("description",), previous={"description": "older"},
                     hash=content_hash(rule_v3)),
        HistoryEntry(2, "2024/02/01", "query", "q", changed=("note", "query"),
                     previous={"note": None, "query": "event.action:Bar"}, hash=content_hash(v2)),
        HistoryEntry(1, "2024/01/01", "created", "Created.", hash=content_hash(v1)),
    ]


def test_rebuild_walks_back_through_every_version() -> None:
    rule = dict(BASE_RULE, note="guide")
    states = rebuild_versions(rule, _history(rule))
    assert [s.version for s in states] == [3, 2, 1]
    assert all(s.verified for s in states)
    assert states[1].rule["description"] == "older"
    assert "note" not in states[2].rule and states[2].rule["query"] == "event.action:Bar"
    assert states[2].rule["version"] == 1


def test_a_changed_field_without_previous_value_did_not_exist_before() -> None:
    # TOML has no null: listing the field in `changed` alone means it was absent.
    entry = HistoryEntry(2, "2024/01/01", "fields", "s", changed=("note",), previous={})
    assert "note" not in apply_previous(dict(BASE_RULE, note="x"), entry)


def test_a_wrong_delta_fails_verification() -> None:
    rule = dict(BASE_RULE, note="guide")
    history = _history(rule)
    history[0] = HistoryEntry(3, "2024/03/01", "fields", "desc", changed=("description",),
                              previous={"description": "typo"}, hash=history[0].hash)
    states = rebuild_versions(rule, history)
    assert states[0].verified is True
    assert states[1].verified is False and states[2].verified is False


def test_rebuild_version_names_the_recorded_versions_when_missing() -> None:
    rule = dict(BASE_RULE, note="guide")
    with pytest.raises(LookupError, match=r"recorded: 3, 2, 1"):
        rebuild_version(rule, _history(rule), 7)


def test_changed_fields_and_reverse_delta() -> None:
    old = dict(BASE_RULE, note="n")
    new = dict(BASE_RULE, description="new", tags=["t"], version=4)
    changed = changed_fields(old, new)
    assert changed == ["description", "note", "tags"]
    assert reverse_delta(old, changed) == {"description": "d", "note": "n", "tags": None}


@pytest.mark.parametrize(("new", "kind"), [
    ({"query": "event.action:Foo "}, "formatting"),
    ({"query": "event.action:Foo\n"}, "formatting"),
    ({"description": "d  "}, "formatting"),
    ({"query": "event.action:Fo"}, "query"),
    ({"query": "event.action:Foo", "language": "lucene"}, "query"),
    ({"query": "event.action:Foo ", "severity": "high"}, "fields"),
    ({"query": "event.action:Fo", "severity": "high"}, "query"),
    ({"tags": ["x"]}, "fields"),
])
def test_classify_change(new: dict, kind: str) -> None:
    after = dict(BASE_RULE, **new)
    assert classify_change(BASE_RULE, after, changed_fields(BASE_RULE, after)) == kind


def test_describe_change_mentions_the_fields() -> None:
    assert describe_change("fields", ["description", "tags"]) == "Changed description, tags."
    assert describe_change("query", ["query", "tags"]) == "Query changed; also changed tags."
    assert describe_change("formatting", []) == "Version raised without a content change."


# -- the seed rule ------------------------------------------------------------------------------------

def test_every_recorded_version_of_the_seed_rule_verifies() -> None:
    rule = load_rule_file(SEED)
    states = rebuild_versions(rule.rule, rule.history)
    assert len(states) >= 5
    assert all(s.entry.hash for s in states), "every seed version records a hash"
    assert [s.verified for s in states] == [True] * len(states)
    assert states[0].version == rule.version
    assert states[-1].entry.kind == "created"
    # version 4 removed a trailing space: formatting only, and the rebuilt version 2 still has it
    v4 = next(s for s in states if s.version == 4)
    v2 = next(s for s in states if s.version == 2)
    assert v4.entry.kind == "formatting"
    assert v2.rule["query"].endswith(" ") and not v4.rule["query"].endswith(" ")


def test_seed_published_query_is_recorded() -> None:
    rule = load_rule_file(SEED)
    v100 = rebuild_version(rule.rule, rule.history, 100)
    assert "event.action:AssumedRole" in v100.rule["query"]


def test_show_rebuilds_every_seed_version_with_its_hash(capsys: pytest.CaptureFixture[str]) -> None:
    rule = load_rule_file(SEED)
    for entry in rule.history:
        assert main(["show", str(SEED), "--version", str(entry.version)]) == 0
        out = capsys.readouterr()
        shown = json.loads(out.out)
        assert shown["version"] == entry.version
        assert content_hash(shown) == entry.hash
        assert f"version {entry.version}: verified, {entry.hash}" in out.err


def test_show_yaml_and_unknown_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(SEED), "--version", "100", "--format", "yaml"]) == 0
    assert "event.action:AssumedRole" in capsys.readouterr().out
    assert main(["show", str(SEED), "--version", "3"]) == 2
    assert "version 3 is not in the history" in capsys.readouterr().err


def test_history_command_lists_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(SEED)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1].split()[:5] == ["VERSION", "DATE", "STACK", "KIND", "HASH"]
    row4 = next(line for line in lines if line.startswith("4 "))
    assert row4.split()[:5] == ["4", "2022/07/18", "8.4.0", "formatting", "ok"]
    assert main(["history", str(SEED), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rule_id"] == "93075852-b0f5-4b8b-89c3-a226efae5726"
    assert all(v["verified"] is True for v in data["versions"])


def test_history_finds_a_rule_by_name_and_reports_unknown_ones(capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["history", "aws sts assumerole usage"]) == 0
    assert "93075852" in capsys.readouterr().out
    assert main(["history", "AWS STS AssumeRole Usagee"]) == 2
    err = capsys.readouterr().err
    assert "G140" in err and "did you mean 'AWS STS AssumeRole Usage'" in err
