"""explain(): per-clause results, actual values, suggestions, stable leaf ids."""

from __future__ import annotations

import json

import pytest

from detection.fields import FieldSchema
from detection.kql import KqlError, compile, explain, leaf_clauses

QUERY = (
    "event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumedRole"
    " and aws.cloudtrail.user_identity.session_context.session_issuer.type:Role and event.outcome:success"
)
EVENT = {
    "event": {"provider": "sts.amazonaws.com", "action": "AssumeRole", "outcome": "success"},
    "aws": {"cloudtrail": {"user_identity": {"session_context": {"session_issuer": {"type": "Role"}}}}},
}


def test_tree_mirrors_the_query_and_agrees_with_compile():
    e = explain(QUERY, EVENT)
    assert e.kind == "and" and len(e.children) == 5
    assert e.result is compile(QUERY)(EVENT) is False
    assert [c.result for c in e.children] == [True, True, False, True, True]


def test_leaf_values_and_value_suggestion():
    leaf = explain(QUERY, EVENT).children[2]
    assert leaf.clause == "event.action:AssumedRole"
    assert leaf.fields == ["event.action"]
    assert leaf.values == ["AssumeRole"]
    assert leaf.suggestion == "AssumeRole" and leaf.suggestion_kind == "value"


def test_constant_keyword_value_is_shown():
    leaf = explain(QUERY, EVENT).children[0]
    assert leaf.result and leaf.values == ["aws.cloudtrail"]


def test_case_only_difference_is_suggested():
    leaf = explain("k:success", {"k": "Success"}, {"k": "keyword"})
    assert not leaf.result and leaf.suggestion == "Success"


def test_wildcard_case_suggestion():
    leaf = explain("k:*Admin*", {"k": "domain admins"}, {"k": "keyword"})
    assert not leaf.result and leaf.suggestion == "domain admins"


def test_field_name_suggestion_when_absent():
    leaf = explain("event.actions:x", {"event": {"action": "x"}}, FieldSchema.empty())
    assert leaf.values == [] and leaf.suggestion == "event.action" and leaf.suggestion_kind == "field"


def test_no_suggestion_when_matching_or_far():
    assert explain("k:x", {"k": "x"}, {"k": "keyword"}).suggestion is None
    assert explain("k:abc", {"k": "zzzzzz"}, {"k": "keyword"}).suggestion is None


def test_render_text_marks_and_ascii():
    text = explain(QUERY, EVENT).render_text()
    lines = text.splitlines()
    assert lines[0].startswith("\u2717 all of")
    assert "\u2717 event.action:AssumedRole" in text and '"AssumeRole"' in text
    ascii_text = explain(QUERY, EVENT).render_text(ascii=True)
    assert ascii_text.isascii() and "[-] event.action:AssumedRole" in ascii_text


def test_to_json_round_trips():
    data = explain(QUERY, EVENT).to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["children"][2]["suggestion"] == "AssumeRole"
    assert data["children"][2]["values"] == ["AssumeRole"]


def test_leaf_clause_ids_match_explanation_ids():
    q = "a:1 and (b:2 or not c:3) and items:{ name:x }"
    schema = {"a": "long", "b": "long", "c": "long", "items": "nested", "items.name": "keyword"}
    ids = [leaf.id for leaf in leaf_clauses(q)]
    assert ids == ["0.0", "0.1.0", "0.1.1.0", "0.2.0"]
    e = explain(q, {"a": 1, "b": 2, "items": [{"name": "y"}, {"name": "x"}]}, schema)
    assert [leaf.id for leaf in e.leaves()] == ids
    assert e.find("0.1.1.0").result is False
    assert e.find("0.2.0").result is True and e.find("0.2.0").values == ["y", "x"]
    assert e.result is True


def test_explain_raises_the_same_errors():
    with pytest.raises(KqlError):
        explain("n:abc", {}, {"n": "long"})


def test_not_and_or_results():
    e = explain("not (k:a or k:b)", {"k": "b"}, {"k": "keyword"})
    assert e.result is False
    assert e.children[0].result is True
    assert [c.result for c in e.children[0].children] == [False, True]
