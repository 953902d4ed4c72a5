"""`detection test`: exit codes, and the text, JSON and JUnit XML reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from detection.cli import main

from .conftest import REPO
from .test_fixtures_runner import FIXTURE_REL, PUBLISHED, RULE_REL, make_seed_project, restore_published_query


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    return make_seed_project(tmp_path)


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(["test", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_passes_on_the_repository_copy(seed_copy: Path, capsys, monkeypatch):
    monkeypatch.chdir(seed_copy)
    code, out, _ = run_cli(capsys, "-v")
    assert code == 0
    assert "PASSED  AWS STS AssumeRole Usage::assume-role-by-role-session" in out
    assert " 0 failed" in out.splitlines()[-1]


def test_failure_exits_1_with_the_explanation(seed_copy: Path, capsys):
    restore_published_query(seed_copy)
    code, out, _ = run_cli(capsys, str(seed_copy / RULE_REL))
    assert code == 1
    assert "FAILED AWS STS AssumeRole Usage::assume-role-by-role-session" in out
    line = next(x for x in out.splitlines() if PUBLISHED in x and "[event.action" in x)
    assert '[event.action = "AssumeRole"]' in line and 'did you mean value "AssumeRole"' in line
    assert "2 failed" in out.splitlines()[-1]


def test_selection_options(seed_copy: Path, capsys, monkeypatch):
    restore_published_query(seed_copy)
    monkeypatch.chdir(seed_copy)
    code, out, _ = run_cli(capsys, "-k", "saml or web-identity", "-v")
    assert code == 0 and out.count("PASSED") == 2
    code, _, err = run_cli(capsys, "--rule", "no-such-rule")
    assert code == 2
    code, out, _ = run_cli(capsys, "--rule", "93075852-b0f5-4b8b-89c3-a226efae5726", "-k", "by-role-session")
    assert code == 1 and "1 failed" in out


def test_malformed_fixture_is_a_located_input_error(seed_copy: Path, capsys):
    events = seed_copy / "fixtures/aws/events/sts_role_session_activity.ndjson"
    lines = events.read_text().splitlines()
    lines[1] = lines[1][:40]  # cut the second document in half
    events.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli(capsys, str(seed_copy / RULE_REL))
    assert code == 2
    assert "sts_role_session_activity.ndjson:2:" in out and "F112" in out
    assert "Traceback" not in out + err
    # The policy check says the fixture file did not load, not that it is missing.
    policy = next(line for line in out.splitlines() if line.startswith("  problem:"))
    assert "rule has no fixture cases: " in policy and "create" not in policy
    assert f"{FIXTURE_REL} did not load; fix the problems reported for it" in policy


def test_a_terminal_without_utf8_gets_escapes_not_a_crash(seed_copy: Path):
    restore_published_query(seed_copy)
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([sys.executable, "-m", "detection", "test", str(RULE_REL)], cwd=seed_copy, env=env,
                          capture_output=True, check=False)
    assert done.returncode == 1, done.stderr
    out = done.stdout.decode("ascii")  # nothing outside ASCII was written
    assert '\\u2717 event.action:AssumedRole  [event.action = "AssumeRole"]' in out
    assert "internal error" not in done.stderr.decode("ascii")


def test_missing_path_is_a_usage_error(seed_copy: Path, capsys):
    code, _, err = run_cli(capsys, str(seed_copy / "rules/nope.yaml"))
    assert code == 2 and "no such file" in err


def test_json_report_has_one_record_per_case(seed_copy: Path, capsys):
    restore_published_query(seed_copy)
    code, out, _ = run_cli(capsys, "--format", "json", str(seed_copy / RULE_REL))
    assert code == 1
    data = json.loads(out)
    cases = [r for r in data["results"] if r["kind"] == "case"]
    names = [r["case"] for r in cases]
    assert len(names) == len(set(names)) >= 8
    for record in data["results"]:
        assert {"rule", "case", "outcome", "explanation"} <= set(record)
        assert record["rule"] == "93075852-b0f5-4b8b-89c3-a226efae5726"
    failed = next(r for r in cases if r["case"] == "assume-role-by-role-session")
    assert failed["outcome"] == "failed" and PUBLISHED in failed["explanation"]
    tree = failed["events"][0]["explanation"]
    leaf = next(c for c in tree["children"] if c["clause"] == PUBLISHED)
    assert leaf["values"] == ["AssumeRole"] and leaf["suggestion"] == "AssumeRole"
    passed = next(r for r in cases if r["case"] == "assume-role-with-saml")
    assert passed["outcome"] == "passed" and passed["explanation"] is None
    assert data["summary"]["failed"] == 2 and data["summary"]["ok"] is False


def test_junit_report_is_valid_junit_xml(seed_copy: Path, capsys):
    restore_published_query(seed_copy)
    report = seed_copy / "report.xml"
    code, out, err = run_cli(capsys, "--format", "junit", "-o", str(report), str(seed_copy / RULE_REL))
    assert code == 1 and out == "" and "2 failed" in err
    root = ET.fromstring(report.read_text(encoding="utf-8"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["AWS STS AssumeRole Usage"]
    cases = suites[0].findall("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    assert int(suites[0].get("tests")) == len(cases) == int(root.get("tests"))
    assert int(suites[0].get("failures")) == len(failures) == int(root.get("failures")) == 2
    assert int(root.get("errors")) == 0 and int(root.get("skipped")) == 0
    for case in cases:
        assert case.get("classname") == "AWS STS AssumeRole Usage" and case.get("name")
        assert float(case.get("time")) >= 0 and int(case.get("line")) >= 1
    chained = next(c for c in cases if c.get("name") == "assume-role-by-role-session")
    failure = chained.find("failure")
    assert failure.get("message") == "expected an alert, got no alert"
    assert PUBLISHED in failure.text and '"AssumeRole"' in failure.text
    assert chained.get("file").endswith(str(FIXTURE_REL))


def test_junit_lists_input_problems_as_errors(seed_copy: Path, capsys):
    (seed_copy / FIXTURE_REL).write_text("cases:\n  - {name: x, event: {a: 1}}\n")
    code, out, _ = run_cli(capsys, "--format", "junit", str(seed_copy / RULE_REL))
    assert code == 2
    root = ET.fromstring(out)
    problems = root.find("testsuite[@name='input problems']")
    assert problems is not None and int(problems.get("errors")) == 1
    error = problems.find("testcase/error")
    assert error.get("type") == "F101" and "expect" in error.get("message")
