"""Binding fixtures to rules, selection (paths, --rule, -k) and the positive/negative policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detection.config import load_config
from detection.diagnostics import DetectionError
from detection.keyword_expr import compile_keyword
from detection.testing import FAILED, PASSED, TestSession, plan_tests

from .test_fixtures_runner import make_seed_project

RULE_REL = Path("rules/aws/privilege_escalation_sts_assumerole_usage.yaml")
FIXTURE_REL = Path("fixtures/aws/privilege_escalation_sts_assumerole_usage.yaml")
RULE_ID = "93075852-b0f5-4b8b-89c3-a226efae5726"


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    return make_seed_project(tmp_path)


def add_rule(root: Path, rel: str, rule_id: str, name: str, maturity: str = "production") -> Path:
    text = (root / RULE_REL).read_text(encoding="utf-8")
    text = text.replace(RULE_ID, rule_id).replace("name: AWS STS AssumeRole Usage", f"name: {name}")
    text = text.replace("maturity: production", f"maturity: {maturity}")
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def policy_results(root: Path, **kwargs) -> dict[str, object]:
    config = load_config(root)
    plan = plan_tests(config, **kwargs)
    session = TestSession(config)
    return {item.rule.name: session.run(item) for item in plan.items if item.kind == "policy"}


# --------------------------------------------------------------------------- -k expressions


@pytest.mark.parametrize("expr, names, expected", [
    ("role", ["assume-role-by-role-session"], True),
    ("ROLE and not saml", ["assume-role-with-saml"], False),
    ("saml or web", ["assume-role-with-web-identity"], True),
    ("not (saml or web)", ["assume-role-by-iam-user"], True),
    ("9307", ["93075852-b0f5"], True),
])
def test_keyword_expressions(expr, names, expected):
    assert compile_keyword(expr)(names) is expected


@pytest.mark.parametrize("expr", ["", "a and", "(a", "a b )", "or a"])
def test_bad_keyword_expressions_are_usage_errors(expr):
    with pytest.raises(DetectionError) as info:
        compile_keyword(expr)
    assert info.value.diagnostics[0].code == "E201" and "-k" in info.value.diagnostics[0].message


# --------------------------------------------------------------------------- binding and selection


def test_repository_plan_binds_the_seed_fixture(seed_copy: Path):
    plan = plan_tests(load_config(seed_copy))
    assert plan.diagnostics == []
    case_items = [i for i in plan.items if i.kind == "case"]
    assert len(case_items) >= 8 and {i.rule.rule_id for i in case_items} == {RULE_ID}
    assert plan.items[-1].kind == "policy"
    assert case_items[0].id == "AWS STS AssumeRole Usage::assume-role-by-role-session"


def test_selection_by_path_rule_and_keyword(seed_copy: Path):
    add_rule(seed_copy, "rules/aws/other.yaml", "11111111-2222-3333-4444-555555555555", "Other Rule")
    config = load_config(seed_copy)
    everything = plan_tests(config)
    assert {i.rule.name for i in everything.items} == {"AWS STS AssumeRole Usage", "Other Rule"}
    by_rule_path = plan_tests(config, [seed_copy / RULE_REL])
    assert {i.rule.name for i in by_rule_path.items} == {"AWS STS AssumeRole Usage"}
    by_fixture_path = plan_tests(config, [seed_copy / FIXTURE_REL])
    assert {i.rule.name for i in by_fixture_path.items} == {"AWS STS AssumeRole Usage"}
    assert {i.rule.name for i in plan_tests(config, rule_ids=["Other Rule"]).items} == {"Other Rule"}
    assert {i.rule.name for i in plan_tests(config, rule_ids=[RULE_ID]).items} == {"AWS STS AssumeRole Usage"}
    picked = plan_tests(config, keyword="saml or web-identity")
    assert [i.name for i in picked.items] == ["assume-role-with-saml", "assume-role-with-web-identity"]
    unknown = plan_tests(config, rule_ids=["nope"])
    assert [d.code for d in unknown.diagnostics] == ["F115"]


def test_fixture_without_rule_is_reported(seed_copy: Path):
    (seed_copy / "fixtures/aws/ghost.yaml").write_text("cases:\n  - {name: a, expect: alert, event: {a: 1}}\n")
    (seed_copy / "fixtures/aws/named.yaml").write_text("rule: no-such-id\ncases:\n  - {name: a, expect: alert, event: {a: 1}}\n")
    found = {Path(d.location.path).name: d for d in plan_tests(load_config(seed_copy)).diagnostics}
    assert found["ghost.yaml"].code == "F114" and re.search(r"rules/aws/ghost\.\*", found["ghost.yaml"].message)
    assert found["named.yaml"].code == "F114" and found["named.yaml"].location.line == 1
    assert "no-such-id" in found["named.yaml"].message


def test_fixture_of_a_broken_rule_points_at_the_rule(seed_copy: Path):
    rule = seed_copy / RULE_REL
    rule.write_text(rule.read_text().replace("risk_score: 21", "risk_score: high"))
    diags = plan_tests(load_config(seed_copy)).diagnostics
    assert any(d.code == "S103" and d.location.path.endswith(RULE_REL.name) for d in diags)
    fixture_diag = [d for d in diags if d.location.path.endswith(FIXTURE_REL.name)]
    assert fixture_diag and "did not load" in fixture_diag[0].message


def test_a_malformed_fixture_of_another_rule_does_not_block_a_selected_one(seed_copy: Path):
    add_rule(seed_copy, "rules/aws/other.yaml", "11111111-2222-3333-4444-555555555555", "Other Rule")
    (seed_copy / "fixtures/aws/other.yaml").write_text("cases: {}\n")
    config = load_config(seed_copy)
    assert [d.code for d in plan_tests(config).diagnostics] == ["F103"]
    assert plan_tests(config, [seed_copy / RULE_REL]).diagnostics == []


# --------------------------------------------------------------------------- policy


def test_seed_rule_satisfies_the_policy(seed_copy: Path):
    result = policy_results(seed_copy)["AWS STS AssumeRole Usage"]
    assert result.outcome == PASSED and result.case == "[policy]"


def test_missing_negative_and_missing_fixture_file_fail_clearly(seed_copy: Path):
    fixture = seed_copy / FIXTURE_REL
    fixture.write_text("rule: " + RULE_ID + "\ncases:\n  - {name: only-positive, expect: alert, event: {a: 1}}\n")
    add_rule(seed_copy, "rules/aws/other.yaml", "11111111-2222-3333-4444-555555555555", "Other Rule")
    results = policy_results(seed_copy)
    seed, other = results["AWS STS AssumeRole Usage"], results["Other Rule"]
    assert seed.outcome == FAILED and "no negative case" in seed.message and "positive" not in seed.message.split(";")[0]
    assert FIXTURE_REL.name in seed.message
    assert other.outcome == FAILED and "no fixture cases" in other.message
    assert "fixtures/aws/other.yaml" in other.message and "positive case" in other.message


def test_exempt_maturities_and_configured_policy(seed_copy: Path):
    add_rule(seed_copy, "rules/aws/draft.yaml", "22222222-2222-3333-4444-555555555555", "Draft Rule", "experimental")
    assert "Draft Rule" not in policy_results(seed_copy)
    add_rule(seed_copy, "rules/aws/other.yaml", "11111111-2222-3333-4444-555555555555", "Other Rule")
    (seed_copy / "fixtures/aws/other.yaml").write_text("cases:\n  - {name: p, expect: alert, event: {a: 1}}\n")
    assert policy_results(seed_copy)["Other Rule"].outcome == FAILED
    with (seed_copy / "pyproject.toml").open("a") as handle:
        handle.write("\n[tool.detection.policy]\nrequire-negative = false\n")
    assert policy_results(seed_copy)["Other Rule"].outcome == PASSED
