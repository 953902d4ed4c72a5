"""ES|QL's full-text functions KQL() and QSTR().

What is checked comes from Elasticsearch's documentation:

* KQL function: https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/search-functions
  ("Performs a KQL query. Returns true if the provided KQL query string matches the row";
  named options boost, case_insensitive, time_zone, default_field since 9.3.0; "Full text
  functions can be used to match multivalued fields. A multivalued field that contains a value
  that matches a full text query is considered to match the query.")
* Limitations, full-text search:
  https://www.elastic.co/docs/reference/query-languages/esql/limitations#esql-limitations-full-text-search
  ("it is necessary to use the search function ... in a WHERE command directly after the FROM
  source command, or close enough to it. Otherwise, the query will fail with a validation
  error"); the verifier's messages "[KQL] function cannot be used after STATS" and "[KQL]
  function is only supported in WHERE and STATS commands".
"""

from __future__ import annotations

import pytest

from detection import esql
from detection.clause_predicates import esql_clauses
from detection.lint.esql_facts import esql_fields

NOW = "2024-05-01T12:00:00Z"

EVENTS = [
    {
        "@timestamp": "2024-05-01T11:30:00Z",
        "message": "An ERROR occurred while starting",
        "process": {"name": "cmd.exe", "pid": 4, "args": ["cmd.exe", "/c", "whoami"]},
        "user": {"name": "alice"},
        "host": {"name": "h1"},
    },
    {
        "@timestamp": "2024-05-01T09:00:00Z",
        "message": "all good",
        "process": {"name": "CMD.EXE", "pid": 5},
        "user": {"name": "SYSTEM"},
        "host": {"name": "h2"},
    },
    {
        "@timestamp": "2024-05-01T11:59:00Z",
        "message": "error: disk full",
        "process": {"name": "powershell.exe", "pid": 6},
        "host": {"name": "h3"},
    },
]


def hosts(query: str, events=EVENTS, **kwargs) -> list[str]:
    rows = esql.run(query + " | KEEP host.name", events, now=NOW, **kwargs)
    return [row["host.name"] for row in rows]


# --------------------------------------------------------------------------- matching


def test_kql_filters_rows_by_the_query_string() -> None:
    assert hosts('FROM logs-* | WHERE KQL("process.name: cmd.exe")') == ["h1"]
    assert hosts('FROM logs-* | WHERE KQL("process.name: cmd.exe or process.name: powershell.exe")') == [
        "h1",
        "h3",
    ]
    assert hosts('FROM logs-* | WHERE KQL("not user.name: SYSTEM and process.pid > 4")') == ["h3"]
    assert hosts('FROM logs-* | WHERE KQL("user.name: *")') == ["h1", "h2"]
    assert hosts('FROM logs-* | WHERE KQL("process.name: nothing")') == []


def test_the_docs_example_author_faulkner_on_a_text_field() -> None:
    books = [
        {"book_no": "2883", "author": "William Faulkner"},
        {"book_no": "4724", "author": "Evangeline Walton"},
        {"book_no": "3293", "author": "Danny Faulkner"},
    ]
    rows = esql.run(
        'FROM books | WHERE KQL("author: Faulkner") | KEEP book_no, author',
        books,
        field_types={"author": "text", "book_no": "keyword"},
    )
    assert rows == [
        {"book_no": "2883", "author": "William Faulkner"},
        {"book_no": "3293", "author": "Danny Faulkner"},
    ]


def test_keyword_fields_match_exactly_and_case_sensitively() -> None:
    # process.name is a keyword in ECS (the default schema): whole value, exact case.
    assert hosts('FROM logs-* | WHERE KQL("process.name: CMD.EXE")') == ["h2"]
    assert hosts('FROM logs-* | WHERE KQL("process.name: cmd")') == []
    assert hosts('FROM logs-* | WHERE KQL("process.name: cmd*")') == ["h1"]
    # The same field mapped as keyword by field_types: still exact.
    assert hosts('FROM logs-* | WHERE KQL("message: error")', field_types={"message": "keyword"}) == []


def test_text_fields_match_analyzed_terms_case_insensitively() -> None:
    typed = {"message": "text"}
    assert hosts('FROM logs-* | WHERE KQL("message: error")', field_types=typed) == ["h1", "h3"]
    assert hosts('FROM logs-* | WHERE KQL("message: ERROR")', field_types=typed) == ["h1", "h3"]
    assert hosts('FROM logs-* | WHERE KQL("message: \\"disk full\\"")', field_types=typed) == ["h3"]
    # ECS maps message as match_only_text: analyzed without field_types too.
    assert hosts('FROM logs-* | WHERE KQL("message: Error")') == ["h1", "h3"]


def test_free_text_searches_every_field() -> None:
    assert hosts('FROM logs-* | WHERE KQL("whoami")') == ["h1"]
    assert hosts('FROM logs-* | WHERE KQL("powershell.exe")') == ["h3"]


def test_a_multivalued_field_matches_when_one_value_does() -> None:
    assert hosts('FROM logs-* | WHERE KQL("process.args: /c")') == ["h1"]
    assert hosts('FROM logs-* | WHERE QSTR("process.args:whoami")') == ["h1"]


def test_kql_date_math_uses_the_query_clock() -> None:
    assert hosts('FROM logs-* | WHERE KQL("@timestamp >= now-1h")') == ["h1", "h3"]
    assert hosts('FROM logs-* | WHERE KQL("@timestamp < \\"2024-05-01T10:00:00Z\\"")') == ["h2"]


def test_kql_combines_with_other_conditions_and_later_commands() -> None:
    query = (
        'FROM logs-* | SORT process.pid DESC | WHERE process.pid >= 5 AND NOT KQL("user.name: SYSTEM") '
        '| WHERE KQL("host.name: h*") == true | EVAL p = process.pid * 2 | KEEP host.name, p'
    )
    assert esql.run(query, EVENTS, now=NOW) == [{"host.name": "h3", "p": 12}]
    # A full-text function is never null: OR with a null comparison still keeps the match.
    assert hosts('FROM logs-* | WHERE KQL("process.pid: 4") OR user.id == "x"') == ["h1"]


def test_kql_reads_the_source_document_of_search_hits_and_respects_from() -> None:
    hits = [
        {"_index": "logs-a", "_id": "1", "_source": {"process": {"name": "cmd.exe"}, "host": {"name": "a"}}},
        {"_index": "other", "_id": "2", "_source": {"process": {"name": "cmd.exe"}, "host": {"name": "b"}}},
        {"_index": "logs-a", "_id": "3", "_source": {"process": {"name": "x"}, "host": {"name": "c"}}},
    ]
    rows = esql.run('FROM logs-* METADATA _id | WHERE KQL("process.name: cmd.exe") | KEEP _id', hits)
    assert rows == [{"_id": "1"}]


def test_kql_in_stats_where_counts_matching_rows() -> None:
    rows = esql.run(
        'FROM logs-* | STATS cmd = COUNT(*) WHERE KQL("process.name: cmd*"), all = COUNT(*)', EVENTS, now=NOW
    )
    assert rows == [{"cmd": 1, "all": 3}]


def test_qstr_evaluates_lucene_query_string_syntax() -> None:
    assert hosts('FROM logs-* | WHERE QSTR("process.name:(cmd.exe OR powershell.exe) AND NOT host.name:h3")') == [
        "h1"
    ]
    assert hosts('FROM logs-* | WHERE QSTR("process.pid:[5 TO 6]")') == ["h2", "h3"]


# --------------------------------------------------------------------------- placement


PLACEMENT = [
    ('FROM logs | EVAL x = 1 | WHERE KQL("a: b")', "EVAL", 1, 32),
    ('FROM logs | STATS c = COUNT(*) BY a | WHERE KQL("a: b")', "STATS", 1, 45),
    ('FROM logs | LIMIT 10 | WHERE KQL("a: b")', "LIMIT", 1, 30),
    ('FROM logs | KEEP a | WHERE KQL("a: b")', "KEEP", 1, 28),
    ('FROM logs | DROP a | WHERE KQL("a: b")', "DROP", 1, 28),
    ('FROM logs | RENAME a AS b | WHERE KQL("a: b")', "RENAME", 1, 35),
    ('FROM logs | MV_EXPAND a | WHERE KQL("a: b")', "MV_EXPAND", 1, 33),
    ('ROW a = 1 | WHERE KQL("a: 1")', "ROW", 1, 19),
    ('FROM logs\n| WHERE a == 1\n| EVAL b = 2\n| WHERE a > 0 AND QSTR("a:1")', "EVAL", 4, 19),
]


@pytest.mark.parametrize(("query", "command", "line", "column"), PLACEMENT, ids=[p[1] for p in PLACEMENT])
def test_a_full_text_search_after_a_command_other_than_where_or_sort_is_refused(query, command, line, column):
    with pytest.raises(esql.EsqlError) as info:
        esql.parse(query)
    error = info.value
    assert not isinstance(error, esql.EsqlUnsupported)
    label = "QSTR" if "QSTR" in query else "KQL"
    assert error.message == f"[{label}] function cannot be used after {command}"
    assert (error.line, error.column) == (line, column)  # at the function call
    assert "directly after FROM" in (error.hint or "")


def test_where_and_sort_may_come_between_from_and_the_search() -> None:
    query = esql.parse('FROM logs | WHERE a > 1 | SORT a | WHERE KQL("b: c") | LIMIT 5')
    assert query.render().count("KQL") == 1


@pytest.mark.parametrize(
    "query",
    [
        'FROM logs | EVAL m = KQL("a: b")',
        'FROM logs | SORT KQL("a: b")',
        'FROM logs | STATS c = COUNT(*) BY KQL("a: b")',
        'FROM logs | STATS c = COUNT(KQL("a: b"))',
        'ROW m = KQL("a: b")',
    ],
)
def test_full_text_functions_only_filter(query: str) -> None:
    with pytest.raises(esql.EsqlError) as info:
        esql.parse(query)
    assert info.value.message == "[KQL] function is only supported in WHERE and STATS commands"
    assert info.value.column == query.index("KQL(") + 1


@pytest.mark.parametrize(
    ("condition", "parent"),
    [
        ('COALESCE(KQL("a: b"), false)', "COALESCE"),
        ('KQL("a: b") IS NULL', "IS NULL"),
        ('CASE(KQL("a: b"), true, false)', "CASE"),
        ('KQL("a: b") IN (true)', "IN"),
    ],
)
def test_a_full_text_function_sits_only_under_and_or_not_or_a_comparison(condition: str, parent: str) -> None:
    with pytest.raises(esql.EsqlError) as info:
        esql.parse(f"FROM logs | WHERE {condition}")
    assert info.value.message == f"Invalid condition [{condition}]. [KQL] function can't be used with {parent}"
    assert info.value.column == len("FROM logs | WHERE ") + condition.index("KQL(") + 1


def test_stats_where_after_other_commands_is_left_unsupported() -> None:
    with pytest.raises(esql.EsqlUnsupported) as info:
        esql.parse('FROM logs | EVAL x = 1 | STATS c = COUNT(*) WHERE KQL("a: b")')
    assert "STATS ... WHERE after EVAL" in info.value.message


# --------------------------------------------------------------------------- the query argument


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("FROM logs | WHERE KQL(null)", "first argument of [KQL(null)] cannot be null, received [null]", 23),
        ("FROM logs | WHERE KQL(42)", "first argument of [KQL(42)] must be [keyword, text]", 23),
        ("FROM logs | WHERE KQL(message)", "query must be a constant string in [KQL(message)]", 23),
        ("FROM logs | WHERE KQL()", "KQL takes 1 argument", 19),
        ('FROM logs | WHERE KQL("a", "b")', "KQL takes 1 argument", 19),
    ],
)
def test_the_query_is_one_constant_string(query: str, message: str, column: int) -> None:
    with pytest.raises(esql.EsqlError) as info:
        esql.parse(query)
    assert message in info.value.message
    assert info.value.column == column


def test_a_computed_query_string_is_unsupported() -> None:
    with pytest.raises(esql.EsqlUnsupported):
        esql.parse('FROM logs | WHERE KQL(CONCAT("a", ": b"))')


# --------------------------------------------------------------------------- errors in the KQL string


def test_a_kql_syntax_error_is_located_inside_the_esql_query() -> None:
    query = 'FROM logs-*\n| WHERE host.name == "h1"\n  AND KQL("process.name: (cmd.exe or")'
    with pytest.raises(esql.EsqlError) as info:
        esql.parse(query)
    error = info.value
    assert error.message.startswith("invalid KQL query: ")
    # The KQL parser fails at the end of its input: the closing quote of the literal.
    assert (error.line, error.column) == (3, query.splitlines()[2].rindex('"') + 1)
    assert str(error).splitlines()[1].strip() == 'AND KQL("process.name: (cmd.exe or")'


def test_escapes_in_the_literal_are_counted_when_locating_kql_errors() -> None:
    # The value is  a: "x" and b:   whose error sits after 'b:' (offset 14 of the value).
    query = 'FROM logs | WHERE KQL("a: \\"x\\" and b:")'
    with pytest.raises(esql.EsqlError) as info:
        esql.parse(query)
    assert info.value.offset == query.rindex('"')
    triple = 'FROM logs | WHERE KQL("""a: "x" and b:""")'
    with pytest.raises(esql.EsqlError) as info:
        esql.parse(triple)
    assert info.value.offset == triple.index('"""', 25)


def test_a_kql_clause_elasticsearch_rejects_for_the_field_type_is_located_when_run() -> None:
    query = 'FROM logs | WHERE KQL("process.pid: abc")'
    with pytest.raises(esql.EsqlError) as info:
        esql.run(query, EVENTS)
    assert "process.pid" in info.value.message
    assert info.value.offset == query.index("abc")


def test_a_lucene_syntax_error_in_qstr_is_located_inside_the_esql_query() -> None:
    query = 'FROM logs | WHERE QSTR("a:(b OR")'
    with pytest.raises(esql.EsqlError) as info:
        esql.parse(query)
    assert info.value.message.startswith("invalid QSTR query: ")
    assert query.index('QSTR("') + 6 <= info.value.offset <= len(query) - 1


# --------------------------------------------------------------------------- named options


def test_options_that_do_not_change_matching_are_accepted_and_render_back() -> None:
    query = (
        'FROM logs-* | WHERE KQL("process.pid: 4", '
        '{"boost": 2.5, "case_insensitive": false, "time_zone": "UTC", "default_field": "*"})'
    )
    assert hosts(query) == ["h1"]
    parsed = esql.parse(query)
    assert esql.parse(parsed.render()) == parsed
    assert '{"boost": 2.5, "case_insensitive": false' in parsed.render()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ('{"fuzziness": 2}', "Invalid option [fuzziness] in [KQL(\"a: b\", {\"fuzziness\": 2})], expected one of"),
        ('{"case_insensitive": "yes"}', "Invalid option [case_insensitive]"),
        ('{"boost": 1, "boost": 2}', "option [boost] is given twice"),
    ],
)
def test_bad_options_are_errors(options: str, message: str) -> None:
    with pytest.raises(esql.EsqlError) as info:
        esql.parse(f'FROM logs | WHERE KQL("a: b", {options})')
    assert message in info.value.message
    assert not isinstance(info.value, esql.EsqlUnsupported)


@pytest.mark.parametrize(
    "options",
    ['{"case_insensitive": true}', '{"time_zone": "Europe/Paris"}', '{"default_field": "title"}'],
)
def test_options_this_engine_cannot_honour_are_unsupported(options: str) -> None:
    query = f'FROM logs | WHERE KQL("a: b", {options})'
    with pytest.raises(esql.EsqlUnsupported) as info:
        esql.parse(query)
    assert info.value.offset == query.index(": ", query.index("{")) + 2  # at the option's value


def test_options_elsewhere_stay_unsupported() -> None:
    with pytest.raises(esql.EsqlUnsupported):
        esql.parse('FROM logs | WHERE QSTR("a:b", {"fuzziness": 2})')
    with pytest.raises(esql.EsqlUnsupported) as info:
        esql.parse('FROM logs | EVAL x = TO_LOWER(a, {"x": 1})')
    assert "named function options" in info.value.message


# --------------------------------------------------------------------------- what reads which field


def test_fields_read_by_the_query_string_are_source_fields() -> None:
    query = 'FROM logs | WHERE KQL("process.name: a and user: { name: b }") AND host.name == "h" | KEEP x'
    assert esql.field_names(query) == ["host.name", "process.name", "user", "user.name", "x"]
    assert esql.field_names('FROM logs | WHERE QSTR("event.code:4624 OR winlog.channel:Security")') == [
        "event.code",
        "winlog.channel",
    ]


def test_lint_facts_see_kql_fields_at_their_position_in_the_query() -> None:
    query = esql.parse('FROM logs-* | WHERE KQL("process.name: a and not user.nme: b") | KEEP host.name')
    found = list(esql_fields(query))
    assert ("user.nme", query.source.index("user.nme")) in found
    assert ("process.name", query.source.index("process.name")) in found


def test_clause_coverage_evaluates_a_kql_clause() -> None:
    clauses = dict(esql_clauses('FROM logs-* | WHERE KQL("process.name: cmd.exe") AND host.name == "h1"'))
    kql_clause = clauses['KQL("process.name: cmd.exe")']
    assert kql_clause(EVENTS[0]) is True
    assert kql_clause(EVENTS[1]) is False


def test_match_stays_unsupported() -> None:
    with pytest.raises(esql.EsqlUnsupported):
        esql.parse('FROM logs | WHERE MATCH(message, "error")')
