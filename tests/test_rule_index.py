"""RuleIndex: the same matches, in the same order, as running every rule on every event."""

from __future__ import annotations

import random

from detection import kql
from detection.fields import FieldSchema
from detection.kql.requirements import RequiredTerms, required_terms
from detection.rule_index import IndexedRule, RuleIndex, index_term, plain_matches
from tests.backtest_support import FIELDS, make_event, make_query

SCHEMA = FieldSchema.from_mapping(FIELDS)


def indexed(queries: list[str], schema=SCHEMA) -> list[IndexedRule]:
    out = []
    for i, query in enumerate(queries):
        predicate = kql.compile(query, schema)
        out.append(IndexedRule(i, predicate, required_terms(predicate.kql_node, schema)))
    return out


def test_indexed_path_equals_plain_path_on_generated_rules_and_events():
    rng = random.Random(20240517)
    rules = indexed([make_query(rng) for _ in range(300)])
    index = RuleIndex(rules)
    stats = index.stats()
    assert stats["unindexed"] < len(rules) and len(stats) > 2  # several fields indexed, some rules not
    events = [make_event(rng) for _ in range(600)]
    total = 0
    for event in events:
        expected = plain_matches(rules, event)
        assert index.matches(event) == expected, event
        total += len(expected)
    assert total > 1000  # plenty of matches were compared, not just empty lists


def test_candidates_are_a_small_ordered_subset():
    queries = [f"event.action:A{i} and event.provider:p" for i in range(50)] + ["tags:Ass*"]
    index = RuleIndex(indexed(queries))
    assert index.candidates({"event": {"action": "A7"}}) == [7, 50]
    assert index.candidates({"event": {"action": ["A3", "A1", "A3"]}}) == [1, 3, 50]
    assert index.candidates({"event.action": "A9"}) == [9, 50]  # a flat dotted key
    assert index.candidates({"event": {"action": 5}}) == [50]
    assert index.matches({"event": {"action": "A7", "provider": "p"}}) == [7]


def test_preferred_field_is_event_action_and_constants_come_last():
    (rule,) = indexed(["event.dataset:aws.cloudtrail and event.category:iam and event.action:X and tags:t"])
    assert index_term(rule.requirements).field == "event.action"
    (rule,) = indexed(["event.dataset:aws.cloudtrail and user.name:x and tags:t"])
    assert index_term(rule.requirements).field == "tags"  # user.name is normalised: no term
    (rule,) = indexed(["event.dataset:aws.cloudtrail"])
    assert index_term(rule.requirements).field == "event.dataset"


def test_constant_keyword_bucket_serves_events_without_the_field():
    rules = indexed(["event.dataset:aws.cloudtrail", "event.dataset:other"])
    index = RuleIndex(rules)
    assert index.matches({}) == [0]  # the mapping's constant stands in for the missing field
    assert index.matches({"event": {"dataset": "other"}}) == [1]
    assert index.matches({"event": {"dataset": ["other", "aws.cloudtrail"]}}) == [0, 1]


def test_rules_without_terms_are_evaluated_for_every_event():
    always = IndexedRule("always", lambda e: True, RequiredTerms())
    never = IndexedRule("never", lambda e: False, RequiredTerms())
    index = RuleIndex([never, *indexed(["event.action:x"]), always])
    assert [r.key for r in index.unindexed] == ["never", "always"]
    assert index.matches({"event": {"action": "x"}}) == [0, "always"]
    assert index.matches({}) == ["always"]
