"""Fixture cases for multi-event rules: `detection test` runs every rule type, cases set the run
time with `now`, and list expected alerts by their events or group values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detection.cli import main
from detection.config import load_config
from detection.diagnostics import DetectionError
from detection.fixtures import load_fixture_file
from detection.loader import load_rules
from detection.reporting import failure_text, render_json
from detection.testing import FAILED, PASSED, run_tests

from .conftest import REPO

WAF = "defense_impairment_waf_acl_or_rule_deleted"
EC2 = "impact_ec2_instances_launched_in_many_regions"


def _kind(rule) -> str:
    return "lucene" if rule.language == "lucene" else rule.type


def test_detection_test_runs_every_rule_type_in_the_repository():
    rules = load_rules([REPO / "rules"]).rules
    by_kind = {}
    for rule in rules:
        by_kind.setdefault(_kind(rule), []).append(rule)
    assert {"eql", "threshold", "new_terms", "esql", "lucene"} <= set(by_kind)
    paths = [r.path for kind in ("eql", "threshold", "new_terms", "esql", "lucene") for r in by_kind[kind]]
    run = run_tests(load_config(REPO), paths)
    assert run.diagnostics == []
    cases = [r for r in run.results if r.kind == "case"]
    assert cases and all(r.outcome == PASSED for r in cases), [r.id + ": " + r.message for r in cases if not r.ok]
    for kind in ("eql", "threshold", "new_terms", "esql", "lucene"):
        ids = {r.rule_id for r in by_kind[kind]}
        positive = [r for r in cases if r.rule_id in ids and r.expected_alerts]
        assert positive, f"no passing positive case for a {kind} rule"


def test_cli_exit_code_for_the_new_rules():
    assert main(["test", str(REPO / "rules" / "aws" / f"{WAF}.yaml"), str(REPO / "rules" / "aws" / f"{EC2}.yaml")]) == 0


def _rewrite(root: Path, name: str, old: str, new: str) -> None:
    path = root / "fixtures" / "aws" / f"{name}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _results(root: Path, name: str):
    run = run_tests(load_config(root), [root / "rules" / "aws" / f"{name}.yaml"])
    return run, {r.case: r for r in run.results}


def test_a_wrong_listed_alert_fails_with_the_alerts_shown(repo_copy: Path):
    _rewrite(repo_copy, WAF, "        - events: [2]", "        - events: [1]")
    run, results = _results(repo_copy, WAF)
    case = results["teardown-logging-then-acl"]
    assert case.outcome == FAILED and case.actual_alerts == 2
    assert "no alert matches events 1" in case.message
    text = failure_text(case)
    assert "expected: 2 alerts (events 0 / events 1)" in text
    assert "no alert matches: events 1" in text and "alert 2: events 2" in text and "  run:" in text
    record = json.loads(render_json(run))
    found = next(r for r in record["results"] if r["case"] == "teardown-logging-then-acl")
    assert "alert 1: events 0" in found["summary"]


def test_group_expectations_compare_row_values(repo_copy: Path):
    _rewrite(repo_copy, EC2, "regions: 4, launches: 5}", "regions: 3, launches: 5}")
    _, results = _results(repo_copy, EC2)
    case = results["mining-spree-in-four-regions"]
    assert case.outcome == FAILED and "regions=3" in case.message
    assert '"regions": 4' in case.summary  # the row as the engine computed it


def test_now_moves_the_look_back_window(repo_copy: Path):
    _rewrite(repo_copy, EC2, 'now: "2026-11-26T04:30:00.000Z"', 'now: "2026-11-26T03:40:00.000Z"')
    _, results = _results(repo_copy, EC2)
    case = results["spree-seen-from-a-later-run"]
    assert case.outcome == FAILED and case.actual_alerts == 1
    assert "run time 2026-11-26T03:40:00.000Z" in case.summary


def test_threshold_failure_shows_group_counts(repo_copy: Path):
    path = repo_copy / "fixtures" / "aws" / "credential_access_console_login_failures.yaml"
    text = path.read_text(encoding="utf-8")
    first = text.index("expect: no_alert")
    path.write_text(text[:first] + "expect: {alerts: 1}" + text[first + len("expect: no_alert"):], encoding="utf-8")
    run = run_tests(load_config(repo_copy), [repo_copy / "rules" / "aws" / "credential_access_console_login_failures.yaml"])
    failed = [r for r in run.results if r.outcome == FAILED]
    assert len(failed) == 1 and failed[0].case == "nine-failures"
    assert "group source.ip=203.0.113.66: 9 event(s) (alert at >= 10)" in failed[0].summary


def _fixture(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "f.yaml"
    path.write_text("rule: x\ncases:\n" + body, encoding="utf-8")
    return path


def test_bad_now_is_a_located_error(tmp_path: Path):
    path = _fixture(tmp_path, "  - name: c\n    now: yesterday\n    expect: no_alert\n    event: {a: 1}\n")
    with pytest.raises(DetectionError) as caught:
        load_fixture_file(path, tmp_path)
    diag = caught.value.diagnostics[0]
    assert diag.code == "F117" and (diag.location.line, diag.location.column) == (4, 10)


def test_now_is_kept_on_the_case(tmp_path: Path):
    path = _fixture(tmp_path, "  - name: c\n    now: 2024-05-01T12:00:00Z\n    expect: no_alert\n    event: {a: 1}\n")
    assert load_fixture_file(path, tmp_path).cases[0].now == "2024-05-01T12:00:00Z"


def test_listed_alerts_are_checked_when_loading(tmp_path: Path):
    ok = _fixture(tmp_path, "  - name: c\n    expect: {alerts: [{events: [0, 1]}, {group: {user.name: a}}]}\n"
                            "    events: [{a: 1}, {a: 2}]\n")
    case = load_fixture_file(ok, tmp_path).cases[0]
    assert case.expect.alerts == 2 and case.expect.details[1] == {"group": {"user.name": "a"}}
    for bad, words in (("[{events: [2]}]", "event 2 does not exist"), ("[{evnts: [0]}]", "each listed alert"),
                       ("[{}]", "each listed alert")):
        path = _fixture(tmp_path, f"  - name: c\n    expect: {{alerts: {bad}}}\n    events: [{{a: 1}}, {{a: 2}}]\n")
        with pytest.raises(DetectionError) as caught:
            load_fixture_file(path, tmp_path)
        assert any(words in d.message for d in caught.value.diagnostics), bad
