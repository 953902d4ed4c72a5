"""`detection check` with condition coverage: an untested clause fails the test stage."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from detection.check import CODE_UNCOVERED, run_check
from detection.cli import main
from detection.config import load_config
from detection.coverage import rule_coverage
from detection.fixtures import load_fixture_file
from detection.loader import load_rule_file

FIXTURE = Path("fixtures/aws/privilege_escalation_sts_assumerole_usage.yaml")
RULE = Path("rules/aws/privilege_escalation_sts_assumerole_usage.yaml")


def keep_cases(project: Path, names: set[str]) -> None:
    path = project / FIXTURE
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["cases"] = [c for c in document["cases"] if c["name"] in names]
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


@pytest.fixture
def project(repo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for other in (repo_copy / "rules" / "aws").glob("*.yaml"):
        if other.name != RULE.name:
            other.unlink()
            (repo_copy / "fixtures" / "aws" / other.name).unlink(missing_ok=True)
    monkeypatch.chdir(repo_copy)
    return repo_copy


def test_repository_seed_rule_is_fully_covered(project: Path) -> None:
    config = load_config(project)
    report = run_check(config, coverage=True)
    assert report.exit_code == 0, [d.format() for s in report.stages for d in s.diagnostics]


def test_uncovered_clause_fails_with_its_location(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Only the positive and the IAM-user negative: event.provider, event.outcome and the dataset are
    # never false, so nothing would notice if those clauses were dropped or broken.
    keep_cases(project, {"assume-role-by-role-session", "assume-role-by-iam-user"})
    rule = load_rule_file(project / RULE)
    cases = load_fixture_file(project / FIXTURE, project).cases
    record = rule_coverage(rule, cases)
    uncovered = {c.clause for c in record.uncovered}
    assert "event.outcome:success" in uncovered and "event.action:AssumeRole" in uncovered

    assert main(["check"]) == 1
    out = capsys.readouterr().out
    query = rule.location(("rule", "query"))
    assert f"{query}: {CODE_UNCOVERED} clause never false: event.outcome:success" in out
    assert "add a fixture case that makes this clause false" in out
    assert main(["check", "--no-coverage"]) == 0


def test_case_the_engine_cannot_run_fails_check(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # ENRICH is outside the ES|QL subset the test engine runs: the cases are skipped, and check
    # must not read that as a pass.
    rule_path = project / RULE
    text = rule_path.read_text(encoding="utf-8")
    start, end = text.index("  language: kuery"), text.index("  severity: low")
    esql = ('  language: esql\n  query: |-\n    from logs-aws*\n    | enrich hosts on source.ip\n'
            '    | where event.action == "AssumeRole"\n')
    rule_path.write_text(text[:start].replace("type: query", "type: esql") + esql + text[end:], encoding="utf-8")
    assert main(["check", "--no-coverage"]) == 1
    out = capsys.readouterr().out
    assert "F141 case 'assume-role-by-role-session' of AWS STS AssumeRole Usage was not run:" in out
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
        "[tool.detection]\n", "[tool.detection]\nallow-skipped = true\n"), encoding="utf-8")
    main(["check", "--no-coverage"])
    assert "F141" not in capsys.readouterr().out
