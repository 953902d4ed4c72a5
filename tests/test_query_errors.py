"""The shared query-error base: position, caret excerpt, placement in a file, per-language wording."""

from __future__ import annotations

import pytest

from detection import eql, esql, kql, lucene
from detection.query_errors import QueryError, caret_excerpt, line_column


def test_line_column_is_one_based_and_clamped():
    assert line_column("ab\ncd", 0) == (1, 1)
    assert line_column("ab\ncd", 4) == (2, 2)
    assert line_column("ab\ncd", 99) == (2, 3)
    assert line_column("ab", -5) == (1, 1)


def test_caret_excerpt_blanks_tabs_so_the_caret_stays_under_the_offset():
    assert caret_excerpt("x\n\tab\r\ny", 4) == "     ab \n      ^"
    assert caret_excerpt("\tab", 2, indent="  ", blanked="") == "  \tab\n    ^"
    assert caret_excerpt("", 3) == "    \n    ^"


@pytest.mark.parametrize(("parse", "query", "error_type", "first_line"), [
    (kql.parse, "a:1 and (", kql.KqlError, "(line 1, column 10)"),
    (eql.parse, "process where x = 1", eql.EqlError, "line 1, column 17: "),
    (esql.parse, "FROM", esql.EsqlError, "line 1:5: "),
    (lucene.parse, "a AND", lucene.LuceneError, "(line 1, column 6)"),
])
def test_every_language_error_is_a_query_error_with_its_own_wording(parse, query, error_type, first_line):
    with pytest.raises(error_type) as info:
        parse(query)
    error = info.value
    assert isinstance(error, QueryError) and isinstance(error, ValueError)
    lines = str(error).splitlines()
    assert first_line in lines[0]
    assert lines[1].strip() == query.strip()
    assert lines[2].index("^") - lines[1].index(query[0]) == error.column - 1


def test_to_diagnostic_shifts_only_the_first_line_by_the_start_column():
    first = QueryError("bad", "abc", 2, code="X001").to_diagnostic("r.toml", line=5, column=7)
    later = QueryError("bad", "a\nbc", 3, hint="fix").to_diagnostic("r.toml", line=5, column=7)
    assert first.format() == "r.toml:5:9: X001 bad"
    assert (later.location.line, later.location.column, later.code, later.hint) == (6, 2, "Q101", "fix")


def test_relocated_keeps_type_code_and_hint():
    error = lucene.LuceneError("m", "q", 1, "h", lucene.errors.REJECTED)
    moved = error.relocated("abc\nq", 4)
    assert type(moved) is lucene.LuceneError
    assert (moved.line, moved.column, moved.code, moved.hint) == (2, 2, "LUC003", "h")
