"""``detection lint``: checks beyond the schema, each with a stable code and a docs entry.

    from detection.lint import lint_rules
    findings = lint_rules(rules, config)          # list[Diagnostic], sorted

Families: Q query, V values, A ATT&CK, H hygiene, U uniqueness, L lint itself; E and S codes come
from the loader. ``CHECKS`` maps every code to its ``Check`` (docs/lint-codes.md is generated from
it). Selection: ``[tool.detection.lint]`` select/ignore, then the caller's select/ignore; per rule,
``metadata.lint.ignore`` entries (with a reason) suppress findings.
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from detection.config import ProjectConfig
from detection.diagnostics import DetectionError, Diagnostic, Location, sort_diagnostics
from detection.lint import attack_checks, hygiene, loader_codes, query, rule_types, suppress, values
from detection.lint.context import ProjectContext, RuleContext
from detection.lint.registry import FAMILIES, Check, build_catalogue
from detection.lint.settings import LintSettings, Selection, selector_problems, settings_from_mapping
from detection.model import RuleFile

__all__ = ["CHECKS", "FAMILIES", "Check", "LintReport", "LintSettings", "Selection", "lint_paths", "lint_report",
           "lint_rules", "settings_for"]

CHECKS: Mapping[str, Check] = build_catalogue([
    loader_codes.CHECKS, hygiene.UNIQUENESS, query.CHECKS, values.CHECKS, attack_checks.CHECKS,
    hygiene.CHECKS, rule_types.CHECKS, suppress.CHECKS,
])


@dataclass
class LintReport:
    rules: list[RuleFile] = field(default_factory=list)
    findings: list[Diagnostic] = field(default_factory=list)  # sorted; load problems included
    suppressed: list[tuple[Diagnostic, str]] = field(default_factory=list)  # finding, reason
    unreadable: bool = False  # a path was missing or a file could not be read/parsed

    @property
    def errors(self) -> int:
        return sum(1 for d in self.findings if d.severity.value == "error")

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    @property
    def exit_code(self) -> int:
        if self.unreadable:
            return 2
        return 1 if self.findings else 0


def settings_for(config: ProjectConfig | None, select: Iterable[str] | str | None = None,
                 ignore: Iterable[str] | str | None = None) -> LintSettings:
    """The project's lint settings plus command-line selection; bad settings raise DetectionError."""
    settings, problems = _settings_and_problems(config, select, ignore)
    if problems:
        raise DetectionError(problems)
    return settings


def _settings_and_problems(config: ProjectConfig | None, select: Iterable[str] | str | None,
                           ignore: Iterable[str] | str | None) -> tuple[LintSettings, list[Diagnostic]]:
    """Settings from the valid entries, and L103/L104 diagnostics for the others."""
    raw = config.lint if config is not None else {}
    root = config.root if config is not None else None
    shown = "pyproject.toml"
    if root is not None:
        from detection.loader import display

        shown = display(root / "pyproject.toml")
    settings, problems = settings_from_mapping(raw if isinstance(raw, Mapping) else {}, shown, root)
    if not isinstance(raw, Mapping):
        problems.append(Diagnostic(Location(shown, 1, 1), "L103", "[tool.detection.lint] must be a table"))
    if select or ignore:
        settings = settings.with_cli(_as_list(select), _as_list(ignore))
    problems.extend(selector_problems(settings.selection, CHECKS, shown if not (select or ignore) else "command line"))
    return settings, problems


def _as_list(value: Iterable[str] | str | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def lint_rules(rules: Sequence[RuleFile], config: ProjectConfig | None = None, *,
               settings: LintSettings | None = None, select: Iterable[str] | str | None = None,
               ignore: Iterable[str] | str | None = None) -> list[Diagnostic]:
    """Every unsuppressed finding for ``rules``, sorted by path, line, column and code."""
    return lint_report(rules, config, settings=settings, select=select, ignore=ignore).findings


def lint_report(rules: Sequence[RuleFile], config: ProjectConfig | None = None, *,
                settings: LintSettings | None = None, select: Iterable[str] | str | None = None,
                ignore: Iterable[str] | str | None = None) -> LintReport:
    """Findings plus what was suppressed (and why), for reports.

    Problems with the settings (L103, L104) are findings too, so a caller that only lints never
    has to handle an exception; ``detection lint`` checks the settings first and exits 2.
    """
    setting_problems: list[Diagnostic] = []
    if settings is None:
        settings, setting_problems = _settings_and_problems(config, select, ignore)
    elif select or ignore:
        settings = settings.with_cli(_as_list(select), _as_list(ignore))
    project = ProjectContext(list(rules), config, settings)
    enabled = settings.selection.enabled
    rule_checks = [c for c in CHECKS.values() if c.scope == "rule" and enabled(c.code)]
    project_checks = [c for c in CHECKS.values() if c.scope == "project" and enabled(c.code)]

    by_path: dict[str, list[Diagnostic]] = {r.display_path: [] for r in rules}
    loose: list[Diagnostic] = []
    for rule in rules:
        ctx = RuleContext(rule, project)
        for item in rule_checks:
            by_path[rule.display_path].extend(_run(item, ctx, rule))
    for item in project_checks:
        for diag in _run(item, project, None):
            by_path.setdefault(diag.location.path, loose).append(diag)

    report = LintReport(rules=list(rules))
    for rule in rules:
        kept, items, used = [], suppress.suppressions(rule), set()
        for diag in by_path.get(rule.display_path, []):
            reason = next((s for s in items if s.covers(diag.code)), None)
            if reason is None:
                kept.append(_with_rule(diag, rule))
            else:
                used.add(reason.index)
                report.suppressed.append((_with_rule(diag, rule), reason.reason))
        kept.extend(suppress.suppression_findings(rule, items, used, CHECKS, enabled))
        report.findings.extend(kept)
    report.findings.extend(loose)
    report.findings.extend(project.field_problems)
    report.findings.extend(setting_problems)
    # One finding per code, place and message: a field repeated in a value list is one mistake.
    unique: dict[tuple, Diagnostic] = {}
    for diag in report.findings:
        unique.setdefault((diag.code, diag.location, diag.message), diag)
    report.findings = sort_diagnostics(unique.values())
    order = {id(d): i for i, d in enumerate(sort_diagnostics(d for d, _ in report.suppressed))}
    report.suppressed.sort(key=lambda item: order[id(item[0])])
    return report


def _run(item: Check, ctx: object, rule: RuleFile | None) -> list[Diagnostic]:
    """Run one check; stamp its severity; turn a crash into an L105 finding instead of a traceback."""
    try:
        found = list(item.fn(ctx))  # type: ignore[misc]
    except Exception as exc:  # noqa: BLE001 - one broken check must not stop the others
        where = rule.location(("rule",), key=True) if rule is not None else Location("<project>", 0, 0)
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return [Diagnostic(where, "L105", f"check {item.code} ({item.name}) failed: {type(exc).__name__}: {exc}",
                           hint=f"please report this (at {Path(last.filename).name}:{last.lineno})")]
    out = []
    for diag in found:
        if diag.code != item.code:
            raise AssertionError(f"check {item.code} reported code {diag.code}")
        out.append(dataclasses.replace(diag, severity=item.severity))
    return out


def _with_rule(diag: Diagnostic, rule: RuleFile) -> Diagnostic:
    if diag.data.get("rule_id") == rule.rule_id:
        return diag
    return dataclasses.replace(diag, data={**diag.data, "rule_id": rule.rule_id})


def lint_paths(paths: Sequence[Path | str], config: ProjectConfig | None = None, *,
               settings: LintSettings | None = None) -> LintReport:
    """Load every rule file under ``paths`` and lint the ones that load.

    Load problems (E1xx, S1xx) are findings too; missing paths and files that cannot be read or
    parsed (E1xx) make the report ``unreadable`` (exit 2).
    """
    from detection.loader import discover_rule_files, load_rule_file, missing_paths

    missing = missing_paths(paths)
    rules: list[RuleFile] = []
    problems: list[Diagnostic] = list(missing)
    for path in discover_rule_files(Path(p) for p in paths):
        try:
            rules.append(load_rule_file(path))
        except DetectionError as exc:
            problems.extend(exc.diagnostics)
    report = lint_report(rules, config, settings=settings)
    report.findings = sort_diagnostics([*problems, *report.findings])
    report.unreadable = bool(missing) or any(d.code.startswith("E") for d in problems)
    return report


