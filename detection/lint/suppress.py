"""Per-rule suppressions (``metadata.lint.ignore``), and the L1xx codes about lint itself.

A suppression names a code (or a prefix such as ``Q1``) and must give a reason:

    metadata:
      lint:
        ignore:
          - {code: Q112, reason: "the field is small; the leading wildcard is cheap here"}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from detection.diagnostics import Diagnostic, Severity
from detection.lint.registry import documented
from detection.model import RuleFile

# Codes about lint itself are never suppressed per rule (a suppression cannot excuse itself).
UNSUPPRESSIBLE = ("L",)


@dataclass(frozen=True)
class Suppression:
    code: str
    reason: str
    index: int  # position in metadata.lint.ignore, for locating findings about it

    def covers(self, code: str) -> bool:
        return code.startswith(self.code) and not code.startswith(UNSUPPRESSIBLE)


def suppressions(rule: RuleFile) -> list[Suppression]:
    lint = rule.metadata.get("lint") or {}
    out = []
    for i, item in enumerate(lint.get("ignore") or [] if isinstance(lint, Mapping) else []):
        if isinstance(item, Mapping) and isinstance(item.get("code"), str):
            out.append(Suppression(item["code"].strip().upper(), str(item.get("reason", "")).strip(), i))
    return out


def suppression_findings(rule: RuleFile, items: Iterable[Suppression], used: set[int], known: Iterable[str],
                         enabled) -> list[Diagnostic]:
    """L101 for codes that do not exist, L102 for suppressions that silenced nothing."""
    known = list(known)
    out = []
    for item in items:
        where = rule.location(("metadata", "lint", "ignore", item.index, "code"))
        covered = [c for c in known if item.covers(c)]
        if not covered:
            out.append(Diagnostic(where, "L101", f"suppression names unknown code '{item.code}'",
                                  hint="use a code listed in docs/lint-codes.md (L codes cannot be suppressed)",
                                  data={"rule_id": rule.rule_id}))
        elif item.index not in used and any(enabled(c) for c in covered):
            out.append(Diagnostic(where, "L102", f"suppression of {item.code} is unused: no such finding in this rule",
                                  hint="remove the suppression", severity=Severity.WARNING,
                                  data={"rule_id": rule.rule_id}))
    return out


CHECKS = (
    documented("L101", "unknown-suppression", "a suppression names a code that does not exist",
               explanation="""
               Every entry of `metadata.lint.ignore` must name an existing code or prefix, with a
               reason. A misspelt code suppresses nothing and hides that the finding is still there.
               """,
               bad="""
               metadata:
                 lint:
                   ignore: [{code: Q912, reason: only a few distinct actions are indexed}]
               query: event.dataset:aws.cloudtrail and event.action:*AssumeRole
               """,
               good="""
               metadata:
                 lint:
                   ignore: [{code: Q112, reason: only a few distinct actions are indexed}]
               query: event.dataset:aws.cloudtrail and event.action:*AssumeRole
               """, scope="lint"),
    documented("L102", "unused-suppression", "a suppression silences nothing",
               explanation="""
               A suppression whose finding has gone (the rule was fixed, or the check changed) should be
               removed, or it will hide the next, unrelated finding with that code.
               """,
               bad="""
               metadata:
                 lint:
                   ignore: [{code: H101, reason: score agreed with the SOC}]
               severity: low
               risk_score: 21
               """,
               good="""
               severity: low
               risk_score: 21
               """, severity=Severity.WARNING, scope="lint"),
    documented("L103", "bad-setting", "an unknown or ill-typed setting in [tool.detection.lint]",
               explanation="""
               Settings are `select`, `ignore` (lists of codes or prefixes), `allowed-tags` (list of
               strings), `max-signals` (integer) and `docs-url` (string). Anything else is a usage error
               (exit 2), so a typo does not silently switch a check off.
               """,
               bad="""
               # pyproject.toml
               [tool.detection.lint]
               ignored = ["Q112"]
               """,
               good="""
               # pyproject.toml
               [tool.detection.lint]
               ignore = ["Q112"]
               """, scope="lint"),
    documented("L104", "unknown-selector", "--select/--ignore or the config names no known code",
               explanation="""
               `--select`, `--ignore` and their settings take codes (`Q104`), families (`Q`) or prefixes
               (`H1`), or `ALL`. An entry that matches no code is a usage error (exit 2).
               """,
               bad="""
               detection lint --ignore Q1O4
               """,
               good="""
               detection lint --ignore Q104
               """, scope="lint"),
    documented("L105", "check-failed", "a check crashed on this rule",
               explanation="""
               A check raised an unexpected error. The other checks still ran; please report the rule and
               the message so the check can be fixed.
               """,
               bad="(an internal error; no rule content causes it on purpose)",
               good="(no finding)", scope="lint"),
)
