"""The acceptance scenario end to end in scratch git repositories: check fails on an unbumped
change, bump fixes it with a minimal diff, check passes; YAML and elastic-layout TOML."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from detection.cli import main
from detection.content_hash import content_hash
from detection.history import rebuild_versions
from detection.loader import load_rule_file

ROOT = Path(__file__).resolve().parents[1]
SEED = Path("rules/aws/privilege_escalation_sts_assumerole_usage.yaml")
SEED_FIXTURE = Path("fixtures/aws/privilege_escalation_sts_assumerole_usage.yaml")
DAY = "2031/01/02"  # not the seed's own updated_date, so that line must change

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def init_repo(repo: Path) -> None:
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "test@example.com")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "commit.gpgsign", "false")


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def changed_lines(repo: Path, path: Path) -> tuple[list[str], list[str]]:
    """Added and removed lines of ``path`` in the working tree against HEAD."""
    diff = git(repo, "diff", "-U0", "HEAD", "--", str(path)).splitlines()
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    return added, removed


@pytest.fixture
def seed_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch project with the seed rule, its fixtures and the project settings, committed."""
    repo = tmp_path / "project"
    for rel in ("pyproject.toml", SEED, SEED_FIXTURE, Path("fixtures/aws/events")):
        source, target = ROOT / rel, repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    init_repo(repo)
    commit_all(repo, "base")
    monkeypatch.chdir(repo)
    return repo


def test_acceptance_description_change(seed_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = load_rule_file(seed_repo / SEED)
    old_description = before.rule["description"]
    text = (seed_repo / SEED).read_text()
    (seed_repo / SEED).write_text(text.replace("Identifies the use of AssumeRole.", "Identifies AssumeRole calls."))
    commit_all(seed_repo, "reword the description")
    edited = (seed_repo / SEED).read_text()

    assert main(["check", "--base", "HEAD~1"]) == 1
    out = capsys.readouterr().out
    assert "G101" in out and "the version must be bumped" in out
    assert f"run `detection bump {SEED} --base HEAD~1`" in out
    assert "== validate: 1 rule loaded, no problems" in out

    assert main(["bump", "--base", "HEAD~1", "--date", DAY]) == 0
    capsys.readouterr()
    added, removed = changed_lines(seed_repo, SEED)
    old_version = before.version
    new_version = old_version + 1
    assert removed == [f"  updated_date: {before.metadata['updated_date']}", f"  version: {old_version}"]
    assert added[:2] == [f"  updated_date: {DAY}", f"  version: {new_version}"]
    entry_lines = added[2:]
    assert entry_lines[0] == f"  - version: {new_version}"
    assert f"    date: {DAY}" in entry_lines and "    kind: fields" in entry_lines
    assert "    changed: [description]" in entry_lines and entry_lines[-1].startswith("    hash: sha256:")
    # every comment of the edited file survived
    after_text = (seed_repo / SEED).read_text()
    assert [c for c in edited.splitlines() if c.lstrip().startswith("#")] == \
        [c for c in after_text.splitlines() if c.lstrip().startswith("#")]

    after = load_rule_file(seed_repo / SEED)
    newest = after.history[0]
    assert newest.previous == {"description": old_description}
    assert newest.hash == content_hash(after.rule)
    assert all(s.verified for s in rebuild_versions(after.rule, after.history))

    assert main(["check", "--base", "HEAD~1"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("check passed")
    assert main(["check"]) == 0


def test_whitespace_only_query_edit_is_formatting(seed_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (seed_repo / SEED).read_text()
    # `>-` folds lines: a blank-free extra line break and a trailing space change the string only
    edited = text.replace("event.provider:sts.amazonaws.com and event.action:",
                          "event.provider:sts.amazonaws.com   and event.action:", 1)
    assert edited != text
    (seed_repo / SEED).write_text(edited)
    commit_all(seed_repo, "respace the query")
    assert content_hash(load_rule_file(seed_repo / SEED).rule) != load_rule_file(seed_repo / SEED).history[0].hash

    assert main(["bump", "--base", "HEAD~1", "--stack", "9.3.0"]) == 0
    rule = load_rule_file(seed_repo / SEED)
    newest = rule.history[0]
    assert (newest.kind, newest.changed, newest.stack) == ("formatting", ("query",), "9.3.0")
    assert newest.summary == "Formatting only (query)."
    assert main(["check", "--base", "HEAD~1"]) == 0
    capsys.readouterr()


def test_bump_finds_the_recorded_version_in_older_commits(seed_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Someone committed a change without bumping; HEAD no longer holds the recorded version.
    text = (seed_repo / SEED).read_text()
    (seed_repo / SEED).write_text(text.replace("risk_score: 21", "risk_score: 19"))
    commit_all(seed_repo, "unbumped change")
    (seed_repo / "README").write_text("x\n")
    commit_all(seed_repo, "unrelated")
    assert main(["check"]) == 1
    assert "G101" in capsys.readouterr().out

    assert main(["bump"]) == 0  # base defaults to HEAD; the values come from the commit before
    rule = load_rule_file(seed_repo / SEED)
    assert rule.history[0].previous == {"risk_score": 21}
    assert main(["check"]) == 0
    capsys.readouterr()


ELASTIC_TOML = """\
[metadata]
creation_date = "2021/10/15"
integration = ["aws"]
maturity = "production"
updated_date = "2024/06/14"

[rule]
author = ["Elastic"]
description = \"\"\"
Identifies a role assumed by an AWS service.
\"\"\"
from = "now-9m"
index = ["filebeat-*", "logs-aws.cloudtrail-*"]
language = "kuery"
license = "Elastic License v2"
name = "AWS STS Role Assumption by Service"
risk_score = 21
rule_id = "93075852-b0f5-4b8b-89c3-a226efae5726"
severity = "low"
tags = ["Domain: Cloud", "Data Source: AWS"]  # tags stay
timestamp_override = "event.ingested"
type = "new_terms"
version = 216

query = '''
event.dataset:"aws.cloudtrail"
    and event.provider:"sts.amazonaws.com"
    and event.action:"AssumeRole"
    and aws.cloudtrail.user_identity.type:"AWSService"
'''

[[rule.threat]]
framework = "MITRE ATT&CK"

[rule.threat.tactic]
id = "TA0004"
name = "Privilege Escalation"
reference = "https://attack.mitre.org/tactics/TA0004/"

[rule.new_terms]
field = "new_terms_fields"
value = ["aws.cloudtrail.user_identity.invoked_by"]
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "now-5d"
"""


def test_elastic_layout_toml_bumps_through_tomlkit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "elastic"
    rule_path = repo / "rules" / "integrations" / "aws" / "privilege_escalation_role_assumption_by_service.toml"
    rule_path.parent.mkdir(parents=True)
    rule_path.write_text(ELASTIC_TOML)
    (repo / "pyproject.toml").write_text('[tool.detection]\nrules-dir = "rules"\n'
                                         '[tool.detection.policy]\nexempt-maturities = ["production"]\n')
    init_repo(repo)
    monkeypatch.chdir(repo)

    # First record: the imported rule has no history yet.
    assert main(["bump", "--date", "2026-11-28"]) == 0
    commit_all(repo, "record the rule")
    rule = load_rule_file(rule_path)
    assert [(h.version, h.kind) for h in rule.history] == [(216, "created")]

    # Change the new-terms window (a TOML-only table) and re-indent the query.
    text = rule_path.read_text()
    rule_path.write_text(text.replace('value = "now-5d"', 'value = "now-7d"').replace(
        '    and event.action:"AssumeRole"', '        and event.action:"AssumeRole"'))
    commit_all(repo, "longer window")
    assert main(["check", "--base", "HEAD~1"]) == 1
    assert "G101" in capsys.readouterr().out

    assert main(["bump", "--base", "HEAD~1", "--date", "2026-11-29"]) == 0
    added, removed = changed_lines(repo, rule_path.relative_to(repo))
    assert removed == ['updated_date = "2026/11/28"', "version = 216"]
    assert added[:2] == ['updated_date = "2026/11/29"', "version = 217"]
    assert "[[history]]" in added and "[history.previous]" in added and 'history_window_start = "now-5d"' in added
    rule = load_rule_file(rule_path)
    newest = rule.history[0]
    assert (newest.version, newest.kind) == (217, "fields")
    assert newest.changed == ("history_window_start", "query")
    assert 'tags = ["Domain: Cloud", "Data Source: AWS"]  # tags stay' in rule_path.read_text()
    assert [s.verified for s in rebuild_versions(rule.rule, rule.history)] == [True, True]
    assert main(["check", "--base", "HEAD~1"]) == 0
    capsys.readouterr()


def test_unreleased_version_is_reworked_in_place(seed_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pull request that edits its own new version again keeps one version, not one per edit."""
    before = load_rule_file(seed_repo / SEED)
    git(seed_repo, "branch", "-q", "-M", "main")
    git(seed_repo, "checkout", "-q", "-b", "feature")
    text = (seed_repo / SEED).read_text()
    (seed_repo / SEED).write_text(text.replace("Identifies the use of AssumeRole.", "Identifies AssumeRole calls."))
    assert main(["bump", "--base", "main", "--date", DAY]) == 0
    commit_all(seed_repo, "first edit")
    first = load_rule_file(seed_repo / SEED)
    assert first.version == before.version + 1

    text = (seed_repo / SEED).read_text()
    (seed_repo / SEED).write_text(text.replace("Identifies AssumeRole calls.", "Identifies AssumeRole API calls."))
    assert main(["bump", "--base", "main", "--date", DAY]) == 0
    out = capsys.readouterr().out
    assert f"re-recorded unreleased version {first.version} in place" in out
    second = load_rule_file(seed_repo / SEED)
    assert second.version == first.version, "still one version above main"
    assert len(second.history) == len(first.history)
    newest = second.history[0]
    assert newest.previous == {"description": before.rule["description"]}, "the delta is against main"
    assert newest.hash == content_hash(second.rule)
    assert all(s.verified for s in rebuild_versions(second.rule, second.history))
    assert main(["check", "--base", "main"]) == 0


def test_new_rule_edited_again_is_rehashed(seed_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(seed_repo, "branch", "-q", "-M", "main")
    git(seed_repo, "checkout", "-q", "-b", "feature")
    new_rule = seed_repo / "rules" / "aws" / "new_rule.yaml"
    text = (seed_repo / SEED).read_text()
    text = text.replace("93075852-b0f5-4b8b-89c3-a226efae5726", "0f4e5a5e-3c51-4a55-9c6b-2f0b3b0c1d01")
    text = text.replace("name: AWS STS AssumeRole Usage", "name: A brand new rule")
    start = text.index("\nhistory:")
    new_rule.write_text(text[:start] + "\nhistory:\n  - version: 1\n    date: 2031/01/01\n    kind: created\n"
                        "    summary: Created.\n")
    new_rule.write_text(re.sub(r"^  version: \d+$", "  version: 1", new_rule.read_text(), flags=re.M))
    assert main(["bump", str(new_rule), "--base", "main", "--date", DAY]) == 0
    commit_all(seed_repo, "new rule")
    hashed = load_rule_file(new_rule)
    assert hashed.history[0].hash == content_hash(hashed.rule)

    new_rule.write_text(new_rule.read_text().replace("severity: low", "severity: medium").replace(
        "risk_score: 21", "risk_score: 47"))
    assert main(["bump", str(new_rule), "--base", "main", "--date", DAY]) == 0
    again = load_rule_file(new_rule)
    assert again.version == 1 and len(again.history) == 1
    assert again.history[0].kind == "created" and again.history[0].hash == content_hash(again.rule)
