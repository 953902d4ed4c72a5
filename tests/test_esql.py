"""ES|QL subset engine: each case cites the Elasticsearch documentation it checks.

Doc references are paths under elastic/elasticsearch ``docs/reference/query-languages/esql/``
(abbreviated ``esql/``), or the Elasticsearch source/PR where the docs are silent.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detection import esql
from detection.diagnostics import Severity
from detection.esql import ast

NOW = "2024-05-15T12:00:00Z"


def evaluate(expr: str, event: dict | None = None, **kw):
    """The value of ``expr`` evaluated on one event (FROM) and the warnings it raised."""
    result = esql.execute(f"FROM logs | EVAL r = {expr} | KEEP r", [event or {}], now=NOW, **kw)
    return result.rows[0]["r"], result.warnings


def value(expr: str, event: dict | None = None, **kw):
    return evaluate(expr, event, **kw)[0]


def rows(query: str, events=(), **kw) -> list[dict]:
    return esql.run(query, list(events), now=NOW, **kw)


# --------------------------------------------------------------------------- literals

LITERALS = [
    # (expression, expected, documented behaviour)
    ('"a\\tb\\nc"', "a\tb\nc", "esql-syntax.md#string-literals: \\t \\n \\r escapes"),
    ('"say \\"hi\\""', 'say "hi"', "esql-syntax.md#string-literals: escaped quotes"),
    ('"""Indiana "Indy" Jones"""', 'Indiana "Indy" Jones', "esql-syntax.md#string-literals: triple quotes"),
    ('"""a\\*b"""', "a\\*b", "detailedDescription/like.md: no escape processing in triple quotes"),
    ('"""x""""', 'x"', "lexer/Expression.g4 QUOTED_STRING: up to two quotes after the closing ones"),
    ("1969", 1969, "esql-syntax.md#numeric-literals: integer notation"),
    ("3.14", 3.14, "esql-syntax.md#numeric-literals: decimal notation"),
    (".1234", 0.1234, "esql-syntax.md#numeric-literals: leading decimal point"),
    ("4E5", 400000.0, "esql-syntax.md#numeric-literals: scientific notation"),
    ("1.2e-3", 0.0012, "esql-syntax.md#numeric-literals: exponent with decimal point"),
    ("-.1e2", -10.0, "esql-syntax.md#numeric-literals: negative sign"),
    (
        "9223372036854775808",
        9.223372036854776e18,
        "esql-syntax.md: integers too large for long become double",
    ),
    ("true", True, "parser/Expression.g4 booleanValue"),
    ("null", None, "parser/Expression.g4 nullLiteral"),
    ("[1, 2, 3]", [1, 2, 3], "parser/Expression.g4 numericArrayLiteral (multi-value constant)"),
    ('["a", "b"]', ["a", "b"], "parser/Expression.g4 stringArrayLiteral"),
    ("[7]", 7, "esql-multivalued-fields.md: one value is a single value"),
]


@pytest.mark.parametrize(("expr", "expected", "doc"), LITERALS, ids=[c[2] for c in LITERALS])
def test_literal(expr, expected, doc):
    assert value(expr) == expected


TIMESPANS = [
    ("1 day", "2024-05-16T12:00:00.000Z", "esql-time-spans.md: day"),
    ("1day", "2024-05-16T12:00:00.000Z", "esql-syntax.md#timespan-literals: not whitespace sensitive"),
    ("2 h", "2024-05-15T14:00:00.000Z", "esql-time-spans.md: h abbreviation"),
    ("30 minutes", "2024-05-15T12:30:00.000Z", "esql-time-spans.md: minutes"),
    ("90 sec", "2024-05-15T12:01:30.000Z", "esql-time-spans.md: sec"),
    ("500 ms", "2024-05-15T12:00:00.500Z", "esql-time-spans.md: ms"),
    ("1 week", "2024-05-22T12:00:00.000Z", "esql-time-spans.md: week"),
    ("1 month", "2024-06-15T12:00:00.000Z", "esql-time-spans.md: month (calendar)"),
    ("1 quarter", "2024-08-15T12:00:00.000Z", "esql-time-spans.md: quarter"),
    ("1 yr", "2025-05-15T12:00:00.000Z", "esql-time-spans.md: yr"),
]


@pytest.mark.parametrize(("span", "expected", "doc"), TIMESPANS, ids=[c[2] for c in TIMESPANS])
def test_timespan_literal_in_date_arithmetic(span, expected, doc):
    assert value(f"NOW() + {span}") == expected


def test_month_arithmetic_clamps_the_day():
    # esql-time-spans.md: DATE_PERIOD is calendar arithmetic (java.time plusMonths clamps).
    assert value('TO_DATETIME("2024-01-31T00:00:00Z") + 1 month') == "2024-02-29T00:00:00.000Z"


# --------------------------------------------------------------------------- operators

OPERATORS = [
    ("7 / 2", 3, "operators.md#esql-div: integer division truncates"),
    ("-7 / 2", -3, "operators.md#esql-div: towards zero"),
    ("7.0 / 2", 3.5, "operators.md#esql-div: a double operand gives a double"),
    ("-7 % 3", -1, "operators.md#esql-mod: the remainder keeps the dividend's sign"),
    ("2 + 3 * 4", 14, "parser/Expression.g4: * binds tighter than +"),
    ("(2 + 3) * 4", 20, "parser/Expression.g4 parenthesizedExpression"),
    ("-2 * 3", -6, "parser/Expression.g4 arithmeticUnary"),
    ('"abc" == "abc"', True, "operators.md#esql-equals"),
    ('"abc" == "ABC"', False, "operators.md#esql-equals: case-sensitive"),
    ('"abc" =~ "ABC"', True, "lexer/Expression.g4 CIEQ: case-insensitive equality"),
    ('"b" > "a"', True, "operators.md#esql-greater_than: keywords order"),
    ("1 == 1.0", True, "operators.md#esql-equals: numeric types compare as numbers"),
    ("2 <= 1", False, "operators.md#esql-less_than_or_equal"),
    ('TO_IP("10.0.0.2") > TO_IP("10.0.0.10")', False, "types/greater_than.md: ip compares as an address"),
    (
        'TO_DATETIME("2024-01-02") > "2024-01-01T00:00:00Z"',
        True,
        "esql-time-spans.md: string literals cast to dates",
    ),
    ("1 IN (3, 1, 2)", True, "operators.md#esql-in"),
    ("4 NOT IN (1, 2)", True, "types/not in.md"),
    ('"x" IN ("a", null)', None, "esql-null-values.md: a comparison with null is null"),
    ('"a" IN ("a", null)', True, "operators.md#esql-in: a match decides"),
    ('"foobar" LIKE "foo*"', True, "layout/like.md: * matches zero or more characters"),
    ('"foobar" LIKE "fooba?"', True, "layout/like.md: ? matches one character"),
    ('"foobar" LIKE "Foo*"', False, "layout/like.md: LIKE is case-sensitive"),
    ('"foo * bar" LIKE """foo \\* bar"""', True, "detailedDescription/like.md: escaping *"),
    (
        '"foo * bar" LIKE "foo \\\\* bar"',
        True,
        "detailedDescription/like.md: double escaping in plain strings",
    ),
    ('"foobar" LIKE ("x*", "foo*")', True, "detailedDescription/like.md: a list matches if any pattern does"),
    ('"foobar" NOT LIKE "foo*"', False, "types/not like.md"),
    (
        '"foo ( bar" RLIKE """foo \\( bar"""',
        True,
        "detailedDescription/rlike.md: escaping special characters",
    ),
    ('"foobar" RLIKE ("x.*", "foo.*")', True, "detailedDescription/rlike.md: pattern lists"),
    ('"foobar" RLIKE "oba"', False, "layout/rlike.md: the pattern matches the whole value"),
    ('"a.exe" RLIKE ".*\\\\.(exe|dll)"', True, "Lucene RegExp: groups and alternation"),
    ('"x@y" RLIKE "x@"', True, "RLikePattern.java uses RegExp.ALL: @ is any string"),
    ('"ab1" RLIKE "[a-z]+\\\\d"', True, "Lucene RegExp: character classes and \\d"),
    ('"5" RLIKE "[^0-4]"', True, "Lucene RegExp: negated class"),
]


@pytest.mark.parametrize(("expr", "expected", "doc"), OPERATORS, ids=[c[2] for c in OPERATORS])
def test_operator(expr, expected, doc):
    assert value(expr) == expected


ROW_FAILURES = [
    ("1 / 0", "/ by zero", "operators.md#esql-div: division by zero is null with a warning"),
    ("9223372036854775807 + 1", "long overflow", "operators.md#esql-add: overflow is null with a warning"),
    ('TO_LONG("foo")', "Cannot parse number [foo]", "examples/to_long.md: unparsable string"),
    ('TO_IP("not-an-ip")', "not an IP", "type conversion functions: null when not convertible"),
    ('SUBSTRING("abc", 1, -1)', "Length parameter cannot be negative", "Substring.java"),
]


@pytest.mark.parametrize(("expr", "message", "doc"), ROW_FAILURES, ids=[c[2] for c in ROW_FAILURES])
def test_failure_on_a_row_is_null_with_a_warning(expr, message, doc):
    result, warnings = evaluate(expr)
    assert result is None
    assert len(warnings) == 1 and message in warnings[0].message
    # The warning points at the expression, like Elasticsearch's "Line 1:N: evaluation of [...]".
    assert warnings[0].expression == expr and warnings[0].line == 1 and warnings[0].column == 22


# --------------------------------------------------------------------------- null semantics

# esql-null-values.md#esql-null-boolean-logic: the AND / OR / NOT tables, cell by cell.
_TV = {"true": True, "false": False, "null": None}
AND_TABLE = [
    (
        a,
        b,
        (_TV[a] and _TV[b])
        if None not in (_TV[a], _TV[b])
        else (False if False in (_TV[a], _TV[b]) else None),
    )
    for a in _TV
    for b in _TV
]
OR_TABLE = [
    (
        a,
        b,
        (_TV[a] or _TV[b]) if None not in (_TV[a], _TV[b]) else (True if True in (_TV[a], _TV[b]) else None),
    )
    for a in _TV
    for b in _TV
]


@pytest.mark.parametrize(("left", "right", "expected"), AND_TABLE)
def test_and_table(left, right, expected):
    assert value(f"{left} AND {right}") is expected


@pytest.mark.parametrize(("left", "right", "expected"), OR_TABLE)
def test_or_table(left, right, expected):
    assert value(f"{left} OR {right}") is expected


@pytest.mark.parametrize(("operand", "expected"), [("true", False), ("false", True), ("null", None)])
def test_not_table(operand, expected):
    assert value(f"NOT {operand}") is expected


def test_kleene_tables_match_the_documented_cells():
    # A few cells written out, so the generated tables above cannot drift unnoticed.
    assert (("null", "false", False) in AND_TABLE) and (("true", "null", None) in AND_TABLE)
    assert (("null", "true", True) in OR_TABLE) and (("false", "null", None) in OR_TABLE)


NULLS = [
    ("x == NULL", None, "esql-null-values.md#esql-test-for-null: eq_null"),
    ("x != NULL", None, "esql-null-values.md#esql-test-for-null: neq_null"),
    ("x IS NULL", True, "esql-null-values.md#esql-test-for-null: is_null"),
    ("x IS NOT NULL", False, "operators.md#esql-is_not_null"),
    ("x < 100", None, "esql-null-values.md#esql-null-comparisons"),
    ("x + 1", None, "esql-null-values.md#esql-null-functions: null in, null out"),
    ("TO_UPPER(x)", None, "esql-null-values.md#esql-null-functions"),
    ('COALESCE(x, "Unknown")', "Unknown", "esql-null-values.md#esql-null-functions: COALESCE"),
    ('CONCAT("a", x)', None, "functions/concat: null if any argument is null"),
]


@pytest.mark.parametrize(("expr", "expected", "doc"), NULLS, ids=[c[2] for c in NULLS])
def test_null_semantics(expr, expected, doc):
    assert (
        value(expr, {"y": 1}) is expected
        if expected in (None, True, False)
        else value(expr, {"y": 1}) == expected
    )


def test_where_drops_false_and_null_rows():
    # esql-null-values.md#esql-where-null, and the process.name != "svchost.exe" example.
    events = [{"process": {"name": "svchost.exe"}}, {"process": {"name": "cmd.exe"}}, {"host": {"name": "h"}}]
    assert rows('FROM logs | WHERE process.name != "svchost.exe" | KEEP process.name', events) == [
        {"process.name": "cmd.exe"}
    ]
    assert len(rows('FROM logs | WHERE NOT process.name == "svchost.exe"', events)) == 1
    kept = rows(
        'FROM logs | WHERE process.name != "svchost.exe" OR process.name IS NULL | KEEP host.name', events
    )
    assert kept == [{"host.name": None}, {"host.name": "h"}]


def test_count_and_null_aggregates():
    # esql-null-values.md#esql-null-aggregates
    assert rows("ROW x = NULL | STATS rows = COUNT(*), values = COUNT(x), nulls = COUNT(NULL)") == [
        {"rows": 1, "values": 0, "nulls": 0}
    ]
    assert rows("ROW x = NULL | STATS sum_x = SUM(TO_INTEGER(x))") == [{"sum_x": None}]
    assert rows("ROW x = false | STATS c = COUNT(x)") == [{"c": 1}]


def test_grouping_by_null_makes_a_null_group():
    # esql-null-values.md#esql-null-aggregates: "Grouping by a NULL expression creates a group with a NULL key".
    events = [{"h": "a"}, {"u": 1}, {"u": 2}]
    out = rows("FROM logs | STATS c = COUNT(*) BY h | SORT h", events)
    assert out == [{"c": 1, "h": "a"}, {"c": 2, "h": None}]


# --------------------------------------------------------------------------- multi-values


def test_functions_on_multivalues_are_null_with_a_warning():
    # esql-multivalued-fields.md#esql-multivalued-fields-functions: FROM mv | EVAL b + 2, a + b
    result = esql.execute("FROM mv | EVAL b + 2, a + b | LIMIT 4", [{"a": 1, "b": [2, 1]}, {"a": 2, "b": 3}])
    assert result.columns == ["a", "b", "b + 2", "a + b"]
    assert [list(r.values()) for r in result.rows] == [[1, [1, 2], None, None], [2, 3, 5, 5]]
    assert [(w.line, w.column, w.expression, w.message) for w in result.warnings] == [
        (1, 16, "b + 2", "single-value function encountered multi-value"),
        (1, 23, "a + b", "single-value function encountered multi-value"),
    ]


def test_mv_min_works_around_the_limitation():
    # esql-multivalued-fields.md: FROM mv | EVAL b=MV_MIN(b) | EVAL b + 2, a + b
    result = esql.execute(
        "FROM mv | EVAL b=MV_MIN(b) | EVAL b + 2, a + b", [{"a": 1, "b": [2, 1]}, {"a": 2, "b": 3}]
    )
    assert [list(r.values()) for r in result.rows] == [[1, 1, 3, 2], [2, 3, 5, 5]]
    assert result.warnings == []


STORAGE = [
    ([2, 1], [1, 2], "esql-multivalued-fields.md: values frequently come back ascending"),
    (
        ["foo", "foo", "bar"],
        ["bar", "foo"],
        "esql-multivalued-fields.md#esql-multivalued-fields-dups: keyword dedupes",
    ),
    (["bar", "bar"], "bar", "esql-multivalued-fields.md#esql-multivalued-fields-dups"),
    ([2, 2, 1], [1, 2, 2], "esql-multivalued-fields.md: long keeps duplicates"),
    ([2, None, 1], [1, 2], "esql-multivalued-fields.md#esql-multivalued-nulls: nulls are not kept"),
    ([], None, "esql-null-values.md#esql-multivalued-null: an empty multi-value is null"),
]


@pytest.mark.parametrize(("stored", "seen", "doc"), STORAGE, ids=[c[2] for c in STORAGE])
def test_multivalues_as_stored(stored, seen, doc):
    assert rows("FROM mv | KEEP b", [{"b": stored}]) == [{"b": seen}]


MULTI = [
    ("b == 1", None, "esql-multivalued-fields.md: == on a multi-value is null"),
    ("b IN (1, 5)", None, "operators.md#esql-in: single-valued comparison"),
    ('b LIKE "*"', None, "layout/like.md: a single-valued operator"),
    ("b IS NULL", False, "esql-null-values.md#esql-multivalued-null: a multi-value is not null"),
    ("MV_COUNT(b)", 3, "mv-functions.md#esql-mv_count"),
    ("TO_STRING(b)", ["1", "2", "2"], "esql-multivalued-fields.md: TO_STRING keeps duplicates"),
    ("COALESCE(b, 0)", [1, 2, 2], "coalesce: the first non-null value, multi-values included"),
    ('TO_LOWER(["A", "B"])', ["a", "b"], "elastic/elasticsearch#124676: TO_LOWER processes all values"),
    ("LENGTH(s)", None, "esql-multivalued-fields.md: scalar functions return null on multi-values"),
]


@pytest.mark.parametrize(("expr", "expected", "doc"), MULTI, ids=[c[2] for c in MULTI])
def test_multivalue_semantics(expr, expected, doc):
    result, warnings = evaluate(expr, {"b": [2, 1, 2], "s": ["x", "yy"]})
    assert result == expected if not isinstance(expected, bool) else result is expected
    # Only the single-value operators and functions warn.
    assert bool(warnings) == (expected is None)


def test_where_on_multivalue_drops_the_row_with_a_warning():
    result = esql.execute('FROM t | WHERE tags == "a"', [{"tags": ["a", "b"]}, {"tags": "a"}])
    assert result.rows == [{"tags": "a"}]
    assert result.warnings[0].message == "single-value function encountered multi-value"


def test_stats_by_multivalued_key_puts_the_row_in_every_group():
    # layout/stats-by.md#esql-stats-mv-group
    assert rows('ROW i=1, a=["a", "b"] | STATS MIN(i) BY a | SORT a ASC') == [
        {"MIN(i)": 1, "a": "a"},
        {"MIN(i)": 1, "a": "b"},
    ]
    assert rows('ROW i=1, a=["a", "b"], b=[2, 3] | STATS MIN(i) BY a, b | SORT a ASC, b ASC') == [
        {"MIN(i)": 1, "a": "a", "b": 2},
        {"MIN(i)": 1, "a": "a", "b": 3},
        {"MIN(i)": 1, "a": "b", "b": 2},
        {"MIN(i)": 1, "a": "b", "b": 3},
    ]


def test_aggregates_see_every_value_of_a_multivalue():
    # layout/stats-by.md: MV_AVG first to average per row, so AVG itself counts each value.
    events = [{"n": [1, 3]}, {"n": 8}]
    assert rows("FROM t | STATS a = AVG(n), per_row = AVG(MV_AVG(n)), c = COUNT(n), m = MAX(n)", events) == [
        {"a": 4.0, "per_row": 5.0, "c": 3, "m": 8}
    ]


# --------------------------------------------------------------------------- functions

FUNCTIONS = [
    # strings
    ('TO_LOWER("Some Text")', "some text", "examples/to_lower.md"),
    ('TO_UPPER("abc")', "ABC", "string-functions.md#esql-to_upper"),
    ('LENGTH("héllo")', 5, "string-functions.md#esql-length: characters, not bytes"),
    ('SUBSTRING("Bamford", 1, 3)', "Bam", "examples/substring.md: first three characters"),
    ('SUBSTRING("Bamford", -3, 3)', "ord", "examples/substring.md: negative start counts from the end"),
    ('SUBSTRING("Bamford", 2)', "amford", "examples/substring.md: length omitted"),
    ('SUBSTRING("", 1)', None, "Substring.java: an empty string gives null"),
    ('CONCAT("a", "b", "c")', "abc", "string-functions.md#esql-concat"),
    ('STARTS_WITH("powershell.exe", "power")', True, "string-functions.md#esql-starts_with"),
    ('ENDS_WITH("powershell.exe", ".EXE")', False, "string-functions.md#esql-ends_with: case-sensitive"),
    ('TRIM("  x y  ")', "x y", "string-functions.md#esql-trim"),
    ('REPLACE("foo bar", "o+", "0")', "f0 bar", "description/replace.md: regex substitution"),
    ('REPLACE("2024-05", "(\\\\d+)-(\\\\d+)", "$2/$1")', "05/2024", "replace: Java $n group references"),
    ('SPLIT("foo;bar;baz", ";")', ["foo", "bar", "baz"], "examples/split.md"),
    ('SPLIT("foo", ";")', "foo", "split: one part is a single value"),
    ('LOCATE("hello", "ll")', 3, "description/locate.md: 1-based position"),
    ('LOCATE("hello", "z")', 0, "description/locate.md: 0 when absent"),
    ('LOCATE("hello", "l", 4)', 4, "locate: optional start position"),
    ('LEFT("abcdef", 2)', "ab", "string-functions.md#esql-left"),
    ('RIGHT("abcdef", 2)', "ef", "string-functions.md#esql-right"),
    # conditionals
    ('CASE(false, "a", true, "b", "c")', "b", "description/case.md: first true condition"),
    ('CASE(false, "a", "c")', "c", "description/case.md: odd count, last is the default"),
    ('CASE(false, "a", false, "b")', None, "description/case.md: even count, no match is null"),
    ('CASE(null, "a", "c")', "c", "description/case.md: null is not true"),
    ("COALESCE(null, null, 3)", 3, "coalesce: first non-null argument"),
    # math
    ("ABS(-5)", 5, "math-functions.md#esql-abs"),
    ("ROUND(6.8781, 1)", 6.9, "examples/round.md"),
    ("ROUND(2.5)", 3.0, "description/round.md: nearest integer (half away from zero)"),
    ("ROUND(-2.5)", -3.0, "Maths.round: half away from zero"),
    ("ROUND(1234, -2)", 1200, "description/round.md: negative precision"),
    ("FLOOR(1.8)", 1.0, "math-functions.md#esql-floor: a double stays a double"),
    ("CEIL(1.2)", 2.0, "math-functions.md#esql-ceil"),
    ("FLOOR(7)", 7, "math-functions.md#esql-floor: integers unchanged"),
    ("POW(2, 10)", 1024.0, "math-functions.md#esql-pow"),
    # conversions
    ("TO_STRING(1.0)", "1.0", "type-conversion: doubles print like Java"),
    ("TO_STRING(true)", "true", "type-conversion-functions.md#esql-to_string"),
    ('TO_STRING(TO_DATETIME("2024-05-01T10:00:00Z"))', "2024-05-01T10:00:00.000Z", "to_string of a date"),
    ('TO_LONG("2147483648.2")', 2147483648, "examples/to_long.md: decimals are truncated to whole"),
    ('TO_INTEGER("2147483648")', None, "to_integer: out of integer range is null"),
    ("TO_INTEGER(true)", 1, "description/to_integer.md: true is 1"),
    (
        'TO_INTEGER(TO_DATETIME("1970-01-01T00:00:01Z"))',
        1000,
        "description/to_integer.md: dates are epoch millis",
    ),
    ('TO_DOUBLE("1.5e3")', 1500.0, "type-conversion-functions.md#esql-to_double"),
    ('TO_BOOLEAN("TRUE")', True, "description/to_boolean.md: case-insensitive true"),
    ('TO_BOOLEAN("yes")', False, "description/to_boolean.md: anything else is false"),
    ("TO_BOOLEAN(0)", False, "description/to_boolean.md: 0 is false"),
    ('TO_IP("::ffff:10.0.0.1")', "10.0.0.1", "ip: IPv4-mapped addresses print as IPv4"),
    ('"123"::long + 1', 124, "operators.md#esql-cast-operator"),
    # IP
    ('CIDR_MATCH(TO_IP("127.0.0.2"), "127.0.0.2/32", "127.0.0.3/32")', True, "examples/cidr_match.md"),
    ('CIDR_MATCH(TO_IP("10.1.2.3"), "192.168.0.0/16")', False, "ip-functions.md#esql-cidr_match"),
    (
        'CIDR_MATCH(TO_IP("::1"), "127.0.0.0/8", "::1")',
        True,
        "detection-rules: a bare address is a one-address block",
    ),
    # dates
    (
        'DATE_TRUNC(1 hour, TO_DATETIME("2024-05-15T13:45:30Z"))',
        "2024-05-15T13:00:00.000Z",
        "date_trunc: fixed interval",
    ),
    (
        'DATE_TRUNC(60 seconds, "2024-05-15T13:45:30Z")',
        "2024-05-15T13:45:00.000Z",
        "detection-rules: 60-second window",
    ),
    (
        'DATE_TRUNC(1 week, TO_DATETIME("2024-05-15T13:45:30Z"))',
        "2024-05-13T00:00:00.000Z",
        "DateTrunc.java: weeks start Monday",
    ),
    (
        'DATE_TRUNC(1 month, TO_DATETIME("2024-05-15T13:45:30Z"))',
        "2024-05-01T00:00:00.000Z",
        "DateTrunc.java: month",
    ),
    (
        'DATE_TRUNC(3 months, TO_DATETIME("2024-05-15T13:45:30Z"))',
        "2024-04-01T00:00:00.000Z",
        "DateTrunc.java: quarter",
    ),
    (
        'DATE_TRUNC(1 year, TO_DATETIME("1991-06-26T00:00:00Z"))',
        "1991-01-01T00:00:00.000Z",
        "esql-time-spans.md: DATE_TRUNC year",
    ),
    ('DATE_EXTRACT("hour_of_day", TO_DATETIME("2024-05-15T13:45:30Z"))', 13, "parameters/date_extract.md"),
    (
        'DATE_EXTRACT("DAY_OF_WEEK", TO_DATETIME("2024-05-15T00:00:00Z"))',
        3,
        "ChronoField.DAY_OF_WEEK: Monday is 1",
    ),
    (
        'DATE_DIFF("minute", TO_DATETIME("2024-05-15T12:00:00Z"), NOW())',
        0,
        "date-time-functions.md#esql-date_diff",
    ),
    ('DATE_DIFF("hours", TO_DATETIME("2024-05-15T09:30:00Z"), NOW())', 2, "date_diff: whole units"),
    (
        'DATE_DIFF("month", TO_DATETIME("2024-01-31T00:00:00Z"), TO_DATETIME("2024-02-29T00:00:00Z"))',
        0,
        "date_diff: complete months",
    ),
    ("NOW()", "2024-05-15T12:00:00.000Z", "date-time-functions.md#esql-now"),
    (
        'BUCKET(TO_DATETIME("2024-05-15T13:45:30Z"), 1 hour)',
        "2024-05-15T13:00:00.000Z",
        "grouping-functions.md#esql-bucket",
    ),
    ("BUCKET(17, 5)", 15.0, "grouping-functions.md#esql-bucket: numeric span"),
    # multi-values
    ("MV_COUNT([3, 4])", 2, "mv-functions.md#esql-mv_count"),
    ('MV_DEDUPE(["a", "b", "a"])', ["a", "b"], "mv-functions.md#esql-mv_dedupe"),
    ('MV_CONCAT(["a", "b"], ", ")', "a, b", "mv-functions.md#esql-mv_concat"),
    ('MV_FIRST(SPLIT("x;y;z", ";"))', "x", "mv-functions.md#esql-mv_first: order from SPLIT"),
    ('MV_LAST(SPLIT("x;y;z", ";"))', "z", "mv-functions.md#esql-mv_last"),
    ("MV_MIN([3, 1, 2])", 1, "mv-functions.md#esql-mv_min"),
    ('MV_MAX(["b", "c", "a"])', "c", "mv-functions.md#esql-mv_max: keywords"),
    ("MV_SUM([1, 2, 3])", 6, "mv-functions.md#esql-mv_sum"),
    ("MV_AVG([1, 2])", 1.5, "mv-functions.md#esql-mv_avg"),
    ('MV_SORT([3, 1, 2], "DESC")', [3, 2, 1], "mv-functions.md#esql-mv_sort"),
    ("MV_SLICE([1, 2, 3, 4], 1, 2)", [2, 3], "mv-functions.md#esql-mv_slice"),
    ("MV_APPEND(1, [2, 3])", [1, 2, 3], "mv-functions.md#esql-mv_append"),
    ("MV_APPEND([1, 2], null)", None, "esql-null-values.md#esql-multivalued-null: MV_APPEND with null"),
]


@pytest.mark.parametrize(("expr", "expected", "doc"), FUNCTIONS, ids=[c[2] for c in FUNCTIONS])
def test_function(expr, expected, doc):
    assert value(expr) == expected


def test_functions_compare_dates_with_now_and_spans():
    # esql-time-spans.md "With arithmetic operators": WHERE @timestamp > NOW() - 1 hour
    events = [{"@timestamp": "2024-05-15T11:30:00Z"}, {"@timestamp": "2024-05-15T09:00:00Z"}]
    assert rows("FROM sample_data | WHERE @timestamp > NOW() - 1 hour", events) == [
        {"@timestamp": "2024-05-15T11:30:00.000Z"}
    ]


# --------------------------------------------------------------------------- aggregations

AGGREGATIONS = [
    ("COUNT(*)", 4, "esql-null-values.md: COUNT(*) counts rows"),
    ("COUNT()", 4, "esql-null-values.md: COUNT() counts rows"),
    ("COUNT(user)", 3, "esql-null-values.md: COUNT(field) counts non-null values"),
    ("COUNT_DISTINCT(user)", 2, "aggregation-functions.md#esql-count_distinct"),
    ("MIN(bytes)", 10, "aggregation-functions.md#esql-min"),
    ("MAX(user)", "bob", "aggregation-functions.md#esql-max: keywords"),
    ("SUM(bytes)", 100, "aggregation-functions.md#esql-sum"),
    ("AVG(bytes)", 25.0, "aggregation-functions.md#esql-avg"),
    ("VALUES(user)", ["alice", "bob"], "description/values.md: all distinct values as a multi-value"),
    ("MAX(@timestamp)", "2024-05-15T10:03:00.000Z", "aggregation-functions.md#esql-max: dates"),
    ("ROUND(AVG(bytes) * 2)", 50.0, "layout/stats-by.md: functions over aggregates"),
    ("COUNT(*) WHERE bytes > 20", 2, "layout/stats-by.md: per-aggregation WHERE"),
]


@pytest.mark.parametrize(("agg", "expected", "doc"), AGGREGATIONS, ids=[c[2] for c in AGGREGATIONS])
def test_aggregation(agg, expected, doc):
    events = [
        {"user": "alice", "bytes": 10, "@timestamp": "2024-05-15T10:00:00Z"},
        {"user": "bob", "bytes": 20, "@timestamp": "2024-05-15T10:03:00Z"},
        {"user": "alice", "bytes": 30, "@timestamp": "2024-05-15T10:01:00Z"},
        {"bytes": 40, "@timestamp": "2024-05-15T10:02:00Z"},
    ]
    assert rows(f"FROM t | STATS x = {agg}", events) == [{"x": expected}]


def test_stats_output_and_names():
    events = [{"h": "a", "n": 1}, {"h": "a", "n": 2}, {"h": "b", "n": 5}]
    # layout/stats-by.md: an unnamed aggregate is named after its text; BY columns come last.
    result = esql.execute("FROM t | STATS AVG(n), c = COUNT(*) BY h | SORT h", events)
    assert result.columns == ["AVG(n)", "c", "h"]
    assert result.rows == [{"AVG(n)": 1.5, "c": 2, "h": "a"}, {"AVG(n)": 5.0, "c": 1, "h": "b"}]
    # layout/stats-by.md: the backtick-quoted name refers to it later.
    assert rows("FROM t | STATS AVG(n) | EVAL r = ROUND(`AVG(n)`)", events) == [{"AVG(n)": 8 / 3, "r": 3.0}]
    # "If multiple columns have the same name, all but the rightmost column with this name will be ignored."
    assert rows("FROM t | STATS x = MIN(n), x = MAX(n)", events) == [{"x": 5}]
    # layout/stats-by.md: grouping by an expression, named after its text.
    out = rows("FROM t | STATS c = COUNT() BY LEFT(h, 1) | SORT `LEFT(h, 1)`", events)
    assert out == [{"c": 2, "LEFT(h, 1)": "a"}, {"c": 1, "LEFT(h, 1)": "b"}]


def test_stats_without_by_always_returns_one_row():
    # layout/stats-by.md: "If BY is omitted, the output table contains exactly one row".
    assert rows("FROM t | STATS c = COUNT(*), m = MAX(n)", []) == [{"c": 0, "m": None}]
    assert rows("FROM t | STATS c = COUNT(*) BY h", []) == []


def test_stats_by_only_lists_distinct_keys():
    events = [{"h": "a"}, {"h": "b"}, {"h": "a"}]
    assert rows("FROM t | STATS BY h | SORT h", events) == [{"h": "a"}, {"h": "b"}]


def test_stats_buckets_time_windows():
    # layout/stats-by.md + grouping-functions.md#esql-bucket: hourly counts.
    events = [
        {"@timestamp": t} for t in ("2024-05-15T10:05:00Z", "2024-05-15T10:55:00Z", "2024-05-15T11:01:00Z")
    ]
    out = rows("FROM t | STATS c = COUNT(*) BY hour = BUCKET(@timestamp, 1 hour) | SORT hour", events)
    assert out == [{"c": 2, "hour": "2024-05-15T10:00:00.000Z"}, {"c": 1, "hour": "2024-05-15T11:00:00.000Z"}]


# --------------------------------------------------------------------------- commands


def test_from_selects_events_by_index_pattern():
    # layout/from.md: comma-separated patterns with wildcards; events without _index always apply.
    events = [
        {"_index": "logs-endpoint.events.process-default", "n": 1},
        {"_index": ".ds-logs-system.security-default-2024.05.01-000001", "n": 2},
        {"_index": "metrics-x", "n": 3},
        {"n": 4},
    ]
    out = rows("FROM logs-endpoint.events.*, logs-system.security* | KEEP n", events)
    assert out == [{"n": 1}, {"n": 2}, {"n": 4}]
    assert rows("FROM logs-*, -logs-system* | KEEP n", events) == [{"n": 1}, {"n": 4}]
    assert rows('FROM "metrics-*" | KEEP n', events) == [{"n": 3}, {"n": 4}]


def test_from_metadata_columns():
    events = [
        {"_id": "a1", "_index": "logs-x", "_version": 2, "n": 1},
        {"_index": "logs-x", "_id": "a2", "_source": {"n": 2}},
    ]
    out = esql.execute("FROM logs-* METADATA _id, _index | KEEP _id, _index, n", events)
    assert out.rows == [{"_id": "a1", "_index": "logs-x", "n": 1}, {"_id": "a2", "_index": "logs-x", "n": 2}]
    # Without METADATA the metadata is not a column.
    assert esql.execute("FROM logs-*", events).columns == ["n"]


def test_nested_and_dotted_events_read_the_same():
    nested = {"process": {"name": "cmd.exe", "parent": {"name": "explorer.exe"}}}
    dotted = {"process.name": "cmd.exe", "process.parent.name": "explorer.exe"}
    mixed = {"process": {"name": "cmd.exe"}, "process.parent.name": "explorer.exe"}
    query = 'FROM logs | WHERE process.parent.name == "explorer.exe" | KEEP process.name'
    assert (
        rows(query, [nested])
        == rows(query, [dotted])
        == rows(query, [mixed])
        == [{"process.name": "cmd.exe"}]
    )
    # Arrays of objects flatten into multi-valued columns, as Elasticsearch indexes them.
    assert rows("FROM t | KEEP a.b", [{"a": [{"b": 2}, {"b": 1}]}]) == [{"a.b": [1, 2]}]


def test_row_command():
    # examples/row.csv-spec: ROW a = 1, b = "two", c = null
    assert rows('ROW a = 1, b = "two", c = null') == [{"a": 1, "b": "two", "c": None}]
    assert rows("ROW a = [2, 1]") == [{"a": [2, 1]}]


def test_eval_replaces_a_column_and_names_unnamed_ones():
    # layout/eval.md: "If a column with the same name already exists, the existing column is dropped."
    result = esql.execute("ROW height = 2, x = 1 | EVAL height = height * 3, height + 1", [])
    assert result.columns == ["x", "height", "height + 1"]
    assert result.rows == [{"x": 1, "height": 6, "height + 1": 7}]


KEEP_CASES = [
    ("KEEP c, a", ["c", "a"], "layout/keep.md: columns in the given order"),
    ("KEEP h*", ["h1", "h2"], "layout/keep.md: wildcard"),
    ("KEEP h*, *", ["h1", "h2", "a", "c"], "layout/keep.md: * is every other column"),
    ("KEEP *, h1", ["a", "c", "h2", "h1"], "layout/keep.md: a complete name beats *"),
    ("KEEP h1, h*", ["h1", "h2"], "layout/keep.md: a complete name beats a partial wildcard"),
    ("KEEP h*, *1", ["h2", "h1"], "layout/keep.md: equal wildcards, the rightmost wins"),
    ("KEEP *, a", ["c", "h1", "h2", "a"], "layout/keep.md: * has the lowest precedence"),
]


@pytest.mark.parametrize(("command", "columns", "doc"), KEEP_CASES, ids=[c[2] for c in KEEP_CASES])
def test_keep_precedence(command, columns, doc):
    result = esql.execute(f"ROW a = 1, c = 2, h1 = 3, h2 = 4 | {command}", [])
    assert result.columns == columns
    assert list(result.rows[0]) == columns


def test_keep_of_a_field_no_event_has_is_a_null_column():
    assert rows("FROM t | KEEP a, missing", [{"a": 1}]) == [{"a": 1, "missing": None}]


def test_drop():
    # layout/drop.md: names and wildcards
    assert esql.execute("ROW a = 1, h1 = 2, h2 = 3 | DROP h*", []).columns == ["a"]
    assert esql.execute("ROW a = 1, h1 = 2 | DROP a", []).columns == ["h1"]


def test_rename():
    # layout/rename.md: both syntaxes; an existing column with the new name is replaced.
    assert rows("ROW a = 1, b = 2 | RENAME a AS c") == [{"c": 1, "b": 2}]
    assert rows("ROW a = 1, b = 2 | RENAME c = a") == [{"c": 1, "b": 2}]
    assert rows("ROW a = 1, b = 2 | RENAME a AS b") == [{"b": 1}]
    assert rows("ROW a = 1 | RENAME a AS b, b AS c") == [{"c": 1}]


SORTS = [
    ("SORT n", [1, 3, None], "layout/sort.md: ascending by default, nulls last"),
    ("SORT n DESC", [None, 3, 1], "layout/sort.md: descending, nulls first"),
    ("SORT n ASC NULLS FIRST", [None, 1, 3], "layout/sort.md: NULLS FIRST"),
    ("SORT n DESC NULLS LAST", [3, 1, None], "layout/sort.md: NULLS LAST"),
]


@pytest.mark.parametrize(("command", "order", "doc"), SORTS, ids=[c[2] for c in SORTS])
def test_sort(command, order, doc):
    events = [{"n": 3}, {"k": 1}, {"n": 1}]
    assert [r["n"] for r in rows(f"FROM t | {command}", events)] == order


def test_sort_multivalues_and_tie_breakers():
    # layout/sort.md: lowest value ascending, highest descending; extra keys break ties.
    events = [{"n": [0, 9], "k": 1}, {"n": 5, "k": 2}, {"n": 5, "k": 1}]
    assert [r["k"] for r in rows("FROM t | SORT n, k", events)] == [1, 1, 2]
    assert [r["n"] for r in rows("FROM t | SORT n DESC, k DESC", events)] == [[0, 9], 5, 5]
    assert [r["k"] for r in rows("FROM t | SORT n DESC, k DESC", events)] == [1, 2, 1]


def test_limit_and_the_default_limit():
    events = [{"n": i} for i in range(1500)]
    assert len(rows("FROM t | LIMIT 3", events)) == 3
    # layout/limit.md: without LIMIT, at most 1000 rows are returned.
    assert len(rows("FROM t", events)) == 1000
    assert len(rows("FROM t", events, default_limit=5000)) == 1500


def test_mv_expand():
    # examples/mv_expand.csv-spec: one row per value; a null stays one row.
    events = [{"a": [1, 2], "b": "x"}, {"b": "y"}]
    assert rows("FROM t | MV_EXPAND a", events) == [
        {"a": 1, "b": "x"},
        {"a": 2, "b": "x"},
        {"a": None, "b": "y"},
    ]


def test_comments_are_ignored():
    # esql-syntax.md#esql-comments: // line comments and /* block */ comments (nestable).
    query = "FROM /* the index */ logs // comment\n| WHERE n > 1 /* a /* nested */ one */\n| KEEP n"
    assert rows(query, [{"n": 1}, {"n": 2}]) == [{"n": 2}]


def test_field_types_give_dates_and_ips_their_types():
    events = [
        {"t": "2024-05-15T10:00:00Z", "ip": "10.0.0.1"},
        {"t": "2024-05-15T09:00:00.5Z", "ip": "10.0.0.20"},
    ]
    # Without types, strings compare as strings; with them, as dates and addresses.
    typed = rows(
        "FROM x | STATS first = MIN(t), top = MAX(ip)", events, field_types={"t": "date", "ip": "ip"}
    )
    assert typed == [{"first": "2024-05-15T09:00:00.500Z", "top": "10.0.0.20"}]
    untyped = rows("FROM x | STATS top = MAX(ip)", events, field_types={})
    assert untyped == [{"top": "10.0.0.20"}]
    keyword = rows('FROM x | WHERE code == "4624"', [{"code": 4624}], field_types={"code": "keyword"})
    assert keyword == [{"code": "4624"}]


def test_number_compared_to_a_string_reads_as_a_keyword():
    # winlog.event_id is a keyword in ECS; fixtures often write it as a number.
    assert len(rows('FROM t | WHERE winlog.event_id == "4624"', [{"winlog": {"event_id": 4624}}])) == 1


# --------------------------------------------------------------------------- real rules

BRUTE_FORCE = """
from logs-system.security*, logs-windows.forwarded*, winlogbeat-* metadata _id, _version, _index
| where event.category == "authentication" and host.os.type == "windows" and event.action == "logon-failed" and
  winlog.logon.type == "Network" and source.ip is not null and winlog.computer_name is not null and
  not cidr_match(TO_IP(source.ip), "127.0.0.0/8", "::1") and
  not user.name in ("ANONYMOUS LOGON", "-") and not user.name like "*$" and user.domain != "NT AUTHORITY" and
  /* noisy failure status codes */
  not winlog.event_data.Status in ("0xc000015b", "0xc000005e", "0xc0000133", "0xc0000192", "0xc00000dc")
// truncate the timestamp to a 60-second window
| eval Esql.time_window = date_trunc(60 seconds, @timestamp)
| stats Esql.failed_auth_count = COUNT(*), Esql.target_user_name_values = VALUES(winlog.event_data.TargetUserName),
  Esql.error_codes = VALUES(winlog.event_data.Status) by winlog.computer_name, source.ip, Esql.time_window, winlog.logon.type
| where Esql.failed_auth_count >= 5
| KEEP winlog.computer_name, source.ip, Esql.time_window, winlog.logon.type, Esql.*
"""

RMM_VENDORS = """
from logs-endpoint.events.process-*, winlogbeat-* metadata _id, _version, _index
| where (host.os.type == "windows" or host.os.family == "windows")
    and event.category == "process" and event.type == "start" and process.name is not null
| eval Esql.rmm_vendor = case(
    process.name == "AnyDesk.exe", "AnyDesk",
    process.name like "ScreenConnect*.exe", "ScreenConnect",
    process.name == "teamviewer.exe", "TeamViewer",
    ""
  )
| where Esql.rmm_vendor != "" and Esql.rmm_vendor is not NULL
| stats Esql.vendor_count = count_distinct(Esql.rmm_vendor),
        Esql.vendors_seen = values(Esql.rmm_vendor),
        Esql.first_seen = min(@timestamp),
        Esql.last_seen = max(@timestamp)
  by host.name, host.id
| where Esql.vendor_count >= 2
| sort Esql.vendor_count desc
| keep host.id, host.name, Esql.*
"""

ACCOUNT_TAKEOVER = """
from logs-system.security*, winlogbeat-* metadata _id, _version, _index
| where event.category == "authentication" and event.action == "logged-in" and winlog.event_id == "4624" and
        event.outcome == "success" and source.ip is not null and source.ip != "127.0.0.1" and
        not to_string(source.ip) like "*::*" and not user.name like "*$"
| stats logon_count = COUNT(*) by user.name, source.ip
| stats
    Esql.max_logon = MAX(logon_count),
    Esql.min_logon = MIN(logon_count),
    Esql.source_ip_values = VALUES(source.ip),
    Esql.count_distinct = COUNT_DISTINCT(source.ip) by user.name
| where Esql.max_logon >= 10 and (Esql.min_logon >= 1 and Esql.min_logon <= 5) and Esql.count_distinct == 2
| eval source.ip = mv_first(Esql.source_ip_values)
| KEEP user.name, source.ip, Esql.*
"""


def _failed_logon(i: int, ip: str = "203.0.113.9") -> dict:
    return {
        "_index": ".ds-logs-system.security-default-2024.05.15-000001",
        "@timestamp": f"2024-05-15T10:00:{i:02d}Z",
        "event": {"category": "authentication", "action": "logon-failed"},
        "host": {"os": {"type": "windows"}},
        "winlog": {
            "logon": {"type": "Network"},
            "computer_name": "dc01",
            "event_data": {"TargetUserName": f"user{i % 3}", "Status": "0xc000006d"},
        },
        "source": {"ip": ip},
        "user": {"name": f"user{i % 3}", "domain": "CORP"},
    }


def test_rule_brute_force_from_one_source():
    alerts = rows(BRUTE_FORCE, [_failed_logon(i) for i in range(6)] + [_failed_logon(1, "127.0.0.1")])
    assert alerts == [
        {
            "winlog.computer_name": "dc01",
            "source.ip": "203.0.113.9",
            "Esql.time_window": "2024-05-15T10:00:00.000Z",
            "winlog.logon.type": "Network",
            "Esql.failed_auth_count": 6,
            "Esql.target_user_name_values": ["user0", "user1", "user2"],
            "Esql.error_codes": "0xc000006d",
        }
    ]
    assert rows(BRUTE_FORCE, [_failed_logon(i) for i in range(4)]) == []


def test_rule_multiple_rmm_vendors():
    def start(name: str, host: str, minute: int) -> dict:
        return {
            "@timestamp": f"2024-05-15T10:{minute:02d}:00Z",
            "host": {"os": {"type": "windows"}, "name": host, "id": host},
            "event": {"category": "process", "type": "start"},
            "process": {"name": name},
        }

    events = [
        start("AnyDesk.exe", "h1", 1),
        start("ScreenConnect.WindowsClient.exe", "h1", 2),
        start("AnyDesk.exe", "h2", 3),
        start("AnyDesk.exe", "h2", 4),
        start("notepad.exe", "h1", 5),
    ]
    assert rows(RMM_VENDORS, events) == [
        {
            "host.id": "h1",
            "host.name": "h1",
            "Esql.vendor_count": 2,
            "Esql.vendors_seen": ["AnyDesk", "ScreenConnect"],
            "Esql.first_seen": "2024-05-15T10:01:00.000Z",
            "Esql.last_seen": "2024-05-15T10:02:00.000Z",
        }
    ]


def test_rule_account_takeover_chains_two_stats():
    def logon(ip: str) -> dict:
        return {
            "event": {"category": "authentication", "action": "logged-in", "outcome": "success"},
            "winlog": {"event_id": "4624"},
            "source": {"ip": ip},
            "user": {"name": "svc"},
        }

    events = [logon("10.0.0.1")] * 12 + [logon("198.51.100.7")] * 2
    assert rows(ACCOUNT_TAKEOVER, events) == [
        {
            "user.name": "svc",
            "source.ip": "10.0.0.1",
            "Esql.max_logon": 12,
            "Esql.min_logon": 2,
            "Esql.source_ip_values": ["10.0.0.1", "198.51.100.7"],
            "Esql.count_distinct": 2,
        }
    ]


FIELD_NAMES = [
    (
        BRUTE_FORCE,
        [
            "@timestamp",
            "event.action",
            "event.category",
            "host.os.type",
            "source.ip",
            "user.domain",
            "user.name",
            "winlog.computer_name",
            "winlog.event_data.Status",
            "winlog.event_data.TargetUserName",
            "winlog.logon.type",
        ],
    ),
    (
        RMM_VENDORS,
        [
            "@timestamp",
            "event.category",
            "event.type",
            "host.id",
            "host.name",
            "host.os.family",
            "host.os.type",
            "process.name",
        ],
    ),
    (
        ACCOUNT_TAKEOVER,
        ["event.action", "event.category", "event.outcome", "source.ip", "user.name", "winlog.event_id"],
    ),
    ("FROM t | EVAL x = a | RENAME b AS c | KEEP x, c, d | SORT d", ["a", "b", "d"]),
]


@pytest.mark.parametrize(
    ("query", "fields"), FIELD_NAMES, ids=["brute_force", "rmm", "takeover", "rename_keep"]
)
def test_field_names_are_the_source_fields_read(query, fields):
    # Columns the query computes (Esql.*, EVAL and STATS outputs) are not source fields.
    assert esql.field_names(query) == fields


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    "query", [BRUTE_FORCE, RMM_VENDORS, ACCOUNT_TAKEOVER], ids=["brute_force", "rmm", "takeover"]
)
def test_render_round_trips_real_rules(query):
    parsed = esql.parse(query)
    text = parsed.render()
    assert esql.parse(text) == parsed
    assert text.startswith("FROM ") and "\n| WHERE " in text


RENDER = [
    ("FROM a | WHERE NOT (x OR y) AND z", "FROM a\n| WHERE NOT (x OR y) AND z"),
    ("FROM a | EVAL q = (1 + 2) * -b", "FROM a\n| EVAL q = (1 + 2) * -b"),
    ("FROM a | EVAL q = 1 - (2 - 3)", "FROM a\n| EVAL q = 1 - (2 - 3)"),
    ('FROM a | WHERE x like """a\\*"""', 'FROM a\n| WHERE x LIKE """a\\*"""'),
    ("FROM a | EVAL `my col` = 1, `and`.b = 2", "FROM a\n| EVAL `my col` = 1, `and.b` = 2"),
    ("from a | sort b desc nulls first | limit 5", "FROM a\n| SORT b DESC NULLS FIRST\n| LIMIT 5"),
    ("FROM a | STATS c = count(*) where x > 1 by h", "FROM a\n| STATS c = COUNT(*) WHERE x > 1 BY h"),
    ("FROM a | EVAL d = now() - 1 hour", "FROM a\n| EVAL d = NOW() - 1 hour"),
    ("FROM a | RENAME b = c", "FROM a\n| RENAME c AS b"),
]


@pytest.mark.parametrize(("text", "rendered"), RENDER, ids=[r[0] for r in RENDER])
def test_render(text, rendered):
    assert esql.parse(text).render() == rendered


def test_ast_equality_ignores_positions():
    a = esql.parse("FROM x | WHERE a == 1")
    b = esql.parse("FROM   x\n|   WHERE a==1")
    assert a == b
    where = b.commands[1]
    assert isinstance(where, ast.Where) and isinstance(where.condition, ast.Binary)
    assert (where.condition.pos, where.condition.end) == (19, 23)


# --------------------------------------------------------------------------- errors

SYNTAX_ERRORS = [
    ("", 1, 1, "empty query"),
    ("WHERE a == 1", 1, 1, "source command"),
    ("FROM logs | WHERE a = 1", 1, 21, "compare with '=='"),
    ("FROM logs | WHERE a == 1 == 2", 1, 26, "cannot be chained"),
    ("FROM logs\n| WHERE a == (1", 2, 16, "expected ')'"),
    ("FROM logs | EVAL x = foo(1)", 1, 22, "unknown function [foo]"),
    ("FROM logs | EVAL x = SUBSTRING(a)", 1, 22, "SUBSTRING takes 2 to 3 arguments"),
    ('FROM logs | WHERE a == "x', 1, 24, "unterminated string"),
    ('FROM logs | WHERE a LIKE "\\q"', 1, 27, "invalid escape"),
    ('FROM logs | WHERE a LIKE "a\\\\b"', 1, 26, "invalid escape in LIKE"),
    ("FROM logs | EVAL x = 3 furlongs", 1, 24, "time span unit"),
    ("FROM logs | BOGUS", 1, 13, "unknown command"),
    ("FROM logs | LIMIT x", 1, 19, "whole number"),
    ("FROM logs | STATS", 1, 13, "STATS needs"),
    ("FROM logs | STATS c = host.name", 1, 23, "must appear in the STATS BY clause"),
    ("FROM logs | STATS c = MAX(COUNT(*))", 1, 27, "cannot be nested"),
    ("FROM logs | WHERE MAX(a) > 1", 1, 19, "only allowed in STATS"),
    ("FROM logs | STATS c = COUNT(*) | KEEP host.name", 1, 39, "Unknown column [host.name]"),
    ("FROM logs | STATS c = COUNT(*) BY h\n| WHERE user == 1", 2, 9, "Unknown column [user]"),
    ("FROM logs | KEEP a | EVAL b = c", 1, 31, "Unknown column [c]"),
    ("FROM logs | WHERE _id == 1", 1, 19, "Unknown column [_id]"),
    ("ROW a = 1 | DROP b*", 1, 18, "No matches found for pattern [b*]"),
    ("FROM logs | WHERE " + "(" * 70 + "a", 1, 1, "nested too deeply"),
]


@pytest.mark.parametrize(
    ("query", "line", "column", "message"), SYNTAX_ERRORS, ids=[e[3] for e in SYNTAX_ERRORS]
)
def test_errors_are_located(query, line, column, message):
    with pytest.raises(esql.EsqlError) as info:
        esql.parse(query)
    error = info.value
    assert message in error.message
    if message != "nested too deeply":
        assert (error.line, error.column) == (line, column)
    assert not isinstance(error, esql.EsqlUnsupported)


UNSUPPORTED = [
    ('FROM logs | DISSECT message "%{a} %{b}"', 1, 13, "DISSECT"),
    ('FROM logs-* | grok process.command_line """e=(?<Esql.server>[^&]+)"""', 1, 15, "GROK"),
    ("FROM logs | ENRICH policy ON host.name", 1, 13, "ENRICH"),
    ("FROM logs\n| LOOKUP JOIN threat_intel ON source.ip", 2, 3, "LOOKUP JOIN"),
    ("FROM logs | INLINE STATS m = MAX(a) BY b", 1, 13, "INLINE STATS"),
    ("FROM logs | INLINESTATS m = MAX(a)", 1, 13, "INLINESTATS"),
    ("FROM logs | FORK (WHERE a > 1) (WHERE a < 1)", 1, 13, "FORK"),
    ("SHOW INFO", 1, 1, "SHOW"),
    ('FROM logs | WHERE MATCH(message, "error")', 1, 19, "MATCH"),
    ('FROM logs | WHERE KQL("a : b", {"case_insensitive": true})', 1, 53, "case_insensitive"),
    ("FROM logs | STATS p = PERCENTILE(a, 95)", 1, 23, "PERCENTILE"),
    ('FROM logs | EVAL d = DATE_FORMAT("yyyy", @timestamp)', 1, 22, "DATE_FORMAT"),
    ('FROM logs | WHERE message : "error"', 1, 27, "match operator"),
    ("FROM logs | WHERE a == ?value", 1, 24, "query parameters"),
    ('FROM logs | WHERE a RLIKE "x&y"', 1, 29, "intersection"),
    (
        "FROM logs | STATS c = COUNT(*) BY BUCKET(@timestamp, 20, NOW() - 1 day, NOW())",
        1,
        35,
        "BUCKET with 4 arguments",
    ),
    ("FROM <logs-{now/d}>", 1, 6, "date math"),
]


@pytest.mark.parametrize(("query", "line", "column", "name"), UNSUPPORTED, ids=[u[3] for u in UNSUPPORTED])
def test_unsupported_features_are_refused_by_name_and_position(query, line, column, name):
    with pytest.raises(esql.EsqlUnsupported) as info:
        esql.parse(query)
    error = info.value
    assert name in error.message
    assert (error.line, error.column) == (line, column)
    assert isinstance(error, esql.EsqlError)


def test_error_text_has_a_caret_excerpt_and_hint():
    with pytest.raises(esql.EsqlError) as info:
        esql.parse('FROM logs\n| STATS c = COUNT(*) BY host.name\n| WHERE user.name == "x"')
    text = str(info.value)
    assert text.splitlines()[0] == "line 3:9: Unknown column [user.name]"
    assert text.splitlines()[1:3] == ['    | WHERE user.name == "x"', "            ^"]
    assert "hint: did you mean [host.name]?" in text


def test_error_as_a_project_diagnostic():
    with pytest.raises(esql.EsqlUnsupported) as info:
        esql.parse('FROM logs | DISSECT message "%{a}"')
    diagnostic = info.value.diagnostic("rules/x.toml", line_offset=10, column_offset=4)
    assert diagnostic.format(with_hint=False) == (
        "rules/x.toml:11:17: ESQL002 the DISSECT command is not supported by this engine"
    )
    result = esql.execute("ROW a = 1 / 0", [])
    warning = result.warnings[0].diagnostic("rules/x.toml", line_offset=10)
    assert warning.severity is Severity.WARNING and warning.location.line == 11


def test_type_mismatch_at_run_time_is_located():
    # Elasticsearch refuses such operands when planning ("cannot compare ... ").
    with pytest.raises(esql.EsqlError) as info:
        rows('FROM t | WHERE n > "abc"', [{"n": 5}])
    assert (info.value.line, info.value.column) == (1, 16)
    assert "cannot compare [integer] with [keyword]" in info.value.message
    with pytest.raises(esql.EsqlError, match="condition must be a boolean"):
        rows("FROM t | WHERE n", [{"n": 5}])


def test_bad_events_and_now_are_input_errors():
    with pytest.raises(esql.EsqlError, match="event #2 is a list"):
        rows("FROM t", [{"a": 1}, [1, 2]])
    with pytest.raises(esql.EsqlError, match="now"):
        esql.run("ROW a = NOW()", [], now="yesterday")


# --------------------------------------------------------------------------- robustness

_QUERY_ALPHABET = string.ascii_letters + string.digits + " |=!<>()[]{},.*\"`:/+-%?@_\n\\'#&~"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_QUERY_ALPHABET, max_size=80))
def test_random_text_only_ever_raises_esql_error(text):
    try:
        query = esql.parse(text)
    except esql.EsqlError:
        return
    # Whatever parses also renders to text that parses to the same tree, and runs.
    assert esql.parse(query.render()) == query
    try:
        esql.run(query, [{"a": 1, "b": "x"}], now=NOW)
    except esql.EsqlError:
        pass


_FIELDS = st.sampled_from(["a", "b", "c.d", "n", "@timestamp", "`x y`"])
_LITERALS = st.sampled_from(
    ["1", "-2", "2.5", '"abc"', "null", "true", "[1, 2]", '["p", "q"]', "1 hour", '"10.0.0.1"']
)
_EXPRS = st.recursive(
    st.one_of(_FIELDS, _LITERALS),
    lambda inner: st.one_of(
        st.builds(
            lambda a, op, b: f"{a} {op} {b}",
            inner,
            st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "and", "or"]),
            inner,
        ),
        st.builds(lambda a: f"NOT {a}", inner),
        st.builds(lambda a: f"({a})", inner),
        st.builds(
            lambda f, a: f"{f}({a})",
            st.sampled_from(
                ["TO_LOWER", "LENGTH", "ABS", "TO_STRING", "MV_COUNT", "TO_LONG", "MV_MAX", "TO_IP"]
            ),
            inner,
        ),
        st.builds(
            lambda f, a, b: f"{f}({a}, {b})",
            st.sampled_from(["CONCAT", "COALESCE", "SUBSTRING", "STARTS_WITH", "DATE_TRUNC", "CIDR_MATCH"]),
            inner,
            inner,
        ),
        st.builds(lambda a, b, c: f"CASE({a}, {b}, {c})", inner, inner, inner),
        st.builds(lambda a, b: f"{a} IN ({b}, 1)", inner, inner),
        st.builds(lambda a: f"{a} IS NOT NULL", inner),
        st.builds(lambda a, p: f"{a} LIKE {p}", inner, st.sampled_from(['"a*"', '"""x?"""', '("a*", "b")'])),
        st.builds(lambda a: f"{a}::long", inner),
    ),
    max_leaves=6,
)
_COMMANDS = st.one_of(
    st.builds(lambda e: f"WHERE {e}", _EXPRS),
    st.builds(lambda e: f"EVAL e = {e}", _EXPRS),
    st.builds(lambda e, by: f"STATS s = COUNT(*), m = MAX({e}) BY {by}", _FIELDS, _FIELDS),
    st.builds(lambda e: f"SORT {e} DESC NULLS LAST", _EXPRS),
    st.sampled_from(["KEEP a, c*", "DROP b", "RENAME a AS z", "LIMIT 2", "MV_EXPAND c.d"]),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_COMMANDS, min_size=1, max_size=4))
def test_generated_queries_run_or_fail_with_esql_error(commands):
    text = "FROM logs-* | " + " | ".join(commands)
    events = [
        {"a": 1, "b": "x", "c": {"d": [1, 2]}, "n": 5, "@timestamp": "2024-05-15T10:00:00Z", "x y": "z"},
        {"a": "s", "b": ["p", "q"], "n": 2.5},
        {"a": [True, False], "n": [1, 2]},
    ]
    try:
        query = esql.parse(text)
        assert esql.parse(query.render()) == query
        result = esql.execute(query, events, now=NOW)
    except esql.EsqlError:
        return
    assert all(set(row) == set(result.columns) for row in result.rows)


def test_a_field_schema_types_the_events():
    # The project's FieldSchema (ECS) answers type_of(name): source.ip is an ip, process.pid a long.
    from detection.fields import default_schema

    events = [
        {"source": {"ip": "10.0.0.9"}, "process": {"pid": "12"}},
        {"source": {"ip": "10.0.0.10"}, "process": {"pid": 12}},
    ]
    out = rows(
        "FROM t | STATS top = MAX(source.ip), c = COUNT(*) BY process.pid",
        events,
        field_types=default_schema(),
    )
    assert out == [{"top": "10.0.0.10", "c": 2, "process.pid": 12}]


def test_long_or_chains_parse_render_and_run():
    # Rules written without IN chain many ORs; the tree stays within Python's recursion limit.
    query = "FROM t | WHERE " + " OR ".join(f"x == {i}" for i in range(240))
    parsed = esql.parse(query)
    assert esql.parse(parsed.render()) == parsed
    assert rows(query, [{"x": 239}, {"x": 500}]) == [{"x": 239}]
    with pytest.raises(esql.EsqlError, match="more than 250 chained operators"):
        esql.parse("FROM t | WHERE " + " OR ".join(f"x == {i}" for i in range(300)))


def test_unnamed_columns_keep_their_spelling():
    # layout/stats-by.md: the column is named after the expression as written.
    assert esql.parse("FROM t | STATS count(*)") != esql.parse("FROM t | STATS COUNT(*)")
    assert esql.execute("FROM t | STATS count(*)", []).columns == ["count(*)"]


PORT_SCAN = """
from logs-endpoint.events.network-* metadata _id, _index, _version
| mv_expand event.action
| where host.os.type == "linux" and event.type == "start" and event.action == "connection_attempted" and
    network.direction == "egress" and destination.port < 32768 and
    not (cidr_match(destination.ip, "127.0.0.0/8", "::1", "FE80::/10", "FF00::/8") or process.name like "python*")
| keep @timestamp, _id, _index, _version, destination.port, process.executable, destination.ip, agent.id, host.name
| stats Esql.event_count = count(), Esql.destination_port_count_distinct = count_distinct(destination.port),
    Esql.agent_id_count_distinct = count_distinct(agent.id), Esql.host_name_values = values(host.name),
    Esql.agent_id_values = values(agent.id) by process.executable, destination.ip
| where Esql.agent_id_count_distinct == 1 and Esql.destination_port_count_distinct > 100
| sort Esql.event_count asc
// Extract unique values to ECS fields for alerts exclusion
| eval agent.id = mv_min(Esql.agent_id_values), host.name = mv_min(Esql.host_name_values)
| keep agent.id, host.name, process.executable, destination.ip, Esql.*
"""


def test_rule_port_scan_expands_then_aggregates():
    def attempt(port: int, ip: str) -> dict:
        return {
            "_index": "logs-endpoint.events.network-default",
            "host": {"os": {"type": "linux"}, "name": "web1"},
            "event": {"type": "start", "action": ["connection_attempted", "connection_accepted"]},
            "network": {"direction": "egress"},
            "destination": {"port": port, "ip": ip},
            "process": {"executable": "/tmp/scan", "name": "scan"},
            "agent": {"id": "a1"},
        }

    events = [attempt(p, "10.0.0.7") for p in range(1, 150)] + [
        attempt(p, "127.0.0.1") for p in range(1, 150)
    ]
    assert rows(PORT_SCAN, events) == [
        {
            "agent.id": "a1",
            "host.name": "web1",
            "process.executable": "/tmp/scan",
            "destination.ip": "10.0.0.7",
            "Esql.event_count": 149,
            "Esql.destination_port_count_distinct": 149,
            "Esql.agent_id_count_distinct": 1,
            "Esql.host_name_values": "web1",
            "Esql.agent_id_values": "a1",
        }
    ]


def test_check_reports_fields_and_output_columns():
    analysis = esql.check(PORT_SCAN)
    assert analysis.columns[:4] == ["agent.id", "host.name", "process.executable", "destination.ip"]
    assert "Esql.event_count" in analysis.columns and not analysis.open_output
    assert "destination.port" in analysis.source_fields and "Esql.event_count" not in analysis.source_fields
    assert esql.check("FROM t | WHERE a > 1").open_output


def test_values_a_type_cannot_hold_are_ignored_with_a_warning():
    result = esql.execute(
        "FROM t | KEEP @timestamp, n", [{"@timestamp": "not a date", "n": 1}], field_types=None
    )
    assert result.rows == [{"@timestamp": None, "n": 1}]
    assert "is not a valid date" in result.warnings[0].message
