"""detection check (stages, gates against a base, --changed-only, report formats) and
detection changelog, in scratch git repositories."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from detection.changelog import render_markdown, rule_changes
from detection.check import run_check
from detection.cli import main
from detection.config import load_config
from detection.loader import load_rule_file

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

RULE = """\
# {name}
metadata:
  creation_date: 2024/01/02
  updated_date: 2024/01/02
  maturity: experimental
rule:
  rule_id: {rule_id}
  name: {name}
  description: Detects {action}.
  type: query
  language: kuery
  index: [logs-*]
  query: event.action:{action}
  severity: low
  risk_score: 21
  version: 1
"""
FIXTURE = """\
rule: {rule_id}
cases:
  - name: hit
    expect: alert
    event: {{event: {{action: {action}}}}}
  - name: miss
    expect: no_alert
    event: {{event: {{action: Other}}}}
"""
IDS = {"a": "0f6f3c53-0000-4000-8000-00000000000a", "b": "0f6f3c53-0000-4000-8000-00000000000b",
       "c": "0f6f3c53-0000-4000-8000-00000000000c"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def add_rule(repo: Path, key: str, action: str) -> Path:
    fields = {"rule_id": IDS[key], "name": f"Rule {key.upper()}", "action": action}
    path = repo / "rules" / f"{key}.yaml"
    path.write_text(RULE.format(**fields))
    (repo / "fixtures" / f"{key}.yaml").write_text(FIXTURE.format(**fields))
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """Two recorded rules with fixtures, committed."""
    root = tmp_path / "project"
    (root / "rules").mkdir(parents=True)
    (root / "fixtures").mkdir()
    (root / "pyproject.toml").write_text('[tool.detection]\nrules-dir = "rules"\nfixtures-dir = "fixtures"\n')
    add_rule(root, "a", "Alpha")
    add_rule(root, "b", "Beta")
    git(root, "init", "-q")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    git(root, "config", "commit.gpgsign", "false")
    monkeypatch.chdir(root)
    assert main(["bump", "--date", "2024-01-02"]) == 0  # record version 1 of each
    commit_all(root, "base")
    capsys.readouterr()
    return root


def test_clean_project_passes_every_stage(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--base", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "== validate: 2 rules loaded, no problems" in out
    assert "== test: 4 passed, 0 failed" in out
    assert "== versions: all versions in order against HEAD" in out
    assert out.rstrip().endswith("check passed")


def test_json_junit_and_sarif_reports(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo / "rules" / "a.yaml", "Detects Alpha.", "Detects alpha.")
    assert main(["check", "--base", "HEAD", "--format", "json", "--junit", "out.xml", "--sarif", "out.sarif"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["exit_code"] == 1 and data["ok"] is False
    stages = {s["name"]: s for s in data["stages"]}
    assert list(stages) == ["validate", "lint", "test", "versions"]
    assert stages["versions"]["status"] == "failed"
    assert [d["code"] for d in stages["versions"]["diagnostics"]] == ["G101"]
    assert len(stages["test"]["results"]) == 4

    suites = ET.parse(repo / "out.xml").getroot()
    assert suites.tag == "testsuites" and suites.get("failures") == "1"
    versions = next(s for s in suites.iter("testsuite") if s.get("name") == "versions")
    failure = versions.find("testcase/failure")
    assert failure is not None and failure.get("type") == "G101"

    sarif = json.loads((repo / "out.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "G101"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "rules/a.yaml"


def test_deleted_rule_must_be_deprecated(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "rules" / "b.yaml").unlink()
    (repo / "fixtures" / "b.yaml").unlink()
    assert main(["check", "--base", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "rules/b.yaml:0:0: G105 rule 'Rule B' (0f6f3c53-0000-4000-8000-00000000000b) was deleted since HEAD; " \
           "deprecate it instead" in out
    assert "git checkout HEAD -- rules/b.yaml" in out and "maturity: deprecated" in out


def test_deprecating_instead_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo / "rules" / "b.yaml", "maturity: experimental", "maturity: deprecated\n  deprecated_reason: Merged into A.")
    assert main(["check", "--base", "HEAD"]) == 1
    assert "G110" in capsys.readouterr().out
    assert main(["bump"]) == 0
    assert load_rule_file(repo / "rules" / "b.yaml").history[0].kind == "deprecated"
    assert main(["check", "--base", "HEAD"]) == 0
    capsys.readouterr()


def test_version_jump_against_the_base(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo / "rules" / "a.yaml", "  version: 1\n", "  version: 3\n")
    assert main(["check", "--base", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "G103 version jumped from 1 at HEAD to 3" in out
    assert out.count(" G103 ") == 1  # the base and the history tell one story: reported once


def test_version_down_against_the_base(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = repo / "rules" / "a.yaml"
    edit(path, "Detects Alpha.", "Detects alpha.")
    assert main(["bump"]) == 0
    commit_all(repo, "version 2")
    edit(path, "  version: 2\n", "  version: 1\n")
    capsys.readouterr()
    assert main(["check", "--base", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "G102 version went down from 2 at HEAD to 1" in out
    assert out.count(" G102 ") == 1


def test_unknown_base_and_missing_git_are_usage_errors(repo: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--base", "no-such-ref"]) == 2
    out = capsys.readouterr().out
    assert "G131 unknown git revision 'no-such-ref'" in out
    plain = tmp_path / "plain"
    shutil.copytree(repo / "rules", plain / "rules")
    (plain / "pyproject.toml").write_text('[tool.detection]\nrules-dir = "rules"\n')
    monkeypatch.chdir(plain)
    assert main(["check", "--base", "HEAD"]) == 2
    assert "G130" in capsys.readouterr().out
    assert main(["bump", "--base", "HEAD"]) == 2
    assert "is not inside a git repository" in capsys.readouterr().err
    assert main(["check"]) == 0  # without --base the recorded history is enough
    capsys.readouterr()


def test_changed_only_tests_what_differs(repo: Path) -> None:
    config = load_config(repo)
    report = run_check(config, changed_only=True)
    assert report.stage("test").status == "skipped" and report.changed_rules == []

    fixture = repo / "fixtures" / "b.yaml"
    fixture.write_text(fixture.read_text() + "  - name: another-miss\n    expect: no_alert\n"
                                             "    event: {event: {action: Gamma}}\n")
    report = run_check(config, changed_only=True)
    assert report.changed_rules == ["fixtures/b.yaml"]
    results = report.stage("test").payload.results
    assert {r.rule_id for r in results} == {IDS["b"]} and len(results) == 3
    assert report.exit_code == 0

    edit(repo / "rules" / "a.yaml", "Detects Alpha.", "Detects alpha.")
    report = run_check(config, base="HEAD", changed_only=True)
    assert report.changed_rules == ["fixtures/b.yaml", "rules/a.yaml"]
    assert {r.rule_id for r in report.stage("test").payload.results} == {IDS["a"], IDS["b"]}
    assert report.stage("versions").status == "failed"


def test_changelog_since_a_release(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(repo, "tag", "v1")
    edit(repo / "rules" / "a.yaml", "query: event.action:Alpha", "query: event.action:Alpha2")
    edit(repo / "fixtures" / "a.yaml", "action: Alpha}", "action: Alpha2}")
    edit(repo / "rules" / "b.yaml", "maturity: experimental", "maturity: deprecated\n  deprecated_reason: Merged into A.")
    add_rule(repo, "c", "Gamma")
    assert main(["bump", "--summary", "Catch Alpha2 too.", "rules/a.yaml"]) == 0
    assert main(["bump", "rules/b.yaml", "rules/c.yaml"]) == 0
    capsys.readouterr()

    assert main(["changelog", "--since", "v1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("### Rules\n\n#### Added\n\n- **Rule C** (version 1, `rules/c.yaml`)\n")
    assert "#### Updated\n\n- **Rule A** (version 1 → 2)\n  - 2: query changed. Catch Alpha2 too.\n" in text
    assert "#### Deprecated\n\n- **Rule B** (version 1 → 2): Merged into A.\n" in text

    assert main(["changelog", "--since", "v1", "--format", "json"]) == 0
    kinds = {c["name"]: c["kind"] for c in json.loads(capsys.readouterr().out)["changes"]}
    assert kinds == {"Rule A": "updated", "Rule B": "deprecated", "Rule C": "added"}


def test_changelog_leaves_out_the_summary_bump_generated(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(repo, "tag", "v1")
    edit(repo / "rules" / "a.yaml", "Detects Alpha.", "Detects alpha.")
    edit(repo / "rules" / "b.yaml", "query: event.action:Beta", "query: 'event.action:Beta '")
    assert main(["bump"]) == 0
    capsys.readouterr()
    assert main(["changelog", "--since", "v1"]) == 0
    text = capsys.readouterr().out
    assert "- **Rule A** (version 1 → 2)\n  - 2: changed description.\n" in text
    assert "- **Rule B** (version 1 → 2)\n  - 2: formatting only.\n" in text


def test_changelog_flags_unrecorded_changes_and_deletions(repo: Path) -> None:
    from detection.baseline import load_baseline
    from detection.git import find_repo
    from detection.loader import load_rules

    edit(repo / "rules" / "a.yaml", "Detects Alpha.", "Detects alpha.")
    (repo / "rules" / "b.yaml").unlink()
    config = load_config(repo)
    log = rule_changes(load_rules([repo / "rules"]).rules, load_baseline(find_repo(repo), "HEAD", config.rules_dirs))
    text = render_markdown(log)
    assert "- **Rule A** (version 1 → 1): changed without a recorded version (run `detection bump`)" in text
    assert "#### Removed\n\n- **Rule B** (was version 1): deleted" in text


def test_changed_event_file_re_tests_the_fixtures_that_read_it(repo: Path) -> None:
    # One events file next to the fixtures, one elsewhere in the repository.
    (repo / "fixtures" / "events").mkdir()
    (repo / "fixtures" / "events" / "b.ndjson").write_text('{"event": {"action": "Beta"}}\n')
    (repo / "samples").mkdir()
    (repo / "samples" / "a.json").write_text('{"event": {"action": "Alpha"}}\n')
    edit(repo / "fixtures" / "b.yaml", "cases:\n", "cases:\n  - name: from-file\n    expect: alert\n"
                                                  "    events_file: events/b.ndjson\n")
    edit(repo / "fixtures" / "a.yaml", "cases:\n", "cases:\n  - name: from-samples\n    expect: alert\n"
                                                  "    events_file: ../samples/a.json\n")
    commit_all(repo, "cases read event files")
    config = load_config(repo)

    (repo / "fixtures" / "events" / "b.ndjson").write_text('{"event": {"action": "Other"}}\n')
    report = run_check(config, base="HEAD", changed_only=True)
    assert report.changed_rules == ["fixtures/b.yaml"]
    failed = [r.case for r in report.stage("test").payload.results if not r.ok]
    assert failed == ["from-file"] and report.exit_code == 1

    git(repo, "checkout", "-q", "--", "fixtures")
    (repo / "samples" / "a.json").unlink()  # a deleted events file breaks its case too
    report = run_check(config, base="HEAD", changed_only=True)
    assert report.changed_rules == ["fixtures/a.yaml"]
    stage = report.stage("test")
    assert stage.status == "failed" and [d.code for d in stage.diagnostics] == ["F110"]
    assert "'../samples/a.json' does not exist" in stage.diagnostics[0].message


def test_deleted_fixture_file_re_tests_its_rule(repo: Path) -> None:
    edit(repo / "rules" / "a.yaml", "maturity: experimental", "maturity: production")
    commit_all(repo, "rule A in production: the fixture policy applies")
    (repo / "fixtures" / "a.yaml").unlink()
    report = run_check(load_config(repo), base="HEAD", changed_only=True)
    assert report.changed_rules == ["rules/a.yaml"]
    [policy] = report.stage("test").payload.results
    assert policy.case == "[policy]" and policy.outcome == "failed" and "no fixture cases" in policy.message


def test_settings_change_re_tests_everything(repo: Path) -> None:
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.detection.policy]\nrequire-negative = false\n")
    report = run_check(load_config(repo), base="HEAD", changed_only=True)
    assert report.changed_rules == ["fixtures", "rules"]
    assert {r.rule_id for r in report.stage("test").payload.results} == {IDS["a"], IDS["b"]}


def test_check_reads_each_rule_file_once(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test stage reuses the rules the validate stage loaded (half the parsing on a big repo),
    in a full run and a changed-only one; with explicit paths it still reads the whole rule set."""
    import detection.loader as loader

    reads: list[str] = []
    real = loader.load_rule_file
    monkeypatch.setattr(loader, "load_rule_file", lambda path: reads.append(Path(path).name) or real(path))
    config = load_config(repo)
    report = run_check(config)
    assert report.exit_code == 0 and len(report.stage("test").payload.results) == 4
    assert sorted(reads) == ["a.yaml", "b.yaml"]

    reads.clear()
    edit(repo / "rules" / "a.yaml", "Detects Alpha.", "Detects alpha.")
    report = run_check(config, changed_only=True)
    assert {r.rule_id for r in report.stage("test").payload.results} == {IDS["a"]}
    assert sorted(reads) == ["a.yaml", "b.yaml"]

    reads.clear()
    report = run_check(config, paths=[repo / "rules" / "b.yaml"])
    assert {r.rule_id for r in report.stage("test").payload.results} == {IDS["b"]}
    assert sorted(reads) == ["a.yaml", "b.yaml", "b.yaml"]  # the selection, then every rule for the cases
