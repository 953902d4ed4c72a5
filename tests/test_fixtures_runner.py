"""Running cases: alerts, outcomes, explanations, unsupported rules, coverage, and the seed rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from detection import engine
from detection.config import load_config
from detection.loader import load_rule_file
from detection.testing import ERROR, FAILED, PASSED, SKIPPED, run_tests

from .conftest import REPO

RULE_REL = Path("rules/aws/privilege_escalation_sts_assumerole_usage.yaml")
FIXTURE_REL = Path("fixtures/aws/privilege_escalation_sts_assumerole_usage.yaml")
PUBLISHED = "event.action:AssumedRole"
EVENTS_REL = Path("fixtures/aws/events/sts_role_session_activity.ndjson")


def make_seed_project(root: Path) -> Path:
    """The seed rule, its fixtures and the repository's pyproject, alone in ``root`` (other
    rules of the repository are other people's business)."""
    for rel in (RULE_REL, FIXTURE_REL, EVENTS_REL):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, root / rel)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    return make_seed_project(tmp_path)


def restore_published_query(root: Path) -> None:
    rule = root / RULE_REL
    text = rule.read_text(encoding="utf-8")
    fixed = "event.action:AssumeRole and\n"
    assert fixed in text
    rule.write_text(text.replace(fixed, PUBLISHED + " and\n", 1), encoding="utf-8")


def seed_results(root: Path, **kwargs):
    run = run_tests(load_config(root), [root / RULE_REL], **kwargs)
    return run, {r.case: r for r in run.results}


def test_repository_seed_cases_all_pass():
    run = run_tests(load_config(REPO), [REPO / RULE_REL])
    assert run.diagnostics == []
    assert run.results and all(r.outcome == PASSED for r in run.results), [r.id for r in run.results if not r.ok]
    assert run.ok


def test_engine_raises_one_alert_per_matching_event():
    rule = load_rule_file(REPO / RULE_REL)
    chained = {"event": {"dataset": "aws.cloudtrail", "provider": "sts.amazonaws.com", "action": "AssumeRole",
                         "outcome": "success"},
               "aws": {"cloudtrail": {"user_identity": {"session_context": {"session_issuer": {"type": "Role"}}}}}}
    other = {"event": {"action": "GetCallerIdentity"}}
    alerts = engine.alerts_for(rule, [chained, other, chained])
    assert [a.event_index for a in alerts] == [0, 2] and alerts[0].rule_id == rule.rule_id


def test_max_signals_caps_alerts(seed_copy: Path):
    rule_path = seed_copy / RULE_REL
    rule_path.write_text(rule_path.read_text().replace("max_signals: 100", "max_signals: 1"))
    _, results = seed_results(seed_copy)
    burst = results["role-session-activity-from-search-hits"]
    assert burst.outcome == FAILED and burst.actual_alerts == 1 and burst.expected_alerts == 2


def test_published_query_fails_the_role_chaining_case_with_an_explanation(seed_copy: Path):
    """Acceptance: restoring the published query makes the positive role-chaining case fail, and
    the explanation names event.action, the expected AssumedRole and the actual AssumeRole."""
    from detection.reporting import failure_text

    restore_published_query(seed_copy)
    run, results = seed_results(seed_copy)
    chained = results["assume-role-by-role-session"]
    assert chained.outcome == FAILED and chained.expected_alerts == 1 and chained.actual_alerts == 0
    assert not run.ok
    [event] = chained.explanations
    assert event.alerted is False
    leaf = next(c for c in event.data["children"] if c["clause"] == PUBLISHED)
    assert leaf["result"] is False and leaf["values"] == ["AssumeRole"] and leaf["suggestion"] == "AssumeRole"
    others = [c for c in event.data["children"] if c["clause"] != PUBLISHED]
    assert others and all(c["result"] for c in others)  # only the misspelt clause is false
    text = failure_text(chained)
    assert "event.action:AssumedRole" in text and '"AssumeRole"' in text and "did you mean" in text
    assert "expected: an alert" in text and "actual:   no alert" in text
    assert "fixtures/aws/privilege_escalation_sts_assumerole_usage.yaml:" in text
    # The negatives still pass: they never relied on the broken clause.
    assert results["get-caller-identity-by-role-session"].outcome == PASSED


def test_unexpected_alert_is_explained_too(seed_copy: Path):
    fixture = seed_copy / FIXTURE_REL
    text = fixture.read_text()
    marker = "  - name: get-caller-identity-by-role-session\n"
    fixture.write_text(text.replace(marker, marker.replace("get-caller", "wrongly-positive") + "    expect: no_alert\n"
                                    "    event: {event: {action: AssumeRole, outcome: success}, aws: {cloudtrail: "
                                    "{user_identity: {session_context: {session_issuer: {type: Role}}}}}}\n" + marker))
    _, results = seed_results(seed_copy)
    wrong = results["wrongly-positive-identity-by-role-session"]
    assert wrong.outcome == FAILED and wrong.actual_alerts == 1
    assert wrong.explanations[0].alerted and wrong.explanations[0].data["result"] is True


def test_unsupported_rule_types_are_skipped_not_crashed(seed_copy: Path):
    rule_path = seed_copy / RULE_REL
    text = rule_path.read_text()
    start, end = text.index("  query: >-"), text.index("  severity:")
    text = text[:start] + "  anomaly_threshold: 75\n  machine_learning_job_id: rare_sts_action\n" + text[end:]
    text = text.replace("type: query", "type: machine_learning").replace("  language: kuery\n", "")
    rule_path.write_text(text)
    run, results = seed_results(seed_copy, coverage=True)
    case = results["assume-role-by-role-session"]
    assert case.outcome == SKIPPED
    assert case.message == "machine_learning rules are not supported by the test engine yet"
    assert all(r.outcome == SKIPPED for r in run.results if r.kind == "case")
    assert run.ok  # skipped is not a failure
    assert "KQL" in run.coverage[0].note


def test_query_that_does_not_compile_is_an_error_with_its_location(seed_copy: Path):
    rule_path = seed_copy / RULE_REL
    rule_path.write_text(rule_path.read_text().replace("event.outcome:success", "event.outcome:(success"))
    run, results = seed_results(seed_copy)
    case = results["assume-role-by-role-session"]
    assert case.outcome == ERROR and "F130" in case.message and "does not compile" in case.message
    assert f"{RULE_REL.name}:" in case.message
    assert not run.ok


def test_coverage_finds_the_clause_no_case_makes_true(seed_copy: Path):
    run = run_tests(load_config(REPO), [REPO / RULE_REL], coverage=True)
    [fixed] = run.coverage
    assert fixed.note is None and len(fixed.clauses) == 5 and fixed.uncovered == []
    restore_published_query(seed_copy)
    run = run_tests(load_config(seed_copy), [seed_copy / RULE_REL], coverage=True)
    [published] = run.coverage
    assert [c.clause for c in published.uncovered] == [PUBLISHED]
    assert published.uncovered[0].describe() == f"never true: {PUBLISHED}"


def test_coverage_reports_a_clause_no_negative_checks(seed_copy: Path):
    fixture = seed_copy / FIXTURE_REL
    text = fixture.read_text()
    start = text.index("  - name: raw-cloudtrail-line-in-cloudwatch-logs-stream")
    end = text.index("  - name: role-session-activity-from-search-hits")
    fixture.write_text(text[:start] + text[end:])  # the only case where event.dataset is false
    run = run_tests(load_config(seed_copy), [seed_copy / RULE_REL], coverage=True)
    assert [c.describe() for c in run.coverage[0].uncovered] == ["never false: event.dataset:aws.cloudtrail"]


def _retype(root: Path, rule_type: str, language: str, query: str) -> None:
    rule_path = root / RULE_REL
    text = rule_path.read_text()
    start, end = text.index("  query: >-"), text.index("  severity:")
    text = text[:start] + f"  query: '{query}'\n" + text[end:]
    rule_path.write_text(text.replace("type: query", f"type: {rule_type}").replace("language: kuery", f"language: {language}"))


def _cases(root: Path, body: str) -> None:
    (root / FIXTURE_REL).write_text("cases:\n" + body)


USERS = """
      - {"@timestamp": "2026-01-01T00:00:01Z", user: {name: ann}, event: {category: [authentication], action: GetCallerIdentity}}
      - {"@timestamp": "2026-01-01T00:00:02Z", user: {name: bob}, event: {category: [authentication], action: AssumeRole}}
      - {"@timestamp": "2026-01-01T00:00:03Z", user: {name: ann}, event: {category: [authentication], action: AssumeRole}}
"""


def test_eql_sequences_count_one_alert_each(seed_copy: Path):
    _retype(seed_copy, "eql", "eql", 'sequence by user.name [authentication where event.action == "GetCallerIdentity"] '
                                     '[authentication where event.action == "AssumeRole"]')
    _cases(seed_copy, "  - name: ann-chains\n    expect: {alerts: 1}\n    events:" + USERS
           + "  - name: wrong-order\n    expect: no_alert\n    events:" + USERS.replace("00:00:01", "00:00:09"))
    run, results = seed_results(seed_copy)
    assert results["ann-chains"].outcome == PASSED and results["ann-chains"].actual_alerts == 1
    assert results["wrong-order"].outcome == PASSED, results["wrong-order"].message
    assert run.ok


def test_eql_errors_are_located(seed_copy: Path):
    _retype(seed_copy, "eql", "eql", "authentication where (")
    _, results = seed_results(seed_copy)
    case = next(iter(results.values()))
    assert case.outcome == ERROR and "F130" in case.message and "EQL" in case.message


def test_esql_rows_are_alerts(seed_copy: Path):
    _retype(seed_copy, "esql", "esql", 'FROM logs-aws* | WHERE event.action == "AssumeRole" | STATS n = COUNT(*) BY user.name')
    _cases(seed_copy, "  - name: two-users\n    expect: {alerts: 2}\n    events:" + USERS
           + "  - name: nobody\n    expect: no_alert\n    event: {user: {name: ann}, event: {action: GetCallerIdentity}}\n")
    run, results = seed_results(seed_copy)
    assert results["two-users"].outcome == PASSED and results["nobody"].outcome == PASSED
    assert run.ok
