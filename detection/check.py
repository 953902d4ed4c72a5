"""The one command CI runs: validate, lint, test and gate versions, stage by stage.

Each stage reports its findings and a one-line summary. A stage whose module is not part of this
build is reported as skipped with the reason, never left out silently. Exit code of the whole
check: 2 when a stage could not run on its input (unknown git ref, unreadable settings), else 1
when any stage found something, else 0.
"""

from __future__ import annotations

import importlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detection.config import ProjectConfig
from detection.diagnostics import DetectionError, Diagnostic, Location, Severity, sort_diagnostics
from detection.loader import LoadResult, display, load_rules

PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"
CODE_UNCOVERED = "F140"  # a query clause no case makes both true and false
CODE_SKIPPED = "F141"  # a fixture case the test engine could not run


@dataclass
class StageResult:
    name: str
    status: str
    summary: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    details: str = ""  # extra text for people (the test stage's explanations)
    payload: Any = None  # the stage's own result object (the test run, for JUnit)


@dataclass
class CheckReport:
    stages: list[StageResult]
    base: str | None = None
    changed_rules: list[str] | None = None  # display paths, with --changed-only
    root: Path | None = None  # the project root, for relative paths in SARIF

    @property
    def exit_code(self) -> int:
        if any(s.status == ERROR for s in self.stages):
            return 2
        return 1 if any(s.status == FAILED for s in self.stages) else 0

    def stage(self, name: str) -> StageResult:
        return next(s for s in self.stages if s.name == name)


def run_check(config: ProjectConfig, paths: Sequence[Path] = (), base: str | None = None,
              changed_only: bool = False, coverage: bool | None = None) -> CheckReport:
    """Run every stage over the project's rules (or ``paths``) and collect the results.

    With ``coverage`` (default: ``require-coverage`` in ``[tool.detection]``) a query clause that
    no case makes both true and false fails the test stage.
    """
    if coverage is None:
        coverage = config.settings.get("require-coverage") is True
    rule_paths = list(paths) or [d for d in config.rules_dirs if Path(d).exists()]
    loaded = load_rules(rule_paths)
    stages = [_validate_stage(loaded)]
    report = CheckReport(stages=stages, base=base, root=config.root)

    repo = baseline = None
    git_problem: DetectionError | None = None
    if base is not None or changed_only:
        from detection.git import find_repo

        try:
            repo = find_repo(config.root)
            if base is not None:
                from detection.baseline import load_baseline

                baseline = load_baseline(repo, base, config.rules_dirs)
        except DetectionError as exc:
            git_problem = exc

    stages.append(_lint_stage(loaded, config))
    query_at = {r.rule_id: r.location(("rule", "query")) for r in loaded.rules}
    # Without paths, `loaded` is exactly what the test stage would read again: hand it over.
    stages.append(_selected_test_stage(config, report, list(paths), repo, git_problem, changed_only,
                                       query_at if coverage else None, None if paths else loaded))
    if git_problem is not None and base is not None:
        stages.append(StageResult("versions", ERROR, f"not run: cannot read the base {base!r}", git_problem.diagnostics))
    else:
        stages.append(_versions_stage(loaded, baseline))
    return report


def _selected_test_stage(config: ProjectConfig, report: CheckReport, paths: list[Path], repo: Any,
                         git_problem: DetectionError | None, changed_only: bool,
                         coverage_at: dict[str, Location] | None = None,
                         loaded: LoadResult | None = None) -> StageResult:
    """The test stage over ``paths`` (all rules when empty), or over what changed since the base."""
    reported = report.stages[0].diagnostics
    if not changed_only:
        return _test_stage(config, paths or None, reported, coverage_at, loaded)
    if repo is None:
        problems = git_problem.diagnostics if git_problem else []
        return StageResult("test", ERROR, "not run: --changed-only needs a git checkout", problems)
    from detection.changed import changed_selection

    try:
        selection = changed_selection(repo, report.base or "HEAD", config)
    except DetectionError as exc:
        return StageResult("test", ERROR, "not run: cannot list the changed files", exc.diagnostics)
    if paths:
        chosen = [p.resolve() for p in paths]
        selection = [s for s in selection if any(c == s.resolve() or c in s.resolve().parents for c in chosen)]
    report.changed_rules = [display(p) for p in selection]
    return _test_stage(config, selection, reported, coverage_at, loaded)


def skipped_diagnostics(results: Sequence[Any]) -> list[Diagnostic]:
    """A case the engine could not run proves nothing: CI should not read it as a pass."""
    out = []
    for result in results:
        if result.outcome == SKIPPED and result.location is not None:
            out.append(Diagnostic(result.location, CODE_SKIPPED,
                                  f"case '{result.case}' of {result.rule_name} was not run: {result.message}",
                                  hint="change the rule so the test engine can run it, or set allow-skipped = true "
                                       "in [tool.detection] to accept untested cases"))
    return out


def coverage_diagnostics(records: Sequence[Any], query_at: dict[str, Location]) -> list[Diagnostic]:
    """One finding per query clause that the rule's cases never made both true and false."""
    out = []
    for record in records:
        where = query_at.get(record.rule_id) or Location(record.rule_path, 1, 1)
        for clause in record.uncovered:
            out.append(Diagnostic(where, CODE_UNCOVERED, f"clause {clause.describe()}",
                                  hint="add a fixture case that makes this clause "
                                       + ("false (a near miss)" if clause.seen_true else "true")))
    return out


def _validate_stage(loaded: LoadResult) -> StageResult:
    noun = "rule" if len(loaded.rules) == 1 else "rules"
    problems = len(loaded.diagnostics)
    return StageResult("validate", FAILED if problems else PASSED,
                       f"{len(loaded.rules)} {noun} loaded, " + (f"{problems} problem(s)" if problems else "no problems"),
                       sort_diagnostics([*loaded.diagnostics, *loaded.warnings]))


def _lint_stage(loaded: LoadResult, config: ProjectConfig) -> StageResult:
    """Lint through ``detection.lint.lint_rules(rules, config)`` when this build has it."""
    try:
        lint = importlib.import_module("detection.lint")
    except ImportError:
        return StageResult("lint", SKIPPED, "skipped: detection.lint is not part of this build")
    run = getattr(lint, "lint_rules", None)
    if run is None:
        return StageResult("lint", SKIPPED, "skipped: detection.lint has no lint_rules(rules, config)")
    already = {(d.code, d.location) for d in loaded.diagnostics}
    found = [d for d in run(loaded.rules, config) if (d.code, d.location) not in already]
    errors = sum(1 for d in found if d.severity == Severity.ERROR)
    summary = f"{errors} error(s), {len(found) - errors} warning(s)" if found else "no findings"
    # Like `detection lint`: any finding fails (suppress one per rule with metadata.lint.ignore).
    return StageResult("lint", FAILED if found else PASSED, summary, sort_diagnostics(found))


def _test_stage(config: ProjectConfig, selection: list[Path] | None, reported: Sequence[Diagnostic],
                coverage_at: dict[str, Location] | None = None, loaded: LoadResult | None = None) -> StageResult:
    try:
        testing = importlib.import_module("detection.testing")
        reporting = importlib.import_module("detection.reporting")
    except ImportError:
        return StageResult("test", SKIPPED, "skipped: detection.testing is not part of this build")
    if selection is not None and not selection:
        return StageResult("test", SKIPPED, "skipped: no rule or fixture differs from the base")
    try:
        run = testing.run_tests(config, selection or (), coverage=coverage_at is not None, loaded=loaded)
    except DetectionError as exc:
        return StageResult("test", ERROR, "not run: the test input could not be read", exc.diagnostics)
    seen = {(d.code, d.location) for d in reported}
    diagnostics = [d for d in run.diagnostics if (d.code, d.location) not in seen]
    diagnostics.extend(coverage_diagnostics(run.coverage or [], coverage_at or {}))
    if config.settings.get("allow-skipped") is not True:
        diagnostics.extend(skipped_diagnostics(run.results))
    failures = [reporting.failure_text(r) for r in run.results if not r.ok]
    status = FAILED if failures or diagnostics else PASSED
    return StageResult("test", status, reporting.summary_line(run), diagnostics,
                       details="\n\n".join(failures), payload=run)


def _versions_stage(loaded: LoadResult, baseline: Any) -> StageResult:
    from detection.gate import gate_diagnostics

    found = gate_diagnostics(loaded.rules, baseline)
    if baseline is not None:
        found = sort_diagnostics([*found, *baseline.problems])
    errors = [d for d in found if d.severity == Severity.ERROR]
    against = f" against {baseline.ref}" if baseline is not None else " against the recorded history"
    summary = (f"{len(errors)} problem(s)" if errors else "all versions in order") + against
    return StageResult("versions", FAILED if errors else PASSED, summary, found)


# -- output -------------------------------------------------------------------------------------

def render_text(report: CheckReport) -> str:
    lines: list[str] = []
    if report.changed_rules is not None:
        lines.append(f"changed since {report.base or 'HEAD'}: " + (", ".join(report.changed_rules) or "nothing"))
    for stage in report.stages:
        lines.append(f"== {stage.name}: {stage.summary}")
        lines.extend(d.format() for d in stage.diagnostics)
        if stage.details:
            lines.append(stage.details)
    failed = [s.name for s in report.stages if s.status in (FAILED, ERROR)]
    lines.append(f"check failed: {', '.join(failed)}" if failed else "check passed")
    return "\n".join(lines) + "\n"


def render_json(report: CheckReport) -> str:
    stages = []
    for stage in report.stages:
        entry: dict[str, Any] = {"name": stage.name, "status": stage.status, "summary": stage.summary,
                                 "diagnostics": [d.to_json() for d in stage.diagnostics]}
        if stage.payload is not None:
            from detection.reporting import result_record

            entry["results"] = [result_record(r) for r in stage.payload.results]
        stages.append(entry)
    return json.dumps({"ok": report.exit_code == 0, "exit_code": report.exit_code, "base": report.base,
                       "changed_rules": report.changed_rules, "stages": stages}, indent=2, ensure_ascii=False) + "\n"


def render_junit(report: CheckReport) -> str:
    """JUnit XML: one suite per stage; the test stage's own suites are passed through."""
    root = ET.Element("testsuites", name="detection check")
    for stage in report.stages:
        if stage.name == "test" and stage.payload is not None:
            from detection.reporting import render_junit as test_junit

            for suite in ET.fromstring(test_junit(stage.payload)).iter("testsuite"):
                root.append(suite)
            continue
        errors = list(stage.diagnostics) if stage.status in (FAILED, ERROR) else []
        suite = ET.SubElement(root, "testsuite", name=stage.name, tests=str(max(1, len(errors))),
                              failures=str(len(errors) if stage.status == FAILED else 0),
                              errors=str(len(errors) if stage.status == ERROR else 0),
                              skipped="1" if stage.status == SKIPPED else "0")
        if not errors:
            case = ET.SubElement(suite, "testcase", name=stage.summary, classname=stage.name)
            if stage.status == SKIPPED:
                ET.SubElement(case, "skipped", message=stage.summary)
            continue
        for diag in errors:
            case = ET.SubElement(suite, "testcase", name=f"{diag.code} {diag.location}", classname=stage.name)
            tag = "error" if stage.status == ERROR else "failure"
            ET.SubElement(case, tag, message=diag.message, type=diag.code).text = diag.format()
    for name in ("tests", "failures", "errors", "skipped"):
        root.set(name, str(sum(int(s.get(name, "0")) for s in root.iter("testsuite"))))
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def render_sarif(report: CheckReport) -> str:
    """SARIF 2.1.0 with one result per finding of every stage (the lint SARIF writer, so lint
    codes carry their descriptions)."""
    from detection.lint import CHECKS
    from detection.lint.sarif import to_sarif

    findings = [d for stage in report.stages for d in stage.diagnostics]
    return json.dumps(to_sarif(findings, CHECKS, root=report.root), indent=2, ensure_ascii=False) + "\n"
