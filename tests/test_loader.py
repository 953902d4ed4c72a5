"""Loader: every problem of a broken rule is reported once, located, without a traceback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from detection.cli import main
from detection.diagnostics import DetectionError
from detection.loader import discover_rule_files, load_rule_file, load_rules

from .conftest import REPO, SEED_RULE

SEED_TEXT = SEED_RULE.read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    if needle.startswith("\n"):  # a whole line
        return text.splitlines().index(needle[1:]) + 1
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def write(tmp_path: Path, text: str, name: str = "rule.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def codes(path: Path) -> list[tuple[str, int, int, str]]:
    with pytest.raises(DetectionError) as info:
        load_rule_file(path)
    return [(d.code, d.location.line, d.location.column, d.message) for d in info.value.diagnostics]


def test_seed_rule_loads() -> None:
    rule = load_rule_file(SEED_RULE)
    assert rule.rule_id == "93075852-b0f5-4b8b-89c3-a226efae5726"
    assert rule.type == "query" and rule.language == "kuery"
    assert rule.index == ["filebeat-*", "logs-aws*"]
    assert rule.rule["severity"] == "low" and rule.rule["risk_score"] == 21
    assert [h.version for h in rule.history][:1] == [rule.version]
    assert rule.metadata["creation_date"] == "2021/10/15"


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    text = SEED_TEXT.replace("  max_signals: 100", "  max_signals: [100")
    found = codes(write(tmp_path, text))
    assert len(found) == 1
    code, line, col, message = found[0]
    assert code == "E101" and "YAML syntax error" in message
    assert line == line_of(text, "max_signals: [100") + 1


def test_missing_required_field(tmp_path: Path) -> None:
    text = re.sub(r"^  severity: low\n", "", SEED_TEXT, flags=re.M)
    found = codes(write(tmp_path, text))
    assert found == [("S101", line_of(text, "\nrule:"), 1, "rule is missing required field 'severity'")]


def test_wrong_enum_value_suggests(tmp_path: Path) -> None:
    text = SEED_TEXT.replace("  severity: low", "  severity: Low")
    path = write(tmp_path, text)
    with pytest.raises(DetectionError) as info:
        load_rule_file(path)
    (diag,) = info.value.diagnostics
    assert diag.code == "S104"
    assert (diag.location.line, diag.location.column) == (line_of(text, "severity: Low"), 13)
    assert "'Low'" in diag.message and diag.hint == "did you mean 'low'?"


def test_wrong_type(tmp_path: Path) -> None:
    text = SEED_TEXT.replace("  risk_score: 21", '  risk_score: "21"')
    found = codes(write(tmp_path, text))
    assert found == [("S103", line_of(text, "risk_score:"), 15,
                      "rule.risk_score must be an integer, not a string ('21')")]


def test_unknown_top_level_table(tmp_path: Path) -> None:
    text = SEED_TEXT + "rules:\n  x: 1\n"
    found = codes(write(tmp_path, text))
    assert found == [("S102", line_of(text, "rules:"), 1, "unknown top-level table 'rules'")]


def test_unknown_rule_field_did_you_mean(tmp_path: Path) -> None:
    text = SEED_TEXT.replace("  max_signals: 100", "  max_signal: 100")
    path = write(tmp_path, text)
    with pytest.raises(DetectionError) as info:
        load_rule_file(path)
    (diag,) = info.value.diagnostics
    assert diag.code == "S102" and diag.location.line == line_of(text, "max_signal:")
    assert diag.hint == "did you mean 'max_signals'?"


def test_several_problems_all_reported(tmp_path: Path) -> None:
    text = (SEED_TEXT.replace("  severity: low", "  severity: lowish")
            .replace("  risk_score: 21", "  risk_score: 210")
            .replace("  interval: 5m", "  interval: 5 minutes"))
    found = codes(write(tmp_path, text))
    assert [c[0] for c in found] == ["S104", "S104", "S104"]
    assert [c[1] for c in found] == sorted(c[1] for c in found)
    assert "at most 100" in found[1][3]


def test_type_specific_requirement(tmp_path: Path) -> None:
    text = SEED_TEXT.replace("  type: query", "  type: threshold")
    found = codes(write(tmp_path, text))
    assert ("S101", line_of(text, "\nrule:"), 1,
            "rule is missing required field 'threshold' (required for threshold rules)") in found


def test_duplicate_rule_id_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    shutil.copy(SEED_RULE, tmp_path / "a" / "one.yaml")
    write(tmp_path / "a", SEED_TEXT.replace("name: AWS STS AssumeRole Usage", "name: Another"), "two.yaml")
    result = load_rules([tmp_path / "a"])
    assert len(result.rules) == 2
    (diag,) = result.diagnostics
    assert diag.code == "U101"
    assert diag.location.path.endswith("two.yaml")
    assert "one.yaml:" in diag.message
    assert diag.location.line == line_of(SEED_TEXT, "rule_id:")


def test_duplicate_name(tmp_path: Path) -> None:
    shutil.copy(SEED_RULE, tmp_path / "one.yaml")
    write(tmp_path, SEED_TEXT.replace("rule_id: 93075852", "rule_id: 00000000"), "two.yaml")
    result = load_rules([tmp_path])
    assert [d.code for d in result.diagnostics] == ["U102"]


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = SEED_TEXT.replace("  severity: low\n", "  severity: low\n  severity: high\n")
    found = codes(write(tmp_path, text))
    assert found[0][0] == "E104" and found[0][1] == line_of(text, "severity: high")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "rule.yaml"
    path.write_bytes(b"metadata:\n  x: \xff\n")
    found = codes(path)
    assert found[0][:3] == ("E103", 2, 6)


def test_discovery_skips_hidden_and_other_files(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text("a: 1")
    (tmp_path / "notes.md").write_text("x")
    (tmp_path / "r.toml").write_text("")
    assert discover_rule_files([tmp_path]) == [tmp_path / "r.toml"]


def test_repository_rules_all_valid() -> None:
    result = load_rules([REPO / "rules"])
    assert result.diagnostics == []
    assert len(result.rules) >= 1


def test_validate_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SEED_RULE)]) == 0
    bad = write(tmp_path, SEED_TEXT.replace("  severity: low", "  severity: lowish"))
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"rule\.yaml:\d+:13: S104 rule\.severity has invalid value 'lowish'", out)
    assert "Traceback" not in out
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2


def test_validate_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    bad = write(tmp_path, SEED_TEXT.replace("  risk_score: 21", "  risk_score: x"))
    assert main(["validate", "--format", "json", str(bad)]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["diagnostics"][0]["code"] == "S103"
    assert payload["diagnostics"][0]["line"] == line_of(SEED_TEXT, "risk_score:")


def test_display_is_relative_inside_the_working_directory_and_absolute_outside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from detection.loader import display

    inside = tmp_path / "work"
    (inside / "rules").mkdir(parents=True)
    outside = tmp_path / "elsewhere" / "rule.yaml"
    monkeypatch.chdir(inside)
    assert display(inside / "rules" / "r.yaml") == str(Path("rules") / "r.yaml")
    assert display(Path("rules/r.yaml")) == str(Path("rules") / "r.yaml")
    # Not "../elsewhere/rule.yaml": messages must not depend on where the command ran.
    assert display(outside) == str(outside)
    assert display(Path("../elsewhere/rule.yaml")) == str(outside)


SEED_IN_COPY = "rules/aws/privilege_escalation_sts_assumerole_usage.yaml"
COPY_OF_SEED = "rules/aws/zz_copy_of_seed.yaml"

# The acceptance list, run through `detection validate` on a copy of the repository:
# (mutation of the seed rule, code, line of the reported position (needle), column, message part).
CLI_PROBLEMS = {
    "yaml-syntax": (("  max_signals: 100", "  max_signals: [100"), "E101", "\n  author:", 9,
                    "(while parsing a flow sequence that starts at line {max_signals}, column 16)"),
    "missing-field": (("  severity: low\n", ""), "S101", "\nrule:", 1, "rule is missing required field 'severity'"),
    "wrong-enum": (("  severity: low", "  severity: Low"), "S104", "severity: Low", 13,
                   "rule.severity has invalid value 'Low'"),
    "wrong-type": (("  risk_score: 21", '  risk_score: "21"'), "S103", "risk_score:", 15,
                   "rule.risk_score must be an integer, not a string ('21')"),
    "unknown-table": (("\nhistory:\n", "\nrules:\n  x: 1\nhistory:\n"), "S102", "\nrules:", 1,
                      "unknown top-level table 'rules'"),
    "duplicate-rule-id": (None, "U101", "rule_id:", 12, f"also used by {SEED_IN_COPY}:12:12"),
}


@pytest.mark.parametrize("problem", sorted(CLI_PROBLEMS))
def test_validate_on_a_repository_copy_reports_each_problem_once(
        problem: str, repo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    mutation, code, needle, column, message = CLI_PROBLEMS[problem]
    if mutation is None:  # the seed rule copied under another name: same rule_id, other name
        shown = COPY_OF_SEED
        text = SEED_TEXT.replace("name: AWS STS AssumeRole Usage", "name: AWS STS AssumeRole Usage (copy)")
    else:
        shown = SEED_IN_COPY
        old, new = mutation
        assert old in SEED_TEXT
        text = SEED_TEXT.replace(old, new, 1)
    (repo_copy / shown).write_text(text, encoding="utf-8")
    monkeypatch.chdir(repo_copy)
    assert main(["validate"]) == 1
    captured = capsys.readouterr()
    located = [line for line in captured.out.splitlines() if re.match(r"\S+:\d+:\d+: [A-Z]+\d+ ", line)]
    line = line_of(text, needle)
    message = message.format(max_signals=line_of(text, "max_signals:"))
    assert len(located) == 1, captured.out
    assert located[0].startswith(f"{shown}:{line}:{column}: {code} "), located
    assert message in located[0]
    assert "Traceback" not in captured.out + captured.err


PUBLISHED_QUERY = (
    "event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumedRole and "
    "aws.cloudtrail.user_identity.session_context.session_issuer.type:Role and event.outcome:success"
)


def test_seed_rule_version_100_is_the_published_rule() -> None:
    """Elastic's "AWS STS AssumeRole Usage" as published (version 100), rebuilt from the history."""
    from detection.history import rebuild_version

    rule = load_rule_file(SEED_RULE)
    published = rebuild_version(rule.rule, rule.history, 100).rule
    assert published["query"] == PUBLISHED_QUERY
    assert published["description"] == (
        "Identifies the use of AssumeRole. AssumeRole returns a set of temporary security credentials that can be "
        "used to access AWS resources. An adversary could use those credentials to move laterally and escalate "
        "privileges.")
    expected = {
        "rule_id": "93075852-b0f5-4b8b-89c3-a226efae5726", "name": "AWS STS AssumeRole Usage",
        "type": "query", "language": "kuery", "index": ["filebeat-*", "logs-aws*"], "severity": "low",
        "risk_score": 21, "interval": "5m", "from": "now-6m", "max_signals": 100,
        "tags": ["Elastic", "Cloud", "AWS", "Continuous Monitoring", "SecOps", "Identity and Access"],
        "author": ["Austin Songer"], "license": "Elastic License v2",
        "false_positives": ["Automated processes that use Terraform may lead to false positives."],
        "version": 100,
    }
    assert {key: published.get(key) for key in expected} == expected
    threat = [(t["tactic"]["id"], t["tactic"]["name"], t["tactic"]["reference"],
               [(x["id"], x["name"], x["reference"]) for x in t["technique"]]) for t in published["threat"]]
    assert threat == [
        ("TA0004", "Privilege Escalation", "https://attack.mitre.org/tactics/TA0004/",
         [("T1548", "Abuse Elevation Control Mechanism", "https://attack.mitre.org/techniques/T1548/")]),
        ("TA0008", "Lateral Movement", "https://attack.mitre.org/tactics/TA0008/",
         [("T1550", "Use Alternate Authentication Material", "https://attack.mitre.org/techniques/T1550/")]),
    ]
    recorded = {h.version: h for h in rule.history}
    assert (recorded[100].stack, recorded[100].kind) == ("8.5.0", "formatting")
    assert recorded[4].stack == "8.4.0" and recorded[4].previous["query"].strip() == PUBLISHED_QUERY
    assert (recorded[2].stack, recorded[2].kind) == ("8.1.0", "formatting")
    assert rule.metadata["added_in_stack"] == "7.16.0"
