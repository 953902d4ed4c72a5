"""Lint H115-H117 and the export check for the multi-event rule types' settings.

Kibana's new terms params validation refuses a rule whose ``history_window_start`` is not earlier
than ``from`` (validateHistoryWindowStart: "'historyWindowStart' must be earlier than 'from'");
its threshold import refuses a cardinality field that is also a group field; an EQL rule only
searches its look-back window, so a sequence longer than the window is never found.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.diagnostics import DetectionError
from detection.kibana_export import export_paths

from .conftest import REPO
from .lint_support import BASE_RULE, codes, lint_files, position, replace, write_rule

NEW_TERMS = replace(BASE_RULE, "  type: query\n",
                    "  type: new_terms\n  new_terms_fields:\n    - user.name\n  history_window_start: now-5m\n")
THRESHOLD = replace(BASE_RULE, "  type: query\n",
                    "  type: threshold\n  threshold:\n    field:\n      - source.ip\n      - user.name\n"
                    "    value: 10\n    cardinality:\n      - field: user.name\n        value: 3\n")
SEQUENCE = replace(replace(BASE_RULE, "  type: query\n  language: kuery\n", "  type: eql\n  language: eql\n"),
                   "  query: event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumeRole\n",
                   "  query: >-\n    sequence by user.name with maxspan=10m\n"
                   "    [iam where event.action == \"CreateUser\"] [iam where event.action == \"CreateAccessKey\"]\n")


def lint(tmp_path: Path, text: str) -> list:
    return lint_files(write_rule(tmp_path, text)).findings


@pytest.mark.parametrize("history,look_back,flagged", [
    ("now-5m", "now-6m", True),  # later than from
    ("now-6m", "now-6m", True),  # equal: Kibana's isSameOrAfter refuses it too
    ("now-7m", "now-6m", False),
    ("now-14d", "now-6m", False),
    ("now-1h", None, False),  # from defaults to now-6m
    ("now-5m", None, True),
    ("now-1d/d", "now-6m", False),  # rounded: depends on the run time, so not judged
])
def test_history_window_must_start_before_from(tmp_path: Path, history: str, look_back: str | None,
                                               flagged: bool) -> None:
    text = replace(NEW_TERMS, "history_window_start: now-5m", f"history_window_start: {history}")
    text = replace(text, "  from: now-6m\n", f"  from: {look_back}\n" if look_back else "")
    findings = [d for d in lint(tmp_path, text) if d.code == "H115"]
    assert bool(findings) is flagged
    if flagged:
        [found] = findings
        line, column = position(text, history)
        assert (found.location.line, found.location.column) == (line, column)
        assert "Kibana refuses the rule" in found.message


def test_cardinality_of_a_group_field_is_reported_at_the_field(tmp_path: Path) -> None:
    findings = lint(tmp_path, THRESHOLD)
    assert codes(findings) == ["H116"]
    line, column = position(THRESHOLD, "user.name", 2)
    assert (findings[0].location.line, findings[0].location.column) == (line, column)
    assert lint(tmp_path, replace(THRESHOLD, "      - field: user.name", "      - field: user.id")) == []


def test_sequence_longer_than_the_look_back_is_a_warning_at_maxspan(tmp_path: Path) -> None:
    findings = lint(tmp_path, SEQUENCE)
    assert codes(findings) == ["H117"]
    found = findings[0]
    assert found.severity.value == "warning"
    assert (found.location.line, found.location.column) == position(SEQUENCE, "10m")
    assert "longer than the 6m look-back window" in found.message
    assert lint(tmp_path, replace(SEQUENCE, "  from: now-6m", "  from: now-11m")) == []


@pytest.mark.parametrize("query", [
    'iam where event.action == "CreateUser"',  # not a sequence
    'sequence by user.name [iam where true] [iam where true]',  # no maxspan: nothing to compare
    'sequence by user.name with maxspan=5m [iam where true] [iam where true]',
])
def test_other_eql_queries_are_not_flagged(tmp_path: Path, query: str) -> None:
    text = replace(SEQUENCE, "  query: >-\n    sequence by user.name with maxspan=10m\n"
                   "    [iam where event.action == \"CreateUser\"] [iam where event.action == \"CreateAccessKey\"]\n",
                   f"  query: '{query}'\n")
    assert "H117" not in codes(lint(tmp_path, text))


def test_the_pack_rules_of_these_types_are_clean() -> None:
    rules = [p for p in (REPO / "rules").rglob("*.yaml")
             if any(f"type: {t}\n" in p.read_text(encoding="utf-8") for t in ("new_terms", "threshold", "eql"))]
    assert len(rules) >= 8
    assert [d.format() for d in lint_files(*rules).findings if d.code in ("H115", "H116", "H117")] == []


def test_export_refuses_a_history_window_kibana_refuses(tmp_path: Path) -> None:
    path = write_rule(tmp_path, NEW_TERMS)
    with pytest.raises(DetectionError) as caught:
        export_paths([path])
    [diag] = caught.value.diagnostics
    assert diag.code == "K104" and "history_window_start" in diag.message
    assert (diag.location.line, diag.location.column) == position(NEW_TERMS, "now-5m")
    fixed = write_rule(tmp_path, replace(NEW_TERMS, "history_window_start: now-5m", "history_window_start: now-7d"),
                       "fixed.yaml")
    assert '"history_window_start":"now-7d"' in export_paths([fixed]).ndjson().replace(" ", "")
