"""The AWS CloudTrail rule pack as a whole (issue 11's acceptance): what it holds, that `detection
check` passes on the repository with condition coverage, that every clause of every rule is
measured and covered, that its export passes the shared Kibana import checker and that the
committed reference pages are the ones `detection docs` writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from detection.check import run_check
from detection.cli import main
from detection.config import load_config
from detection.coverage import rule_coverage
from detection.fixtures import load_fixture_file
from detection.kibana_export import export_paths
from detection.kql.docs import values_at
from detection.loader import load_rules
from detection.model import RuleFile

from .conftest import REPO, SEED_RULE, SHARED

PACK = REPO / "rules" / "aws"
# The tactics the issue names; "defense impairment/stealth" may be either of ATT&CK's two.
TACTICS = {"Initial Access", "Persistence", "Privilege Escalation", "Credential Access", "Discovery",
           "Exfiltration", "Impact"}


@pytest.fixture(scope="module")
def rules() -> list[RuleFile]:
    loaded = load_rules([PACK])
    assert loaded.diagnostics == []
    return loaded.rules


@pytest.fixture(scope="module")
def own(rules: list[RuleFile]) -> list[RuleFile]:
    return [r for r in rules if r.path.resolve() != SEED_RULE.resolve()]


def _fixture(rule: RuleFile):
    return load_fixture_file(REPO / "fixtures" / "aws" / rule.path.name, REPO)


def test_pack_holds_twenty_own_rules_of_every_fitting_type(own: list[RuleFile]) -> None:
    assert len(own) >= 20
    assert all(r.rule.get("license") == "Apache-2.0" for r in own)
    assert {"query", "eql", "threshold", "new_terms"} <= {r.type for r in own}
    tactics = {t["tactic"]["name"] for r in own for t in r.rule.get("threat", [])}
    assert TACTICS <= tactics and tactics & {"Defense Impairment", "Stealth"}, tactics


def test_each_own_rule_has_a_guide_and_real_cases(own: list[RuleFile]) -> None:
    for rule in own:
        assert len(rule.rule["description"]) > 80, rule.name
        note = rule.rule.get("note", "")
        assert note.startswith("## Triage and analysis") and "### Possible investigation steps" in note, rule.name
        cases = _fixture(rule).cases
        assert any(c.positive for c in cases) and any(not c.positive for c in cases), rule.name
        for case in cases:
            if not case.positive:
                continue
            for event in case.events:  # as the Elastic AWS integration's cloudtrail data stream stores it
                for name, wanted in (("event.dataset", "aws.cloudtrail"), ("cloud.provider", "aws")):
                    assert list(values_at(event, tuple(name.split(".")))) == [wanted], (rule.name, case.name, name)
                for name in ("@timestamp", "event.provider", "event.action", "event.outcome"):
                    assert list(values_at(event, tuple(name.split(".")))), (rule.name, case.name, name)


def test_every_clause_of_every_rule_is_measured_and_covered(rules: list[RuleFile]) -> None:
    for rule in rules:
        record = rule_coverage(rule, _fixture(rule).cases)
        assert record.note is None and record.clauses, (rule.name, record.note)
        assert [c.describe() for c in record.uncovered] == [], rule.name


def test_check_passes_on_the_repository_with_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    report = run_check(load_config(REPO), coverage=True)
    assert report.exit_code == 0, [d.format() for s in report.stages for d in s.diagnostics]
    test_stage = next(s for s in report.stages if s.name == "test")
    run = test_stage.payload
    assert run.results and all(r.outcome == "passed" for r in run.results)  # nothing skipped


@pytest.mark.skipif(not (SHARED / "kibana" / "check_import.py").is_file(), reason="shared reference folder absent")
def test_export_of_the_repository_passes_the_shared_kibana_checker(rules: list[RuleFile], tmp_path: Path) -> None:
    out = tmp_path / "rules.ndjson"
    out.write_text(export_paths([REPO / "rules"]).ndjson(details=True), encoding="utf-8")
    run = subprocess.run([sys.executable, str(SHARED / "kibana" / "check_import.py"), "--strict", str(out)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(rules) + 1} valid, 0 invalid" in run.stdout and "warning" not in run.stdout


def test_committed_reference_pages_are_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert main(["docs", "--check", "-o", str(REPO / "docs" / "rules")]) == 0
    coverage_page = (REPO / "docs" / "rules" / "attack-coverage.md").read_text(encoding="utf-8")
    assert all(t in coverage_page for t in TACTICS)
