"""The shipped CI workflow and pre-commit hooks call only commands and options that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from detection.cli import build_parser

from .conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")
_OPERATORS = {"&&", "||", ";", "|", "&"}
_REDIRECT = re.compile(r"^(>>?|<|>&|&>)$")


def detection_invocations(script: str) -> list[list[str]]:
    """The argument lists of every `detection ...` (or `python -m detection ...`) command in a
    shell script, with ${{ ... }} expressions replaced by a placeholder and redirections dropped."""
    script = re.sub(r"\$\{\{.*?\}\}", "PLACEHOLDER", script).replace("\\\n", " ")
    found = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        command: list[str] = []
        skip_next = False
        for token in [*lexer, ";"]:
            if skip_next:  # the target of a redirection
                skip_next = False
            elif token in _OPERATORS:
                if command[:1] == ["detection"]:
                    found.append(command[1:])
                elif command[:3] == ["python", "-m", "detection"]:
                    found.append(command[3:])
                command = []
            elif _REDIRECT.match(token):
                if command and command[-1].isdigit():
                    command.pop()  # the file descriptor of 2>&1
                skip_next = True
            else:
                command.append(token)
    return found


def _parse(args: list[str], where: str) -> None:
    try:
        build_parser().parse_args(args)
    except SystemExit as exc:
        pytest.fail(f"{where}: `detection {' '.join(args)}` is not a valid command line (exit {exc.code})")


def _steps(workflow: Path) -> list[dict]:
    data = yaml.safe_load(workflow.read_text())
    return [step for job in data["jobs"].values() for step in job.get("steps", [])]


def test_there_is_a_workflow() -> None:
    assert WORKFLOWS, ".github/workflows/*.yml is missing"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_runs_only_existing_commands(workflow: Path) -> None:
    seen = []
    for step in _steps(workflow):
        for args in detection_invocations(step.get("run", "")):
            _parse(args, f"{workflow.name}: step {step.get('name', step.get('run'))!r}")
            seen.append(args[0])
    # The pipeline: the changed-only check, SARIF from lint, the package.
    assert {"check", "lint", "package", "fmt"} <= set(seen)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_a_timeout(workflow: Path) -> None:
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    for name, job in jobs.items():
        assert isinstance(job.get("timeout-minutes"), int) and 0 < job["timeout-minutes"] <= 60, name


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_actions_are_pinned_to_a_major_version(workflow: Path) -> None:
    uses = [step["uses"] for step in _steps(workflow) if "uses" in step]
    assert uses
    for action in uses:
        assert PINNED.match(action), f"{workflow.name}: {action} is not pinned to a version"


def test_pull_request_job_checks_changed_rules_and_reports() -> None:
    text = (REPO / ".github" / "workflows" / "detection.yml").read_text()
    steps = _steps(REPO / ".github" / "workflows" / "detection.yml")
    commands = [args for s in steps for args in detection_invocations(s.get("run", ""))]
    check = next(a for a in commands if a[0] == "check" and "--changed-only" in a)
    assert "--base" in check and "--junit" in check
    assert ["lint", "--format", "sarif", "--output", "lint.sarif"] in commands
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in steps)
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in steps)
    assert "copy this file to .github/workflows/" in text  # how a team adopts it


def test_the_invocation_parser_sees_through_shell_syntax() -> None:
    script = 'detection lint --format sarif --output x.sarif || [ $? -eq 1 ]\necho hi && detection fmt --check > out.txt 2>&1'
    assert detection_invocations(script) == [["lint", "--format", "sarif", "--output", "x.sarif"], ["fmt", "--check"]]
    with pytest.raises(pytest.fail.Exception):
        _parse(["check", "--no-such-option"], "test")


@pytest.mark.parametrize("hooks_file", [".pre-commit-hooks.yaml", ".pre-commit-config.yaml"])
def test_pre_commit_hooks_call_existing_commands_with_file_names(hooks_file: str) -> None:
    data = yaml.safe_load((REPO / hooks_file).read_text())
    hooks = data if isinstance(data, list) else [h for repo in data["repos"] for h in repo["hooks"]]
    detection_hooks = [h for h in hooks if h["entry"].split()[0] == "detection"]
    assert {h["id"] for h in detection_hooks} >= {"detection-validate", "detection-lint", "detection-test", "detection-fmt"}
    for hook in detection_hooks:
        pattern = re.compile(hook["files"])
        # pre-commit appends the staged files the pattern matches: a rule and its fixture file
        staged = [p for p in ("rules/aws/x.yaml", "fixtures/aws/x.yaml") if pattern.search(p)]
        assert staged, f"{hook['id']}: matches no rule or fixture file"
        assert not pattern.search("fixtures/aws/events/x.ndjson")
        _parse(shlex.split(hook["entry"]) [1:] + hook.get("args", []) + staged, f"{hooks_file}: {hook['id']}")
