"""required_terms: what every matching event must hold, derived only where it is sure."""

from __future__ import annotations

import random

import pytest

from detection import kql
from detection.fields import FieldSchema, default_schema
from detection.kql.requirements import Term, eql_required_terms, required_terms
from tests.backtest_support import FIELDS, make_event, make_query

SCHEMA = FieldSchema.from_mapping(FIELDS)


def terms_of(query: str, fields=SCHEMA) -> set[tuple[str, frozenset, str | None]]:
    return {(t.field, t.values, t.constant) for t in required_terms(query, fields).terms}


def test_conjunction_of_equalities_gives_one_term_each():
    found = terms_of("event.action:AssumeRole and event.provider:sts.amazonaws.com and source.port > 10")
    assert found == {("event.action", frozenset({"AssumeRole"}), None),
                     ("event.provider", frozenset({"sts.amazonaws.com"}), None)}


def test_value_list_and_or_of_the_same_field_give_the_union():
    assert terms_of("event.action:(AssumeRole or CreateUser)") == {("event.action", frozenset({"AssumeRole", "CreateUser"}), None)}
    assert terms_of("event.action:a or (event.action:b and tags:x)") == {("event.action", frozenset({"a", "b"}), None)}


def test_or_over_different_fields_requires_nothing():
    assert terms_of("event.action:a or tags:b") == set()
    assert terms_of("event.action:a or event.action:b*") == set()  # a wildcard branch: no constant value


@pytest.mark.parametrize("query", [
    "not event.action:a",
    "event.action:Assume*",
    "event.action:*",
    "source.port:443",  # a long field: numbers compare as numbers
    "user.name:alice",  # lowercase normalizer: the document may spell it ALICE
    "AssumeRole",  # free text
    "*:*",
])
def test_clauses_that_give_no_sound_term(query):
    assert terms_of(query) == set()


def test_constant_keyword_terms_keep_the_constant():
    (term,) = required_terms("event.dataset:aws.cloudtrail", SCHEMA).terms
    assert term.constant == "aws.cloudtrail" and term.met_by_absence
    (other,) = required_terms("event.dataset:other", SCHEMA).terms
    assert other.constant == "aws.cloudtrail" and not other.met_by_absence
    # An event without the field takes the constant; one with the field is judged by its value.
    assert term.admits({}) and not other.admits({})
    assert other.admits({"event": {"dataset": "other"}}) and not term.admits({"event": {"dataset": "other"}})


def test_unknown_fields_are_keywords_and_nested_or_flattened_fields_are_left_alone():
    assert terms_of("custom.thing:x") == {("custom.thing", frozenset({"x"}), None)}
    cloudtrail = default_schema().for_indices(["logs-aws*"])
    assert terms_of("aws.cloudtrail.flattened.request_parameters.roleArn:x", cloudtrail) == set()


def test_seed_rule_query_with_the_shipped_schema():
    schema = default_schema().for_indices(["filebeat-*", "logs-aws*"])
    query = ("event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumeRole and "
             "aws.cloudtrail.user_identity.session_context.session_issuer.type:Role and event.outcome:success")
    fields = {t.field for t in required_terms(query, schema).terms}
    assert {"event.provider", "event.action", "event.outcome"} <= fields


def test_term_reads_arrays_flat_keys_and_numbers_as_the_query_does():
    term = Term("event.action", ("event", "action"), frozenset({"123", "a"}))
    assert term.admits({"event.action": "a"})
    assert term.admits({"event": [{"action": ["x", "a"]}]})
    assert term.admits({"event": {"action": 123}})
    assert not term.admits({"event": {"action": None}})


def test_every_matching_event_meets_the_terms():
    """Soundness on random queries and awkward events: a match implies the terms."""
    rng = random.Random(8)
    events = [make_event(rng) for _ in range(300)]
    checked = 0
    for _ in range(250):
        query = make_query(rng)
        predicate = kql.compile(query, SCHEMA)
        required = required_terms(predicate.kql_node, SCHEMA)
        for event in events:
            if predicate(event):
                assert required.admits(event), (query, event)
                checked += bool(required)
    assert checked > 500  # the property was exercised on events that matched queries with terms


def test_eql_category_and_string_equalities():
    found = eql_required_terms('process where process.name == "cmd.exe" and process.pid == 4 and '
                               'user.name in ("a", "b") and host.os.type : "windows"')
    assert {(t.field, t.values) for t in found.terms} == {
        ("event.category", frozenset({"process"})), ("process.name", frozenset({"cmd.exe"})),
        ("user.name", frozenset({"a", "b"}))}
    # numbers-as-strings, case-insensitive forms and sequences give nothing
    assert not eql_required_terms('any where x == "12"').terms
    assert not eql_required_terms('any where x in~ ("a")').terms
    assert not eql_required_terms("sequence [process where true] [file where true]").terms
    assert {t.values for t in eql_required_terms('any where a == "x" or a == "y"').terms} == {frozenset({"x", "y"})}


def test_eql_terms_are_sound_on_random_events():
    from detection import eql

    rng = random.Random(3)
    events = [make_event(rng) for _ in range(300)]
    queries = ['any where event.action == "AssumeRole"', 'any where event.action in ("CreateUser", "a/b", "123")',
               'any where event.provider == "other" or event.provider == "café"',
               'any where tags == "Delete it" and event.category != "x"']
    hits = 0
    for query in queries:
        compiled = eql.compile(query, FIELDS)
        required = eql_required_terms(query, fields=FIELDS)
        for event in events:
            if compiled.matches(event):
                hits += 1
                assert required.admits(event), (query, event)
    assert hits > 20


def test_lucene_queries_read_through_their_kql_tree_are_sound():
    from detection import lucene

    rng = random.Random(5)
    events = [make_event(rng) for _ in range(300)]
    hits = with_terms = 0
    for _ in range(150):
        text = (make_query(rng).replace(" and ", " AND ").replace(" or ", " OR ").replace("not (", "NOT (")
                .replace("source.port > 100", "source.port:>100"))
        predicate = lucene.compile(text, SCHEMA)
        required = required_terms(predicate.lucene_node, SCHEMA)
        with_terms += bool(required)
        for event in events:
            if predicate(event):
                hits += 1
                assert required.admits(event), (text, event)
    assert hits > 300 and with_terms > 50
    regex = lucene.compile("event.action:/Delete(Rule|Trail)/ AND event.provider:waf", SCHEMA)
    assert {t.field for t in required_terms(regex.lucene_node, SCHEMA).terms} == {"event.provider"}
