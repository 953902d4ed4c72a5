"""Rarer EQL constructs met in elastic/detection-rules (second EQL sample): small queries and events
of our own that use the same shapes, so parsing, refusals and matching stay compatible."""

from __future__ import annotations

import pytest

from detection import eql
from detection.eql.errors import UNSUPPORTED


def _error(query: str) -> eql.EqlError:
    with pytest.raises(eql.EqlError) as info:
        eql.parse(query)
    return info.value


# --- what Elasticsearch reads and then refuses gets a located, explained error ------------------

@pytest.mark.parametrize("word", ["descendant", "child", "event"])
def test_lineage_keywords_are_refused_at_the_keyword(word: str) -> None:
    err = _error(f'process where process.name : "a" and\n  {word} of [process where process.name : "b"]')
    assert err.code == UNSUPPORTED
    assert (err.line, err.column) == (2, 3)
    assert f"process relationships ('{word} of')" in err.message
    assert err.hint and "sequence" in err.hint


def test_array_index_is_refused_at_the_bracket() -> None:
    err = _error('process where process.args[1] : "-c"')
    assert err.code == UNSUPPORTED
    assert (err.line, err.column) == (1, 27)
    assert "array indexes are not supported" in err.message


def test_a_step_after_a_join_key_is_not_mistaken_for_an_index() -> None:
    query = eql.parse("sequence [process where true] by process.pid [file where true] by process.pid")
    assert query is not None


# --- shapes seen in the sample parse and compile ----------------------------------------------

@pytest.mark.parametrize("query", [
    # a block comment between the sample keys and the first filter
    "sample by host.id, process.pid\n  /* note */\n  [process where a == \"1\"]\n  [network where true]",
    # spaces around '=' in maxspan and runs
    "sequence by host.id with maxspan = 5s\n [process where true] with runs = 3\n [file where true]",
    # line comments inside an in~ list, and escaped quotes inside a like~ pattern
    'process where process.name in~ (\n  // group one\n  "a", "b",\n  // group two\n  "c"\n) '
    'and process.command_line like~ ("*\\"id\\"*", "*x*")',
    # an optional field in an `any` step, and a trailing missing step over several categories
    "sequence by host.id with maxspan=5m\n [any where ?dll.name : \"x.dll\"]\n"
    ' ![any where event.category in ("process", "network")]',
    # runs on the first step, a closing step, then | tail 1
    "sequence by host.id with maxspan=5s\n [authentication where event.outcome == \"failure\"] with runs=4\n"
    ' [authentication where event.outcome == "success"] | tail 1',
])
def test_sampled_shapes_parse_and_compile(query: str) -> None:
    assert eql.compile(eql.parse(query)) is not None


# --- and they match the way Elasticsearch does --------------------------------------------------

def _ts(second: int) -> str:
    return f"2024-05-01T10:00:{second:02d}Z"


def test_runs_then_closing_step_then_tail_returns_the_last_match() -> None:
    q = ('sequence by host.id with maxspan=1m\n'
         ' [authentication where event.outcome == "failure"] with runs=3\n'
         ' [authentication where event.outcome == "success"] | tail 1')
    fail = [{"@timestamp": _ts(i), "event": {"category": "authentication", "outcome": "failure"},
             "host": {"id": "h"}} for i in range(3)]
    ok = {"@timestamp": _ts(5), "event": {"category": "authentication", "outcome": "success"},
          "host": {"id": "h"}}
    assert [m.events for m in eql.compile(q).run(fail + [ok])] == [[0, 1, 2, 3]]
    assert list(eql.compile(q).run(fail[1:] + [ok])) == []


def test_backticked_join_key_with_slash_reads_a_dotted_key_inside_an_object() -> None:
    q = ("sequence with maxspan=1m\n [file where true] by orchestrator.resource.name\n"
         " [any where true] by `k8s.audit.extra.example.io/pod-name`")
    first = {"@timestamp": _ts(0), "event": {"category": "file"},
             "orchestrator": {"resource": {"name": "web-1"}}}
    second = {"@timestamp": _ts(3), "event": {"category": "web"},
              "k8s": {"audit": {"extra": {"example.io/pod-name": ["web-1"]}}}}
    other = {"@timestamp": _ts(3), "event": {"category": "web"},
             "k8s": {"audit": {"extra": {"example.io/pod-name": ["web-2"]}}}}
    assert [m.events for m in eql.compile(q).run([first, second])] == [[0, 1]]
    assert list(eql.compile(q).run([first, other])) == []


@pytest.mark.parametrize("address,matched", [("0.0.0.0", True), ("0.0.0.1", False), ("::1", True)])
def test_cidrmatch_takes_a_bare_address_as_a_single_host(address: str, matched: bool) -> None:
    q = eql.compile('network where cidrmatch(destination.ip, "0.0.0.0", "::1")')
    assert q.matches({"event": {"category": "network"}, "destination": {"ip": address}}) is matched


@pytest.mark.parametrize("value,matched", [
    ("/srv/run/job7.lock", True), ("/srv/run/JOB7.LOCK", True),  # regex~ ignores case
    ("/x/srv/run/job7.lock", False), ("/srv/run/job7.lock.bak", False),  # the whole value must match
    ("/srv/run/job-7.lock", False),
])
def test_regex_on_a_raw_string_matches_the_whole_value(value: str, matched: bool) -> None:
    q = eql.compile('process where process.executable regex~ """/srv/run/\\w+\\.(pid|lock)"""')
    assert q.matches({"event": {"category": "process"}, "process": {"executable": value}}) is matched


# --- lint passes the parser's advice on ---------------------------------------------------------

EQL_TOML = """\
[metadata]
creation_date = "2024/05/01"
updated_date = "2024/05/01"
maturity = "production"

[rule]
author = ["Tester"]
description = "A shell started under an office program."
from = "now-9m"
index = ["logs-endpoint.events.process-*"]
language = "eql"
license = "Apache-2.0"
name = "Example Office Shell"
risk_score = 21
rule_id = "0f3c7a52-8d1e-4b6a-9c2f-5e4d3b2a1c0d"
severity = "low"
type = "eql"
query = '''
process where process.name : "sh" and
  descendant of [process where process.name : "office"]
'''
"""


def test_lint_reports_the_refusal_with_the_parser_hint(tmp_path) -> None:
    from tests.lint_support import lint_files, write_rule

    path = write_rule(tmp_path / "rules", EQL_TOML, "office_shell.toml")
    found = [d for d in lint_files(path).findings if d.code == "Q101"]
    assert len(found) == 1
    d = found[0]
    assert (d.location.line, d.location.column) == (20, 3)  # the line of `descendant`
    assert "process relationships ('descendant of')" in d.message
    assert d.hint and "sequence joined on process.entity_id" in d.hint
