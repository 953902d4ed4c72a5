"""The byte prefilter: a line is skipped only when no selected rule can match it, escapes or not."""

from __future__ import annotations

import json
import random

import pytest

from detection import kql
from detection.fields import FieldSchema
from detection.kql.requirements import RequiredTerms, Term, required_terms
from detection.prefilter import (
    OFF,
    SCAN,
    TRIE,
    Prefilter,
    build_prefilter,
    count_lines,
    literal_safe,
    literal_term,
)
from tests.backtest_support import FIELDS, encode_line, make_event, make_query

SCHEMA = FieldSchema.from_mapping(FIELDS)


def requirements(query: str) -> RequiredTerms:
    return required_terms(query, SCHEMA)


@pytest.mark.parametrize("value, safe", [
    ("AssumeRole", True), ("a/b", True), ("café", True), ('say "hi"', True),
    ("123", False), ("1.5", False), ("1e+16", False), ("nan", False), ("inf", False), ("true", False), ("", False),
])
def test_values_a_number_or_boolean_could_print_are_not_literals(value, safe):
    assert literal_safe(value) is safe


def test_escaped_spellings_are_never_skipped():
    prefilter = build_prefilter([requirements("event.action:AssumeRole")])
    assert prefilter.strings == frozenset({b"AssumeRole"})
    assert prefilter.may_match(b'{"event":{"action":"AssumeRole"}}')
    assert prefilter.may_match(b'{"event":{"action":"Assume\\u0052ole"}}')  # decoded, it is AssumeRole
    assert prefilter.may_match(b'{"event":{"action":"x"},"note":"a \\"quoted\\" word"}')  # any backslash
    assert not prefilter.may_match(b'{"event":{"action":"AssumeRoles"}}')
    assert not prefilter.may_match(b'{"event":{"action":"GetCallerIdentity"},"tag":"AssumeRole-ish"}')
    # Escaped, the line decodes to the value: json agrees that it must be kept.
    assert json.loads(b'{"a":"Assume\\u0052ole"}')["a"] == "AssumeRole"


def test_terms_met_through_a_constant_or_by_numbers_give_no_literal():
    assert literal_term(requirements("event.dataset:aws.cloudtrail")) is None  # absent field = the constant
    assert literal_term(requirements("event.dataset:other")).values == {"other"}  # must be in the document
    assert literal_term(requirements("event.action:123")) is None  # the document may hold the number 123
    assert literal_term(requirements("event.action:(x or true)")) is None
    # event.action is preferred over other fields for its selectivity
    assert literal_term(requirements("tags:t and event.action:(a or b)")).field == "event.action"


def test_one_rule_without_a_literal_turns_the_filter_off():
    prefilter = build_prefilter([requirements("event.action:x"), requirements("not tags:y")])
    assert prefilter.mode == OFF and prefilter.may_match(b"{}")


def test_modes_follow_the_number_of_strings():
    few = Prefilter(frozenset({b"a", b"b"}))
    many = Prefilter(frozenset(f"v{i}".encode() for i in range(40)))
    assert (few.mode, many.mode, Prefilter(None).mode) == (SCAN, TRIE, OFF)


@pytest.mark.parametrize("strings", [frozenset({b"AssumeRole", b"CreateUser"}),
                                     frozenset({b"AssumeRole", b"CreateUser"} | {f"v{i}".encode() for i in range(40)})])
def test_lines_gives_line_numbers_of_the_candidate_lines(strings):
    chunk = (b'{"a":"AssumeRole"}\n'
             b'{"a":"x"}\n'
             b"\n"
             b'{"a":"x\\ty"}\n'
             b'{"a":"CreateUser","b":"AssumeRole"}\n'
             b'{"a":"CreateUsers"}\n'
             b'{"a":"CreateUser"}')  # last line without a newline
    found = list(Prefilter(strings).lines(chunk))
    assert [n for n, _ in found] == [0, 3, 4, 6]
    assert found[1][1] == b'{"a":"x\\ty"}' and found[3][1] == b'{"a":"CreateUser"}'
    assert count_lines(chunk) == 7 and count_lines(chunk + b"\n") == 7
    assert [n for n, _ in Prefilter(None).lines(chunk)] == [0, 1, 3, 4, 5, 6]  # blank lines never


def test_prefiltered_path_equals_plain_path_on_escaped_lines():
    """Random rule sets over random events written with \\u escapes, \\/ and ASCII-only encodings."""
    rng = random.Random(11)
    lines = [encode_line(rng, make_event(rng)) for _ in range(400)]
    escaped = sum(1 for line in lines if b"\\" in line)
    assert escaped > 100  # the escaped spellings were really exercised
    kept_total = compared = 0
    for _ in range(60):
        predicates, required = [], []
        for _ in range(rng.randint(1, 4)):
            predicate = kql.compile(make_query(rng), SCHEMA)
            predicates.append(predicate)
            required.append(required_terms(predicate.kql_node, SCHEMA))
        prefilter = build_prefilter(required)
        chunk = b"".join(lines)
        kept = {n for n, _ in prefilter.lines(chunk)}
        for number, line in enumerate(lines):
            event = json.loads(line)
            if any(p(event) for p in predicates):
                compared += 1
                assert number in kept, (line, [p.kql_query for p in predicates])
        kept_total += len(kept)
    assert compared > 300
    assert kept_total < 60 * len(lines)  # and it did skip lines


def test_literal_survives_every_json_spelling_of_the_value():
    prefilter = build_prefilter([RequiredTerms((Term("a", ("a",), frozenset({"café/x"})),))])
    for text in (json.dumps({"a": "café/x"}), json.dumps({"a": "café/x"}, ensure_ascii=False),
                 json.dumps({"a": "café/x"}, ensure_ascii=False).replace("/", "\\/")):
        assert prefilter.may_match(text.encode())
    assert not prefilter.may_match(json.dumps({"a": "cafe/x"}, ensure_ascii=False).encode())


def test_trie_expression_matches_exactly_the_strings():
    rng = random.Random(2)
    alphabet = "AaBb/-é"
    words = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(60)}
    words |= {"Ab", "Abc", "AbcD"}  # words that are prefixes of others
    prefilter = Prefilter(frozenset(w.encode() for w in words))
    assert prefilter.mode == TRIE
    for _ in range(500):
        candidate = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        line = json.dumps({"k": candidate, "n": 1}, ensure_ascii=False).encode()
        assert prefilter.may_match(line) is (candidate in words), candidate
        chunk = b'{"x":"zzz"}\n' + line + b"\n"
        assert [n for n, _ in prefilter.lines(chunk)] == ([1] if candidate in words else [])
