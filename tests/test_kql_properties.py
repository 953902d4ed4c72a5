"""Properties: rendering round-trips through the parser; junk input only ever raises KqlError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detection.fields import FieldSchema
from detection.kql import (
    And,
    Exists,
    FreeText,
    Is,
    KqlError,
    Literal,
    MatchAll,
    Nested,
    Not,
    Or,
    Range,
    Wildcard,
    compile,
    explain,
    parse,
    render,
)
from detection.kql.parser import _JS_TRIM

# Characters that stress the grammar: specials, whitespace (incl. nbsp), keyword letters, escapes.
ALPHABET = st.sampled_from(list("abnotrdNOTAD. -_:()<>\"*{}\\/?\t\n\r\u00a0é1") + [" or ", " and ", "not ", "NOT ", "\\u"])
TEXT = st.lists(ALPHABET, max_size=8).map("".join)


def _unquoted_text(s: str) -> bool:
    return s.strip(_JS_TRIM) == s and s not in ("true", "false", "null")


UNQUOTED = TEXT.filter(_unquoted_text).map(lambda s: Literal(s))
QUOTED = TEXT.map(lambda s: Literal(s, quoted=True))
KEYWORDS = st.sampled_from([Literal(True), Literal(False)])


@st.composite
def wildcards(draw):
    parts = draw(st.lists(TEXT.map(lambda s: s.replace("*", "")), min_size=2, max_size=4))
    parts[0] = parts[0].lstrip(_JS_TRIM)
    parts[-1] = parts[-1].rstrip(_JS_TRIM)
    return Wildcard(tuple(parts))


VALUES = st.one_of(UNQUOTED, QUOTED, KEYWORDS, wildcards())
NOT_LONE = VALUES.filter(lambda v: not (isinstance(v, Wildcard) and v.is_lone))
FIELDS = st.one_of(UNQUOTED, QUOTED, KEYWORDS, wildcards())
EXISTS_FIELDS = FIELDS.filter(lambda v: not (isinstance(v, Wildcard) and v.is_lone))

LEAVES = st.one_of(
    st.builds(Is, FIELDS, NOT_LONE),
    st.builds(Range, st.one_of(FIELDS, st.just(Literal(None))), st.sampled_from(["lt", "lte", "gt", "gte"]), st.one_of(VALUES, st.just(Literal(None)))),
    st.builds(Exists, EXISTS_FIELDS),
    st.builds(FreeText, st.one_of(VALUES, st.just(Literal(None)))),
    st.just(MatchAll()),
)


def _trees(children):
    return st.one_of(
        st.builds(lambda xs: Or(tuple(xs)), st.lists(children, min_size=2, max_size=3)),
        st.builds(lambda xs: And(tuple(xs)), st.lists(children, min_size=2, max_size=3)),
        st.builds(Not, children),
        st.builds(Nested, FIELDS, children),
    )


TREES = st.recursive(LEAVES, _trees, max_leaves=8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_parse_render_round_trip(tree):
    text = render(tree)
    assert parse(text) == tree, text


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40))
def test_random_text_only_raises_kql_error(text):
    try:
        parse(text)
    except KqlError as exc:
        assert 1 <= exc.column and 1 <= exc.line
        assert str(exc)


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=20).map("".join))
def test_grammar_shaped_junk_only_raises_kql_error(text):
    try:
        parse(text)
    except KqlError:
        pass


SCHEMA = FieldSchema.from_mapping({"a": "keyword", "n": "long", "d": "date", "t": "text", "ip": "ip", "b": "boolean"})
QUERY_PIECES = st.sampled_from(
    ["a:", "n:", "d:", "t:", "ip:", "b:", "x:", "a <", "n >=", "d >", " and ", " or ", "not ", "(", ")", "*", '"q"',
     "1", "2024-01-01", "now-1d", "10.0.0.0/8", "true", "foo", "fo*", "{", "}", "null"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(QUERY_PIECES, max_size=8).map("".join), st.dictionaries(st.sampled_from(["a", "n", "d", "t", "ip", "b", "x"]),
       st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)), max_size=4))
def test_compile_and_explain_only_raise_kql_error_and_agree(query, doc):
    try:
        predicate = compile(query, SCHEMA)
    except KqlError:
        return
    result = predicate(doc)
    assert isinstance(result, bool)
    assert explain(query, doc, SCHEMA).result is result
