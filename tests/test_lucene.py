"""Lucene query_string queries: parsing, evaluation by field type, explanations and located errors.

Each table row cites the documented behaviour it checks:

* [QS] Elasticsearch, "Query string query", section "Query string syntax"
  https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-query-string-query.html
* [CL] Lucene classic QueryParser syntax (package summary of org.apache.lucene.queryparser.classic):
  operators are upper case, ``+``/``-`` require/prohibit, ``AND`` sets both neighbours required,
  every other clause is optional (SHOULD) with the default operator OR.
* [BQ] Lucene BooleanQuery: with a MUST clause, SHOULD clauses are optional; without one, at
  least one SHOULD must match. [ES] Elasticsearch's query_string parser adds a match-all to a
  boolean query of prohibited clauses only (``Queries.fixNegativeQueryIfNeeded``).
* [RX] Elasticsearch, "Regular expression syntax" (anchored, ``@``/``#``, quoted strings).
* [KB] Kibana sends a rule's Lucene query as query_string with analyze_wildcard and no
  default field, so a bare value searches every field.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detection import lucene
from detection.lucene.errors import REJECTED, SYNTAX, UNSUPPORTED

FIELDS = {
    "event.action": "keyword",
    "event.outcome": "keyword",
    "user.name": "keyword",
    "message": "text",
    "file.path": "keyword",
    "source.port": "long",
    "source.ip": "ip",
    "@timestamp": "date",
    "aws.cloudtrail.read_only": "boolean",
}

STOP = {"event": {"action": "StopLogging", "outcome": "success"}, "user": {"name": "alice"},
        "message": "User alice stopped the trail MainTrail", "source": {"port": 443, "ip": "192.0.2.10"},
        "@timestamp": "2024-05-01T12:00:00Z", "file": {"path": "C:\\Windows\\System32\\cmd.exe"},
        "aws": {"cloudtrail": {"read_only": False}}}
DELETE = {"event": {"action": "DeleteTrail", "outcome": "failure"}, "user": {"name": "bob"},
          "source": {"port": 8443, "ip": "2001:db8::1"}, "@timestamp": "2024-05-02T08:30:00Z"}


# --------------------------------------------------------------------------- structure

OCCURS = [
    # (query, rendered clause structure: + MUST, - MUST_NOT, bare SHOULD)  source
    ("a b", "a b"),  # [CL] terms without operators are optional (default operator OR)
    ("a AND b", "+a +b"),  # [CL] AND requires both neighbours
    ("a && b", "+a +b"),  # [QS] && is AND
    ("a OR b", "a b"),  # [CL]
    ("a || b", "a b"),  # [QS]
    ("a AND b OR c", "+a +b c"),  # [CL] no precedence: OR leaves c optional, a and b stay required
    ("a OR b AND c", "a +b +c"),  # [CL] AND turns only its left neighbour into MUST
    ("+a -b c", "+a -b c"),  # [CL] + and - prefixes
    ("a NOT b", "a -b"),  # [CL] NOT prohibits the next clause
    ("a AND NOT b", "+a -b"),  # [CL] AND does not make a prohibited clause required
    ("!a b", "-a b"),  # [QS] ! is NOT
    ("NOT a AND b", "-a +b"),  # [CL] AND leaves a prohibited left clause prohibited
    ("a and b", "a and b"),  # [CL] lower-case operators are plain terms
    ("(a OR b) AND c", "+(a b) +c"),  # [QS] grouping
]


@pytest.mark.parametrize(("query", "structure"), OCCURS)
def test_operators_set_clause_occurrence(query: str, structure: str):
    assert lucene.parse(query).render() == structure


def test_field_group_applies_the_field_inside():
    # [QS] "status:(active OR pending)" searches status for both terms
    node = lucene.parse("event.action:(StopLogging OR DeleteTrail)")
    assert node.render() == "event.action:StopLogging event.action:DeleteTrail"


def test_single_clause_is_not_wrapped():
    # [CL] a query of one clause without operators is that clause, not a boolean query
    from detection.kql import Is

    assert isinstance(lucene.parse("event.action:StopLogging"), Is)
    assert isinstance(lucene.parse("-event.action:StopLogging"), lucene.BoolQuery)


# --------------------------------------------------------------------------- evaluation

EVALUATION = [
    # keyword fields: whole value, case-sensitive
    ("event.action:StopLogging", STOP, True),  # [QS] field:value
    ("event.action:stoplogging", STOP, False),  # keyword values are not analysed
    ('event.action:"StopLogging"', STOP, True),  # [QS] phrases
    ("event.action:Stop*", STOP, True),  # [QS] * wildcard over the whole keyword value
    ("event.action:*Logging", STOP, True),  # [QS] leading wildcards are allowed by default
    ("event.action:Stop?ogging", STOP, True),  # [QS] ? is one character
    ("event.action:Stop?Logging", STOP, False),
    ("event.action:stop*", STOP, False),  # keyword wildcards stay case-sensitive
    ("event.action:(StopLogging OR DeleteTrail)", DELETE, True),  # [QS] grouping on one field
    ("file.path:C\\:\\\\Windows\\\\System32\\\\cmd.exe", STOP, True),  # [QS] reserved characters escaped
    ('file.path:"C:\\\\Windows\\\\System32\\\\cmd.exe"', STOP, True),  # [QS] quoted, backslash doubled
    # text fields: analysed
    ("message:TRAIL", STOP, True),  # [QS] terms are analysed for text fields
    ('message:"the trail"', STOP, True),  # [QS] phrase: the words in order
    ('message:"trail the"', STOP, False),
    ("message:stop*", STOP, True),  # [QS] analyze_wildcard [KB]: per token, lower case
    ("message:Main?rail", STOP, True),  # ? on text: per token, lowercased like *
    # numbers, IPs, dates, booleans
    ("source.port:443", STOP, True),
    ("source.port:[400 TO 500]", STOP, True),  # [QS] inclusive range
    ("source.port:{443 TO 500]", STOP, False),  # [QS] exclusive lower bound, mixed brackets
    ("source.port:[* TO 443]", STOP, True),  # [QS] * for an open end
    ("source.port:>443", STOP, False),  # [QS] one-sided ranges
    ("source.port:>=443", STOP, True),
    ("source.port:<1000", DELETE, False),
    ('source.ip:"192.0.2.0/24"', STOP, True),  # ip fields take CIDR
    ("source.ip:192.0.2.0\\/24", STOP, True),  # [QS] / must be escaped outside quotes
    ('source.ip:"2001:db8::/32"', DELETE, True),
    ("@timestamp:[2024-05-01 TO 2024-05-01]", STOP, True),  # [QS] dates round to the whole day
    ("@timestamp:{* TO 2024-05-01}", STOP, False),
    ("aws.cloudtrail.read_only:false", STOP, True),
    # existence
    ("_exists_:message", STOP, True),  # [QS] _exists_
    ("_exists_:message", DELETE, False),
    ("message:*", DELETE, False),  # field:* is an exists query
    ("NOT _exists_:message", DELETE, True),
    # regular expressions
    ("event.action:/Stop.*/", STOP, True),  # [RX] anchored: the whole value
    ("event.action:/top.*/", STOP, False),  # [RX] no implicit .* at the start
    ("event.action:/(Stop|Delete)(Logging|Trail)/", DELETE, True),  # [RX] alternation, groups
    ("event.action:/[A-Z][a-z]+Trail/", DELETE, True),  # [RX] character classes
    ('event.action:/"Delete"@/', DELETE, True),  # [RX] quoted string, @ any string
    ("event.action:/Stop#/", STOP, False),  # [RX] # matches nothing
    ("event.action:/Stop^Logging/", STOP, False),  # [RX] ^ is a plain character
    ("message:/sto.*/", STOP, True),  # [RX] on text fields a token must match
    ("event.outcome:/succ\\w+/", STOP, True),  # \\w class
    # boolean logic
    ("event.action:StopLogging AND event.outcome:failure", STOP, False),
    ("event.action:StopLogging AND NOT event.outcome:failure", STOP, True),
    ("event.action:StopLogging -event.outcome:success", STOP, False),  # [CL] - prohibits
    ("event.action:Nope event.outcome:success", STOP, True),  # [BQ] only SHOULD: one must match
    ("+event.action:StopLogging user.name:nobody", STOP, True),  # [BQ] SHOULD is optional next to MUST
    ("user.name:alice AND event.action:Nope OR event.outcome:success", STOP, False),  # [CL] = +alice +Nope success
    ("(user.name:alice AND event.action:Nope) OR event.outcome:success", STOP, True),
    ("NOT event.action:DeleteTrail", STOP, True),  # [ES] pure negation matches the rest
    ("-event.action:StopLogging", STOP, False),
    ("user.name:alice AND (NOT event.outcome:failure)", STOP, True),  # [ES] also inside a group
    # default field: every field [KB]
    ("StopLogging", STOP, True),
    ("alice", DELETE, False),
    ("*:StopLogging", STOP, True),  # [QS] *: searches every field
    ("*", DELETE, True),  # match all
    ("*:*", DELETE, True),
    ("", DELETE, True),  # an empty query matches everything (Kibana sends match_all)
    ("event.action:StopLogging^2", STOP, True),  # [QS] boosts do not change matching
    ("event.*:StopLogging", STOP, True),  # [QS] wildcards in field names
]


@pytest.mark.parametrize(("query", "event", "expected"), EVALUATION)
def test_evaluation_follows_elasticsearch(query: str, event: dict, expected: bool):
    assert lucene.compile(query, FIELDS)(event) is expected


def test_flat_dotted_documents_match_like_nested_ones():
    flat = {"event.action": "StopLogging", "source.port": 443}
    assert lucene.compile("event.action:StopLogging AND source.port:[1 TO 500]", FIELDS)(flat)


# --------------------------------------------------------------------------- errors

ERRORS = [
    # (query, code, line, column, words in the message)
    ("event.action:StopLogging AND", SYNTAX, 1, 29, "ends after an operator"),
    ("AND event.action:x", SYNTAX, 1, 1, "needs a clause before it"),
    ("event.action:(a OR b", SYNTAX, 1, 14, "missing ')'"),
    ('message:"never closed', SYNTAX, 1, 9, "unterminated quoted phrase"),
    ("source.port:[1 TO 5", SYNTAX, 1, 13, "range ends"),
    ("source.port:[1 5]", SYNTAX, 1, 16, "needs TO"),
    ("source.ip:10.0.0.0/8", SYNTAX, 1, 19, "unterminated regular expression"),  # [QS] escape /
    ("event.action:", SYNTAX, 1, 14, "no value"),
    ("a)", SYNTAX, 1, 2, "unexpected ')'"),
    ("event.action:Stop~", UNSUPPORTED, 1, 18, "fuzzy"),
    ('message:"a b"~3', UNSUPPORTED, 1, 14, "proximity"),
    ("event.action:/a&b/", UNSUPPORTED, 1, 16, "intersection"),
    ("event.action:/a[b/", SYNTAX, 1, 16, "character class"),
    ("a AND\nsource.port:many", REJECTED, 2, 13, 'For input string: "many"'),
    ("source.ip:not-an-ip", REJECTED, 1, 11, "not an IP"),
    ("source.port:/4.*/", REJECTED, 1, 1, "Can only use regexp queries on keyword and text fields"),
    ("source.port:44?", REJECTED, 1, 1, "Can only use wildcard queries"),
]


@pytest.mark.parametrize(("query", "code", "line", "column", "words"), ERRORS)
def test_errors_are_located(query: str, code: str, line: int, column: int, words: str):
    with pytest.raises(lucene.LuceneError) as caught:
        lucene.compile(query, FIELDS)
    error = caught.value
    assert (error.code, error.line, error.column) == (code, line, column), str(error)
    assert words in error.message
    assert any(line.strip() == "^" for line in str(error).splitlines())  # a caret under the spot


def test_error_diagnostic_is_placed_inside_the_file():
    with pytest.raises(lucene.LuceneError) as caught:
        lucene.parse("a AND")
    diag = caught.value.to_diagnostic("rules/x.yaml", line=10, column=10)
    assert (diag.location.line, diag.location.column, diag.code) == (10, 15, SYNTAX)


# --------------------------------------------------------------------------- explanations and names


def test_explain_shows_each_clause_with_values():
    tree = lucene.explain("event.action:(StopLogging OR DeleteTrail) AND NOT event.outcome:failure", DELETE, FIELDS)
    assert tree.result is False and tree.kind == "and"
    text = tree.render_text(ascii=True)
    assert "[+] event.action:DeleteTrail  [event.action = \"DeleteTrail\"]" in text
    assert "[-] not:" in text and "[+] event.outcome:failure" in text
    assert tree.to_json()["children"][0]["kind"] == "or"


def test_explain_agrees_with_compile():
    for query, event, expected in EVALUATION:
        assert lucene.explain(query, event, FIELDS).result is expected, query


def test_field_names():
    assert lucene.field_names("event.action:x AND source.port:[1 TO 2] OR _exists_:message OR free") == [
        "event.action", "message", "source.port"]


# --------------------------------------------------------------------------- robustness

_ALPHABET = st.sampled_from(list('ab:()[]{}"*?/\\^~+-!& |TOANDORNOT_exists_ 12.'))


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=25).map("".join))
def test_any_text_parses_or_raises_a_located_lucene_error(text: str):
    try:
        predicate = lucene.compile(text, FIELDS)
    except lucene.LuceneError as exc:
        assert 1 <= exc.line and 1 <= exc.column
        return
    assert predicate(STOP) in (True, False)
