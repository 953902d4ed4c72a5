"""EQL event queries: operators, functions, nulls, multi-valued fields, field lookup, ordering.

Every case cites the Elasticsearch reference it checks: "syntax" is the EQL syntax
reference, "functions" the EQL function reference, "pipes" the EQL pipe reference,
"search" the EQL search page; "translator" means Elasticsearch's QL query translation
(ExpressionTranslators), which decides how a comparison runs as a Lucene query.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detection import eql

EVENT = {
    "@timestamp": "2099-12-07T11:07:09.000Z",
    "event": {"category": ["process", "start"], "code": 4624},
    "process": {
        "name": "regsvr32.exe",
        "pid": "2012",
        "args": ["/s", "/u", "scrobj.dll"],
        "args_count": 4,
        "parent": {"args_count": 2},
        "command_line": "start regsvr32.exe",
        "executable": "C:\\Windows\\System32\\regsvr32.exe",
    },
    "file.path": "C:\\Windows\\System32\\cmd.exe",  # a flat dotted key
    "url": {"domain": "subdomain.example.com"},
    "source": {"address": "192.168.152.12", "ip": "2001:db8::1"},
    "user": {"id": None, "name": "Root"},
    "flag": True,
    "empty": [],
    "hosts": [{"name": "a"}, {"name": "b"}],  # an array of objects
}

# (condition, expected, doc)
CONDITIONS = [
    # comparison operators
    ('process.name == "regsvr32.exe"', True, "syntax: == (equal, case-sensitive)"),
    ('process.name == "REGSVR32.EXE"', False, "syntax: == is case-sensitive"),
    ('process.name == "regsvr*"', False, "syntax: == and != do not expand wildcard characters"),
    ('process.name : "REGSVR32.EXE"', True, "syntax: : (equal, case-insensitive)"),
    ('process.name : "reg*.exe"', True, "syntax: Wildcards (*)"),
    ('process.name : "regsvr??.exe"', True, "syntax: Wildcards (?)"),
    ('process.name : "regsvr?.exe"', False, "syntax: ? matches exactly one character"),
    ('process.name : ("x", "REG*")', True, "syntax: Lookup operators (: with a list)"),
    ('process.name != "cmd.exe"', True, "syntax: != (not equal)"),
    ("process.args_count < 5 and process.args_count <= 4 and process.args_count > 3 and process.args_count >= 4",
     True, "syntax: Comparison operators"),
    ('process.name > "q" and process.name < "s"', True, "syntax: > uses case-sensitive lexicographic order"),
    ('process.name > "R"', True, "syntax: lexicographic order is case-sensitive ('r' > 'R')"),
    # pattern keywords
    ('process.name like "regsvr*"', True, "syntax: like (case-sensitive)"),
    ('process.name like "REGSVR*"', False, "syntax: like is case-sensitive"),
    ('process.name like~ "REGSVR*"', True, "syntax: like~ (case-insensitive)"),
    ('process.name like ("x*", "r?gsvr32.exe")', True, "syntax: like with a list"),
    ('process.name regex "reg[a-z]+32\\\\.exe"', True, "syntax: regex (case-sensitive)"),
    ('process.name regex "reg"', False, "regexp syntax: patterns are anchored to the whole value"),
    ('process.name regex "REG.*"', False, "syntax: regex is case-sensitive"),
    ('process.name regex~ "REG.*"', True, "syntax: regex~ (case-insensitive)"),
    ('process.name regex "@\\\\.exe"', True, "regexp syntax: @ matches any string"),
    ('process.name regex "\\"regsvr32.\\"exe"', True, 'regexp syntax: "..." quotes a literal run'),
    ('process.executable : "C:\\\\Windows\\\\System32\\\\*"', True,
     "syntax: wildcards - a backslash is a literal character"),
    ('process.executable like """C:\\Windows\\System32\\regsvr32.exe"""', True, "syntax: Raw strings"),
    # lookups
    ('process.name in ("cmd.exe", "regsvr32.exe")', True, "syntax: in (case-sensitive)"),
    ('process.name in ("REGSVR32.EXE")', False, "syntax: in is case-sensitive"),
    ('process.name in~ ("REGSVR32.EXE")', True, "syntax: in~ (case-insensitive)"),
    ('process.name not in ("cmd.exe")', True, "syntax: not in"),
    ('process.name not in~ ("REGSVR32.EXE")', False, "syntax: not in~"),
    ("process.args_count in (1, 4, null)", True, "syntax: in with numbers; a null in the list is ignored"),
    # logic and precedence
    ('not process.name == "cmd.exe" and process.pid == 1 or flag', True, "syntax: Logical operators"),
    ('not (process.name == "regsvr32.exe" or flag)', False, "syntax: not"),
    ("true", True, "syntax: Match any condition (where true)"),
    ("false", False, "syntax: where false matches nothing"),
    # math
    ("process.args_count + 1 == 5 and process.args_count - 1 == 3", True, "syntax: Math operators"),
    ("process.args_count * 2 == 8 and process.args_count % 3 == 1", True, "syntax: Math operators"),
    ("(4 / process.args_count) == 1", True, "syntax: / (4 / 4)"),
    ("(5 / process.args_count) == 1", True, "syntax: / rounds down integer division (5 / 4 == 1)"),
    ("(5.0 / process.args_count) == 1.25", True, "syntax: / with a float keeps the fraction"),
    ("-process.args_count == -4", True, "grammar: unary minus"),
    # nulls and optional fields
    ("user.id == null", True, "syntax: Check if a field exists (== null: no value)"),
    ("user.id != null", False, "syntax: Check if a field exists (an explicit null is no value)"),
    ("?no.such.field == null", True, "syntax: Optional fields (an absent field is null)"),
    ("?no.such.field != null", False, "syntax: Optional fields (network where null != null matches nothing)"),
    ("no.such.field == 1", False, "comparisons with a missing value are false"),
    ("no.such.field < 1 or no.such.field >= 1", False, "comparisons with a missing value are false"),
    ('no.such.field != "x"', True, "translator: != is must_not(term), which a missing field satisfies"),
    ('no.such.field not in ("x")', True, "translator: not in is must_not(terms)"),
    ('not no.such.field == "x"', True, "translator: not negates the term query"),
    ("empty == null", True, "an empty array has no value"),
    ("?no.such.field", False, "optionalMissingFieldImplicitBooleanEquality: a missing field is not true"),
    ("1 < null", False, "comparisons with null are false"),
    ("null == null", True, "== null is an existence test, and null has no value"),
    ("length(no.such.field) == null", True, "functions: length(null) returns null"),
    ("length(no.such.field) != 3", False, "a computed null compares false"),
    # multi-valued fields
    ('process.args == "/u"', True, "multi-value support (#76610): any value may match"),
    ('process.args : "SCROBJ*"', True, "multi-value support: any value may match :"),
    ('process.args != "/u"', False, "translator: != is must_not(term); one value equals"),
    ('process.args != "/x"', True, "translator: no value equals"),
    ('process.args in ("/x", "/s")', True, "multi-value support: in on any value"),
    ('startsWith(process.args, "scr")', True, "multi-value support: functions see each value"),
    ("length(process.args) == 2", True, "multi-value support: length of any value ('/s')"),
    ('hosts.name == "b"', True, "arrays of objects flatten into the field's values"),
    ('event.category == "start"', True, "ECS event.category is an array"),
    # case sensitivity of keyword comparisons on numbers stored as JSON numbers
    ('event.code == "4624"', True, "keyword fields index numbers as text (event.code : \"4624\")"),
    ('event.code : "46*"', True, "syntax: : on a keyword value"),
    ("process.pid == 2012", True, "numeric fields coerce numeric strings"),
    ("process.pid > 2000", True, "numeric comparison of a numeric string"),
    # booleans
    ("flag", True, "a boolean field is a condition"),
    ("flag == true", True, "syntax: booleans"),
    ("not flag", False, "syntax: not"),
    ("flag != false", True, "syntax: !="),
    # field lookup forms
    ('file.path == "C:\\\\Windows\\\\System32\\\\cmd.exe"', True, "flat dotted keys are field paths"),
    ("process.parent.args_count == 2", True, "nested objects are field paths"),
]


@pytest.mark.parametrize("condition,expected,doc", CONDITIONS, ids=[f"{i}:{c[2]}" for i, c in enumerate(CONDITIONS)])
def test_condition(condition: str, expected: bool, doc: str) -> None:
    q = eql.compile(f"any where {condition}")
    assert q.matches(EVENT) is expected


# (expression, expected value, doc) - checked as `any where <expr> == <value>` or `== null`
FUNCTIONS = [
    ("add(4, 5)", 9, "functions: add"),
    ("add(4, 0.5)", 4.5, "functions: add"),
    ("add(process.args_count, process.parent.args_count)", 6, "functions: add (two fields)"),
    ("add(null, 4)", None, "functions: add null handling"),
    ('between(file.path, "System32\\\\", ".exe")', "cmd", "functions: between"),
    ('between(file.path, "system32\\\\", ".exe")', "", "functions: between is case-sensitive"),
    ('between~(file.path, "system32\\\\", ".exe")', "cmd", "functions: between~"),
    ('between(file.path, "\\\\", "\\\\", false)', "Windows", "functions: between (greedy false)"),
    ('between(file.path, "\\\\", "\\\\", true)', "Windows\\System32", "functions: between (greedy true)"),
    ('between("", "", "")', "", "functions: between empty source"),
    ('between(null, "a", "b")', None, "functions: between null handling"),
    ('cidrMatch(source.address, "192.168.0.0/16")', True, "functions: cidrMatch"),
    ('cidrMatch(source.address, "192.168.0.0/16", "10.0.0.0/8")', True, "functions: cidrMatch (several blocks)"),
    ('cidrMatch(source.address, "10.0.0.0/8", "10.128.0.0/9")', False, "functions: cidrMatch"),
    ('cidrMatch(source.ip, "2001:db8::/32")', True, "functions: cidrMatch supports IPv6"),
    ('cidrMatch(null, "10.0.0.0/8")', None, "functions: cidrMatch null handling"),
    ("cidrMatch(source.address, null)", None, "functions: cidrMatch null block"),
    ('concat("process is ", "regsvr32.exe")', "process is regsvr32.exe", "functions: concat"),
    ('concat("regsvr32.exe", " ", 42.5)', "regsvr32.exe 42.5", "functions: concat with a float"),
    ('concat(process.name, " ", true)', "regsvr32.exe true", "functions: concat with a boolean"),
    ("concat(process.name, null)", None, "functions: concat null handling"),
    ("divide(4, 3)", 1, "functions: divide rounds integer division down"),
    ("divide(4, 3.0)", 4 / 3, "functions: divide with a float"),
    ("divide(-4, -2)", 2, "functions: divide"),
    ("divide(process.args_count, 0.5)", 8, "functions: divide"),
    ("divide(4, null)", None, "functions: divide null handling"),
    ('endsWith("regsvr32.exe", ".exe")', True, "functions: endsWith"),
    ('endsWith("regsvr32.exe", ".EXE")', False, "functions: endsWith is case-sensitive"),
    ('endsWith~("regsvr32.exe", ".EXE")', True, "functions: endsWith~"),
    ('endsWith("", "")', True, "functions: endsWith empty strings"),
    ('endsWith(null, ".exe")', None, "functions: endsWith null handling"),
    ('indexOf(url.domain, "d")', 3, "functions: indexOf"),
    ('indexOf(url.domain, "D")', None, "functions: indexOf is case-sensitive"),
    ('indexOf~(url.domain, "D")', 3, "functions: indexOf~ (the docs print 4; 'd' is at 3)"),
    ('indexOf(url.domain, ".", 10)', 17, "functions: indexOf with a start"),
    ('indexOf(url.domain, ".", -6)', 9, "functions: indexOf negative start counts as 0"),
    ('indexOf(url.domain, "", 10)', 10, "functions: indexOf empty substring"),
    ('indexOf(url.domain, ".", 30)', None, "functions: start past the end returns null"),
    ('indexOf(url.domain, "z")', None, "functions: indexOf missing substring"),
    ('length("explorer.exe")', 12, "functions: length"),
    ('length("")', 0, "functions: length of an empty string"),
    ("length(null)", None, "functions: length null handling"),
    ("modulo(10, 6)", 4, "functions: modulo"),
    ("modulo(10, -6)", 4, "functions: modulo takes the dividend's sign"),
    ("modulo(-10, -6)", -4, "functions: modulo"),
    ("modulo(10, 0.5)", 0, "functions: modulo with a float"),
    ("modulo(null, 5)", None, "functions: modulo null handling"),
    ("multiply(0.25, 2)", 0.5, "functions: multiply"),
    ("multiply(2, null)", None, "functions: multiply null handling"),
    ('number("1337")', 1337, "functions: number"),
    ('number("42.5")', 42.5, "functions: number (float)"),
    ('number("deadbeef", 16)', 3735928559, "functions: number with a base"),
    ('number("0xdeadbeef")', 3735928559, "functions: 0x is auto-detected as hexadecimal"),
    ('number("0xdeadbeef", null)', 3735928559, "functions: 0x with an explicit null base"),
    ('number("-1337")', -1337, "functions: number with a sign"),
    ('number("  1337  ")', 1337, "functions: surrounding whitespace is ignored"),
    ("number(process.pid)", 2012, "functions: number of a field"),
    ("number(null)", None, "functions: number null handling"),
    ('startsWith("regsvr32.exe", "regsvr32")', True, "functions: startsWith"),
    ('startsWith("regsvr32.exe", "Regsvr32")', False, "functions: startsWith is case-sensitive"),
    ('startsWith~("regsvr32.exe", "Regsvr32")', True, "functions: startsWith~"),
    ('startsWith("", "")', True, "functions: startsWith empty strings"),
    ("string(42)", "42", "functions: string"),
    ("string(42.5)", "42.5", "functions: string"),
    ("string(true)", "true", "functions: string"),
    ("string(null)", None, "functions: string null handling"),
    ('stringContains(process.command_line, "regsvr32")', True, "functions: stringContains"),
    ('stringContains(process.command_line, "Regsvr32")', False, "functions: stringContains is case-sensitive"),
    ('stringContains~(process.command_line, "Regsvr32")', True, "syntax: Case-insensitive functions"),
    ('stringContains("", "")', False, "functions: stringContains empty strings return false"),
    ('stringContains(process.command_line, "")', False, "functions: stringContains empty substring"),
    ('stringContains(null, "regsvr32")', None, "functions: stringContains null handling"),
    ('substring("start regsvr32.exe", 6)', "regsvr32.exe", "functions: substring"),
    ('substring("start regsvr32.exe", 0, 5)', "start", "functions: substring"),
    ('substring("start regsvr32.exe", -4)', ".exe", "functions: substring negative start"),
    ('substring("start regsvr32.exe", -4, -1)', ".ex", "functions: substring negative end"),
    ('substring("start regsvr32.exe", 20)', "", "functions: start past the end gives empty"),
    ("subtract(10, 2)", 8, "functions: subtract"),
    ("subtract(1, 0.2)", 0.8, "functions: subtract"),
    ("subtract(-2, 4)", -6, "functions: subtract"),
    ("subtract(2, null)", None, "functions: subtract null handling"),
]


def _literal(v: object) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(v)


@pytest.mark.parametrize("expr,expected,doc", FUNCTIONS, ids=[f"{i}:{c[2]}" for i, c in enumerate(FUNCTIONS)])
def test_function(expr: str, expected: object, doc: str) -> None:
    if isinstance(expected, bool):
        query = f"any where {expr} == {_literal(expected)}"
    elif expected is None:
        query = f"any where {expr} == null"
    elif isinstance(expected, float):
        query = f"any where {expr} > {expected - 1e-9!r} and {expr} < {expected + 1e-9!r}"
    else:
        query = f"any where {expr} == {_literal(expected)}"
    assert eql.compile(query).matches(EVENT), query
    if expected is not None:
        # and a null result is not mistaken for the value
        assert not eql.compile(f"any where {expr} == null").matches(EVENT)


def test_event_category_and_any() -> None:
    # syntax: Basic syntax / Match any event category ("any" also matches events without a category)
    assert eql.compile("process where true").matches(EVENT)
    assert eql.compile("start where true").matches(EVENT)  # event.category is an array
    assert not eql.compile("file where true").matches(EVENT)
    assert not eql.compile("Process where true").matches(EVENT)  # a term match: case-sensitive
    assert eql.compile("any where true").matches({})
    assert not eql.compile("process where true").matches({})


def test_event_category_field_is_configurable() -> None:
    # search: Specify a timestamp or event category field (rule: event_category_override)
    q = eql.compile("file where true", event_category_field="file.type")
    assert q.matches({"file": {"type": "file"}})
    assert not q.matches({"event": {"category": "file"}})


def test_timestamp_field_is_a_date_without_a_schema() -> None:
    # search: the timestamp field "should be mapped as a date"
    q = eql.compile('any where @timestamp >= "2099-12-07T11:00:00Z"')
    assert q.matches(EVENT)
    assert not q.matches({"@timestamp": "2099-12-07T10:59:59.999Z"})
    assert q.matches({"@timestamp": 4100324829000})  # epoch millis: 2099-12-07T11:07:09Z


# ---- field types from a schema ---------------------------------------------------------------

class Schema:
    TYPES = {"process.pid": "long", "event.code": "keyword", "source.ip": "ip", "message": "text",
             "process.name": "keyword", "process.name.text": "match_only_text", "bool": "boolean",
             "file.created": "date"}

    def type_of(self, name: str) -> str | None:
        return self.TYPES.get(name)


@pytest.mark.parametrize("condition,event,expected,doc", [
    ("process.pid == 2012", {"process": {"pid": "2012"}}, True, "long fields coerce numeric strings"),
    ('process.pid > "2000"', {"process": {"pid": 2012}}, True, "a numeric string literal against a long"),
    ('event.code == "4624"', {"event": {"code": 4624}}, True, "keyword fields index numbers as text"),
    ("event.code == 4624", {"event": {"code": "4624"}}, True, "a number literal against a keyword"),
    ('source.ip == "::ffff:10.0.0.1"', {"source": {"ip": "10.0.0.1"}}, True, "ip values compare as addresses"),
    ('source.ip > "10.0.0.1"', {"source": {"ip": "10.0.0.2"}}, True, "ip ordering"),
    ('source.ip < "9.255.255.255"', {"source": {"ip": "10.0.0.2"}}, False, "ip ordering is numeric, not text"),
    ('bool == true', {"bool": "true"}, True, "boolean fields accept 'true'"),
    ('file.created < "2024-01-02"', {"file": {"created": "2024-01-01T23:59:59Z"}}, True, "date fields compare as times"),
], ids=lambda v: v if isinstance(v, str) and " " in v else None)
def test_schema_types_drive_comparisons(condition: str, event: dict, expected: bool, doc: str) -> None:
    assert eql.compile(f"any where {condition}", fields=Schema()).matches(event) is expected


def test_schema_can_be_a_plain_mapping() -> None:
    q = eql.compile("any where process.pid == 7", fields={"process.pid": "long"})
    assert q.matches({"process": {"pid": "7"}})


@pytest.mark.parametrize("condition,fragment,doc", [
    ('message : "x"', "text field", "syntax: Text fields are not supported"),
    ('process.pid == "abc"', "not a valid long", "a long cannot hold 'abc'"),
    ('source.ip == "not-an-ip"', "not a valid ip", "an ip field needs an address"),
    ("process.pid", "cannot stand alone", "a long is not a condition"),
])
def test_schema_type_errors_are_located(condition: str, fragment: str, doc: str) -> None:
    text = f"any where {condition}"
    with pytest.raises(eql.EqlError) as info:
        eql.compile(text, fields=Schema())
    assert info.value.code == "EQL003"
    # at the field, or at the constant it cannot hold
    assert info.value.column == (text.index('"') + 1 if "==" in text else 11)
    assert fragment in info.value.message


def test_text_field_with_keyword_subfield_is_allowed() -> None:
    schema = {"message": "text", "message.keyword": "keyword"}
    assert eql.compile('any where message == "x"', fields=schema).matches({"message": "x"})


# ---- results: order, pipes, lines -------------------------------------------------------------

EVENTS = [
    {"@timestamp": "2024-01-01T00:00:03Z", "event": {"category": "process"}, "n": 1},
    {"@timestamp": "2024-01-01T00:00:01Z", "event": {"category": "process"}, "n": 2},
    {"@timestamp": "2024-01-01T00:00:02Z", "event": {"category": "file"}, "n": 3},
    {"event": {"category": "process"}, "n": 4},  # no timestamp
    {"@timestamp": "2024-01-01T00:00:01Z", "event": {"category": "process"}, "n": 5, "seq": 1},
]


def test_event_results_are_ordered_by_timestamp_then_tiebreaker() -> None:
    # search: hits are sorted by timestamp; a tiebreaker sorts events with the same timestamp,
    # and events with no tiebreaker value come after events with a value.
    run = eql.compile("process where true", tiebreaker_field="seq").run(EVENTS)
    assert [m.indexes for m in run] == [(4,), (1,), (0,), (3,)]
    plain = eql.compile("process where true").run(EVENTS)
    assert [m.indexes for m in plain] == [(1,), (4,), (0,), (3,)]  # input position breaks the tie


def test_head_and_tail_pipes() -> None:
    # pipes: head returns the earliest matches, tail the most recent; pipes chain
    assert [m.indexes for m in eql.compile("process where true | head 2").run(EVENTS)] == [(1,), (4,)]
    assert [m.indexes for m in eql.compile("process where true | tail 2").run(EVENTS)] == [(0,), (3,)]
    assert [m.indexes for m in eql.compile("process where true | tail 3 | head 1").run(EVENTS)] == [(4,)]


def test_match_lines_for_event_queries() -> None:
    assert eql.match_lines("process where n > 1", EVENTS) == [[2], [5], [4]]
    assert eql.match_lines("process where n > 1", EVENTS, lines=[10, 11, 12, 14, 15]) == [[11], [15], [14]]
    with pytest.raises(ValueError):
        eql.match_lines("process where true", EVENTS, lines=[1])


def test_matches_is_for_event_queries_only() -> None:
    q = eql.compile("sequence [a where true] [b where true]")
    with pytest.raises(eql.EqlError, match="run"):
        q.matches({})


def test_non_mapping_events_never_match() -> None:
    q = eql.compile("any where true")
    assert not q.matches(["not", "an", "event"])  # type: ignore[arg-type]
    assert [m.indexes for m in q.run([1, {"x": 1}, None])] == [(1,)]  # type: ignore[list-item]


# ---- properties -------------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=8) | st.sampled_from(["10.0.0.1", "2001:db8::1", "0x1f", "4624", "2024-01-01T00:00:00Z"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c.d"]), inner, max_size=3),
    max_leaves=8,
)
_EVENTS = st.dictionaries(st.sampled_from(["a", "b", "c", "c.d", "@timestamp", "event"]), _JSON, max_size=5)

_QUERIES = [
    'any where a == "x" or a : "X*" or a like~ "?" or a regex ".*"',
    "any where a < 3 or a >= 2.5 or a in (1, \"1\", true) or a not in~ (\"A\")",
    "any where length(a) > 1 or startsWith~(a, \"1\") or cidrMatch(a, \"10.0.0.0/8\") or number(a, 16) == 31",
    "any where add(a, b) == 2 or divide(a, 0) == null or modulo(a, b) > 0 or -a < 0 or a * 2 == 4",
    'any where concat(a, b, c.d) == "xy" or between(a, "", "") == "" or substring(a, -2) : "*" or string(a) == "1"',
    "any where indexOf(a, b) == 0 or indexOf~(a, \"\", 1) > 0 or ?c.d == null or a != null",
    "sequence by a with maxspan=1s [any where b == 1] ![any where true] [any where c != 1] until [any where a == 2]",
    "sample by a [any where b != null] [any where true]",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_EVENTS, max_size=6))
def test_arbitrary_events_never_raise(events: list[dict]) -> None:
    for text in _QUERIES:
        q = eql.compile(text)
        results = q.run(events)
        assert all(i is None or 0 <= i < len(events) for m in results for i in m.indexes)
        if q.kind == "event":
            assert {m.indexes[0] for m in results} == {i for i, e in enumerate(events) if q.matches(e)}
