"""`detection lint` on the command line: exit codes, text/JSON/SARIF output, selection, settings."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from detection.cli import main
from detection.lint import CHECKS

from .conftest import REPO
from .lint_support import BASE_RULE, position, replace, write_rule

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

BROKEN = replace(replace(BASE_RULE, "event.action:AssumeRole", "event.action:AssumedRole"),
                 "  risk_score: 21\n", "  risk_score: 50\n")


def project(tmp_path: Path, rules: dict[str, str], lint_settings: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.detection]\nrules-dir = "rules"\n' + (f"\n[tool.detection.lint]\n{lint_settings}" if lint_settings else ""),
        encoding="utf-8")
    for name, text in rules.items():
        write_rule(tmp_path / "rules", text, name)
    return tmp_path


def run(monkeypatch, capsys, where: Path, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(where)
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_repository_is_clean(monkeypatch, capsys) -> None:
    code, out, err = run(monkeypatch, capsys, REPO)
    assert (code, out) == (0, ""), out
    assert "no findings" in err


def test_findings_exit_1_in_text_form(tmp_path: Path, monkeypatch, capsys) -> None:
    root = project(tmp_path, {"a.yaml": BROKEN})
    code, out, err = run(monkeypatch, capsys, root)
    assert code == 1
    lines = [line for line in out.splitlines() if not line.startswith("    hint:")]
    v102, h101 = position(BROKEN, "AssumedRole"), position(BROKEN, "50\n")
    assert lines == [
        f"rules/a.yaml:{v102[0]}:{v102[1]}: V102 sts.amazonaws.com does not log AssumedRole: AssumedRole is a value "
        "of userIdentity.type (the caller is a role session), not an event name; the STS API is AssumeRole.",
        f"rules/a.yaml:{h101[0]}:{h101[1]}: H101 risk_score 50 is in the high band, but severity is low (0-21)",
    ]
    assert "    hint: did you mean 'AssumeRole'?" in out
    assert "1 rule linted: 1 error(s), 1 warning(s)" in err


def test_warnings_alone_fail_the_run(tmp_path: Path, monkeypatch, capsys) -> None:
    root = project(tmp_path, {"a.yaml": replace(BASE_RULE, "event.action:AssumeRole", "event.action:AssumedRole")})
    code, out, _ = run(monkeypatch, capsys, root, "--format", "json")
    assert code == 1
    assert [f["severity"] for f in json.loads(out)["findings"]] == ["warning"]


def test_missing_path_and_unparsable_file_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:
    root = project(tmp_path, {"a.yaml": BASE_RULE})
    code, out, _ = run(monkeypatch, capsys, root, "rules/nope.yaml")
    assert code == 2 and "E103 no such file or directory" in out
    write_rule(root / "rules", "rule: [unclosed\n", "b.yaml")
    code, out, _ = run(monkeypatch, capsys, root)
    assert code == 2 and "rules/b.yaml:2:1: E101" in out


def test_schema_problem_is_a_finding_not_a_usage_error(tmp_path: Path, monkeypatch, capsys) -> None:
    root = project(tmp_path, {"a.yaml": replace(BASE_RULE, "  severity: low\n", "  severity: lowest\n")})
    code, out, _ = run(monkeypatch, capsys, root)
    assert code == 1 and "rules/a.yaml:14:13: S104" in out


def test_json_output_is_sorted_documented_and_stable(tmp_path: Path, monkeypatch, capsys) -> None:
    root = project(tmp_path, {"b.yaml": BROKEN, "a.yaml": replace(BASE_RULE, "Example STS Rule", "Other Rule")
                              .replace("0f6c2a8e", "1f6c2a8e").replace("interval: 5m", "interval: 10m")})
    code, first, _ = run(monkeypatch, capsys, root, "--format", "json")
    _, second, _ = run(monkeypatch, capsys, root, "--format", "json")
    assert code == 1 and first == second
    data = json.loads(first)
    assert set(data) == {"version", "rules", "summary", "findings", "suppressed"}
    assert data["version"] == 1 and data["rules"] == 2
    assert data["summary"] == {"errors": 2, "warnings": 1, "suppressed": 0}
    keys = [(f["path"], f["line"], f["column"], f["code"]) for f in data["findings"]]
    assert keys == sorted(keys)
    assert [k[3] for k in keys] == ["H102", "V102", "H101"]
    v102 = data["findings"][1]
    assert set(v102) == {"path", "line", "column", "code", "severity", "message", "hint", "suggestion", "rule_id"}
    assert v102["suggestion"] == "AssumeRole" and v102["rule_id"] == "0f6c2a8e-3d4b-4d1e-9a57-6b1f2c3d4e5f"


def test_sarif_output_validates_against_the_sarif_2_1_0_schema(tmp_path: Path, monkeypatch, capsys) -> None:
    suppressed = replace(BROKEN, "  maturity: production\n",
                         "  maturity: production\n  lint:\n    ignore:\n      - {code: H101, reason: agreed with the SOC}\n")
    root = project(tmp_path, {"a.yaml": suppressed}, 'docs-url = "https://example.org/docs/lint-codes.md"\n')
    code, out, _ = run(monkeypatch, capsys, root, "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(log)
    run_ = log["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "detection" and len(driver["rules"]) == len(CHECKS)
    rule = driver["rules"][list(CHECKS).index("V102")]
    assert rule["id"] == "V102" and rule["defaultConfiguration"]["level"] == "warning"
    assert rule["helpUri"] == "https://example.org/docs/lint-codes.md#v102"
    assert rule["shortDescription"]["text"] and "```yaml" in rule["help"]["markdown"]
    active = [r for r in run_["results"] if "suppressions" not in r]
    assert len(active) == 1
    result = active[0]
    assert result["ruleId"] == "V102" and result["level"] == "warning"
    assert driver["rules"][result["ruleIndex"]]["id"] == "V102"
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "rules/a.yaml", "uriBaseId": "%SRCROOT%"}
    line, column = position(suppressed, "AssumedRole")
    assert physical["region"] == {"startLine": line, "startColumn": column}
    silenced = [r for r in run_["results"] if "suppressions" in r]
    assert [(r["ruleId"], r["suppressions"][0]["justification"]) for r in silenced] == [("H101", "agreed with the SOC")]


def test_sarif_of_a_clean_repository_validates(monkeypatch, capsys) -> None:
    code, out, _ = run(monkeypatch, capsys, REPO, "--format", "sarif")
    assert code == 0
    log = json.loads(out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert log["runs"][0]["results"] == []


def test_select_and_ignore_take_codes_families_and_prefixes(tmp_path: Path, monkeypatch, capsys) -> None:
    root = project(tmp_path, {"a.yaml": BROKEN})
    assert "H101" not in run(monkeypatch, capsys, root, "--select", "V")[1]
    out = run(monkeypatch, capsys, root, "--ignore", "V1,A")[1]
    assert "H101" in out and "V102" not in out
    code, out, err = run(monkeypatch, capsys, root, "--select", "Q,A", "--select", "U")
    assert (code, out) == (0, "")
    code, _, err = run(monkeypatch, capsys, root, "--ignore", "V1O2")
    assert code == 2 and "L104 'V1O2' matches no lint code" in err


def test_configured_ignore_and_bad_setting(tmp_path: Path, monkeypatch, capsys) -> None:
    root = project(tmp_path, {"a.yaml": BROKEN}, 'ignore = ["H1"]\n')
    out = run(monkeypatch, capsys, root)[1]
    assert "V102" in out and "H101" not in out
    out = run(monkeypatch, capsys, root, "--select", "H101")[1]
    assert "H101" in out and "V102" not in out  # the longer, more specific entry wins over ignore H1
    root2 = project(tmp_path / "p2", {"a.yaml": BASE_RULE}, 'select = ["ALL"]\nignored = ["Q112"]\n')
    code, _, err = run(monkeypatch, capsys, root2)
    assert code == 2
    assert "pyproject.toml:6:1: L103 unknown setting 'ignored' in [tool.detection.lint]" in err


def test_output_file_and_explain(tmp_path: Path, monkeypatch, capsys) -> None:
    root = project(tmp_path, {"a.yaml": BROKEN})
    code, out, _ = run(monkeypatch, capsys, root, "--format", "sarif", "--output", "out/lint.sarif")
    assert code == 1 and out == ""
    assert json.loads((root / "out" / "lint.sarif").read_text())["version"] == "2.1.0"
    code, out, _ = run(monkeypatch, capsys, root, "--explain", "q106")
    assert code == 0 and out.startswith("### Q106 value-list-without-parentheses")
    assert "event.action:(CreateUser or DeleteUser)" in out
    assert run(monkeypatch, capsys, root, "--explain", "Z999")[0] == 2


@pytest.mark.parametrize("reason", ['""', '"   "'])
def test_a_suppression_needs_a_reason(tmp_path: Path, monkeypatch, capsys, reason: str) -> None:
    text = replace(BROKEN, "  maturity: production\n",
                   f"  maturity: production\n  lint:\n    ignore:\n      - {{code: H101, reason: {reason}}}\n")
    root = project(tmp_path, {"a.yaml": text})
    code, out, _ = run(monkeypatch, capsys, root)
    line, column = position(text, reason + "}")
    assert code == 1 and f"rules/a.yaml:{line}:{column}: S104 metadata.lint.ignore[0].reason" in out
