"""Helpers for the lint tests: a small valid rule as text, written to tmp_path and linted."""

from __future__ import annotations

from pathlib import Path

import yaml

from detection.config import load_config
from detection.diagnostics import Diagnostic
from detection.lint import LintReport, LintSettings, lint_paths, lint_report
from detection.loader import load_rule_file

# A clean CloudTrail rule; tests replace lines of it to break one thing at a time.
BASE_RULE = """\
metadata:
  creation_date: 2024/01/10
  updated_date: 2024/01/10
  maturity: production
rule:
  rule_id: 0f6c2a8e-3d4b-4d1e-9a57-6b1f2c3d4e5f
  name: Example STS Rule
  description: Example rule for lint tests.
  type: query
  language: kuery
  index:
    - logs-aws*
  query: event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumeRole
  severity: low
  risk_score: 21
  interval: 5m
  from: now-6m
  max_signals: 100
  author:
    - Tester
  license: Apache-2.0
  references:
    - https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
  tags:
    - "Domain: Cloud"
  threat:
    - framework: MITRE ATT&CK
      tactic:
        id: TA0004
        name: Privilege Escalation
        reference: https://attack.mitre.org/tactics/TA0004/
      technique:
        - id: T1548
          name: Abuse Elevation Control Mechanism
          reference: https://attack.mitre.org/techniques/T1548/
  version: 1
history:
  - version: 1
    date: 2024/01/10
    kind: created
    summary: Created.
"""


def base_document() -> dict:
    return yaml.safe_load(BASE_RULE)


def merged_rule_text(example: str, base: dict | None = None) -> str:
    """The base rule with a docs example merged in: metadata/history tables, else rule keys."""
    document = base or base_document()
    fragment = yaml.safe_load(example) or {}
    for key, value in fragment.items():
        if key == "metadata":
            document["metadata"].update(value)
        elif key == "history":
            document["history"] = value
        else:
            document["rule"][key] = value
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def write_rule(folder: Path, text: str, name: str = "rule.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def replace(text: str, old: str, new: str) -> str:
    assert old in text, f"{old!r} not in the base rule"
    return text.replace(old, new, 1)


def lint_files(*paths: Path, settings: LintSettings | None = None) -> LintReport:
    config = load_config(paths[0].parent)
    return lint_report([load_rule_file(p) for p in paths], config, settings=settings or LintSettings())


def lint_dir(folder: Path, settings: LintSettings | None = None) -> LintReport:
    return lint_paths([folder], load_config(folder), settings=settings or LintSettings())


def codes(findings: list[Diagnostic]) -> list[str]:
    return [d.code for d in findings]


def position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the n-th occurrence of ``needle`` in ``text``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column
