"""detection new: the scaffold, its defaults and refusals, and the path from a red to a green check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from detection.cli import main
from detection.config import load_config
from detection.diagnostics import DetectionError
from detection.formatting import format_text
from detection.loader import load_rule_file
from detection.scaffold import (
    DESCRIPTION_PLACEHOLDER,
    NewRule,
    plan_new_rule,
    prompt_missing,
    write_new_rule,
)

QUERY = "event.dataset:aws.cloudtrail and event.action:CreateUser and event.outcome:success"
POSITIVE = "event: {event: {dataset: aws.cloudtrail, action: CreateUser, outcome: success}}"
NEGATIVE = "event: {event: {dataset: aws.cloudtrail, action: CreateUser, outcome: failure}}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch rule repository with nothing but its pyproject.toml."""
    (tmp_path / "pyproject.toml").write_text('[tool.detection]\nrules-dir = "rules"\nfixtures-dir = "fixtures"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _new(*extra: str) -> int:
    return main(["new", "--name", "AWS IAM User Created", "--no-input", *extra])


def _stage_status(root: Path) -> dict[str, str]:
    from detection.check import run_check

    report = run_check(load_config(root))
    return {s.name: s.status for s in report.stages}


def _fill_in(fixture: Path) -> None:
    text = fixture.read_text()
    assert text.count("event: {}") == 2
    text = text.replace("expect: alert\n    event: {}", "expect: alert\n    " + POSITIVE)
    text = text.replace("expect: no_alert\n    event: {}", "expect: no_alert\n    " + NEGATIVE)
    fixture.write_text(text)


def test_check_fails_on_the_scaffold_and_passes_once_the_cases_are_filled_in(project: Path, capsys) -> None:
    assert _new("--query", QUERY, "--description", "Detects a new IAM user.", "--tactic", "Persistence",
                "--technique", "T1136.003") == 0
    rule = project / "rules" / "custom" / "aws_iam_user_created.yaml"
    fixture = project / "fixtures" / "custom" / "aws_iam_user_created.yaml"
    assert rule.is_file() and fixture.is_file()

    # The new rule's history is recorded by bump (no hash is written before the author's edits).
    assert main(["bump", str(rule)]) == 0
    capsys.readouterr()
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "FAILED AWS IAM User Created::fires-on-the-activity" in out
    assert _stage_status(project) == {"validate": "passed", "lint": "passed", "test": "failed", "versions": "passed"}

    _fill_in(fixture)
    assert main(["check"]) == 0
    assert "check passed" in capsys.readouterr().out
    assert set(_stage_status(project).values()) == {"passed"}


def test_the_scaffold_is_a_valid_canonical_rule_with_editor_modelines(project: Path) -> None:
    assert _new("--query", QUERY, "--severity", "high") == 0
    rule_path = project / "rules" / "custom" / "aws_iam_user_created.yaml"
    fixture_path = project / "fixtures" / "custom" / "aws_iam_user_created.yaml"
    rule = load_rule_file(rule_path)  # raises on any schema problem
    assert rule.version == 1 and rule.history[0].kind == "created" and rule.history[0].hash is None
    assert rule.rule["severity"] == "high" and rule.rule["risk_score"] == 73
    assert rule.metadata["creation_date"] == dt.date.today().strftime("%Y/%m/%d")
    assert rule.rule["query"] == QUERY
    assert len(rule.rule_id) == 36
    rule_text, fixture_text = rule_path.read_text(), fixture_path.read_text()
    assert rule_text.startswith("# yaml-language-server: $schema=../../schemas/rule.schema.json\n")
    assert fixture_text.startswith("# yaml-language-server: $schema=../../schemas/fixture.schema.json\n")
    # The modelines resolve: the shipped schemas were copied into the project.
    assert (project / "schemas" / "rule.schema.json").is_file()
    assert (project / "schemas" / "fixture.schema.json").is_file()
    assert f"rule: {rule.rule_id}" in fixture_text
    assert "# Fields the query reads: event.action, event.dataset, event.outcome." in fixture_text
    assert format_text(rule_text, "new.yaml")[1] == []  # already in canonical form


def test_never_replaces_a_file(project: Path, capsys) -> None:
    assert _new() == 0
    rule = project / "rules" / "custom" / "aws_iam_user_created.yaml"
    before = rule.read_text()
    capsys.readouterr()
    assert _new("--query", QUERY) == 2
    err = capsys.readouterr().err
    assert "rules/custom/aws_iam_user_created.yaml:0:0: N101 the file already exists" in err
    assert rule.read_text() == before


def test_refuses_when_only_the_fixture_exists(project: Path) -> None:
    fixture = project / "fixtures" / "custom" / "aws_iam_user_created.yaml"
    fixture.parent.mkdir(parents=True)
    fixture.write_text("cases: []\n")
    with pytest.raises(DetectionError) as err:
        plan_new_rule(NewRule(name="AWS IAM User Created"), load_config(project))
    assert [d.code for d in err.value.diagnostics] == ["N101"]
    assert not (project / "rules" / "custom").exists()


def test_folder_and_index_default_to_the_existing_rules(project: Path) -> None:
    aws = project / "rules" / "aws"
    aws.mkdir(parents=True)
    for i, index in enumerate((["logs-aws.cloudtrail-*"], ["logs-aws.cloudtrail-*"], ["filebeat-*"])):
        spec = NewRule(name=f"Existing {i}", index=tuple(index))
        write_new_rule(plan_new_rule(spec, load_config(project), rule_id=f"00000000-0000-4000-8000-00000000000{i}"))
    scaffold = plan_new_rule(NewRule(name="Another One"), load_config(project))
    assert scaffold.rule_path == aws / "another_one.yaml"
    assert scaffold.fixture_path == project / "fixtures" / "aws" / "another_one.yaml"
    assert "  index:\n    - logs-aws.cloudtrail-*\n" in scaffold.rule_text


def test_dir_may_name_a_path_inside_the_rules_folder(project: Path) -> None:
    config = load_config(project)
    for folder in ("network", "rules/network", project / "rules" / "network"):
        scaffold = plan_new_rule(NewRule(name="Port Scan", folder=folder), config)
        assert scaffold.rule_path == project / "rules" / "network" / "port_scan.yaml"
        assert scaffold.fixture_path == project / "fixtures" / "network" / "port_scan.yaml"
    with pytest.raises(DetectionError) as err:
        plan_new_rule(NewRule(name="Port Scan", folder="../elsewhere"), config)
    assert err.value.diagnostics[0].code == "N104"


@pytest.mark.parametrize(("spec", "code", "option"), [
    (NewRule(name="x", type="eql", language="kuery"), "N102", "--language"),
    (NewRule(name="x", type="machine_learning"), "N102", "--type"),
    (NewRule(name="x", risk_score=150), "N102", "--risk-score"),
    (NewRule(name="x", type="esql", index=("logs-*",)), "N102", "--index"),
    (NewRule(name="   "), "N102", "--name"),
    (NewRule(name="x", tactics=("Teleportation",)), "N103", "--tactic"),
    (NewRule(name="x", techniques=("T9999",)), "N103", "--technique"),
    (NewRule(name="x", tactics=("Discovery",), techniques=("T1136",)), "N103", "--technique"),
])
def test_bad_options_are_located_errors(project: Path, spec: NewRule, code: str, option: str) -> None:
    with pytest.raises(DetectionError) as err:
        plan_new_rule(spec, load_config(project))
    found = err.value.diagnostics[0]
    assert (found.code, found.location.path) == (code, option)
    assert not (project / "rules").exists()


def test_every_type_scaffolds_a_schema_valid_rule(project: Path) -> None:
    from detection.loader import parse_document
    from detection.validation import schema_diagnostics

    for kind, language in (("query", "kuery"), ("query", "lucene"), ("eql", "eql"), ("esql", "esql"),
                           ("threshold", "kuery"), ("new_terms", "kuery")):
        scaffold = plan_new_rule(NewRule(name=f"{kind} {language}", type=kind, language=language), load_config(project))
        data, source = parse_document(scaffold.rule_text, scaffold.rule_path, "new.yaml")
        assert schema_diagnostics(data, source, "new.yaml") == [], kind
        assert data["rule"]["language"] == language
        assert ("index" in data["rule"]) == (kind != "esql")


def test_attack_mapping_nests_sub_techniques_under_their_tactic(project: Path) -> None:
    spec = NewRule(name="x", tactics=("TA0003",), techniques=("T1136.003", "T1098"))
    scaffold = plan_new_rule(spec, load_config(project))
    from detection.yaml_safe import load_yaml

    threat = load_yaml(scaffold.rule_text)[0]["rule"]["threat"]
    assert [t["tactic"]["name"] for t in threat] == ["Persistence"]
    techniques = {t["id"]: t for t in threat[0]["technique"]}
    assert set(techniques) == {"T1136", "T1098"}
    assert [s["id"] for s in techniques["T1136"]["subtechnique"]] == ["T1136.003"]
    assert techniques["T1136"]["reference"] == "https://attack.mitre.org/techniques/T1136/"


def test_prompts_ask_only_for_what_is_missing() -> None:
    asked: list[str] = []
    answers = iter(["", "Suspicious Login", "eql", "logs-a-*, logs-b-*", "medium", "Initial Access"])

    def ask(question: str, default: str) -> str:
        asked.append(question)
        return next(answers)

    values = prompt_missing({"name": None, "type": None, "language": None, "index": [], "severity": None,
                             "tactic": []}, ask)
    assert values == {"name": "Suspicious Login", "type": "eql", "language": None,
                      "index": ["logs-a-*", "logs-b-*"], "severity": "medium", "tactic": ["Initial Access"]}
    assert asked[0] == asked[1]  # an empty name is asked again; eql has one language, not asked
    asked.clear()
    prompt_missing({"name": "n", "type": "query", "language": "kuery", "index": ["x"], "severity": "low",
                    "tactic": ["Discovery"]}, ask)
    assert asked == []


def test_dry_run_prints_and_writes_nothing(project: Path, capsys) -> None:
    assert _new("--dry-run") == 0
    out = capsys.readouterr().out
    assert "--- rules/custom/aws_iam_user_created.yaml" in out and "expect: no_alert" in out
    assert not (project / "rules").exists() and not (project / "schemas").exists()


def test_without_a_name_and_no_terminal_it_is_a_usage_error(project: Path, capsys) -> None:
    assert main(["new", "--no-input"]) == 2
    assert "--name is required" in capsys.readouterr().err


def test_placeholders_left_in_the_rule_fail_lint_until_replaced(project: Path, capsys) -> None:
    from detection.check import run_check

    assert _new() == 0  # neither --query nor --description: both are stand-ins
    rule = project / "rules" / "custom" / "aws_iam_user_created.yaml"
    capsys.readouterr()
    assert main(["lint", str(rule)]) == 1
    out = capsys.readouterr().out
    assert "rules/custom/aws_iam_user_created.yaml:10:16: H118 description still holds the placeholder 'REPLACE ME'" in out
    assert "H118 query still holds the placeholder 'REPLACE-ME'" in out

    text = rule.read_text()
    text = text.replace(DESCRIPTION_PLACEHOLDER, "Detects a new IAM user.")
    rule.write_text(text.replace('event.action:"REPLACE-ME"', QUERY))
    assert main(["lint", str(rule)]) == 0
    assert run_check(load_config(project)).stage("lint").status == "passed"
