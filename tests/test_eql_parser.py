"""EQL parsing: accepted syntax, rendering back to text, located errors.

Each case names the section of the Elasticsearch EQL reference it checks ("syntax"
is the EQL syntax reference, "functions" the function reference, "pipes" the pipe
reference).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detection import eql
from detection.eql import ast as A
from detection.eql.errors import SYNTAX, UNSUPPORTED

# (query, canonical rendering, doc section)
ACCEPTED = [
    ('process where process.name == "svchost.exe"', None, "syntax: Basic syntax"),
    ('any where network.protocol == "http"', None, "syntax: Match any event category"),
    ('"my-event-category" where true', None, "syntax: Escape an event category"),
    ('"""my event category""" where true', '"my event category" where true', "syntax: Escape an event category"),
    ("any where `my-field` == 1 and `6myfield` == 2", None, "syntax: Escape a field name"),
    ("any where `my``field` == 1", None, "syntax: Escape a field name (double backticks)"),
    ("any where a < 1 and b <= 2 and c > 3 and d >= 4 and e != 5", None, "syntax: Comparison operators"),
    ('any where my_field : "doc*"', None, "syntax: Comparison operators (:)"),
    ('any where f like "VALUE*" or f like~ "value*"', None, "syntax: Pattern comparison keywords"),
    ('any where f regex "VALUE[^Z].?" or f regex~ "value[^z].?"', None, "syntax: Pattern comparison keywords"),
    ('any where f in ("Value-1", "VALUE2") and f in~ ("value-1") and f not in ("a") and f not in~ ("b")', None,
     "syntax: Lookup operators"),
    ('any where f : ("value-1", "value2") and f like ("Value-*", "VAL?")', None, "syntax: Lookup operators"),
    ("any where (4 / process.args_count) == 1", "any where 4 / process.args_count == 1", "syntax: Math operators"),
    ("any where a + b * c - d / e % f == 0", None, "syntax: Math operators"),
    ("file where true", None, "syntax: Match any condition"),
    ("network where ?user.id != null", None, "syntax: Optional fields"),
    ('any where f == "example \\r of \\" escaped \\n characters"', None, "syntax: Escape characters in a string"),
    ('any where f == "\\u{200f}"', 'any where f == "\\u{200f}"', "syntax: Escape characters (unicode)"),
    ('any where f == """Raw string with a literal double quote " and blackslash \\ included"""',
     'any where f == "Raw string with a literal double quote \\" and blackslash \\\\ included"',
     "syntax: Raw strings"),
    ('sequence [ file where file.extension == "exe" ] [ process where true ]',
     'sequence\n  [file where file.extension == "exe"]\n  [process where true]', "syntax: Sequences"),
    ("sequence with maxspan=15m [file where true] [process where true]",
     "sequence with maxspan=15m\n  [file where true]\n  [process where true]", "syntax: with maxspan"),
    ("sequence by host.name, user.name with maxspan=5s [authentication where true] "
     "![authentication where true]", None, "syntax: Missing events"),
    ("sequence by user.name [file where true] by file.path [process where true] by process.executable",
     None, "syntax: by keyword"),
    ("sequence by process.pid, ?process.entity_id [process where true] [network where true]", None,
     "syntax: Optional by fields"),
    ("sequence by ID [A where true] [B where true] until [C where true]", None, "syntax: until keyword"),
    ("sequence [process where true] [library where true] with runs=3 [registry where true]", None,
     "syntax: with runs statement"),
    ("sample by host [file where true] [process where true]", None, "syntax: Samples"),
    ('any where stringContains~(process.name, ".exe")', None, "syntax: Case-insensitive functions"),
    ("authentication where agent.id == 4624 | tail 10", None, "pipes: tail"),
    ('process where process.name == "powershell.exe" | head 3 | tail 1', None, "syntax: Pipes (chained)"),
    ("any where x == 1 // a comment\n and /* block /* nested */ */ y == 2", "any where x == 1 and y == 2",
     "grammar: LINE_COMMENT, BRACKETED_COMMENT"),
    ("@timestamp where true", None, "grammar: IDENTIFIER may start with @"),
]


def _canonical(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("text,rendered,doc", ACCEPTED, ids=[c[2] for c in ACCEPTED])
def test_accepted_queries_parse_and_render(text: str, rendered: str | None, doc: str) -> None:
    q = eql.parse(text)
    out = str(q)
    if rendered is not None:
        assert out == rendered
    else:
        assert _canonical(out) == _canonical(text.replace("[ ", "[").replace(" ]", "]"))
    # The rendering means the same thing: parsing it again gives an equal tree.
    assert eql.parse(out) == q


def test_precedence_not_binds_tighter_than_and_than_or() -> None:
    # syntax: Logical operators; grammar: NOT booleanExpression before AND before OR
    q = eql.parse("any where not a == 1 and b == 2 or c == 3")
    cond = q.body.condition
    assert isinstance(cond, A.BoolOp) and cond.op == "or"
    left = cond.operands[0]
    assert isinstance(left, A.BoolOp) and left.op == "and"
    assert isinstance(left.operands[0], A.Not)
    assert isinstance(left.operands[0].operand, A.Compare)


def test_arithmetic_precedence_and_unary_minus() -> None:
    # syntax: Math operators; * / % bind tighter than + -
    cond = eql.parse("any where -a + b * c == 1").body.condition
    assert isinstance(cond, A.Compare)
    add = cond.left
    assert isinstance(add, A.Arith) and add.op == "+"
    assert isinstance(add.left, A.Negate)
    assert isinstance(add.right, A.Arith) and add.right.op == "*"


def test_runs_expand_into_repeated_steps() -> None:
    # syntax: "with runs" - [q] with runs=3 is equivalent to writing [q] three times
    q = eql.parse("sequence [a where true] [b where true] with runs=3 [c where true]")
    stages = q.body.stages()
    assert [s.query.category for s in stages] == ["a", "b", "b", "b", "c"]


def test_missing_step_and_optional_field_are_recorded() -> None:
    q = eql.parse("sequence with maxspan=1h [a where true] ![b where ?x.y == 1] [c where true]")
    terms = q.body.terms
    assert [t.missing for t in terms] == [False, True, False]
    cmp = terms[1].query.condition
    assert isinstance(cmp.left, A.Field) and cmp.left.optional and cmp.left.name == "x.y"
    assert q.body.maxspan.nanos == 3600 * 10**9


def test_field_names_cover_conditions_and_join_keys() -> None:
    text = ("sequence by host.id [process where process.name : \"a\"] by process.entity_id "
            "[file where endsWith(file.path, \"x\")] by process.entity_id until [process where ?event.type == \"end\"] "
            "by process.entity_id")
    assert eql.field_names(text) == ["event.type", "file.path", "host.id", "process.entity_id", "process.name"]


def test_function_names_resolve_case_insensitively() -> None:
    # Elasticsearch resolves function names without regard to case.
    assert eql.parse('any where STARTSWITH(x, "a")').body.condition.name == "STARTSWITH"


# (query, line, column, code, message fragment, doc/grammar rule)
ERRORS = [
    ("", 1, 1, SYNTAX, "empty", "a query is required"),
    ("process where x = 1", 1, 17, SYNTAX, "'='", "syntax: = is not supported as an equal operator"),
    ("process where x == 'a'", 1, 20, SYNTAX, "single quotes", "syntax: single quotes are not supported"),
    ('process where x == ?"a"', 1, 20, SYNTAX, "raw strings", 'syntax: ?" does not indicate raw strings'),
    ("process where a == b", 1, 20, UNSUPPORTED, "another field", "syntax: Comparing fields"),
    ("process where length(a) < length(b)", 1, 27, UNSUPPORTED, "another field",
     "syntax: ... even if the fields are changed using a function"),
    ("process where 1 < x < 3", 1, 21, SYNTAX, "chained", "syntax: You cannot chain comparisons"),
    ('process where wildcard(x, "a*")', 1, 15, UNSUPPORTED, "unknown function", "wildcard removed in 8.0"),
    ("process where length(x, y) > 1", 1, 15, UNSUPPORTED, "takes 1 argument", "functions: length"),
    ("process where length~(x) > 1", 1, 15, UNSUPPORTED, "case-insensitive", "syntax: Case-insensitive functions"),
    ('process where add("a", 1) == 2', 1, 19, UNSUPPORTED, "must be a number", "functions: add"),
    ("process where length(x)", 1, 15, UNSUPPORTED, "true or false", "a condition must be boolean"),
    ("sequence [a where true]", 1, 1, UNSUPPORTED, "two steps", "grammar: sequenceTerm sequenceTerm+"),
    ("sequence [a where true] ![b where true]", 1, 25, UNSUPPORTED, "maxspan",
     "syntax: with maxspan is mandatory when missing event clauses are present"),
    ("sequence with maxspan=1h ![a where true] ![b where true]", 1, 1, UNSUPPORTED, "not a missing event",
     "syntax: needs to have at least one positive clause"),
    ("sequence with maxspan=5m by x [a where true] [b where true]", 1, 26, SYNTAX, "before 'with'",
     "grammar: sequence by comes before with"),
    ("sequence [a where true] by x [b where true]", 1, 30, UNSUPPORTED, "join keys",
     "syntax: by keyword (keys pair up across steps)"),
    ("sequence [a where true] [b where true] with runs=101", 1, 50, UNSUPPORTED, "between 1 and 100",
     "syntax: The runs value must be between 1 and 100"),
    ("sequence with maxspan=5 [a where true] [b where true]", 1, 25, SYNTAX, "time unit",
     "syntax: maxspan accepts time value arguments"),
    ('process where x == "a" | count', 1, 26, UNSUPPORTED, "not supported", "syntax: unsupported pipes"),
    ('process where x == "a" | head 0', 1, 31, UNSUPPORTED, "positive", "pipes: head <max>"),
    ("sample by x [a where true] | head 1", 1, 28, UNSUPPORTED, "sample", "Pipes are not supported for sample queries"),
    ("sample [a where true] [b where true]", 1, 1, UNSUPPORTED, "join key", "A sample query specifies at least one join key"),
    ("sample by h [a where true] [a where true] [a where true] [a where true] [a where true] [a where true]",
     1, 88, UNSUPPORTED, "at most 5", "samples take up to five filters"),
    ("process where x : 5", 1, 19, UNSUPPORTED, "must be a string", "syntax: : can only be used to compare strings"),
    ('process where x regex "a(b"', 1, 23, UNSUPPORTED, "regular expression", "syntax: regex"),
    ('process where x not like "a"', 1, 17, SYNTAX, "not like", "grammar: only in has a not form"),
    ("join [a where true] [b where true]", 1, 1, UNSUPPORTED, "join", "syntax: Joins are not supported"),
    ("PROCESS WHERE x == 1", 1, 9, SYNTAX, "'where'", "keywords are lower case"),
    ('process where cidrMatch(ip, "10.0.0.0/33")', 1, 29, UNSUPPORTED, "CIDR", "functions: cidrMatch"),
    ('process where x == "a\\q"', 1, 22, SYNTAX, "escape", "syntax: Escape characters in a string"),
    ('process where x == "\\u{1}"', 1, 21, SYNTAX, "unicode", "syntax: \\u{...} takes 2-8 hex digits"),
    ("process where x[0] == 1", 1, 16, UNSUPPORTED, "array indexes", "array indexes are not supported"),
    ("process where x in (y, 1)", 1, 21, UNSUPPORTED, "constants", "lookup lists hold values"),
    ("process where x == 99999999999999999999", 1, 20, SYNTAX, "too large", "integers are longs"),
    ("process where `a", 1, 15, SYNTAX, "backtick", "syntax: Escape a field name"),
    ("sequence -[a where true] [b where true]", 1, 10, SYNTAX, "'['", "syntax: Missing events use ![ ]"),
    ('process.name == "x"', 1, 8, SYNTAX, "'where'", "syntax: event_category where condition"),
    ("process where x == 1 /* open", 1, 22, SYNTAX, "comment", "grammar: BRACKETED_COMMENT"),
    ("any where (((x == 1)", 1, 21, SYNTAX, "')'", "parentheses must balance"),
    ("sequence\n  [process where true]\n  [file where x ==]\n", 3, 19, SYNTAX, "expected a value",
     "errors point into multi-line queries"),
]


@pytest.mark.parametrize("text,line,column,code,fragment,doc", ERRORS, ids=[e[5] for e in ERRORS])
def test_malformed_queries_give_located_errors(text: str, line: int, column: int, code: str,
                                               fragment: str, doc: str) -> None:
    with pytest.raises(eql.EqlError) as info:
        eql.parse(text)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert err.code == code
    assert fragment in err.message


def test_error_text_has_caret_under_the_column() -> None:
    with pytest.raises(eql.EqlError) as info:
        eql.parse('sequence\n  [process where x == 1]\n  [file where y === 2]')
    lines = str(info.value).splitlines()
    assert lines[0].startswith("line 3, column 19:")
    assert lines[1] == "    [file where y === 2]"
    assert lines[2].index("^") == lines[1].index("=== ") + 2  # the third '=' is the stray one


def test_nesting_limit_is_an_eql_error_not_a_recursion_error() -> None:
    deep = "any where " + "(" * 500 + "x == 1" + ")" * 500
    with pytest.raises(eql.EqlError, match="nests deeper"):
        eql.parse(deep)
    chain = "any where " + " + ".join(["x"] * 500) + " == 1"
    with pytest.raises(eql.EqlError, match="nests deeper"):
        eql.parse(chain)


def test_long_flat_boolean_chains_parse_and_compile() -> None:
    # and/or chains are flat n-ary nodes, so size does not turn into depth
    text = "any where " + " or ".join(f'x == "{i}"' for i in range(2000))
    q = eql.compile(text)
    assert q.matches({"x": "1999"}) and not q.matches({"x": "2000"})


def test_to_diagnostic_places_the_error_in_the_rule_file() -> None:
    with pytest.raises(eql.EqlError) as info:
        eql.parse("process where x = 1")
    # the query starts at line 12, column 9 of the rule file
    d = info.value.to_diagnostic("rules/a.toml", line=12, column=9)
    assert (d.location.path, d.location.line, d.location.column) == ("rules/a.toml", 12, 25)
    assert d.code == SYNTAX and d.hint
    assert d.format().startswith("rules/a.toml:12:25: EQL001 ")


def test_compile_rejects_non_query_input() -> None:
    with pytest.raises(eql.EqlError):
        eql.parse(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        eql.compile(42)  # type: ignore[arg-type]


# ---- property tests -------------------------------------------------------------------------

_PIECES = ["process", "any", "where", "sequence", "sample", "by", "with", "maxspan", "=", "5m", "runs", "until",
           "[", "]", "![", "(", ")", "and", "or", "not", "in", "in~", ":", "like", "like~", "regex", "==", "!=",
           "<", ">=", "+", "-", "*", "/", "%", ",", "|", "head", "tail", "3", "0", "1.5", "true", "false", "null",
           '"a*"', '"""r"""', "x", "a.b", "?c", "`d e`", "length(", "endsWith~(", "cidrMatch(", '"10.0.0.0/8"',
           "number(", "between(", "\n", "//c\n", "'", "\\", "~", "?", "@", "#", "\x00", "é"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_random_text_raises_only_eql_errors(text: str) -> None:
    try:
        eql.compile(text)
    except eql.EqlError as err:
        assert err.line >= 1 and err.column >= 1


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=25))
def test_token_soup_raises_only_eql_errors_and_round_trips(pieces: list[str]) -> None:
    text = " ".join(pieces)
    try:
        q = eql.parse(text)
    except eql.EqlError as err:
        assert err.line >= 1 and err.column >= 1
        return
    # Whatever parses renders to text that parses to the same tree, and compiles.
    assert eql.parse(str(q)) == q
    eql.compile(q).run([{"x": 1, "a": {"b": "a"}, "@timestamp": 1}])
