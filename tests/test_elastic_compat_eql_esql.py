"""Compatibility with elastic/detection-rules TOML rules written in EQL and ES|QL: constructs met
in that repository, rebuilt here as small queries and rules of our own so each fix keeps a test
that can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection import eql, esql
from detection.aws_api import check_action
from detection.kibana_fields import QueryFieldsUnavailable, query_field_names
from tests.lint_support import lint_files, write_rule

ESQL_TOML = """\
[metadata]
creation_date = "2025/02/03"
updated_date = "2025/02/03"
maturity = "production"

[rule]
author = ["Tester"]
description = "Many requests from one client address."
from = "now-10m"
language = "esql"
license = "Apache-2.0"
name = "Example Request Burst"
risk_score = 21
rule_id = "6b0e4f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
severity = "low"
type = "esql"
query = '''
QUERY
'''

[rule.alert_suppression]
group_by = ["GROUP"]
missing_fields_strategy = "suppress"
"""


def _esql_rule(tmp_path: Path, query: str, group: str) -> Path:
    text = ESQL_TOML.replace("QUERY", query).replace("GROUP", group)
    return write_rule(tmp_path / "rules", text, "burst.toml")


def _unknown_fields(path: Path) -> list[str]:
    return [d.message for d in lint_files(path).findings if d.code == "Q102"]


def test_grouping_by_a_column_of_an_esql_query_the_engine_cannot_analyse_is_not_flagged(tmp_path: Path) -> None:
    # GROK makes the client column, but GROK is beyond the engine's subset: the column cannot be
    # known, so grouping alerts by it is no unknown field.
    query = 'FROM logs-* | GROK message "%{IP:client}" | STATS hits = COUNT(*) BY client'
    assert not [m for m in _unknown_fields(_esql_rule(tmp_path, query, "client")) if "client" in m]


def test_grouping_by_a_name_an_analysed_esql_query_never_makes_is_still_flagged(tmp_path: Path) -> None:
    query = "FROM logs-* | STATS hits = COUNT(*) BY host.name"
    assert [m for m in _unknown_fields(_esql_rule(tmp_path, query, "clinet")) if "'clinet'" in m]
    assert not [m for m in _unknown_fields(_esql_rule(tmp_path, query, "host.name")) if "host.name" in m]


def test_required_fields_reason_tells_an_unsupported_feature_from_a_syntax_error() -> None:
    with pytest.raises(QueryFieldsUnavailable, match="does not implement.*GROK"):
        query_field_names("esql", 'FROM logs-* | GROK message "%{IP:client}"')
    with pytest.raises(QueryFieldsUnavailable, match="does not parse"):
        query_field_names("esql", "FROM logs-* | WHERE (")


# --- ES|QL functions detection rules use, each checked against the examples in its reference page


def test_space_makes_a_run_of_spaces() -> None:
    # https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/string-functions/space
    # "Returns a string made of number spaces."
    rows = esql.run('ROW s = CONCAT("a", SPACE(3), "b") | EVAL n = LENGTH(s)', [])
    assert rows == [{"s": "a   b", "n": 5}]
    # A negative count cannot make a string: null with a warning, as for any failed evaluation.
    result = esql.execute("ROW s = SPACE(-1)", [])
    assert result.rows == [{"s": None}]
    assert "cannot be negative" in result.warnings[0].message


def test_space_finds_padded_command_lines_with_locate() -> None:
    # The shape of a detection: a long run of blanks somewhere in a command line.
    events = [{"process": {"command_line": "cmd.exe /c" + " " * 30 + "whoami"}},
              {"process": {"command_line": "cmd.exe /c whoami"}}]
    query = ("FROM logs-* | EVAL at = LOCATE(process.command_line, SPACE(20)) "
             "| WHERE at > 0 | KEEP process.command_line, at")
    assert esql.run(query, events) == [{"process.command_line": events[0]["process"]["command_line"], "at": 11}]


def test_url_decode_decodes_percent_escapes() -> None:
    # https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/string-functions/url_decode
    rows = esql.run('ROW u = "https%3A%2F%2Fexample.com%2F%3Fx%3Dfoo%20bar%26y%3Dbaz" | EVAL u = URL_DECODE(u)', [])
    assert rows == [{"u": "https://example.com/?x=foo bar&y=baz"}]
    # "returns null and adds a warning header to the response if the input cannot be decoded"
    for bad in ("100%zz", "ends with %4"):
        result = esql.execute(f'ROW u = "{bad}" | EVAL d = URL_DECODE(u)', [])
        assert result.rows == [{"u": bad, "d": None}]
        assert result.warnings and "URLDecoder" in result.warnings[0].message


def test_url_decode_reads_escaped_bytes_as_utf8() -> None:
    assert esql.run('ROW u = "caf%C3%A9%2Fx" | EVAL u = URL_DECODE(u)', []) == [{"u": "café/x"}]


def test_mv_contains_checks_that_one_set_holds_another() -> None:
    # https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/mv-functions/mv_contains
    rows = esql.run('ROW set = ["a", "b", "c"], element = "a" | EVAL c = MV_CONTAINS(set, element)', [])
    assert rows[0]["c"] is True
    rows = esql.run('ROW setA = ["a", "c"], setB = ["a", "b", "c"] '
                    '| EVAL a_in_b = MV_CONTAINS(setB, setA), b_in_a = MV_CONTAINS(setA, setB)', [])
    assert (rows[0]["a_in_b"], rows[0]["b_in_a"]) == (True, False)
    # "Null values are treated as an empty set."
    rows = esql.run('ROW n = null, s = "x" | EVAL a = MV_CONTAINS(n, s), b = MV_CONTAINS(s, n), c = MV_CONTAINS(n, n)', [])
    assert (rows[0]["a"], rows[0]["b"], rows[0]["c"]) == (False, True, True)


def test_functions_still_beyond_the_subset_are_refused_by_name() -> None:
    with pytest.raises(esql.EsqlUnsupported, match="IP_LOCATION command"):
        esql.parse('FROM logs-* | IP_LOCATION geo = source.ip')
    with pytest.raises(esql.EsqlUnsupported, match="function ST_DISTANCE"):
        esql.parse("FROM logs-* | EVAL d = ST_DISTANCE(a, b)")


# --- EQL constructs the sampled rules use; each parses and compiles, so a regression shows here


@pytest.mark.parametrize("query", [
    # a // comment inside a value list, and an empty pattern among wildcards
    'network where dns.question.name : (\n  // vendor APIs\n  "api.example.com", "*.example.net"\n) '
    'and process.executable : ("C:\\\\Users\\\\*.exe", "")',
    # "with runs = 5" written with spaces, on a one-step sequence
    'sequence by host.id with maxspan=1m\n[process where process.name : "pbpaste"] with runs = 5',
    # a case-insensitive function comparing two fields
    'process where not startswith~(process.name, process.parent.name)',
    # optional fields, like~ lists, in~ and cidrmatch in one sequence with join keys and until
    'sequence by host.id with maxspan=30s\n'
    '  [file where ?process.code_signature.trusted != true and not file.name in~ ("A.plist", "b.db")] by process.entity_id\n'
    '  [network where file.path like~ ("/tmp/*", "/private/tmp/*") and '
    'not cidrmatch(destination.ip, "10.0.0.0/8", "FE80::/10")] by process.parent.entity_id\n'
    'until [process where event.type == "end"] by process.entity_id',
])
def test_eql_constructs_from_detection_rules_parse_and_compile(query: str) -> None:
    assert eql.compile(eql.parse(query)) is not None


def test_access_portal_calls_are_known_events_of_the_identity_center_source() -> None:
    # Identity Center rules filter event.provider "sso.amazonaws.com" on the access portal calls;
    # botocore files those under the portal service, so the pairs come from the allowlist.
    for action in ("GetRoleCredentials", "ListAccountRoles", "ListAccounts", "Logout"):
        assert check_action("sso.amazonaws.com", action) is None, action
    assert check_action("sso.amazonaws.com", "GetRoleCredential") is not None
